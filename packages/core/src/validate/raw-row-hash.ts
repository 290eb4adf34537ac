/**
 * Hashes of encoded rows, for validating a raw transfer without decoding it.
 *
 * When a raw transfer forwards a source's bytes untouched (PostgreSQL → PostgreSQL binary
 * COPY), the staged table read back must hold the very same encoded rows. Both sides can
 * then be compared by hashing each row's bytes as they are — no decoding into Arrow, no
 * canonical values — which is several times cheaper and proves more: byte equality of every
 * row, hence equality of every value. The summaries have the same shape as the value-based
 * ones (checksum: sum of row hashes; sample: bottom-k keys) and say which encoding they hash,
 * so they are only ever compared with a summary of the same encoding.
 *
 * Hash of a byte range: two 32-bit lanes over the bytes read as little-endian words (a final
 * partial word padded with zeros), each word premixed, finalised with the byte count and a
 * domain constant, avalanched: 64 bits, `hi`/`lo`. Fields are hashed as their length word
 * (−1 for NULL) followed by their bytes, so field boundaries and NULL are part of the hash.
 *
 * Measured hot loop: one function per shape, lanes kept in locals. The mixing steps below are
 * the same as row-hash.ts's on purpose, as module-local copies: importing them from a shared
 * module measured 5 % slower in row-hash's column loops (`pnpm bench validate`, fastest batch
 * 17.0M vs 17.9M rows/s), so neither file imports them.
 */
import type { RowHashes } from './row-hash.ts';

const SEED_A = 0x9747b28c;
const SEED_B = 0x5bd1e995;
const ROW_DOMAIN = 0x6a09e667;
const FIELDS_DOMAIN = 0xbb67ae85;

function premix(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

function stepA(h: number, m: number): number {
  h ^= m;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function stepB(h: number, m: number): number {
  h = (h + m) | 0;
  h = (h << 17) | (h >>> 15);
  return (Math.imul(h, 0x165667b1) + 0x27d4eb2f) | 0;
}

function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Rows of encoded bytes: where each row and each of its fields lies (see the raw row scanner of a connector). */
export interface RawRows {
  /** Rows found. */
  rows: number;
  /** `rows + 1` offsets: row `r` is `bytes[rowStart[r], rowStart[r + 1])`. */
  rowStart: Int32Array;
  /** `rows × fields` offsets of each field's value bytes. */
  fieldStart: Int32Array;
  /** `rows × fields` value lengths; −1 for NULL. */
  fieldLength: Int32Array;
}

/** Writes the hash of each row's whole encoding into `out` (`hi`/`lo`, sized to at least `rows.rows`). */
export function hashRawRows(bytes: Uint8Array, rows: RawRows, out: RowHashes): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { rowStart } = rows;
  const count = rows.rows;
  for (let r = 0; r < count; r++) {
    const from = rowStart[r] as number;
    const to = rowStart[r + 1] as number;
    let a = SEED_A;
    let b = SEED_B;
    let p = from;
    const whole = to - ((to - from) & 3);
    for (; p < whole; p += 4) {
      const m = premix(view.getInt32(p, true));
      a = stepA(a, m);
      b = stepB(b, m);
    }
    if (p < to) {
      let k = 0;
      for (let shift = 0; p < to; p++, shift += 8) k |= (bytes[p] as number) << shift;
      const m = premix(k);
      a = stepA(a, m);
      b = stepB(b, m);
    }
    a ^= to - from;
    b ^= ROW_DOMAIN;
    a = (a + b) | 0;
    b = (b + a) | 0;
    a = avalanche(a);
    b = avalanche(b);
    a = (a + b) | 0;
    b = (b + a) | 0;
    out.lo[r] = a;
    out.hi[r] = b;
  }
}

/**
 * Writes the hash of fields `columns` (in that order) of each row into `out`: a key's hash
 * (several columns) or one column's (a single index).
 */
export function hashRawFields(
  bytes: Uint8Array,
  rows: RawRows,
  fields: number,
  columns: readonly number[],
  out: RowHashes,
  only?: number,
): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { fieldStart, fieldLength } = rows;
  const first = only ?? 0;
  const last = only === undefined ? rows.rows : only + 1;
  for (let r = first; r < last; r++) {
    let a = SEED_A;
    let b = SEED_B;
    for (const column of columns) {
      const at = r * fields + column;
      const length = fieldLength[at] as number;
      let m = premix(length);
      a = stepA(a, m);
      b = stepB(b, m);
      if (length <= 0) continue;
      let p = fieldStart[at] as number;
      const to = p + length;
      const whole = to - (length & 3);
      for (; p < whole; p += 4) {
        m = premix(view.getInt32(p, true));
        a = stepA(a, m);
        b = stepB(b, m);
      }
      if (p < to) {
        let k = 0;
        for (let shift = 0; p < to; p++, shift += 8) k |= (bytes[p] as number) << shift;
        m = premix(k);
        a = stepA(a, m);
        b = stepB(b, m);
      }
    }
    a ^= columns.length;
    b ^= FIELDS_DOMAIN;
    a = (a + b) | 0;
    b = (b + a) | 0;
    a = avalanche(a);
    b = avalanche(b);
    a = (a + b) | 0;
    b = (b + a) | 0;
    const slot = only === undefined ? r : 0;
    out.lo[slot] = a;
    out.hi[slot] = b;
  }
}
