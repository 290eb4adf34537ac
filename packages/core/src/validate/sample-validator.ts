/**
 * The `sample` validator: compares a few rows by key, so a failed checksum comes with an
 * example the user can look up ("row with key {"id":42} differs in column amount").
 *
 * Each side keeps a bottom-k sketch: the k rows with the smallest key hash. Hashes are
 * uniform, so the sketch is a uniform sample of keys, and both sides pick the SAME keys
 * without coordinating — no second read of the source, memory O(k).
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { Json } from '../connector/connector.ts';
import { ConfigError } from '../errors/honk-error.ts';
import { summaryEncoding } from './checksum-validator.ts';
import { toJsonValue } from './json-value.ts';
import { hashColumns, type RowHashes, rowHashesOf } from './row-hash.ts';
import { type SampleRows, SampleSketch } from './sample-sketch.ts';
import type { ValidationAccumulator, ValidationCheck, Validator } from './validator.ts';

export interface SampleValidatorOptions {
  /** How many keys to keep per side (k). 0 turns the check into a no-op that always passes. */
  rows: number;
  /** Key columns; default: all columns (then a changed row looks like a missing one plus an extra one). */
  key?: readonly string[];
}

/** One sampled key in a {@link SampleSummary}. */
export interface SampleEntry {
  [key: string]: Json;
  /** Canonical hash of the key columns, 16 hex digits. */
  keyHash: string;
  /** Sum of the row hashes of every row with this key (mod 2^64), 16 hex digits. */
  rowHash: string;
  /** Rows with this key. */
  count: number;
  /** The key's values (first row seen), for messages. */
  key: Json;
  /** Per column (by position), the sum of the column-value hashes over the rows with this key. */
  columnHashes: string[];
}

/** One side's sketch. */
export interface SampleSummary {
  [key: string]: Json;
  version: number;
  // `encoding` (optional string): raw rows hashed as encoded, see `summaryEncoding`.
  limit: number;
  rows: number;
  columns: string[];
  key: string[] | null;
  /** Key columns absent from this side's schema; the check fails when non-empty. */
  missingKey: string[];
  /** Sorted by keyHash ascending. */
  entries: SampleEntry[];
}

/**
 * Creates the `sample` validator. With `key`, rows are matched by those columns, and a
 * changed row is reported as "differs" with the differing columns named; a key column
 * missing from either side fails the check with a message naming it.
 */
export function sampleValidator(options: SampleValidatorOptions): Validator {
  const limit = options.rows;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new ConfigError(`validate.sample must be a whole number of rows ≥ 0 (0 turns it off), got ${String(limit)}.`);
  }
  const keyNames = options.key !== undefined && options.key.length > 0 ? [...options.key] : null;
  return {
    specificationVersion: 'v1',
    name: 'sample',
    accumulator: (schema) => sampleAccumulator(schema, limit, keyNames),
    compare: ({ source, staged }) => compareSamples(source as SampleSummary, staged as SampleSummary),
    combine: (summaries) => combineSamples(summaries as SampleSummary[]),
  };
}

/** A batch as {@link SampleRows}: values hashed by the canonical encoding of row-hash.ts. */
function batchRows(batch: RecordBatch, keyIndices: number[] | null, keyScratch: RowHashes): SampleRows {
  const n = batch.numRows;
  const rowHashes = rowHashesOf(batch);
  let keyHashes = rowHashes;
  if (keyIndices !== null) {
    if (keyScratch.hi.length < n) {
      keyScratch.hi = new Uint32Array(n);
      keyScratch.lo = new Uint32Array(n);
    }
    keyHashes = hashColumns(
      keyIndices.map((j) => batch.data.children[j]!),
      n,
      keyScratch,
    );
  }
  const children = batch.data.children;
  const keyColumns = keyIndices ?? children.map((_, j) => j);
  return {
    count: n,
    rowHashes,
    keyHashes,
    columnHashes(rows) {
      // With many rows every column is hashed in one pass; with few, just their cells.
      const whole = rows.length * 16 > n ? children.map((column) => hashColumns([column], n)) : null;
      return rows.map((row) => {
        const hi: number[] = [];
        const lo: number[] = [];
        for (let j = 0; j < children.length; j++) {
          const single = whole === null ? hashColumns([children[j]!.slice(row, 1)], 1) : null;
          hi.push(whole === null ? single!.hi[0]! : whole[j]!.hi[row]!);
          lo.push(whole === null ? single!.lo[0]! : whole[j]!.lo[row]!);
        }
        return { hi, lo };
      });
    },
    keys(rows) {
      const names = batch.schema.fields.map((field) => field.name);
      const vectors = keyColumns.map((j) => batch.getChildAt(j));
      return rows.map((row) => {
        const key: Record<string, Json> = {};
        keyColumns.forEach((j, index) => {
          key[names[j]!] = toJsonValue(vectors[index]?.get(row));
        });
        return key;
      });
    },
  };
}

function sampleAccumulator(schema: Schema, limit: number, keyNames: string[] | null): ValidationAccumulator {
  const sketch = new SampleSketch(
    schema.fields.map((field) => field.name),
    limit,
    keyNames,
  );
  const keyScratch: RowHashes = { hi: new Uint32Array(0), lo: new Uint32Array(0) };
  return {
    observe(batch) {
      if (!sketch.active || batch.numRows === 0) {
        sketch.rows += batch.numRows;
        return;
      }
      sketch.observe(batchRows(batch, sketch.keyIndices, keyScratch));
    },
    result: (): SampleSummary => sketch.summary(),
  };
}

const MASK_64 = (1n << 64n) - 1n;

function addHex64(a: string, b: string): string {
  return ((BigInt(`0x${a}`) + BigInt(`0x${b}`)) & MASK_64).toString(16).padStart(16, '0');
}

/**
 * The sketch of the union of disjoint parts. A key among the k smallest overall is among the
 * k smallest of every part that saw it, so every part kept it with its full per-part sums:
 * adding them up and keeping the k smallest keys gives exactly the one-accumulator sketch.
 */
function combineSamples(parts: readonly SampleSummary[]): SampleSummary {
  const first = parts[0];
  if (first === undefined) throw new ConfigError('Cannot combine zero sample summaries.');
  const byKey = new Map<string, SampleEntry>();
  let rows = 0;
  for (const part of parts) {
    rows += part.rows;
    for (const entry of part.entries) {
      const seen = byKey.get(entry.keyHash);
      if (seen === undefined) {
        byKey.set(entry.keyHash, { ...entry, columnHashes: [...entry.columnHashes] });
        continue;
      }
      seen.count += entry.count;
      seen.rowHash = addHex64(seen.rowHash, entry.rowHash);
      seen.columnHashes = seen.columnHashes.map((hash, j) => addHex64(hash, entry.columnHashes[j] ?? '0'));
    }
  }
  const entries = [...byKey.values()].sort((a, b) => (a.keyHash < b.keyHash ? -1 : a.keyHash > b.keyHash ? 1 : 0));
  return { ...first, rows, entries: entries.slice(0, first.limit) };
}

/** Shown per failing key; more would bury the first, most useful line. */
const MAX_REPORTED = 10;

interface Mismatch {
  [key: string]: Json;
  key: Json;
  problem: 'missing' | 'unexpected' | 'differs';
  columns: string[];
}

function compareSamples(source: SampleSummary, staged: SampleSummary): ValidationCheck[] {
  const fail = (message: string): ValidationCheck[] => [
    { name: 'sample', expected: source, actual: staged, ok: false, message },
  ];
  if (source.version !== staged.version) {
    return fail(
      `The two sides were sampled with different row-hash versions (${source.version} vs ${staged.version}); run both with the same Honk version.`,
    );
  }
  if (summaryEncoding(source) !== summaryEncoding(staged)) {
    return fail(
      `The two sides were sampled in different encodings (${summaryEncoding(source)} vs ${summaryEncoding(staged)}); this is a defect in how the run read them, please report it.`,
    );
  }
  if (source.missingKey.length > 0) {
    return fail(
      `Sample key column(s) ${source.missingKey.join(', ')} are not in the source schema (columns: ${source.columns.join(', ')}); fix validate.key.`,
    );
  }
  if (staged.missingKey.length > 0) {
    return fail(
      `Sample key column(s) ${staged.missingKey.join(', ')} are missing from the staged data (columns: ${staged.columns.join(', ')}); the sink dropped or renamed them.`,
    );
  }
  if (source.limit === 0) {
    return [{ name: 'sample', expected: { sampled: 0 }, actual: { sampled: 0 }, ok: true }];
  }
  // Each side holds all of its keys up to its own k-th smallest key hash; compare only the
  // range both cover, so an extra staged key cannot masquerade as a missing source key.
  const bound = (summary: SampleSummary): string =>
    summary.entries.length >= summary.limit ? summary.entries[summary.entries.length - 1]!.keyHash : 'g';
  const upTo = [bound(source), bound(staged)].sort()[0]!;
  const stagedByKey = new Map(staged.entries.map((entry) => [entry.keyHash, entry]));
  const sourceKeys = new Set(source.entries.map((entry) => entry.keyHash));
  const mismatches: Mismatch[] = [];
  let compared = 0;
  for (const entry of source.entries) {
    if (entry.keyHash > upTo) break;
    compared++;
    const other = stagedByKey.get(entry.keyHash);
    if (other === undefined) {
      mismatches.push({ key: entry.key, problem: 'missing', columns: [] });
    } else if (other.rowHash !== entry.rowHash || other.count !== entry.count) {
      const differing = entry.columnHashes
        .map((hash, j) => (other.columnHashes[j] === hash ? null : (source.columns[j] ?? `#${j}`)))
        .filter((name): name is string => name !== null);
      mismatches.push({ key: entry.key, problem: 'differs', columns: differing });
    }
  }
  for (const entry of staged.entries) {
    if (entry.keyHash > upTo) break;
    if (!sourceKeys.has(entry.keyHash)) mismatches.push({ key: entry.key, problem: 'unexpected', columns: [] });
  }
  const ok = mismatches.length === 0;
  return [
    {
      name: 'sample',
      expected: { sampled: compared },
      actual: {
        matching: compared - mismatches.filter((m) => m.problem !== 'unexpected').length,
        mismatches: mismatches.slice(0, MAX_REPORTED),
      },
      ok,
      ...(ok ? {} : { message: describeMismatches(mismatches, source.key !== null) }),
    },
  ];
}

function describeMismatches(mismatches: Mismatch[], byKey: boolean): string {
  const what = byKey ? 'key' : 'values';
  const lines = mismatches.slice(0, MAX_REPORTED).map((m) => {
    const key = JSON.stringify(m.key);
    switch (m.problem) {
      case 'missing':
        return `row with ${what} ${key} is missing from the staged data`;
      case 'unexpected':
        return `row with ${what} ${key} is in the staged data but not in the source`;
      default:
        return m.columns.length > 0
          ? `row with ${what} ${key} differs in column(s) ${m.columns.join(', ')}`
          : `row with ${what} ${key} differs (duplicate count changed)`;
    }
  });
  const more = mismatches.length > MAX_REPORTED ? `; and ${mismatches.length - MAX_REPORTED} more` : '';
  return `${mismatches.length} sampled row(s) do not match: ${lines.join('; ')}${more}.`;
}
