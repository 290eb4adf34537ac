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
import { hashColumns, ROW_HASH_VERSION, type RowHashes, rowHashesOf, toHex64 } from './row-hash.ts';
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

interface Candidate {
  keyHi: number;
  keyLo: number;
  rowHi: number;
  rowLo: number;
  count: number;
  key: Json;
  columnHi: number[];
  columnLo: number[];
  /** Pushed out of the sketch by smaller keys (its column sums are then never needed). */
  evicted: boolean;
}

/** A row that entered the sketch or added to a key in it, filled in at the end of its batch. */
interface Touch {
  candidate: Candidate;
  row: number;
  /** The key's first row: sets the key's values and column sums instead of adding to them. */
  fresh: boolean;
}

const TWO_32 = 4294967296;

function greater(aHi: number, aLo: number, bHi: number, bLo: number): boolean {
  return aHi > bHi || (aHi === bHi && aLo > bLo);
}

/** Adds (hi, lo) into index `i` of the hi/lo arrays mod 2^64. */
function add64(his: number[], los: number[], i: number, hi: number, lo: number): void {
  const sumLo = los[i]! + lo;
  const carry = sumLo >= TWO_32 ? 1 : 0;
  los[i] = sumLo - carry * TWO_32;
  his[i] = (his[i]! + hi + carry) % TWO_32;
}

/** A max-heap on key hash, holding the k smallest keys seen. */
class BottomK {
  readonly heap: Candidate[] = [];
  readonly byKey = new Map<string, Candidate>();

  readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }

  /** The largest key kept, or null while fewer than `limit` keys are held. */
  top(): Candidate | null {
    return this.heap.length >= this.limit ? this.heap[0]! : null;
  }

  insert(candidate: Candidate, id: string): void {
    this.byKey.set(id, candidate);
    const heap = this.heap;
    heap.push(candidate);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!greater(candidate.keyHi, candidate.keyLo, p.keyHi, p.keyLo)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = candidate;
    if (heap.length > this.limit) this.popMax();
  }

  private popMax(): void {
    const heap = this.heap;
    const max = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child =
          right < heap.length && greater(heap[right]!.keyHi, heap[right]!.keyLo, heap[left]!.keyHi, heap[left]!.keyLo)
            ? right
            : left;
        const c = heap[child]!;
        if (!greater(c.keyHi, c.keyLo, last.keyHi, last.keyLo)) break;
        heap[i] = c;
        i = child;
      }
      heap[i] = last;
    }
    max.evicted = true;
    this.byKey.delete(toHex64(max.keyHi, max.keyLo));
  }
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

/**
 * What the sketch needs of a run of rows, however they are held: an Arrow batch (values) or
 * encoded bytes of a raw transfer (raw-row-validation.ts).
 */
export interface SampleRows {
  count: number;
  rowHashes: RowHashes;
  /** The key columns' hash per row (the row hash itself when every column is the key). */
  keyHashes: RowHashes;
  /** Each column's hash for each of `rows` (indexes into this run), as `[row][column]` lanes. */
  columnHashes(rows: readonly number[]): Array<{ hi: number[]; lo: number[] }>;
  /** The key values of each of `rows`, for messages. */
  keys(rows: readonly number[]): Json[];
}

/** The bottom-k sketch of one side, fed runs of rows; see the module comment. */
export class SampleSketch {
  readonly columns: string[];
  readonly missingKey: string[];
  /** Key column indexes, or null when every column is the key. */
  readonly keyIndices: number[] | null;
  readonly #limit: number;
  readonly #keyNames: string[] | null;
  readonly #sketch: BottomK;
  rows = 0;

  constructor(columns: readonly string[], limit: number, keyNames: readonly string[] | null) {
    this.columns = [...columns];
    this.#limit = limit;
    this.#keyNames = keyNames === null ? null : [...keyNames];
    this.missingKey = keyNames === null ? [] : keyNames.filter((name) => !columns.includes(name));
    this.keyIndices = keyNames === null ? null : keyNames.map((name) => columns.indexOf(name));
    this.#sketch = new BottomK(Math.max(1, limit));
  }

  /** True when rows need hashing at all (a sample is asked for and its key columns exist). */
  get active(): boolean {
    return this.#limit > 0 && this.missingKey.length === 0;
  }

  observe(run: SampleRows): void {
    this.rows += run.count;
    if (!this.active || run.count === 0) return;
    const sketch = this.#sketch;
    const { rowHashes } = run;
    const { hi: keyHi, lo: keyLo } = run.keyHashes;
    // Rows are only compared here; the values and per-column hashes of the rows that stay in
    // the sketch are filled in once, after the loop (most candidates of a run are pushed out
    // again by smaller keys of the same run).
    const touched: Touch[] = [];
    for (let i = 0; i < run.count; i++) {
      const top = sketch.top();
      const kh = keyHi[i]!;
      const kl = keyLo[i]!;
      // Hot path: almost every row is larger than the k-th smallest key and is skipped.
      if (top !== null && greater(kh, kl, top.keyHi, top.keyLo)) continue;
      const id = toHex64(kh, kl);
      const existing = sketch.byKey.get(id);
      if (existing !== undefined) {
        existing.count++;
        const his = [existing.rowHi];
        const los = [existing.rowLo];
        add64(his, los, 0, rowHashes.hi[i]!, rowHashes.lo[i]!);
        existing.rowHi = his[0]!;
        existing.rowLo = los[0]!;
        touched.push({ candidate: existing, row: i, fresh: false });
        continue;
      }
      const candidate: Candidate = {
        keyHi: kh,
        keyLo: kl,
        rowHi: rowHashes.hi[i]!,
        rowLo: rowHashes.lo[i]!,
        count: 1,
        key: null,
        columnHi: [],
        columnLo: [],
        evicted: false,
      };
      sketch.insert(candidate, id);
      touched.push({ candidate, row: i, fresh: true });
    }
    const live = touched.filter((touch) => !touch.candidate.evicted);
    if (live.length === 0) return;
    const hashes = run.columnHashes(live.map((touch) => touch.row));
    const fresh = live.filter((touch) => touch.fresh);
    const keys = run.keys(fresh.map((touch) => touch.row));
    live.forEach(({ candidate, fresh: first }, index) => {
      const { hi, lo } = hashes[index]!;
      if (first) {
        candidate.columnHi = [...hi];
        candidate.columnLo = [...lo];
      } else for (let j = 0; j < hi.length; j++) add64(candidate.columnHi, candidate.columnLo, j, hi[j]!, lo[j]!);
    });
    fresh.forEach(({ candidate }, index) => {
      candidate.key = keys[index] ?? null;
    });
  }

  /** The side's summary; `encoding` names what raw rows were hashed (absent for values). */
  summary(encoding?: string): SampleSummary {
    const entries = [...this.#sketch.heap]
      .sort((a, b) => (greater(a.keyHi, a.keyLo, b.keyHi, b.keyLo) ? 1 : -1))
      .map(
        (c): SampleEntry => ({
          keyHash: toHex64(c.keyHi, c.keyLo),
          rowHash: toHex64(c.rowHi, c.rowLo),
          count: c.count,
          key: c.key,
          columnHashes: c.columnHi.map((hi, j) => toHex64(hi, c.columnLo[j]!)),
        }),
      );
    return {
      version: ROW_HASH_VERSION,
      ...(encoding ? { encoding } : {}),
      limit: this.#limit,
      rows: this.rows,
      columns: this.columns,
      key: this.#keyNames,
      missingKey: this.missingKey,
      entries,
    };
  }
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
