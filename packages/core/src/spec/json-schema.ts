/**
 * The JSON Schema of spec files (draft 2020-12), generated from the zod schemas so it never
 * drifts from what `parseSpec` accepts. Editors use it for completion and inline errors
 * (`honk schema > honk.schema.json`, then `# yaml-language-server: $schema=./honk.schema.json`).
 * Checks that need code (unique ids, known connection names, time zones, cron syntax,
 * connector options) are only in `parseSpec`/`resolveSpec`.
 */
import { z } from 'zod';
import { specSchema } from './spec-schema.ts';

/** Where the schema says it lives; informative only. */
export const SPEC_JSON_SCHEMA_ID = 'https://honk.dev/schemas/spec-v1.json';

/** The spec's JSON Schema as a plain object. */
export function specJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(specSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' });
  return { ...schema, $id: SPEC_JSON_SCHEMA_ID };
}
