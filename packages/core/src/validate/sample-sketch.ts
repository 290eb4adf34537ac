/**
 * The bottom-k sketch behind the `sample` validator (sample-validator.ts): each side keeps
 * the k rows with the smallest key hash. Hashes are uniform, so the sketch is a uniform
 * sample of keys, and both sides pick the SAME keys without coordinating — no second read of
 * the source, memory O(k). It is fed runs of rows however they are held: Arrow batches
 * (values) or the encoded bytes of a raw transfer (raw-row-validation.ts).
 */
import type { Json } from '../connector/connector.ts';
import { ROW_HASH_VERSION, type RowHashes, toHex64 } from './row-hash.ts';
import type { SampleEntry, SampleSummary } from './sample-validator.ts';

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

export function greater(aHi: number, aLo: number, bHi: number, bLo: number): boolean {
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
