/**
 * Per-row readers and writers for integer, decimal and boolean columns. Values travel as a
 * JS number while they are safe integers and as a bigint beyond 2^53, so 64-bit and decimal
 * values stay exact without paying for BigInt on every row.
 */
import { type Data, type Decimal, type Int, Type } from 'apache-arrow';

const TWO_32 = 4_294_967_296;
/** High-word bounds of a 64-bit value whose magnitude stays below 2^53. */
const SAFE_HIGH = 2_097_152;

export type ExactInteger = number | bigint;

/** A 32-bit word view over a 64- or 128-bit typed array (same bytes). */
export function wordsOf(values: ArrayBufferView & { length: number }, wordsPerValue: number): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.length * wordsPerValue);
}

/** Reads a 64-bit integer stored at `words[2i], words[2i+1]`. */
export function readWide(
  words: Int32Array,
  i: number,
  signed: boolean,
  fallback: BigInt64Array | BigUint64Array,
): ExactInteger {
  const high = words[2 * i + 1] ?? 0;
  if (signed ? high >= -SAFE_HIGH && high < SAFE_HIGH : high >= 0 && high < SAFE_HIGH) {
    return high * TWO_32 + ((words[2 * i] ?? 0) >>> 0);
  }
  return fallback[i] ?? 0n;
}

/** Writes an exact integer into a 64-bit slot via its words (no BigInt for safe numbers). */
export function writeWide(
  words: Int32Array,
  i: number,
  value: ExactInteger,
  target: BigInt64Array | BigUint64Array,
): void {
  if (typeof value === 'number') {
    const high = Math.floor(value / TWO_32);
    words[2 * i] = (value - high * TWO_32) | 0;
    words[2 * i + 1] = high;
  } else {
    target[i] = value;
  }
}

/** Row reader for integer and boolean columns as exact integers. */
export function integerReader(data: Data): (i: number) => ExactInteger {
  if (data.typeId === Type.Bool) {
    const bits = data.values as Uint8Array;
    const offset = data.offset;
    return (i) => ((bits[(offset + i) >> 3] ?? 0) >> ((offset + i) & 7)) & 1;
  }
  const type = data.type as Int;
  if (type.bitWidth === 64) {
    const values = data.values as BigInt64Array | BigUint64Array;
    const words = wordsOf(values, 2);
    const signed = type.isSigned;
    return (i) => readWide(words, i, signed, values);
  }
  const values = data.values as Int32Array;
  return (i) => values[i] ?? 0;
}

/** Row reader for a Decimal column: the unscaled integer (value × 10^scale). */
export function decimalReader(data: Data): (i: number) => ExactInteger {
  const type = data.type as Decimal;
  const stride = type.bitWidth / 32;
  const values = data.values as Uint32Array;
  const words = new Int32Array(values.buffer, values.byteOffset, values.length);
  return (i) => {
    const base = i * stride;
    const high = words[base + 1] ?? 0;
    const sign = high < 0 ? -1 : 0;
    let small = high >= -SAFE_HIGH && high < SAFE_HIGH;
    for (let k = 2; small && k < stride; k++) small = words[base + k] === sign;
    if (small) return high * TWO_32 + ((words[base] ?? 0) >>> 0);
    let value = BigInt(words[base + stride - 1] ?? 0);
    for (let k = stride - 2; k >= 0; k--) value = (value << 32n) | BigInt((words[base + k] ?? 0) >>> 0);
    return value;
  };
}

/** Writes an unscaled decimal into slot `i` of a decimal column's words. */
export function writeDecimal(words: Int32Array, stride: number, i: number, value: ExactInteger): void {
  const base = i * stride;
  if (typeof value === 'number') {
    const high = Math.floor(value / TWO_32);
    words[base] = (value - high * TWO_32) | 0;
    words[base + 1] = high;
    const fill = high < 0 ? -1 : 0;
    for (let k = 2; k < stride; k++) words[base + k] = fill;
    return;
  }
  let rest = value;
  for (let k = 0; k < stride; k++) {
    words[base + k] = Number(BigInt.asIntN(32, rest));
    rest >>= 32n;
  }
}

/** Inclusive bounds of an integer type, as numbers (≤ 32 bits) and bigints. */
export function integerBounds(type: Int): { min: bigint; max: bigint } {
  const bits = BigInt(type.bitWidth);
  return type.isSigned
    ? { min: -(1n << (bits - 1n)), max: (1n << (bits - 1n)) - 1n }
    : { min: 0n, max: (1n << bits) - 1n };
}

/** True when `value` lies within [min, max]. */
export function inRange(value: ExactInteger, min: bigint, max: bigint): boolean {
  if (typeof value === 'number') return value >= Number(min) && value <= Number(max);
  return value >= min && value <= max;
}

/** Normalises to a number when safe, so the fast paths keep applying after bigint arithmetic. */
export function compact(value: bigint): ExactInteger {
  return value >= -9_007_199_254_740_991n && value <= 9_007_199_254_740_991n ? Number(value) : value;
}

/** Canonical decimal text of an unscaled value: `-12.50` for (-1250, scale 2). */
export function decimalText(unscaled: ExactInteger, scale: number): string {
  const negative = unscaled < 0;
  let digits = (negative ? -BigInt(unscaled) : BigInt(unscaled)).toString();
  if (scale <= 0) return `${negative ? '-' : ''}${digits}${'0'.repeat(-scale)}`;
  if (digits.length <= scale) digits = digits.padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
}
