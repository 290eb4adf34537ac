/**
 * Row hashing: a fast 64-bit hash per row over a canonical encoding of typed values, and
 * an order-independent {@link Checksum} built from it.
 *
 * Hashes are computed column by column straight from Arrow buffers (no per-row objects, no
 * string decoding, no BigInt arithmetic on the hot path). 64-bit values are carried as two
 * 32-bit lanes combined with `Math.imul`.
 *
 * # Canonical encoding (contract version {@link ROW_HASH_VERSION})
 *
 * This encoding is a cross-process, cross-version contract: a checksum computed by one Honk
 * version while streaming the source is compared with one computed by another process
 * reading the staged data back. ANY change to the rules below (tags, word order, mixing
 * constants, seeds) changes every hash and MUST bump {@link ROW_HASH_VERSION}.
 *
 * **Words.** Everything is a sequence of 32-bit words. A *word hash* `H(w₁…wₙ; len)` runs
 * two lanes: A starts at `0x2f0a1c5b`, B at `0x61c88647`. Each word `k` is premixed,
 * `m = rotl(k·0xcc9e2d51, 15)·0x1b873593`, then
 * - `a(A, m) = rotl(A ^ m, 13)·5 + 0xe6546b64`
 * - `b(B, m) = rotl(B + m, 17)·0x165667b1 + 0x27d4eb2f`
 *
 * (all mod 2³², `·` is `Math.imul`). Finalisation with a tag lane `S` (the constant
 * `0x3c6ef372` for plain word hashes) and a length `len`:
 * `A ^= len; B ^= S; A += B; B += A; A = f(A); B = f(B); A += B; B += A` where
 * `f(h) = h ^= h>>>16; h·=0x85ebca6b; h ^= h>>>13; h·=0xc2b2ae35; h ^= h>>>16`.
 * The result is the 64-bit value `hi = B, lo = A`.
 *
 * **Entries.** Every value (a column cell, a list element, a struct field) becomes exactly
 * three words `(tag, p0, p1)`. A NULL of any type is `(1, 0, 0)`; tag 1 is used by nothing
 * else, so NULL differs from every value (empty string, 0, false, empty list).
 * Absorbing an entry into a running hash: `m₀ = P(p0), m₁ = P(p1)` with
 * `P(k) = rotl(k·0xcc9e2d51, 15)·0x1b873593`; `A = a(a(A, m₀), m₁)`, `B = b(b(B, m₀), m₁)`
 * and the tag lane `S = (S ^ tag)·0x9e3779b1` (S starts at `0x3c6ef372`). Where a
 * payload is a 64-bit integer, `p0` is its low and `p1` its high word (two's complement).
 * Where the payload is "a hash", `(p0, p1) = (lo, hi)` of a word hash as described.
 *
 * | tag | logical value | payload |
 * |----:|---|---|
 * | 2 | boolean | `(0 or 1, 0)` |
 * | 3 | integer in [-2⁶³, 2⁶³) — every int/uint width, and decimals whose normalised scale is 0 | the int64 |
 * | 4 | integer in [2⁶³, 2⁶⁴) (uint64, decimal) | the value as uint64 |
 * | 5 | integer outside both ranges (wide decimals) | `H(sign, m₀…mₖ; k+1)` over the magnitude's 32-bit words, least significant first, without leading zero words; sign 0 or 1 |
 * | 6 | float (16/32/64 bits) | the IEEE-754 float64 bits of the value (float16/32 widened exactly); -0 keeps its sign bit (`0x8000000000000000`, unlike +0), every NaN encodes as `0x7ff8000000000000` |
 * | 7 | decimal with a fractional part | `H(scale, sign, m₀…mₖ; k+2)` of the normalised value (below) |
 * | 8 | date (date32 days, date64 ms) | days since the epoch as int64 |
 * | 9 | date64 that is not a whole day (out of spec) | the raw milliseconds as int64 |
 * | 10 | timestamp, any unit, any zone annotation | the instant in ns since the epoch as int64 |
 * | 11 | timestamp whose ns value overflows int64 | `H(r₀, r₁, r₂; 3)`: the 96-bit two's complement ns, low word first |
 * | 12 / 13 | time of day, any unit | ns since midnight, as tags 10 / 11 |
 * | 14 / 15 | duration, any unit | ns, as tags 10 / 11 |
 * | 16 + 32·n | utf8, large_utf8, utf8_view of n bytes | `L(bytes)` |
 * | 17 + 32·n | binary, large_binary, binary_view, fixed_size_binary of n bytes | `L(bytes)` |
 * | 18 | list, large_list, fixed_size_list | lanes absorbing the elements' entries, finalised with length = element count |
 * | 19 | struct | as a row (below) over the fields in order |
 * | 20 | map | as a list over the key/value struct entries |
 * | 21 | interval year-month | months as int64 |
 * | 22 | interval day-time | `(days, milliseconds)` |
 * | 23 | interval month-day-nano | `H(months, days, ns lo, ns hi; 4)` |
 * | 24 | union (sparse or dense) | `H(type id, entry of the chosen child; 4)`; a NULL child gives a NULL entry |
 *
 * `L(bytes)` runs the two lanes over the bytes read as little-endian 32-bit words (a final
 * partial word padded with zero bytes) WITHOUT finalisation: `(p0, p1) = (A, B)`. The
 * byte count is in the tag (`(n << 5) | family`, mod 2³²), and the entry is finalised by
 * whatever absorbs it (row, list, struct). UTF-8 is hashed as stored, never decoded.
 *
 * A **decimal** is normalised as sign and magnitude of its unscaled value, then trailing
 * zero digits are removed while the scale is above 0 (a negative scale is first multiplied
 * out to scale 0). So `decimal(10,2) 1.50` and `decimal(38,4) 1.5000` are both (15, scale 1)
 * and hash alike, and `decimal(p,s) 42.00` hashes exactly as the integer 42 of any int type.
 *
 * Floats hash their bits because every format Honk writes keeps them: -0.0 and +0.0 are
 * different values there (a sink that drops the sign fails the checksum). NaN payloads are
 * not kept alike by every engine, so all NaNs hash as one. Version 1 hashed -0 as +0.
 *
 * Dictionary-encoded columns hash their decoded values. Column names play no part.
 *
 * **Rows.** A row hash absorbs the entries of column 0, 1, … in order into fresh lanes
 * (A, B, S) and finalises with `len` = column count: column order matters, names do not.
 *
 * **Checksum.** The sum of all row hashes mod 2⁶⁴ (the lanes carried as one 64-bit number),
 * printed as 16 lowercase hex digits, plus the row count. Sums commute, so row order and
 * batch boundaries do not matter; a duplicated row adds its hash again, so duplicates do.
 */
import {
  type Data,
  DateUnit,
  IntervalUnit,
  Precision,
  type RecordBatch,
  TimeUnit,
  Type,
  UnionMode,
  type Vector,
} from 'apache-arrow';
import { SchemaMismatchError } from '../errors/honk-error.ts';

/**
 * Version of the canonical encoding. Checksums and samples carry it; two summaries with
 * different versions are never compared as equal. Bump on any change to the encoding.
 */
export const ROW_HASH_VERSION = 2;

/** Per-row 64-bit hashes as two lanes: row `i` is `hi[i] * 2^32 + lo[i]`. */
export interface RowHashes {
  hi: Uint32Array;
  lo: Uint32Array;
}

// ---------------------------------------------------------------------------------------
// Tags (see the table above). Never renumber: that is a ROW_HASH_VERSION bump.

const TAG_NULL = 1;
const TAG_BOOL = 2;
const TAG_INT = 3;
const TAG_UINT_HIGH = 4;
const TAG_BIG_INTEGER = 5;
const TAG_FLOAT = 6;
const TAG_DECIMAL = 7;
const TAG_DATE = 8;
const TAG_DATE_INEXACT = 9;
const TAG_TIMESTAMP = 10;
const TAG_TIMESTAMP_WIDE = 11;
const TAG_TIME = 12;
const TAG_TIME_WIDE = 13;
const TAG_DURATION = 14;
const TAG_DURATION_WIDE = 15;
const TAG_STRING = 16;
const TAG_BINARY = 17;
const TAG_LIST = 18;
const TAG_STRUCT = 19;
const TAG_MAP = 20;
const TAG_INTERVAL_YEAR_MONTH = 21;
const TAG_INTERVAL_DAY_TIME = 22;
const TAG_INTERVAL_MONTH_DAY_NANO = 23;
const TAG_UNION = 24;

const SEED_A = 0x2f0a1c5b;
const SEED_B = 0x61c88647;
const SEED_S = 0x3c6ef372;
const TWO_32 = 4294967296;
const INV_16 = 1 / 65536;
const INV_32 = 1 / 4294967296;

// ---------------------------------------------------------------------------------------
// Mixing. Small functions: V8 inlines them into the column loops.

/** Spreads one input word; shared by both lanes (a bijection, so distinct words stay distinct). */
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

/** The tag lane: tags are tiny, one multiply is enough before the final avalanche. */
function stepS(s: number, tag: number): number {
  return Math.imul(s ^ tag, 0x9e3779b1);
}

function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

// A tiny word-hash machine for multi-word payloads. Module state is safe: hashing is
// synchronous and these helpers never call back into code that uses them.
let wordA = 0;
let wordB = 0;
/** Result of {@link finish}: `hi`/`lo` of the hash as signed int32s. */
let resultHi = 0;
let resultLo = 0;

function beginWords(): void {
  wordA = SEED_A;
  wordB = SEED_B;
}

function word(k: number): void {
  const m = premix(k);
  wordA = stepA(wordA, m);
  wordB = stepB(wordB, m);
}

function endWords(len: number): void {
  finish(wordA, wordB, SEED_S, len);
}

function finish(a: number, b: number, s: number, len: number): void {
  a ^= len;
  b ^= s;
  a = (a + b) | 0;
  b = (b + a) | 0;
  a = avalanche(a);
  b = avalanche(b);
  a = (a + b) | 0;
  b = (b + a) | 0;
  resultLo = a;
  resultHi = b;
}

// ---------------------------------------------------------------------------------------
// Entries: three int32 arrays holding (tag, p0, p1) per value.

interface Entries {
  tag: Int32Array;
  p0: Int32Array;
  p1: Int32Array;
}

function allocateEntries(n: number): Entries {
  return { tag: new Int32Array(n), p0: new Int32Array(n), p1: new Int32Array(n) };
}

/** Scratch for the top-level column loop (entries + tag lane), grown on demand; nested types allocate their own. */
let topScratch: Entries & { s: Int32Array } = { ...allocateEntries(0), s: new Int32Array(0) };

function topLevelScratch(n: number): Entries & { s: Int32Array } {
  if (topScratch.s.length < n) {
    const size = Math.max(n, topScratch.s.length * 2);
    topScratch = { ...allocateEntries(CHUNK_ROWS), s: new Int32Array(size) };
  }
  return topScratch;
}

/** Dictionaries repeat across batches: their decoded entries are computed once. */
const dictionaryCache = new WeakMap<Vector, Entries>();

function int32View(values: ArrayBufferView, words: number): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, words);
}

function isValid(bitmap: Uint8Array, position: number): boolean {
  return ((bitmap[position >> 3]! >> (position & 7)) & 1) === 1;
}

/** True when `data` may hold nulls in its own validity bitmap. */
function hasNulls(data: Data): boolean {
  const bitmap = data.nullBitmap as Uint8Array | undefined;
  return bitmap !== undefined && bitmap.length > 0 && data.nullCount > 0;
}

/** Overwrites the entries of null rows with the NULL entry. */
function applyNulls(data: Data, e: Entries, n: number): void {
  if (!hasNulls(data)) return;
  const bitmap = data.nullBitmap as Uint8Array;
  const offset = data.offset;
  const { tag, p0, p1 } = e;
  for (let i = 0; i < n; i++) {
    if (!isValid(bitmap, offset + i)) {
      tag[i] = TAG_NULL;
      p0[i] = 0;
      p1[i] = 0;
    }
  }
}

/** Fills `e[0..data.length)` with the canonical entries of `data`'s values. */
function columnEntries(data: Data, e: Entries): void {
  const n = data.length;
  const type = data.type as any;
  switch (type.typeId as Type) {
    case Type.Null:
      e.tag.fill(TAG_NULL, 0, n);
      e.p0.fill(0, 0, n);
      e.p1.fill(0, 0, n);
      return;
    case Type.Bool:
      boolEntries(data, e, n);
      break;
    case Type.Int:
      intEntries(data, e, n, type.bitWidth as number, type.isSigned as boolean);
      break;
    case Type.Float:
      floatEntries(data, e, n, type.precision as Precision);
      break;
    case Type.Decimal:
      decimalEntries(data, e, n, type.scale as number, (type.bitWidth as number) / 32);
      break;
    case Type.Date:
      dateEntries(data, e, n, type.unit as DateUnit);
      break;
    case Type.Timestamp:
      scaledInt64Entries(data, e, n, nanosPerUnit(type.unit), 64, TAG_TIMESTAMP, TAG_TIMESTAMP_WIDE);
      break;
    case Type.Time:
      scaledInt64Entries(data, e, n, nanosPerUnit(type.unit), type.bitWidth as number, TAG_TIME, TAG_TIME_WIDE);
      break;
    case Type.Duration:
      scaledInt64Entries(data, e, n, nanosPerUnit(type.unit), 64, TAG_DURATION, TAG_DURATION_WIDE);
      break;
    case Type.Utf8:
    case Type.LargeUtf8:
      variableBytesEntries(data, e, n, TAG_STRING);
      return;
    case Type.Binary:
    case Type.LargeBinary:
      variableBytesEntries(data, e, n, TAG_BINARY);
      return;
    case Type.Utf8View:
      viewBytesEntries(data, e, n, TAG_STRING);
      return;
    case Type.BinaryView:
      viewBytesEntries(data, e, n, TAG_BINARY);
      return;
    case Type.FixedSizeBinary:
      fixedBytesEntries(data, e, n, type.byteWidth as number);
      break;
    case Type.List:
    case Type.LargeList:
      listEntries(data, e, n, TAG_LIST);
      return;
    case Type.Map:
      listEntries(data, e, n, TAG_MAP);
      return;
    case Type.FixedSizeList:
      fixedListEntries(data, e, n, type.listSize as number);
      return;
    case Type.Struct:
      structEntries(data, e, n);
      break;
    case Type.Dictionary:
      dictionaryEntries(data, e, n);
      return;
    case Type.Interval:
      intervalEntries(data, e, n, type.unit as IntervalUnit);
      break;
    case Type.Union:
      unionEntries(data, e, n, type);
      return;
    default:
      throw new SchemaMismatchError(
        `Row hashing does not support Arrow type ${String(type)}: cast the column to a supported type (integer, float, decimal, string, binary, date, time, timestamp, list, struct, map) before validation.`,
        { details: { type: String(type) } },
      );
  }
  applyNulls(data, e, n);
}

function boolEntries(data: Data, e: Entries, n: number): void {
  const bits = data.values as Uint8Array;
  const offset = data.offset;
  const { tag, p0, p1 } = e;
  for (let i = 0; i < n; i++) {
    tag[i] = TAG_BOOL;
    p0[i] = isValid(bits, offset + i) ? 1 : 0;
    p1[i] = 0;
  }
}

function intEntries(data: Data, e: Entries, n: number, bitWidth: number, signed: boolean): void {
  const { tag, p0, p1 } = e;
  if (bitWidth === 64) {
    const words = int32View(data.values as ArrayBufferView, 2 * n);
    for (let i = 0; i < n; i++) {
      const hi = words[2 * i + 1]!;
      tag[i] = signed || hi >= 0 ? TAG_INT : TAG_UINT_HIGH;
      p0[i] = words[2 * i]!;
      p1[i] = hi;
    }
    return;
  }
  const values = data.values as Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    tag[i] = TAG_INT;
    p0[i] = v | 0;
    p1[i] = v < 0 ? -1 : 0;
  }
}

/** Canonical float64 words: every NaN → one quiet NaN; -0 keeps its sign bit. */
function putFloatWords(e: Entries, i: number, lo: number, hi: number): void {
  e.tag[i] = TAG_FLOAT;
  if ((hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0) {
    e.p0[i] = 0;
    e.p1[i] = 0x7ff80000;
  } else {
    e.p0[i] = lo;
    e.p1[i] = hi;
  }
}

function floatEntries(data: Data, e: Entries, n: number, precision: Precision): void {
  let doubles: Float64Array;
  if (precision === Precision.DOUBLE) {
    doubles = data.values as Float64Array;
  } else {
    // Widen to float64 first: float32 1.5 and float64 1.5 are the same value.
    doubles = new Float64Array(n);
    const values = data.values as Float32Array | Uint16Array;
    if (precision === Precision.SINGLE) {
      for (let i = 0; i < n; i++) doubles[i] = values[i]!;
    } else {
      for (let i = 0; i < n; i++) doubles[i] = halfToDouble(values[i]!);
    }
  }
  const words = int32View(doubles, 2 * n);
  for (let i = 0; i < n; i++) putFloatWords(e, i, words[2 * i]!, words[2 * i + 1]!);
}

function halfToDouble(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// Decimal scratch: magnitude words (least significant first), reused per value.
let magnitude = new Uint32Array(16);

/** Divides `magnitude[0..len)` by 10 in place when it is divisible; returns whether it was. */
function divideBy10IfExact(len: number): boolean {
  let remainder = 0;
  for (let j = len - 1; j >= 0; j--) remainder = (remainder * TWO_32 + magnitude[j]!) % 10;
  if (remainder !== 0) return false;
  remainder = 0;
  for (let j = len - 1; j >= 0; j--) {
    const current = remainder * TWO_32 + magnitude[j]!;
    const quotient = Math.floor(current / 10);
    remainder = current - quotient * 10;
    magnitude[j] = quotient;
  }
  return true;
}

function multiplyBy10(len: number): number {
  let carry = 0;
  for (let j = 0; j < len; j++) {
    const product = magnitude[j]! * 10 + carry;
    magnitude[j] = product % TWO_32;
    carry = Math.floor(product / TWO_32);
  }
  if (carry !== 0) magnitude[len++] = carry;
  return len;
}

function decimalEntries(data: Data, e: Entries, n: number, scale: number, stride: number): void {
  const values = data.values as Uint32Array;
  const needed = stride + 2 + Math.ceil(Math.max(0, -scale) / 9);
  if (magnitude.length < needed) magnitude = new Uint32Array(needed);
  for (let i = 0; i < n; i++) {
    const base = i * stride;
    const negative = values[base + stride - 1]! >>> 31 === 1;
    // Two's complement → sign and magnitude.
    let carry = 1;
    for (let j = 0; j < stride; j++) {
      const w = values[base + j]!;
      if (negative) {
        const sum = (~w >>> 0) + carry;
        magnitude[j] = sum % TWO_32;
        carry = sum >= TWO_32 ? 1 : 0;
      } else {
        magnitude[j] = w;
      }
    }
    let len = stride;
    while (len > 0 && magnitude[len - 1] === 0) len--;
    if (len === 0) {
      e.tag[i] = TAG_INT;
      e.p0[i] = 0;
      e.p1[i] = 0;
      continue;
    }
    let s = scale;
    while (s < 0) {
      len = multiplyBy10(len);
      s++;
    }
    while (s > 0 && divideBy10IfExact(len)) {
      s--;
      while (len > 0 && magnitude[len - 1] === 0) len--;
    }
    putDecimal(e, i, negative, len, s);
  }
}

/** Writes the entry for ±magnitude[0..len) × 10^-scale (scale ≥ 0, already normalised). */
function putDecimal(e: Entries, i: number, negative: boolean, len: number, scale: number): void {
  if (scale === 0 && len <= 2) {
    const lo = magnitude[0] ?? 0;
    const hi = len === 2 ? magnitude[1]! : 0;
    if (!negative) {
      putInt(e, i, hi < 0x80000000 ? TAG_INT : TAG_UINT_HIGH, lo, hi);
      return;
    }
    // -magnitude fits int64 when magnitude ≤ 2^63.
    if (hi < 0x80000000 || (hi === 0x80000000 && lo === 0)) {
      const negLo = (~lo + 1) >>> 0;
      const negHi = (~hi + (negLo === 0 ? 1 : 0)) >>> 0;
      putInt(e, i, TAG_INT, negLo, negHi);
      return;
    }
  }
  beginWords();
  let count = 1;
  if (scale > 0) {
    word(scale);
    count++;
  }
  word(negative ? 1 : 0);
  for (let j = 0; j < len; j++) word(magnitude[j]!);
  endWords(count + len);
  e.tag[i] = scale > 0 ? TAG_DECIMAL : TAG_BIG_INTEGER;
  e.p0[i] = resultLo;
  e.p1[i] = resultHi;
}

function putInt(e: Entries, i: number, tag: number, lo: number, hi: number): void {
  e.tag[i] = tag;
  e.p0[i] = lo;
  e.p1[i] = hi;
}

const MS_PER_DAY = 86_400_000;

function dateEntries(data: Data, e: Entries, n: number, unit: DateUnit): void {
  const { tag, p0, p1 } = e;
  if (unit === DateUnit.DAY) {
    const days = data.values as Int32Array;
    for (let i = 0; i < n; i++) {
      const d = days[i]!;
      tag[i] = TAG_DATE;
      p0[i] = d;
      p1[i] = d < 0 ? -1 : 0;
    }
    return;
  }
  const words = int32View(data.values as ArrayBufferView, 2 * n);
  for (let i = 0; i < n; i++) {
    const lo = words[2 * i]!;
    const hi = words[2 * i + 1]!;
    let days: number;
    let exact: boolean;
    if (hi >= -0x200000 && hi < 0x200000) {
      // |ms| < 2^53: exact in a double.
      const ms = hi * TWO_32 + (lo >>> 0);
      days = Math.floor(ms / MS_PER_DAY);
      exact = ms - days * MS_PER_DAY === 0;
    } else {
      // Cold path, dates beyond ±285,000 years.
      const ms = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
      const day = BigInt(MS_PER_DAY);
      let q = ms / day;
      if (ms % day !== 0n && ms < 0n) q -= 1n;
      exact = ms % day === 0n;
      days = Number(q);
    }
    if (exact) {
      tag[i] = TAG_DATE;
      p0[i] = days | 0;
      p1[i] = Math.floor(days / TWO_32);
    } else {
      tag[i] = TAG_DATE_INEXACT;
      p0[i] = lo;
      p1[i] = hi;
    }
  }
}

function nanosPerUnit(unit: TimeUnit): number {
  switch (unit) {
    case TimeUnit.SECOND:
      return 1_000_000_000;
    case TimeUnit.MILLISECOND:
      return 1_000_000;
    case TimeUnit.MICROSECOND:
      return 1_000;
    default:
      return 1;
  }
}

/**
 * Entries for integers counted in a unit, rescaled to nanoseconds: `value × factor` as an
 * exact 96-bit product from double arithmetic on 16-bit pieces (every intermediate stays
 * below 2^53), so no BigInt is needed.
 */
function scaledInt64Entries(
  data: Data,
  e: Entries,
  n: number,
  factor: number,
  bitWidth: number,
  tagFits: number,
  tagWide: number,
): void {
  const wide = bitWidth === 64;
  const words = wide ? int32View(data.values as ArrayBufferView, 2 * n) : (data.values as Int32Array);
  for (let i = 0; i < n; i++) {
    const lo = wide ? words[2 * i]! : words[i]!;
    const hi = wide ? words[2 * i + 1]! : words[i]! >> 31;
    scaleToNanos(lo, hi, factor, tagFits, tagWide);
    putInt(e, i, resultTag, resultLo, resultHi);
  }
}

/** Tag chosen by {@link scaleToNanos}. */
let resultTag = 0;

/**
 * `(hi·2^32 + lo) × factor` as an exact 96-bit product computed with doubles on 16-bit
 * pieces (every intermediate stays below 2^53), so no BigInt is needed. Sets resultTag /
 * resultLo / resultHi: the int64 when it fits, else a word hash of the 96 bits.
 */
function scaleToNanos(lo: number, hi: number, factor: number, tagFits: number, tagWide: number): void {
  if (factor === 1) {
    resultTag = tagFits;
    resultLo = lo;
    resultHi = hi;
    return;
  }
  lo >>>= 0;
  // Powers of two scale exactly and Math.floor is cheap; `%` on doubles is not.
  // lo × factor = t1·2^16 + t0
  const t0 = (lo & 0xffff) * factor;
  const t1 = (lo >>> 16) * factor;
  const t1High = Math.floor(t1 * INV_16);
  const a = t0 + (t1 - t1High * 65536) * 65536;
  const aHigh = Math.floor(a * INV_32);
  const r0 = a - aHigh * TWO_32;
  // hi × factor + carry = u·2^16 + b, with u signed
  const b = (hi & 0xffff) * factor + aHigh + t1High;
  const u = (hi >> 16) * factor;
  const uHigh = Math.floor(u * INV_16);
  const y = (u - uHigh * 65536) * 65536 + b;
  const yHigh = Math.floor(y * INV_32);
  const r1 = y - yHigh * TWO_32;
  const r2 = uHigh + yHigh;
  if (r2 === (r1 >= 0x80000000 ? -1 : 0)) {
    resultTag = tagFits;
    resultLo = r0 | 0;
    resultHi = r1 | 0;
    return;
  }
  beginWords();
  word(r0);
  word(r1);
  word(r2);
  endWords(3);
  resultTag = tagWide;
}

/** Hashes bytes[start, end) into resultHi/resultLo. */
function hashBytes(view: DataView, bytes: Uint8Array, start: number, end: number): void {
  let a = SEED_A;
  let b = SEED_B;
  let p = start;
  const whole = end - ((end - start) & 3);
  for (; p < whole; p += 4) {
    const m = premix(view.getInt32(p, true));
    a = stepA(a, m);
    b = stepB(b, m);
  }
  if (p < end) {
    let k = 0;
    for (let shift = 0; p < end; p++, shift += 8) k |= bytes[p]! << shift;
    const m = premix(k);
    a = stepA(a, m);
    b = stepB(b, m);
  }
  // Not finalised: the row (or list/struct) hash that absorbs these lanes finalises, and
  // the byte length travels in the tag.
  resultLo = a;
  resultHi = b;
}

/** Tag of a byte-string entry: the family tag (< 32) with the byte length above it. */
function bytesTag(valueTag: number, length: number): number {
  return (length << 5) | valueTag;
}

function dataViewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function variableBytesEntries(data: Data, e: Entries, n: number, valueTag: number): void {
  const bytes = data.values as Uint8Array;
  const view = dataViewOf(bytes);
  const large = data.valueOffsets instanceof BigInt64Array;
  const offsets = large
    ? int32View(data.valueOffsets as BigInt64Array, 2 * (n + 1))
    : (data.valueOffsets as Int32Array);
  const nulls = hasNulls(data);
  const bitmap = data.nullBitmap as Uint8Array;
  const { tag, p0, p1 } = e;
  for (let i = 0; i < n; i++) {
    if (nulls && !isValid(bitmap, data.offset + i)) {
      tag[i] = TAG_NULL;
      p0[i] = 0;
      p1[i] = 0;
      continue;
    }
    // Large offsets: the low word is enough, a JS buffer never exceeds 2^32 bytes here.
    const start = large ? offsets[2 * i]! >>> 0 : offsets[i]!;
    const end = large ? offsets[2 * i + 2]! >>> 0 : offsets[i + 1]!;
    hashBytes(view, bytes, start, end);
    tag[i] = bytesTag(valueTag, end - start);
    p0[i] = resultLo;
    p1[i] = resultHi;
  }
}

function viewBytesEntries(data: Data, e: Entries, n: number, valueTag: number): void {
  const views = data.values as Uint8Array;
  const ints = dataViewOf(views);
  const buffers = data.variadicBuffers;
  const bufferViews = buffers.map(dataViewOf);
  const nulls = hasNulls(data);
  const bitmap = data.nullBitmap as Uint8Array;
  for (let i = 0; i < n; i++) {
    if (nulls && !isValid(bitmap, data.offset + i)) {
      putInt(e, i, TAG_NULL, 0, 0);
      continue;
    }
    const base = 16 * i;
    const size = Math.max(0, ints.getInt32(base, true));
    if (size <= 12) {
      hashBytes(ints, views, base + 4, base + 4 + size);
    } else {
      const index = ints.getInt32(base + 8, true);
      const offset = ints.getInt32(base + 12, true);
      hashBytes(bufferViews[index]!, buffers[index]!, offset, offset + size);
    }
    putInt(e, i, bytesTag(valueTag, size), resultLo, resultHi);
  }
}

function fixedBytesEntries(data: Data, e: Entries, n: number, width: number): void {
  const bytes = data.values as Uint8Array;
  const view = dataViewOf(bytes);
  for (let i = 0; i < n; i++) {
    hashBytes(view, bytes, i * width, (i + 1) * width);
    putInt(e, i, bytesTag(TAG_BINARY, width), resultLo, resultHi);
  }
}

/** Hashes runs of child entries: value i covers child entries [start(i), end(i)). */
function hashEntryRun(child: Entries, start: number, end: number): void {
  let a = SEED_A;
  let b = SEED_B;
  let s = SEED_S;
  const { tag, p0, p1 } = child;
  for (let j = start; j < end; j++) {
    const x = premix(p0[j]!);
    const y = premix(p1[j]!);
    a = stepA(stepA(a, x), y);
    b = stepB(stepB(b, x), y);
    s = stepS(s, tag[j]!);
  }
  finish(a, b, s, end - start);
}

function listEntries(data: Data, e: Entries, n: number, valueTag: number): void {
  if (n === 0) return;
  const large = data.valueOffsets instanceof BigInt64Array;
  const offsets = large
    ? int32View(data.valueOffsets as BigInt64Array, 2 * (n + 1))
    : (data.valueOffsets as Int32Array);
  // Only the child range these rows use: a one-row slice (sample rows) must not pay for
  // the whole child array. Offsets are monotonic, also across null rows (Arrow spec).
  const first = large ? offsets[0]! >>> 0 : offsets[0]!;
  const last = large ? offsets[2 * n]! >>> 0 : offsets[n]!;
  const childData = data.children[0]!;
  const child = allocateEntries(last - first);
  columnEntries(first === 0 && last === childData.length ? childData : childData.slice(first, last - first), child);
  const nulls = hasNulls(data);
  const bitmap = data.nullBitmap as Uint8Array;
  for (let i = 0; i < n; i++) {
    if (nulls && !isValid(bitmap, data.offset + i)) {
      putInt(e, i, TAG_NULL, 0, 0);
      continue;
    }
    const start = large ? offsets[2 * i]! >>> 0 : offsets[i]!;
    const end = large ? offsets[2 * i + 2]! >>> 0 : offsets[i + 1]!;
    hashEntryRun(child, start - first, end - first);
    putInt(e, i, valueTag, resultLo, resultHi);
  }
}

function fixedListEntries(data: Data, e: Entries, n: number, size: number): void {
  const childData = data.children[0]!;
  const child = allocateEntries(childData.length);
  columnEntries(childData, child);
  const nulls = hasNulls(data);
  const bitmap = data.nullBitmap as Uint8Array;
  for (let i = 0; i < n; i++) {
    if (nulls && !isValid(bitmap, data.offset + i)) {
      putInt(e, i, TAG_NULL, 0, 0);
      continue;
    }
    hashEntryRun(child, i * size, (i + 1) * size);
    putInt(e, i, TAG_LIST, resultLo, resultHi);
  }
}

function structEntries(data: Data, e: Entries, n: number): void {
  const stateA = new Int32Array(n);
  const stateB = new Int32Array(n);
  hashColumnsInto(data.children, n, stateA, stateB, new Int32Array(n), allocateEntries(Math.min(n, CHUNK_ROWS)));
  for (let i = 0; i < n; i++) putInt(e, i, TAG_STRUCT, stateA[i]!, stateB[i]!);
}

function dictionaryEntries(data: Data, e: Entries, n: number): void {
  const dictionary = data.dictionary;
  if (dictionary === undefined) {
    throw new SchemaMismatchError(
      'A dictionary-encoded column arrived without its dictionary; the batch is malformed.',
    );
  }
  let decoded = dictionaryCache.get(dictionary);
  if (decoded === undefined) {
    decoded = allocateEntries(dictionary.length);
    let at = 0;
    for (const chunk of dictionary.data) {
      const part = allocateEntries(chunk.length);
      columnEntries(chunk, part);
      decoded.tag.set(part.tag, at);
      decoded.p0.set(part.p0, at);
      decoded.p1.set(part.p1, at);
      at += chunk.length;
    }
    dictionaryCache.set(dictionary, decoded);
  }
  const indices = data.values as ArrayLike<number> | BigInt64Array | BigUint64Array;
  const words =
    indices instanceof BigInt64Array || indices instanceof BigUint64Array ? int32View(indices, 2 * n) : null;
  const nulls = hasNulls(data);
  const bitmap = data.nullBitmap as Uint8Array;
  const { tag, p0, p1 } = decoded;
  for (let i = 0; i < n; i++) {
    if (nulls && !isValid(bitmap, data.offset + i)) {
      putInt(e, i, TAG_NULL, 0, 0);
      continue;
    }
    const k = words === null ? (indices as ArrayLike<number>)[i]! : words[2 * i]!;
    e.tag[i] = tag[k]!;
    e.p0[i] = p0[k]!;
    e.p1[i] = p1[k]!;
  }
}

function intervalEntries(data: Data, e: Entries, n: number, unit: IntervalUnit): void {
  const values = data.values as Int32Array;
  for (let i = 0; i < n; i++) {
    if (unit === IntervalUnit.YEAR_MONTH) {
      const months = values[i]!;
      putInt(e, i, TAG_INTERVAL_YEAR_MONTH, months, months < 0 ? -1 : 0);
    } else if (unit === IntervalUnit.DAY_TIME) {
      putInt(e, i, TAG_INTERVAL_DAY_TIME, values[2 * i]!, values[2 * i + 1]!);
    } else {
      beginWords();
      for (let j = 0; j < 4; j++) word(values[4 * i + j]!);
      endWords(4);
      putInt(e, i, TAG_INTERVAL_MONTH_DAY_NANO, resultLo, resultHi);
    }
  }
}

function unionEntries(data: Data, e: Entries, n: number, type: any): void {
  const typeIds = data.typeIds as Int8Array;
  const dense = type.mode === UnionMode.Dense;
  const offsets = data.valueOffsets as Int32Array | undefined;
  const children = data.children.map((child) => {
    const entries = allocateEntries(child.length);
    columnEntries(child, entries);
    return entries;
  });
  const childIndexOf = type.typeIdToChildIndex as Record<number, number>;
  for (let i = 0; i < n; i++) {
    const typeId = typeIds[i]!;
    const child = children[childIndexOf[typeId]!]!;
    const at = dense && offsets !== undefined ? offsets[i]! : i;
    const t = child.tag[at]!;
    if (t === TAG_NULL) {
      putInt(e, i, TAG_NULL, 0, 0);
      continue;
    }
    beginWords();
    word(typeId);
    word(t);
    word(child.p0[at]!);
    word(child.p1[at]!);
    endWords(4);
    putInt(e, i, TAG_UNION, resultLo, resultHi);
  }
}

// ---------------------------------------------------------------------------------------
// Rows.

/**
 * Rows are hashed in chunks so the lane states and entry scratch of a chunk stay in the
 * CPU cache while every column passes over them (whole-batch passes spill to memory).
 */
const CHUNK_ROWS = 2048;

/** Types whose entries are computed once for the whole column: slicing them per chunk would re-read their children. */
const WHOLE_COLUMN_TYPES = new Set<Type>([Type.List, Type.LargeList, Type.Map, Type.FixedSizeList, Type.Union]);

/** A column's validity bitmap (null when it has no nulls) and the bit offset of row 0. */
interface Validity {
  bitmap: Uint8Array | null;
  offset: number;
}

const PREMIX_ZERO = premix(0);

/** Absorbs the NULL entry `(1, 0, 0)` into row `i`. */
function absorbNull(stateA: Int32Array, stateB: Int32Array, stateS: Int32Array, i: number): void {
  stateA[i] = stepA(stepA(stateA[i]!, PREMIX_ZERO), PREMIX_ZERO);
  stateB[i] = stepB(stepB(stateB[i]!, PREMIX_ZERO), PREMIX_ZERO);
  stateS[i] = stepS(stateS[i]!, TAG_NULL);
}

/** Absorbs one column's rows [start, end) straight into the lanes. */
type ChunkAbsorber = (start: number, end: number) => void;

/**
 * Fused fast paths for the commonest column types: the same entries as
 * {@link columnEntries}, absorbed straight into the lanes without the scratch round trip
 * or per-chunk slicing. One small function per type so V8 inlines the mixing into each.
 * Returns null when the column needs the general path.
 */
function directAbsorber(data: Data, stateA: Int32Array, stateB: Int32Array, stateS: Int32Array): ChunkAbsorber | null {
  const v: Validity = { bitmap: hasNulls(data) ? (data.nullBitmap as Uint8Array) : null, offset: data.offset };
  const type = data.type as any;
  const n = data.length;
  switch (type.typeId as Type) {
    case Type.Int: {
      if (type.bitWidth === 64) {
        const words = int32View(data.values as ArrayBufferView, 2 * n);
        const signed = type.isSigned as boolean;
        return (start, end) => absorbInt64(words, signed, TAG_INT, v, start, end, stateA, stateB, stateS);
      }
      const values = data.values as Int32Array;
      return (start, end) => absorbInt32(values, v, start, end, stateA, stateB, stateS);
    }
    case Type.Float: {
      if (type.precision !== Precision.DOUBLE) return null;
      const words = int32View(data.values as ArrayBufferView, 2 * n);
      return (start, end) => absorbFloat64(words, v, start, end, stateA, stateB, stateS);
    }
    case Type.Timestamp: {
      const words = int32View(data.values as ArrayBufferView, 2 * n);
      const factor = nanosPerUnit(type.unit);
      if (factor === 1)
        return (start, end) => absorbInt64(words, true, TAG_TIMESTAMP, v, start, end, stateA, stateB, stateS);
      return (start, end) => absorbScaled(words, factor, v, start, end, stateA, stateB, stateS);
    }
    case Type.Bool: {
      const bits = data.values as Uint8Array;
      const offset = data.offset;
      return (start, end) => absorbBool(bits, offset, v, start, end, stateA, stateB, stateS);
    }
    case Type.Utf8:
    case Type.Binary: {
      const bytes = data.values as Uint8Array;
      const view = dataViewOf(bytes);
      const offsets = data.valueOffsets as Int32Array;
      const family = type.typeId === Type.Utf8 ? TAG_STRING : TAG_BINARY;
      return (start, end) => absorbBytes(bytes, view, offsets, family, v, start, end, stateA, stateB, stateS);
    }
    default:
      return null;
  }
}

function absorbInt64(
  words: Int32Array,
  signed: boolean,
  tag: number,
  v: Validity,
  start: number,
  end: number,
  stateA: Int32Array,
  stateB: Int32Array,
  stateS: Int32Array,
): void {
  const bitmap = v.bitmap;
  const validOffset = v.offset;
  for (let i = start; i < end; i++) {
    if (bitmap !== null && !isValid(bitmap, validOffset + i)) {
      absorbNull(stateA, stateB, stateS, i);
      continue;
    }
    const hi = words[2 * i + 1]!;
    const x = premix(words[2 * i]!);
    const y = premix(hi);
    stateA[i] = stepA(stepA(stateA[i]!, x), y);
    stateB[i] = stepB(stepB(stateB[i]!, x), y);
    stateS[i] = stepS(stateS[i]!, signed || hi >= 0 ? tag : TAG_UINT_HIGH);
  }
}

function absorbInt32(
  values: Int32Array,
  v: Validity,
  start: number,
  end: number,
  stateA: Int32Array,
  stateB: Int32Array,
  stateS: Int32Array,
): void {
  const bitmap = v.bitmap;
  const validOffset = v.offset;
  for (let i = start; i < end; i++) {
    if (bitmap !== null && !isValid(bitmap, validOffset + i)) {
      absorbNull(stateA, stateB, stateS, i);
      continue;
    }
    const value = values[i]!;
    const x = premix(value | 0);
    const y = premix(value < 0 ? -1 : 0);
    stateA[i] = stepA(stepA(stateA[i]!, x), y);
    stateB[i] = stepB(stepB(stateB[i]!, x), y);
    stateS[i] = stepS(stateS[i]!, TAG_INT);
  }
}

function absorbFloat64(
  words: Int32Array,
  v: Validity,
  start: number,
  end: number,
  stateA: Int32Array,
  stateB: Int32Array,
  stateS: Int32Array,
): void {
  const bitmap = v.bitmap;
  const validOffset = v.offset;
  for (let i = start; i < end; i++) {
    if (bitmap !== null && !isValid(bitmap, validOffset + i)) {
      absorbNull(stateA, stateB, stateS, i);
      continue;
    }
    let lo = words[2 * i]!;
    let hi = words[2 * i + 1]!;
    if ((hi & 0x7ff00000) === 0x7ff00000 && ((hi & 0xfffff) | lo) !== 0) {
      lo = 0;
      hi = 0x7ff80000;
    }
    const x = premix(lo);
    const y = premix(hi);
    stateA[i] = stepA(stepA(stateA[i]!, x), y);
    stateB[i] = stepB(stepB(stateB[i]!, x), y);
    stateS[i] = stepS(stateS[i]!, TAG_FLOAT);
  }
}

function absorbScaled(
  words: Int32Array,
  factor: number,
  v: Validity,
  start: number,
  end: number,
  stateA: Int32Array,
  stateB: Int32Array,
  stateS: Int32Array,
): void {
  const bitmap = v.bitmap;
  const validOffset = v.offset;
  for (let i = start; i < end; i++) {
    if (bitmap !== null && !isValid(bitmap, validOffset + i)) {
      absorbNull(stateA, stateB, stateS, i);
      continue;
    }
    // scaleToNanos, inlined by hand for the common case (the product fits int64).
    const lo = words[2 * i]! >>> 0;
    const hi = words[2 * i + 1]!;
    const t0 = (lo & 0xffff) * factor;
    const t1 = (lo >>> 16) * factor;
    const t1High = Math.floor(t1 * INV_16);
    const a = t0 + (t1 - t1High * 65536) * 65536;
    const aHigh = Math.floor(a * INV_32);
    const b = (hi & 0xffff) * factor + aHigh + t1High;
    const u = (hi >> 16) * factor;
    const uHigh = Math.floor(u * INV_16);
    const y1 = (u - uHigh * 65536) * 65536 + b;
    const yHigh = Math.floor(y1 * INV_32);
    const r1 = y1 - yHigh * TWO_32;
    let tag = TAG_TIMESTAMP;
    let p0 = (a - aHigh * TWO_32) | 0;
    let p1 = r1 | 0;
    if (uHigh + yHigh !== (r1 >= 0x80000000 ? -1 : 0)) {
      scaleToNanos(lo, hi, factor, TAG_TIMESTAMP, TAG_TIMESTAMP_WIDE);
      tag = resultTag;
      p0 = resultLo;
      p1 = resultHi;
    }
    const x = premix(p0);
    const y = premix(p1);
    stateA[i] = stepA(stepA(stateA[i]!, x), y);
    stateB[i] = stepB(stepB(stateB[i]!, x), y);
    stateS[i] = stepS(stateS[i]!, tag);
  }
}

function absorbBool(
  bits: Uint8Array,
  offset: number,
  v: Validity,
  start: number,
  end: number,
  stateA: Int32Array,
  stateB: Int32Array,
  stateS: Int32Array,
): void {
  const bitmap = v.bitmap;
  const validOffset = v.offset;
  const zero = premix(0);
  const one = premix(1);
  for (let i = start; i < end; i++) {
    if (bitmap !== null && !isValid(bitmap, validOffset + i)) {
      absorbNull(stateA, stateB, stateS, i);
      continue;
    }
    const x = isValid(bits, offset + i) ? one : zero;
    stateA[i] = stepA(stepA(stateA[i]!, x), zero);
    stateB[i] = stepB(stepB(stateB[i]!, x), zero);
    stateS[i] = stepS(stateS[i]!, TAG_BOOL);
  }
}

function absorbBytes(
  bytes: Uint8Array,
  view: DataView,
  offsets: Int32Array,
  family: number,
  v: Validity,
  start: number,
  end: number,
  stateA: Int32Array,
  stateB: Int32Array,
  stateS: Int32Array,
): void {
  const bitmap = v.bitmap;
  const validOffset = v.offset;
  for (let i = start; i < end; i++) {
    if (bitmap !== null && !isValid(bitmap, validOffset + i)) {
      absorbNull(stateA, stateB, stateS, i);
      continue;
    }
    const from = offsets[i]!;
    const to = offsets[i + 1]!;
    // hashBytes, inlined by hand: the lanes stay in registers.
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
      for (let shift = 0; p < to; p++, shift += 8) k |= bytes[p]! << shift;
      const m = premix(k);
      a = stepA(a, m);
      b = stepB(b, m);
    }
    const x = premix(a);
    const y = premix(b);
    stateA[i] = stepA(stepA(stateA[i]!, x), y);
    stateB[i] = stepB(stepB(stateB[i]!, x), y);
    stateS[i] = stepS(stateS[i]!, bytesTag(family, to - from));
  }
}

function absorbEntries(
  entries: Entries,
  from: number,
  start: number,
  end: number,
  stateA: Int32Array,
  stateB: Int32Array,
  stateS: Int32Array,
): void {
  const { tag, p0, p1 } = entries;
  for (let i = start, k = from; i < end; i++, k++) {
    const x = premix(p0[k]!);
    const y = premix(p1[k]!);
    stateA[i] = stepA(stepA(stateA[i]!, x), y);
    stateB[i] = stepB(stepB(stateB[i]!, x), y);
    stateS[i] = stepS(stateS[i]!, tag[k]!);
  }
}

/**
 * Core loop: absorbs each column's entries into per-row lane states and finalises them.
 * `stateA`/`stateB` receive lo/hi of each row hash as int32.
 */
function hashColumnsInto(
  columns: readonly Data[],
  n: number,
  stateA: Int32Array,
  stateB: Int32Array,
  stateS: Int32Array,
  scratch: Entries,
): void {
  stateA.fill(SEED_A, 0, n);
  stateB.fill(SEED_B, 0, n);
  stateS.fill(SEED_S, 0, n);
  const whole: (Entries | null)[] = [];
  const direct: (ChunkAbsorber | null)[] = [];
  for (const column of columns) {
    if (column.length < n) {
      throw new SchemaMismatchError(
        `A column holds ${column.length} values but the batch has ${n} rows; the batch is malformed.`,
      );
    }
    let entries: Entries | null = null;
    if (WHOLE_COLUMN_TYPES.has(column.type.typeId)) {
      entries = allocateEntries(n);
      columnEntries(column.length === n ? column : column.slice(0, n), entries);
    }
    whole.push(entries);
    direct.push(entries === null ? directAbsorber(column, stateA, stateB, stateS) : null);
  }
  for (let start = 0; start < n; start += CHUNK_ROWS) {
    const end = Math.min(n, start + CHUNK_ROWS);
    for (let j = 0; j < columns.length; j++) {
      const fast = direct[j];
      if (fast) {
        fast(start, end);
        continue;
      }
      let entries = whole[j]!;
      let from = start;
      if (entries === null) {
        const column = columns[j]!;
        columnEntries(start === 0 && end === column.length ? column : column.slice(start, end - start), scratch);
        entries = scratch;
        from = 0;
      }
      absorbEntries(entries, from, start, end, stateA, stateB, stateS);
    }
  }
  const count = columns.length;
  for (let i = 0; i < n; i++) {
    finish(stateA[i]!, stateB[i]!, stateS[i]!, count);
    stateA[i] = resultLo;
    stateB[i] = resultHi;
  }
}

function outputFor(n: number, out: RowHashes | undefined): RowHashes {
  if (out !== undefined && out.hi.length >= n && out.lo.length >= n) return out;
  return { hi: new Uint32Array(n), lo: new Uint32Array(n) };
}

/**
 * Hashes `numRows` rows made of the given columns (in order). The building block of
 * {@link hashRows}; also used to hash a subset of columns, such as sample keys.
 * Only the first `numRows` entries of the result are meaningful when `out` is larger.
 */
export function hashColumns(columns: readonly Data[], numRows: number, out?: RowHashes): RowHashes {
  const result = outputFor(numRows, out);
  const lo = new Int32Array(result.lo.buffer, result.lo.byteOffset, numRows);
  const hi = new Int32Array(result.hi.buffer, result.hi.byteOffset, numRows);
  const scratch = topLevelScratch(numRows);
  hashColumnsInto(columns, numRows, lo, hi, scratch.s, scratch);
  return result;
}

/**
 * The canonical 64-bit hash of every row of `batch` (see the module comment for the
 * encoding). Pass `out` to reuse arrays across batches; when it is large enough it is
 * filled and returned, and only its first `batch.numRows` entries are meaningful.
 */
export function hashRows(batch: RecordBatch, out?: RowHashes): RowHashes {
  return hashColumns(batch.data.children, batch.numRows, out);
}

const memo = new WeakMap<RecordBatch, RowHashes>();

/**
 * {@link hashRows} remembered per batch object, so several validators observing the same
 * batch (checksum, sample) hash it once. Callers must not modify the returned arrays.
 */
export function rowHashesOf(batch: RecordBatch): RowHashes {
  let hashes = memo.get(batch);
  if (hashes === undefined) {
    hashes = hashRows(batch);
    memo.set(batch, hashes);
  }
  return hashes;
}

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** A 64-bit value as 16 lowercase hex digits (table lookups: the sample sketch calls this per candidate row). */
export function toHex64(hi: number, lo: number): string {
  return (
    HEX_BYTES[(hi >>> 24) & 255]! +
    HEX_BYTES[(hi >>> 16) & 255]! +
    HEX_BYTES[(hi >>> 8) & 255]! +
    HEX_BYTES[hi & 255]! +
    HEX_BYTES[(lo >>> 24) & 255]! +
    HEX_BYTES[(lo >>> 16) & 255]! +
    HEX_BYTES[(lo >>> 8) & 255]! +
    HEX_BYTES[lo & 255]!
  );
}

/** Rows between carry normalisations: keeps the double lane sums below 2^53. */
const CARRY_EVERY = 1 << 20;

/**
 * Order-independent checksum: the sum of 64-bit row hashes mod 2^64 and the row count.
 * Adding rows in any order or batch split gives the same value; adding a row twice does not.
 */
export class Checksum {
  #hi = 0;
  #lo = 0;
  #rows = 0;

  /** Adds the rows of `batch` (hashed via {@link rowHashesOf}). */
  add(batch: RecordBatch): this {
    return this.addHashes(rowHashesOf(batch), batch.numRows);
  }

  /** Adds the first `count` precomputed row hashes. */
  addHashes(hashes: RowHashes, count: number): this {
    const { hi, lo } = hashes;
    let i = 0;
    while (i < count) {
      const stop = Math.min(count, i + CARRY_EVERY);
      let sumLo = this.#lo;
      let sumHi = this.#hi;
      for (; i < stop; i++) {
        sumLo += lo[i]!;
        sumHi += hi[i]!;
      }
      const carry = Math.floor(sumLo / TWO_32);
      this.#lo = sumLo - carry * TWO_32;
      this.#hi = (sumHi + carry) % TWO_32;
    }
    this.#rows += count;
    return this;
  }

  /** Folds another checksum in (e.g. from a parallel partition). */
  merge(other: Checksum): this {
    const sumLo = this.#lo + other.#lo;
    const carry = Math.floor(sumLo / TWO_32);
    this.#lo = sumLo - carry * TWO_32;
    this.#hi = (this.#hi + other.#hi + carry) % TWO_32;
    this.#rows += other.#rows;
    return this;
  }

  /** Rows added so far. */
  get rows(): number {
    return this.#rows;
  }

  /** The sum as 16 lowercase hex digits. */
  get sum(): string {
    return toHex64(this.#hi, this.#lo);
  }
}
