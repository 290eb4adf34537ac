/**
 * Decodes PostgreSQL's binary COPY stream straight into Arrow columns.
 *
 * No per-row JavaScript objects: each column appends into typed arrays (grown by doubling)
 * and a batch is handed to Arrow with `makeData` every `batchRows` rows. Text and bytea bytes
 * are copied as they are (UTF-8 in, UTF-8 out); big-endian integers and floats are
 * byte-swapped into the little-endian arrays Arrow uses. Chunks may split a row anywhere:
 * an incomplete row waits for the next chunk.
 *
 * Wire format: https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4
 */
import { SchemaMismatchError } from '@honk/core';
import { type Data, type DataType, type Field, makeData, RecordBatch, type Schema, Struct } from 'apache-arrow';
import { arrowTypeOf, isDecimal, type PgType } from './postgres-types.ts';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
const EPOCH_DAYS = 10_957;
/** Microseconds from 1970 to 2000, split into 32-bit halves for carry arithmetic. */
const EPOCH_MICROS = 946_684_800_000_000;
const EPOCH_LO = EPOCH_MICROS % 2 ** 32;
const EPOCH_HI = Math.floor(EPOCH_MICROS / 2 ** 32);
const TWO_32 = 2 ** 32;

/** A value the target Arrow type cannot hold; the decoder adds column and row. */
export class DecodeError extends Error {}

/** Appends one column's values. */
interface ColumnBuilder {
  readonly type: DataType;
  length: number;
  append(buf: Buffer, pos: number, len: number): void;
  appendNull(): void;
  /** Hands the built values to Arrow and starts empty. */
  finish(): Data;
}

/** Validity bits, allocated only once a NULL shows up (most columns have none). */
class Validity {
  bits: Uint8Array | null = null;
  nulls = 0;
  set(index: number, valid: boolean, capacity: number): void {
    if (valid) {
      if (this.bits) {
        this.ensure(index, capacity);
        this.bits[index >> 3]! |= 1 << (index & 7);
      }
      return;
    }
    if (!this.bits) {
      this.bits = new Uint8Array(Math.max(8, (capacity + 7) >> 3));
      // Every earlier row was valid.
      for (let i = 0; i < index; i++) this.bits[i >> 3]! |= 1 << (i & 7);
    }
    this.ensure(index, capacity);
    this.nulls++;
  }
  private ensure(index: number, capacity: number): void {
    if (index >> 3 >= this.bits!.length) {
      const grown = new Uint8Array(Math.max(this.bits!.length * 2, (capacity + 7) >> 3));
      grown.set(this.bits!);
      this.bits = grown;
    }
  }
  take(length: number): { nullBitmap?: Uint8Array; nullCount: number } {
    const out =
      this.bits && this.nulls > 0
        ? { nullBitmap: this.bits.subarray(0, (length + 7) >> 3), nullCount: this.nulls }
        : { nullCount: 0 };
    this.bits = null;
    this.nulls = 0;
    return out;
  }
}

type Typed = Int16Array | Int32Array | Float32Array | Float64Array | BigInt64Array | Uint8Array | Uint32Array;

/** Fixed-width values: `stride` elements of `Array` per row. */
class FixedBuilder<T extends Typed> implements ColumnBuilder {
  length = 0;
  values: T;
  bytes: Uint8Array;
  /** Little-endian access to `bytes` for mixed-width values. */
  view: DataView;
  /** 32-bit words over the same storage: 64-bit values are stored as two word writes. */
  words: Int32Array;
  readonly validity = new Validity();
  readonly type: DataType;
  private readonly ArrayType: { new (length: number): T; BYTES_PER_ELEMENT: number };
  private readonly stride: number;
  private readonly capacity: number;
  private readonly write: (builder: FixedBuilder<T>, index: number, buf: Buffer, pos: number, len: number) => void;
  constructor(
    type: DataType,
    ArrayType: { new (length: number): T; BYTES_PER_ELEMENT: number },
    stride: number,
    capacity: number,
    write: (builder: FixedBuilder<T>, index: number, buf: Buffer, pos: number, len: number) => void,
  ) {
    this.type = type;
    this.ArrayType = ArrayType;
    this.stride = stride;
    this.capacity = capacity;
    this.write = write;
    this.values = new ArrayType(capacity * stride);
    this.bytes = new Uint8Array(this.values.buffer);
    this.view = new DataView(this.values.buffer);
    this.words = new Int32Array(this.values.buffer, 0, this.values.byteLength >> 2);
  }
  private grow(): void {
    if (this.length * this.stride < this.values.length) return;
    const grown = new this.ArrayType(Math.max(this.values.length * 2, this.stride * 64));
    (grown as Uint8Array).set(this.values as Uint8Array);
    this.values = grown;
    this.bytes = new Uint8Array(grown.buffer);
    this.view = new DataView(grown.buffer);
    this.words = new Int32Array(grown.buffer, 0, grown.byteLength >> 2);
  }
  append(buf: Buffer, pos: number, len: number): void {
    this.grow();
    this.write(this, this.length, buf, pos, len);
    this.validity.set(this.length, true, this.capacity);
    this.length++;
  }
  appendNull(): void {
    this.grow();
    // Leave zeroes (fresh arrays are zero-filled; reused slots never exist).
    this.validity.set(this.length, false, this.capacity);
    this.length++;
  }
  finish(): Data {
    const length = this.length;
    const data = makeData({
      type: this.type as any,
      length,
      data: this.values.subarray(0, length * this.stride),
      ...this.validity.take(length),
    } as any) as Data;
    this.values = new this.ArrayType(this.capacity * this.stride);
    this.bytes = new Uint8Array(this.values.buffer);
    this.view = new DataView(this.values.buffer);
    this.words = new Int32Array(this.values.buffer, 0, this.values.byteLength >> 2);
    this.length = 0;
    return data;
  }
}

/** Bit-packed booleans. */
class BoolBuilder implements ColumnBuilder {
  length = 0;
  bits: Uint8Array;
  readonly validity = new Validity();
  readonly type: DataType;
  private readonly capacity: number;
  constructor(type: DataType, capacity: number) {
    this.type = type;
    this.capacity = capacity;
    this.bits = new Uint8Array((capacity + 7) >> 3);
  }
  private grow(): void {
    if (this.length >> 3 < this.bits.length) return;
    const grown = new Uint8Array(this.bits.length * 2 + 8);
    grown.set(this.bits);
    this.bits = grown;
  }
  append(buf: Buffer, pos: number): void {
    this.grow();
    if (buf[pos] !== 0) this.bits[this.length >> 3]! |= 1 << (this.length & 7);
    this.validity.set(this.length, true, this.capacity);
    this.length++;
  }
  appendNull(): void {
    this.grow();
    this.validity.set(this.length, false, this.capacity);
    this.length++;
  }
  finish(): Data {
    const length = this.length;
    const data = makeData({
      type: this.type as any,
      length,
      data: this.bits.subarray(0, (length + 7) >> 3),
      ...this.validity.take(length),
    } as any) as Data;
    this.bits = new Uint8Array((this.capacity + 7) >> 3);
    this.length = 0;
    return data;
  }
}

/** Variable-width values (utf8, binary): offsets + bytes. */
class VariableBuilder implements ColumnBuilder {
  length = 0;
  offsets: Int32Array;
  bytes: Uint8Array;
  position = 0;
  readonly validity = new Validity();
  readonly type: DataType;
  private readonly capacity: number;
  /** Writes a value's bytes at `position` (after `reserve`); default copies them as they are. */
  private readonly write: ((builder: VariableBuilder, buf: Buffer, pos: number, len: number) => void) | undefined;
  constructor(
    type: DataType,
    capacity: number,
    write?: (builder: VariableBuilder, buf: Buffer, pos: number, len: number) => void,
  ) {
    this.type = type;
    this.capacity = capacity;
    this.write = write;
    this.offsets = new Int32Array(capacity + 1);
    this.bytes = new Uint8Array(Math.max(1024, capacity * 16));
  }
  reserve(extra: number): void {
    const needed = this.position + extra;
    if (needed <= this.bytes.length) return;
    if (needed > 0x7fffffff) throw new DecodeError('a batch holds more than 2 GiB of text or binary; lower batchRows');
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(Math.min(size, 0x7fffffff));
    grown.set(this.bytes.subarray(0, this.position));
    this.bytes = grown;
  }
  private growOffsets(): void {
    if (this.length + 1 < this.offsets.length) return;
    const grown = new Int32Array(this.offsets.length * 2);
    grown.set(this.offsets);
    this.offsets = grown;
  }
  append(buf: Buffer, pos: number, len: number): void {
    this.growOffsets();
    if (this.write) this.write(this, buf, pos, len);
    else {
      this.reserve(len);
      buf.copy(this.bytes, this.position, pos, pos + len);
      this.position += len;
    }
    this.validity.set(this.length, true, this.capacity);
    this.length++;
    this.offsets[this.length] = this.position;
  }
  appendNull(): void {
    this.growOffsets();
    this.validity.set(this.length, false, this.capacity);
    this.length++;
    this.offsets[this.length] = this.position;
  }
  finish(): Data {
    const length = this.length;
    const data = makeData({
      type: this.type as any,
      length,
      valueOffsets: this.offsets.subarray(0, length + 1),
      data: this.bytes.subarray(0, this.position),
      ...this.validity.take(length),
    } as any) as Data;
    this.offsets = new Int32Array(this.capacity + 1);
    this.bytes = new Uint8Array(Math.max(1024, Math.min(this.bytes.length, this.capacity * 64)));
    this.position = 0;
    this.length = 0;
    return data;
  }
}

/** One-dimensional arrays as list<element>. */
class ListBuilder implements ColumnBuilder {
  length = 0;
  private offsets: Int32Array;
  private readonly validity = new Validity();
  readonly type: DataType;
  private readonly child: ColumnBuilder;
  private readonly capacity: number;
  constructor(type: DataType, child: ColumnBuilder, capacity: number) {
    this.type = type;
    this.child = child;
    this.capacity = capacity;
    this.offsets = new Int32Array(capacity + 1);
  }
  private growOffsets(): void {
    if (this.length + 1 < this.offsets.length) return;
    const grown = new Int32Array(this.offsets.length * 2);
    grown.set(this.offsets);
    this.offsets = grown;
  }
  append(buf: Buffer, pos: number): void {
    this.growOffsets();
    const dimensions = buf.readInt32BE(pos);
    if (dimensions > 1) {
      throw new DecodeError(`a ${dimensions}-dimensional array; only one-dimensional arrays map to Arrow lists`);
    }
    if (dimensions === 1) {
      const count = buf.readInt32BE(pos + 12);
      let at = pos + 20;
      for (let k = 0; k < count; k++) {
        const len = buf.readInt32BE(at);
        at += 4;
        if (len < 0) this.child.appendNull();
        else {
          this.child.append(buf, at, len);
          at += len;
        }
      }
    }
    this.validity.set(this.length, true, this.capacity);
    this.length++;
    this.offsets[this.length] = this.child.length;
  }
  appendNull(): void {
    this.growOffsets();
    this.validity.set(this.length, false, this.capacity);
    this.length++;
    this.offsets[this.length] = this.child.length;
  }
  finish(): Data {
    const length = this.length;
    const child = this.child.finish();
    const data = makeData({
      type: this.type as any,
      length,
      valueOffsets: this.offsets.subarray(0, length + 1),
      child,
      ...this.validity.take(length),
    } as any) as Data;
    this.offsets = new Int32Array(this.capacity + 1);
    this.length = 0;
    return data;
  }
}

/** Byte-reverses `width` bytes from a big-endian buffer into little-endian storage. */
function swapInto(target: Uint8Array, at: number, buf: Buffer, pos: number, width: number): void {
  for (let k = 0; k < width; k++) target[at + k] = buf[pos + width - 1 - k]!;
}

const HEX = new TextEncoder().encode('0123456789abcdef');

/** Reads PostgreSQL's numeric wire format: base-10000 digits with weight, sign and display scale. */
export interface NumericValue {
  /** 'pos' | 'neg' | 'nan' | 'inf' | '-inf' */
  sign: 'pos' | 'neg' | 'nan' | 'inf' | '-inf';
  weight: number;
  dscale: number;
  digits: number[];
}

export function readNumeric(buf: Buffer, pos: number): NumericValue {
  const count = buf.readInt16BE(pos);
  const weight = buf.readInt16BE(pos + 2);
  const signWord = buf.readUInt16BE(pos + 4);
  const dscale = buf.readInt16BE(pos + 6);
  const digits: number[] = new Array(count);
  for (let k = 0; k < count; k++) digits[k] = buf.readInt16BE(pos + 8 + 2 * k);
  const sign =
    signWord === 0
      ? 'pos'
      : signWord === 0x4000
        ? 'neg'
        : signWord === 0xc000
          ? 'nan'
          : signWord === 0xd000
            ? 'inf'
            : '-inf';
  return { sign, weight, dscale, digits };
}

/** Canonical text of a numeric (as PostgreSQL prints it). */
export function numericToText(value: NumericValue): string {
  if (value.sign === 'nan') return 'NaN';
  if (value.sign === 'inf') return 'Infinity';
  if (value.sign === '-inf') return '-Infinity';
  const { weight, dscale, digits } = value;
  let integer = '';
  for (let j = 0; j <= weight; j++) {
    const digit = j < digits.length ? digits[j]! : 0;
    integer += j === 0 ? String(digit) : String(digit).padStart(4, '0');
  }
  if (integer === '') integer = '0';
  let text = integer;
  if (dscale > 0) {
    let fraction = '';
    for (let j = weight + 1; fraction.length < dscale; j++) {
      const digit = j >= 0 && j < digits.length ? digits[j]! : 0;
      fraction += String(digit).padStart(4, '0');
    }
    text += `.${fraction.slice(0, dscale)}`;
  }
  return value.sign === 'neg' && /[1-9]/.test(text) ? `-${text}` : text;
}

/** Unscaled integer of a numeric at `scale`, exactly, or undefined when it has more decimals. */
function numericUnscaled(value: NumericValue, scale: number): bigint | undefined {
  let n = 0n;
  for (const digit of value.digits) n = n * 10000n + BigInt(digit);
  const exponent = 4 * (value.weight - value.digits.length + 1) + scale;
  if (exponent >= 0) n *= 10n ** BigInt(exponent);
  else {
    const divisor = 10n ** BigInt(-exponent);
    if (n % divisor !== 0n) return undefined;
    n /= divisor;
  }
  return value.sign === 'neg' ? -n : n;
}

/**
 * Multiplies the 128-bit little-endian limbs `words[at..at+3]` by `factor` (≤ 10000) and adds
 * `add`: every partial product stays below 2^53, so doubles are exact. False on overflow.
 */
function multiplyAdd(words: Uint32Array, at: number, factor: number, add: number): boolean {
  let carry = add;
  for (let k = at; k < at + 4; k++) {
    const product = words[k]! * factor + carry;
    words[k] = product % TWO_32;
    carry = Math.floor(product / TWO_32);
  }
  return carry === 0;
}

/**
 * A numeric's unscaled value at `scale` as decimal128 words, without BigInt: base-10000 digits
 * accumulated into 32-bit limbs. False (the caller falls back to the exact BigInt path) when
 * the value has more decimals than `scale` or does not fit 127 bits.
 */
function numericToDecimalWords(buf: Buffer, pos: number, scale: number, words: Uint32Array, at: number): boolean {
  const count = (buf[pos]! << 8) | buf[pos + 1]!;
  const weight = ((buf[pos + 2]! << 24) | (buf[pos + 3]! << 16)) >> 16;
  const negative = buf[pos + 4] === 0x40;
  let exponent = 4 * (weight - count + 1) + scale;
  // The last group may carry up to 3 padding zeros past the scale (a numeric(38,10) sends 3 fraction groups).
  if (exponent <= -4 || (exponent < 0 && count === 0)) return false;
  words[at] = 0;
  words[at + 1] = 0;
  words[at + 2] = 0;
  words[at + 3] = 0;
  const whole = exponent < 0 ? count - 1 : count;
  for (let k = 0; k < whole; k++) {
    if (!multiplyAdd(words, at, 10000, (buf[pos + 8 + 2 * k]! << 8) | buf[pos + 9 + 2 * k]!)) return false;
  }
  if (exponent < 0) {
    const divisor = 10 ** -exponent;
    const last = (buf[pos + 8 + 2 * whole]! << 8) | buf[pos + 9 + 2 * whole]!;
    if (last % divisor !== 0 || !multiplyAdd(words, at, 10000 / divisor, last / divisor)) return false;
    exponent = 0;
  }
  for (; exponent >= 4; exponent -= 4) if (!multiplyAdd(words, at, 10000, 0)) return false;
  if (exponent > 0 && !multiplyAdd(words, at, 10 ** exponent, 0)) return false;
  if (words[at + 3]! >= 0x80000000) return false;
  if (negative) {
    // Two's complement: invert, add one.
    let carry = 1;
    for (let k = at; k < at + 4; k++) {
      const sum = (~words[k]! >>> 0) + carry;
      words[k] = sum % TWO_32;
      carry = sum >= TWO_32 ? 1 : 0;
    }
  }
  return true;
}

function writeDecimalWords(words: Uint32Array, index: number, value: number | bigint): void {
  const at = index * 4;
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    let lo = magnitude % TWO_32;
    let hi = Math.floor(magnitude / TWO_32);
    let rest = 0;
    if (value < 0) {
      // Two's complement negation across the 128 bits.
      lo = (~lo + 1) >>> 0;
      hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
      rest = 0xffffffff;
    }
    words[at] = lo;
    words[at + 1] = hi;
    words[at + 2] = rest;
    words[at + 3] = rest;
    return;
  }
  let v = BigInt.asUintN(128, value);
  for (let w = 0; w < 4; w++) {
    words[at + w] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
}

/** Builds the column builder for a PostgreSQL type. */
function builderFor(type: PgType, capacity: number): ColumnBuilder {
  const arrow = arrowTypeOf(type);
  switch (type.kind) {
    case 'bool':
      return new BoolBuilder(arrow, capacity);
    case 'int2':
      return new FixedBuilder(arrow, Int16Array, 1, capacity, (b, i, buf, pos) => {
        b.values[i] = buf.readInt16BE(pos);
      });
    case 'int4':
      return new FixedBuilder(arrow, Int32Array, 1, capacity, (b, i, buf, pos) => {
        b.values[i] = buf.readInt32BE(pos);
      });
    case 'float4':
      return new FixedBuilder(arrow, Float32Array, 1, capacity, (b, i, buf, pos) => {
        b.values[i] = buf.readFloatBE(pos);
      });
    case 'int8':
    case 'time':
      return new FixedBuilder(arrow, BigInt64Array, 1, capacity, (b, i, buf, pos) =>
        swapInto(b.bytes, i * 8, buf, pos, 8),
      );
    case 'float8':
      return new FixedBuilder(arrow, Float64Array, 1, capacity, (b, i, buf, pos) =>
        swapInto(b.bytes, i * 8, buf, pos, 8),
      );
    case 'date':
      return new FixedBuilder(arrow, Int32Array, 1, capacity, (b, i, buf, pos) => {
        const days = buf.readInt32BE(pos);
        if (days === 0x7fffffff || days === -0x80000000) {
          throw new DecodeError(`date ${days > 0 ? 'infinity' : '-infinity'} has no Arrow date32 value`);
        }
        b.values[i] = days + EPOCH_DAYS;
      });
    case 'timestamp':
    case 'timestamptz':
      // Int32 pairs (lo, hi) over the BigInt64 storage: add the epoch shift with a manual carry, no BigInt per row.
      return new FixedBuilder(arrow, BigInt64Array, 1, capacity, (b, i, buf, pos) => {
        const hi = buf.readInt32BE(pos);
        const lo = buf.readUInt32BE(pos + 4);
        if ((hi === 0x7fffffff && lo === 0xffffffff) || (hi === -0x80000000 && lo === 0)) {
          throw new DecodeError(`timestamp ${hi > 0 ? 'infinity' : '-infinity'} has no Arrow timestamp value`);
        }
        const sumLo = lo + EPOCH_LO;
        const carry = sumLo >= TWO_32 ? 1 : 0;
        b.view.setUint32(i * 8, sumLo - carry * TWO_32, true);
        b.view.setInt32(i * 8 + 4, (hi + EPOCH_HI + carry) | 0, true);
      });
    case 'interval':
      return new FixedBuilder(arrow, Int32Array, 4, capacity, (b, i, buf, pos) => {
        const micros = buf.readBigInt64BE(pos);
        const nanos = micros * 1000n;
        if (nanos !== BigInt.asIntN(64, nanos)) throw new DecodeError('an interval too long for nanosecond precision');
        const at = i * 4;
        b.values[at] = buf.readInt32BE(pos + 12);
        b.values[at + 1] = buf.readInt32BE(pos + 8);
        b.view.setBigInt64((at + 2) * 4, nanos, true);
      });
    case 'text':
    case 'json':
    case 'bytea':
      return new VariableBuilder(arrow, capacity);
    case 'jsonb':
      return new VariableBuilder(arrow, capacity, (b, buf, pos, len) => {
        if (buf[pos] !== 1) throw new DecodeError(`unknown jsonb binary version ${buf[pos]}`);
        b.reserve(len - 1);
        buf.copy(b.bytes, b.position, pos + 1, pos + len);
        b.position += len - 1;
      });
    case 'uuid':
      return new VariableBuilder(arrow, capacity, (b, buf, pos) => {
        b.reserve(36);
        let at = b.position;
        for (let k = 0; k < 16; k++) {
          if (k === 4 || k === 6 || k === 8 || k === 10) b.bytes[at++] = 45; // '-'
          const byte = buf[pos + k]!;
          b.bytes[at++] = HEX[byte >> 4]!;
          b.bytes[at++] = HEX[byte & 15]!;
        }
        b.position = at;
      });
    case 'numeric': {
      if (isDecimal(type)) {
        const scale = type.scale!;
        return new FixedBuilder(arrow, Uint32Array, 4, capacity, (b, i, buf, pos) => {
          const signWord = (buf[pos + 4]! << 8) | buf[pos + 5]!;
          if (
            (signWord === 0 || signWord === 0x4000) &&
            numericToDecimalWords(buf, pos, scale, b.values as Uint32Array, i * 4)
          )
            return;
          const value = readNumeric(buf, pos);
          if (value.sign === 'nan') throw new DecodeError('numeric NaN has no decimal128 value');
          if (value.sign === 'inf' || value.sign === '-inf')
            throw new DecodeError('numeric infinity has no decimal128 value');
          // Fast path: up to 12 significant digits fit a double exactly.
          if (value.digits.length <= 3) {
            let n = 0;
            for (const digit of value.digits) n = n * 10000 + digit;
            const exponent = 4 * (value.weight - value.digits.length + 1) + scale;
            if (exponent >= 0 && exponent <= 15 && n * 10 ** exponent <= Number.MAX_SAFE_INTEGER) {
              const scaled = n * 10 ** exponent;
              writeDecimalWords(b.values as Uint32Array, i, value.sign === 'neg' ? -scaled : scaled);
              return;
            }
          }
          const unscaled = numericUnscaled(value, scale);
          if (unscaled === undefined)
            throw new DecodeError(`value ${numericToText(value)} has more than ${scale} decimals`);
          writeDecimalWords(b.values as Uint32Array, i, unscaled);
        });
      }
      return new VariableBuilder(arrow, capacity, (b, buf, pos) => {
        const text = numericToText(readNumeric(buf, pos));
        b.reserve(text.length);
        for (let k = 0; k < text.length; k++) b.bytes[b.position++] = text.charCodeAt(k);
      });
    }
    case 'array': {
      const child = builderFor(type.element, Math.max(capacity, 64));
      return new ListBuilder(arrow, child, capacity);
    }
  }
}

/** A column to decode: its name (for messages) and resolved type. */
export interface DecodeColumn {
  name: string;
  type: PgType;
}

/**
 * Hot-loop kinds: the common scalar types are decoded inline in `decodeRows` (no call per
 * value, no DataView, big-endian words assembled with byte math); everything else goes
 * through its builder's `append`.
 */
const GENERIC = 0;
const BOOL = 1;
const INT2 = 2;
const INT4 = 3;
/** int8 and time: 8 bytes copied as two 32-bit words. */
const INT8 = 4;
const FLOAT4 = 5;
const FLOAT8 = 6;
const TIMESTAMP = 7;
const DATE = 8;
/** text, json, bytea: bytes copied as they are. */
const BYTES = 9;

function hotKind(type: PgType): number {
  switch (type.kind) {
    case 'bool':
      return BOOL;
    case 'int2':
      return INT2;
    case 'int4':
      return INT4;
    case 'int8':
    case 'time':
      return INT8;
    case 'float4':
      return FLOAT4;
    case 'float8':
      return FLOAT8;
    case 'timestamp':
    case 'timestamptz':
      return TIMESTAMP;
    case 'date':
      return DATE;
    case 'text':
    case 'json':
    case 'bytea':
      return BYTES;
    default:
      return GENERIC;
  }
}

/** Wire width of each fixed hot kind (0: variable). */
const WIDTH = [0, 1, 2, 4, 8, 4, 8, 8, 4, 0];

/** Big-endian int32 at `pos`. */
function int32At(buf: Uint8Array, pos: number): number {
  return (buf[pos]! << 24) | (buf[pos + 1]! << 16) | (buf[pos + 2]! << 8) | buf[pos + 3]!;
}

/**
 * Where the row starting at `pos` ends (exclusive) when all of it is in `buf[pos, end)`;
 * otherwise minus the number of bytes from `pos` known to be needed so far. The trailer
 * and a malformed field count are reported complete so the decoder handles them.
 */
function rowExtent(buf: Uint8Array, pos: number, end: number, count: number): number {
  if (pos + 2 > end) return -2;
  const fields = ((buf[pos]! << 24) | (buf[pos + 1]! << 16)) >> 16;
  if (fields !== count) return pos + 2;
  let at = pos + 2;
  for (let c = 0; c < count; c++) {
    if (at + 4 > end) return -(at + 4 - pos);
    const len = int32At(buf, at);
    at += 4 + Math.max(len, 0);
    if (at > end) return -(at - pos);
  }
  return at;
}

/**
 * Where the last complete row of `bytes` ends, `bytes` starting at a row (the tuples
 * `readRaw()` forwards): validation cuts forwarded bytes there, so worker threads can decode
 * the pieces independently. A malformed row counts as complete: its decoder reports it.
 */
export function lastRowEnd(bytes: Uint8Array, fields: number): number {
  let pos = 0;
  while (true) {
    const extent = rowExtent(bytes, pos, bytes.length, fields);
    if (extent < 0) return pos;
    pos = extent;
  }
}

/**
 * Streaming decoder: `push()` chunks, collect finished batches, then `end()`.
 * Row numbers in errors are 1-based positions in the stream.
 *
 * Chunks are decoded where they lie; a row split across chunks is completed in a small
 * carry buffer (only that row's bytes are copied, never the rest of the chunk).
 */
export class CopyBinaryDecoder {
  private readonly builders: ColumnBuilder[];
  private readonly kinds: Uint8Array;
  /** Bytes of the header while it is incomplete. */
  private header: Buffer | null = null;
  private headerDone = false;
  private trailerSeen = false;
  /** The start of a row split across chunks (also bytes after the trailer, which are an error). */
  private carry: Buffer = Buffer.allocUnsafe(256);
  private carried = 0;
  private rowsInBatch = 0;
  /** Rows decoded so far. */
  rows = 0;

  private readonly schema: Schema;
  private readonly columns: readonly DecodeColumn[];
  private readonly batchRows: number;
  /** Tuples only, as `readRaw()` forwards them: no header before them, no trailer after. */
  private readonly tuplesOnly: boolean;
  constructor(
    schema: Schema,
    columns: readonly DecodeColumn[],
    batchRows: number,
    options: { tuplesOnly?: boolean } = {},
  ) {
    this.schema = schema;
    this.columns = columns;
    this.batchRows = batchRows;
    this.tuplesOnly = options.tuplesOnly ?? false;
    this.headerDone = this.tuplesOnly;
    this.builders = columns.map((column) => builderFor(column.type, batchRows));
    this.kinds = Uint8Array.from(columns.map((column) => hotKind(column.type)));
  }

  /** Decodes a chunk; returns the batches it completed. */
  push(chunk: Buffer): RecordBatch[] {
    const batches: RecordBatch[] = [];
    let buf = chunk;
    let pos = 0;
    if (!this.headerDone) {
      buf = this.header ? Buffer.concat([this.header, chunk]) : chunk;
      this.header = null;
      if (buf.length < 19) {
        this.header = Buffer.from(buf);
        return batches;
      }
      if (!buf.subarray(0, 11).equals(SIGNATURE))
        throw new Error('Not a PostgreSQL binary COPY stream (bad signature).');
      const extension = buf.readInt32BE(15);
      if (buf.length < 19 + extension) {
        this.header = Buffer.from(buf);
        return batches;
      }
      pos = 19 + extension;
      this.headerDone = true;
    }
    if (this.carried > 0) {
      pos = this.completeCarry(buf, pos, batches);
      if (pos < 0) return batches;
    }
    pos = this.decodeRows(buf, pos, buf.length, batches);
    if (pos < buf.length) this.keep(buf, pos, buf.length);
    return batches;
  }

  /** Appends `buf[from, to)` to the carry buffer. */
  private keep(buf: Uint8Array, from: number, to: number): void {
    const needed = this.carried + (to - from);
    if (needed > this.carry.length) {
      let size = this.carry.length * 2;
      while (size < needed) size *= 2;
      const grown = Buffer.allocUnsafe(size);
      this.carry.copy(grown, 0, 0, this.carried);
      this.carry = grown;
    }
    this.carry.set(buf.subarray(from, to), this.carried);
    this.carried = needed;
  }

  /**
   * Moves just enough bytes of `buf` (from `pos`) into the carry to complete the split row,
   * decodes it, and returns where the rest of `buf` starts; -1 when `buf` ran out first.
   */
  private completeCarry(buf: Buffer, pos: number, batches: RecordBatch[]): number {
    if (this.trailerSeen) {
      this.keep(buf, pos, buf.length);
      return -1;
    }
    const count = this.builders.length;
    while (true) {
      const extent = rowExtent(this.carry, 0, this.carried, count);
      if (extent >= 0) {
        const used = this.decodeRows(this.carry, 0, extent, batches);
        // The carry held one row (or the trailer); anything it did not use is a malformed stream.
        if (used !== extent) throw new Error('Malformed binary COPY row.');
        this.carried = 0;
        return pos;
      }
      const want = -extent - this.carried;
      const take = Math.min(want, buf.length - pos);
      this.keep(buf, pos, pos + take);
      pos += take;
      if (take < want) return -1;
    }
  }

  /** Decodes the complete rows in `buf[pos, end)`; returns where the first incomplete one starts. */
  private decodeRows(buf: Buffer, pos: number, end: number, batches: RecordBatch[]): number {
    const builders = this.builders;
    const kinds = this.kinds;
    const count = builders.length;
    let c = 0;
    while (pos + 2 <= end && !this.trailerSeen) {
      const fields = ((buf[pos]! << 24) | (buf[pos + 1]! << 16)) >> 16;
      if (fields === -1) {
        this.trailerSeen = true;
        pos += 2;
        break;
      }
      if (fields !== count) throw new Error(`Binary COPY row has ${fields} fields, expected ${count}.`);
      // Is the whole row here? Walk the lengths first so builders never see half a row.
      let at = pos + 2;
      let complete = true;
      for (c = 0; c < count; c++) {
        if (at + 4 > end) {
          complete = false;
          break;
        }
        const len = int32At(buf, at);
        at += 4 + Math.max(len, 0);
        if (at > end) {
          complete = false;
          break;
        }
      }
      if (!complete) break;
      at = pos + 2;
      const row = this.rowsInBatch;
      try {
        for (c = 0; c < count; c++) {
          const len = int32At(buf, at);
          at += 4;
          const builder = builders[c]!;
          if (len < 0) {
            builder.appendNull();
            continue;
          }
          const kind = kinds[c]!;
          if (kind !== GENERIC && kind !== BYTES && len !== WIDTH[kind]) {
            throw new DecodeError(`a ${len}-byte value where ${this.columns[c]!.type.kind} has ${WIDTH[kind]} bytes`);
          }
          switch (kind) {
            case INT8:
            case FLOAT8: {
              // Top-level builders hold `batchRows` values, so no growth check is needed.
              const b = builder as FixedBuilder<BigInt64Array>;
              b.words[row * 2] = int32At(buf, at + 4);
              b.words[row * 2 + 1] = int32At(buf, at);
              if (b.validity.bits !== null) b.validity.bits[row >> 3]! |= 1 << (row & 7);
              b.length++;
              break;
            }
            case TIMESTAMP: {
              const b = builder as FixedBuilder<BigInt64Array>;
              const hi = int32At(buf, at);
              const lo = int32At(buf, at + 4) >>> 0;
              if ((hi === 0x7fffffff && lo === 0xffffffff) || (hi === -0x80000000 && lo === 0)) {
                throw new DecodeError(`timestamp ${hi > 0 ? 'infinity' : '-infinity'} has no Arrow timestamp value`);
              }
              // Shift from PostgreSQL's 2000 epoch to 1970 with a manual carry: no BigInt per row.
              const sumLo = lo + EPOCH_LO;
              const carry = sumLo >= TWO_32 ? 1 : 0;
              b.words[row * 2] = sumLo - carry * TWO_32;
              b.words[row * 2 + 1] = hi + EPOCH_HI + carry;
              if (b.validity.bits !== null) b.validity.bits[row >> 3]! |= 1 << (row & 7);
              b.length++;
              break;
            }
            case INT4: {
              const b = builder as FixedBuilder<Int32Array>;
              b.values[row] = int32At(buf, at);
              if (b.validity.bits !== null) b.validity.bits[row >> 3]! |= 1 << (row & 7);
              b.length++;
              break;
            }
            case DATE: {
              const b = builder as FixedBuilder<Int32Array>;
              const days = int32At(buf, at);
              if (days === 0x7fffffff || days === -0x80000000) {
                throw new DecodeError(`date ${days > 0 ? 'infinity' : '-infinity'} has no Arrow date32 value`);
              }
              b.values[row] = days + EPOCH_DAYS;
              if (b.validity.bits !== null) b.validity.bits[row >> 3]! |= 1 << (row & 7);
              b.length++;
              break;
            }
            case FLOAT4: {
              const b = builder as FixedBuilder<Float32Array>;
              b.words[row] = int32At(buf, at);
              if (b.validity.bits !== null) b.validity.bits[row >> 3]! |= 1 << (row & 7);
              b.length++;
              break;
            }
            case INT2: {
              const b = builder as FixedBuilder<Int16Array>;
              b.values[row] = (buf[at]! << 8) | buf[at + 1]!;
              if (b.validity.bits !== null) b.validity.bits[row >> 3]! |= 1 << (row & 7);
              b.length++;
              break;
            }
            case BOOL: {
              const b = builder as BoolBuilder;
              if (buf[at] !== 0) b.bits[row >> 3]! |= 1 << (row & 7);
              if (b.validity.bits !== null) b.validity.bits[row >> 3]! |= 1 << (row & 7);
              b.length++;
              break;
            }
            case BYTES: {
              const b = builder as VariableBuilder;
              b.reserve(len);
              const bytes = b.bytes;
              let to = b.position;
              if (len < 48) {
                // Short values: a loop beats the native copy's call overhead.
                for (let k = at, stop = at + len; k < stop; k++) bytes[to++] = buf[k]!;
              } else {
                bytes.set(buf.subarray(at, at + len), to);
                to += len;
              }
              b.position = to;
              if (b.validity.bits !== null) b.validity.bits[row >> 3]! |= 1 << (row & 7);
              b.offsets[++b.length] = to;
              break;
            }
            default:
              builder.append(buf, at, len);
          }
          at += len;
        }
      } catch (error) {
        throw this.wrap(error, c);
      }
      pos = at;
      this.rows++;
      if (++this.rowsInBatch === this.batchRows) batches.push(this.flush());
    }
    return pos;
  }

  /** The last, partial batch (or null), after checking the stream ended properly. */
  end(): RecordBatch | null {
    if ((!this.trailerSeen && !this.tuplesOnly) || this.carried > 0) {
      throw new Error('The binary COPY stream ended early (no trailer).');
    }
    return this.rowsInBatch > 0 ? this.flush() : null;
  }

  /** The complete rows decoded so far as a batch, or null (a row split across chunks stays in the carry). */
  take(): RecordBatch | null {
    return this.rowsInBatch > 0 ? this.flush() : null;
  }

  /** A zero-row batch with the schema, for empty results. */
  emptyBatch(): RecordBatch {
    return this.flush();
  }

  private flush(): RecordBatch {
    const children = this.builders.map((builder) => builder.finish());
    const length = this.rowsInBatch;
    this.rowsInBatch = 0;
    const struct = makeData({ type: new Struct(this.schema.fields as Field[]), length, nullCount: 0, children });
    return new RecordBatch(this.schema, struct);
  }

  private wrap(error: unknown, column: number): unknown {
    if (!(error instanceof DecodeError) && !(error instanceof RangeError)) return error;
    const name = this.columns[column]!.name;
    return new SchemaMismatchError(
      `Column "${name}", row ${this.rows + 1}: ${error.message}. Cast or filter the column in a query: endpoint, ` +
        'or fix the value at the source.',
      { cause: error, details: { column: name, row: this.rows + 1 } },
    );
  }
}

/**
 * Walks a binary COPY stream without decoding values: strips the header and the trailer,
 * counts rows, and hands out the tuple bytes (subarrays of the input, never copied) for the
 * raw fast path, where they go into another binary COPY that brings its own header and
 * trailer. A field-count word split across chunks is held back (one byte) until it is known
 * not to be the trailer.
 */
export class CopyTupleScanner {
  private header: Buffer | null = Buffer.alloc(0);
  /** Value bytes still to pass over. */
  private skip = 0;
  /** Bytes gathered so far of a split count/length word, and its value so far. */
  private partial = 0;
  private word = 0;
  /** The next word is a field count (2 bytes), else a field length (4 bytes). */
  private wantCount = true;
  private fieldsLeft = 0;
  private trailerSeen = false;
  /** Rows seen so far. */
  rows = 0;

  private readonly fields: number;
  constructor(fields: number) {
    this.fields = fields;
  }

  /** Tuple bytes of `chunk` to forward (in order), and how many rows start in them. */
  push(chunk: Buffer): { parts: Buffer[]; rows: number } {
    let pos = 0;
    const parts: Buffer[] = [];
    const before = this.rows;
    if (this.header) {
      const seen = this.header.length;
      const buf = seen > 0 ? Buffer.concat([this.header, chunk]) : chunk;
      if (buf.length < 19 || buf.length < 19 + buf.readInt32BE(15)) {
        this.header = Buffer.from(buf);
        return { parts, rows: 0 };
      }
      if (!buf.subarray(0, 11).equals(SIGNATURE))
        throw new Error('Not a PostgreSQL binary COPY stream (bad signature).');
      if ((buf.readInt32BE(11) & 0x10000) !== 0) throw new Error('Binary COPY with OIDs is not supported.');
      pos = 19 + buf.readInt32BE(15) - seen;
      this.header = null;
    }
    if (this.trailerSeen) {
      if (pos < chunk.length) throw new Error('Data after the end of a binary COPY stream.');
      return { parts, rows: 0 };
    }
    if (pos >= chunk.length) return { parts, rows: 0 };
    // The first byte of a count word held back at the previous chunk's end: forwarded below
    // unless the word turns out to be the trailer.
    const held = this.wantCount && this.partial === 1 ? this.word & 0xff : -1;
    const start = pos;
    let end = chunk.length;
    const length = chunk.length;
    while (pos < length) {
      // Whole rows first: one tight walk over the field lengths per row, no state kept.
      if (this.wantCount && this.skip === 0 && this.partial === 0) {
        const fields = this.fields;
        let rows = this.rows;
        while (true) {
          const extent = rowExtent(chunk, pos, length, fields);
          if (extent < 0 || ((chunk[pos]! << 24) | (chunk[pos + 1]! << 16)) >> 16 !== fields) break;
          pos = extent;
          rows++;
        }
        this.rows = rows;
        if (pos >= length) break;
      }
      if (this.skip > 0) {
        const take = Math.min(this.skip, length - pos);
        pos += take;
        this.skip -= take;
        continue;
      }
      const size = this.wantCount ? 2 : 4;
      let word: number;
      if (this.partial === 0 && pos + size <= chunk.length) {
        word = size === 2 ? ((chunk[pos]! << 24) | (chunk[pos + 1]! << 16)) >> 16 : chunk.readInt32BE(pos);
        pos += size;
      } else {
        this.word = (this.word << 8) | chunk[pos++]!;
        if (++this.partial < size) continue;
        word = size === 2 ? (this.word << 16) >> 16 : this.word | 0;
        this.partial = 0;
        this.word = 0;
      }
      if (this.wantCount) {
        if (word === -1) {
          this.trailerSeen = true;
          if (pos < chunk.length) throw new Error('Data after the end of a binary COPY stream.');
          // A trailer split across chunks: its first byte was held back, nothing here to forward.
          if (held >= 0 && pos === start + 1) return { parts, rows: this.rows - before };
          end = pos - 2;
          break;
        }
        if (word !== this.fields) throw new Error(`Binary COPY row has ${word} fields, expected ${this.fields}.`);
        this.rows++;
        this.fieldsLeft = word;
        this.wantCount = word === 0;
      } else {
        this.skip = Math.max(word, 0);
        if (--this.fieldsLeft === 0) this.wantCount = true;
      }
    }
    if (held >= 0) parts.push(Buffer.from([held]));
    // Hold back the first byte of a count word split at this chunk's end: it may begin the trailer.
    if (!this.trailerSeen && this.wantCount && this.partial === 1) end = chunk.length - 1;
    if (end > start) parts.push(chunk.subarray(start, end));
    return { parts, rows: this.rows - before };
  }

  /** Checks the stream ended with its trailer. */
  end(): void {
    if (!this.trailerSeen) throw new Error('The binary COPY stream ended early (no trailer).');
  }
}
