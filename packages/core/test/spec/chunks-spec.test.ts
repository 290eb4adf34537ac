/**
 * `chunks:` in a spec: true and `{ max }` reach the task definition (and the portable record an
 * agent resolves), false and absence leave it off, bad values are spec errors naming the path,
 * and the definition hash ignores it (turning chunks on does not re-run a succeeded task).
 */
import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/spec/load-spec.ts';
import { resolveSpec, resolveTaskRecord } from '../../src/spec/resolve-spec.ts';
import { SpecError } from '../../src/spec/spec-error.ts';
import { testRegistry } from './spec-fixtures.ts';

function spec(chunks: string | undefined): string {
  return `version: 1
connections:
  legacy: { connector: files, root: ./legacy }
  lake:   { connector: files, root: ./lake }
tasks:
  - id: orders
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.parquet, format: parquet }
${chunks === undefined ? '' : `    chunks: ${chunks}\n`}`;
}

function resolve(chunks: string | undefined) {
  const loaded = parseSpec(spec(chunks), { sourceName: 'honk.yaml', baseDir: '/srv' });
  return resolveSpec(loaded, { registry: testRegistry(), env: {} }).tasks[0]!;
}

describe('chunks: in a spec', () => {
  it('reaches the definition and the portable record, and leaves the definition hash alone', () => {
    const plain = resolve(undefined);
    expect(plain.chunks).toBeUndefined();
    expect(resolve('false').chunks).toBeUndefined();
    const on = resolve('true');
    expect(on.chunks).toEqual({});
    const max = resolve('{ max: 32 }');
    expect(max.chunks).toEqual({ max: 32 });
    expect(new Set([plain.definitionHash, on.definitionHash, max.definitionHash]).size).toBe(1);
    const agentSide = resolveTaskRecord(max.portable, { registry: testRegistry(), env: {}, baseDir: '/srv' });
    expect(agentSide.chunks).toEqual({ max: 32 });
  });

  it('refuses a bad value, naming the path', () => {
    for (const bad of ['{ max: 0 }', '{ max: 20000 }', '{ most: 4 }', '"yes"']) {
      let error: unknown;
      try {
        resolve(bad);
      } catch (caught) {
        error = caught;
      }
      expect(error, bad).toBeInstanceOf(SpecError);
      expect((error as SpecError).issues[0]?.path).toMatch(/^tasks\[0\]\.chunks/);
    }
  });
});
