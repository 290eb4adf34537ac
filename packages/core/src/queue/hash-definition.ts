/** Definition hashes: how a store tells "same task again" from "the task changed". */
import { createHash } from 'node:crypto';
import type { Json } from '../connector/connector.ts';
import { canonicalJson } from '../spec/resolve-spec.ts';

/**
 * SHA-256 (hex) of the canonical JSON (keys sorted) of a task definition: the default
 * `definitionHash` when `enqueue` is given none. Spec-built tasks carry the spec's own
 * `definitionHash` instead.
 */
export function hashDefinition(definition: Json): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}
