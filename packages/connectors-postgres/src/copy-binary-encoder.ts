/**
 * Encodes Arrow record batches into PostgreSQL's binary COPY format for a known set of
 * target column types. Values are read from the Arrow buffers directly (no per-row objects)
 * and written big-endian into one growing output buffer per batch.
 *
 * `encodable()` is the compatibility rule the sink's `check()` uses at preflight: a source
 * type is accepted only when every value it can hold fits the target column (widening
 * integers, decimal scale/precision that fits, text into text-like columns …). Values that
 * can only be judged one by one (an invalid uuid string, a nanosecond that is not a whole
 * microsecond) fail with a SchemaMismatchError naming the column and row.
 */
import { SchemaMismatchError } from '@honk/core';
import { type Data, type DataType, type RecordBatch, Type } from 'apache-arrow';
import type { PgType } from './postgres-types.ts';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const EPOCH_DAYS = 10_957;
const EPOCH_MICROS = 946_684_800_000_000n;
const TWO_32 = 2 ** 32;

class EncodeError extends Error {}

/** A growing output buffer. */
class Output {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + extra) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
  int16(value: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(value, this.pos);
    this.pos += 2;
  }
  int32(value: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(value, this.pos);
    this.pos += 4;
  }
  /** Writes an exact integer as int64 big-endian (number when safe, else bigint). */
  int64(value: number | bigint): void {
    this.ensure(8);
    if (typeof value === 'bigint') this.buf.writeBigInt64BE(value, this.pos);
    else {
      const hi = Math.floor(value / TWO_32);
      this.buf.writeInt32BE(hi, this.pos);
      this.buf.writeUInt32BE(value - hi * TWO_32, this.pos + 4);
    }
    this.pos += 8;
  }
  bytes(source: Uint8Array, start: number, end: number): void {
    this.ensure(end - start);
    this.buf.set(source.subarray(start, end), this.pos);
    this.pos += end - start;
  }
  /** Hands out what was written and starts a fresh buffer of similar size. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(Math.max(64 * 1024, Math.min(this.buf.length, 64 * 1024 * 1024)));
    this.pos = 0;
    return out;
  }
}

/** Writes value `i` of `data` (known valid) including its int32 length prefix. */
type ValueWriter = (out: Output, data: Data, i: number) => void;

/** int64 element `i` of a BigInt64Array as an exact number when safe, else bigint. */
function int64At(values: BigInt64Array | BigUint64Array, i: number): number | bigint {
  const words = new Int32Array(values.buffer, values.byteOffset + i * 8, 2);
  const hi = words[1]!;
  const lo = words[0]! >>> 0;
  if (values instanceof BigUint64Array) {
    if (hi >= 0 && hi < 0x200000) return hi * TWO_32 + lo;
    return values[i]!;
  }
  if (hi >= -0x200000 && hi < 0x200000) return hi * TWO_32 + lo;
  return values[i]!;
}

function isUtf8(type: DataType): boolean {
  return type.typeId === Type.Utf8 || type.typeId === Type.LargeUtf8;
}
function isBinary(type: DataType): boolean {
  return type.typeId === Type.Binary || type.typeId === Type.LargeBinary || type.typeId === Type.FixedSizeBinary;
}
function isList(type: DataType): boolean {
  return type.typeId === Type.List || type.typeId === Type.LargeList || type.typeId === Type.FixedSizeList;
}
/** Dictionary<utf8> behaves as utf8. */
function valueType(type: DataType): DataType {
  return type.typeId === Type.Dictionary ? (type as any).dictionary : type;
}

/** Integer range class: 1 = fits int2, 2 = int4, 3 = int8, 4 = wider (uint64). */
function intRank(type: DataType): number {
  const { bitWidth, isSigned } = type as any;
  if (isSigned) return bitWidth <= 16 ? 1 : bitWidth === 32 ? 2 : 3;
  return bitWidth <= 8 ? 1 : bitWidth === 16 ? 2 : bitWidth === 32 ? 3 : 4;
}

/**
 * Why `source` cannot go into a column of type `target`, or null when it can.
 * The rule is "every possible source value fits": narrowing is refused at preflight.
 */
export function encodable(source: DataType, target: PgType): string | null {
  const type = valueType(source);
  const id = type.typeId;
  switch (target.kind) {
    case 'bool':
      return id === Type.Bool ? null : 'expects bool';
    case 'int2':
    case 'int4':
    case 'int8': {
      if (id !== Type.Int) return 'expects an integer type';
      const rank = { int2: 1, int4: 2, int8: 3 }[target.kind];
      return intRank(type) <= rank ? null : `${type} may not fit ${target.kind}; widen the column or cast`;
    }
    case 'float4':
      return id === Type.Float && (type as any).precision <= 1 ? null : 'expects float32';
    case 'float8':
      return id === Type.Float && (type as any).precision >= 1 ? null : 'expects float32 or float64';
    case 'numeric': {
      if (id === Type.Int || isUtf8(type)) return null;
      if (id !== Type.Decimal) return 'expects decimal, integer or text';
      if (target.precision === undefined || target.scale === undefined) return null;
      const { precision, scale } = type as any;
      if (scale > target.scale || precision - scale > target.precision - target.scale) {
        return `decimal(${precision},${scale}) does not fit numeric(${target.precision},${target.scale})`;
      }
      return null;
    }
    case 'text':
    case 'json':
    case 'jsonb':
    case 'uuid':
      return isUtf8(type) ? null : 'expects utf8 text';
    case 'bytea':
      return isBinary(type) ? null : 'expects binary';
    case 'date':
      return id === Type.Date ? null : 'expects date32 or date64';
    case 'time':
      return id === Type.Time ? null : 'expects time32 or time64';
    case 'timestamp':
    case 'timestamptz': {
      if (id !== Type.Timestamp) return 'expects a timestamp';
      const zoned = Boolean((type as any).timezone);
      if (target.kind === 'timestamptz' && !zoned)
        return 'timestamp without time zone cannot go into timestamptz; cast it with a zone';
      if (target.kind === 'timestamp' && zoned)
        return 'timestamp with time zone cannot go into timestamp; cast it without a zone';
      return null;
    }
    case 'interval':
      return id === Type.Interval && (type as any).unit === 2 ? null : 'expects interval[month_day_nano]';
    case 'array': {
      if (!isList(type)) return 'expects a list';
      const child = (type as any).children[0].type as DataType;
      const reason = encodable(child, target.element);
      return reason ? `list element: ${reason}` : null;
    }
  }
}

/** Splits an unscaled integer with `scale` decimals into PostgreSQL numeric wire fields. */
function writeNumeric(out: Output, negative: boolean, magnitude: string, scale: number): void {
  // Align the decimal point on a base-10000 group boundary.
  const pad = (4 - (scale % 4)) % 4;
  let digitsText = magnitude.replace(/^0+/, '') + '0'.repeat(pad);
  const fractionGroups = (scale + pad) / 4;
  const totalLength = Math.ceil(digitsText.length / 4) * 4;
  digitsText = digitsText.padStart(Math.max(totalLength, fractionGroups * 4), '0');
  const groups: number[] = [];
  for (let k = 0; k < digitsText.length; k += 4) groups.push(Number(digitsText.slice(k, k + 4)));
  let weight = groups.length - fractionGroups - 1;
  let first = 0;
  while (first < groups.length && groups[first] === 0) {
    first++;
    weight--;
  }
  let last = groups.length;
  while (last > first && groups[last - 1] === 0) last--;
  const digits = groups.slice(first, last);
  if (digits.length === 0) weight = 0;
  out.int32(8 + digits.length * 2);
  out.int16(digits.length);
  out.int16(weight);
  out.ensure(2);
  out.buf.writeUInt16BE(negative && digits.length > 0 ? 0x4000 : 0, out.pos);
  out.pos += 2;
  out.int16(scale);
  for (const digit of digits) out.int16(digit);
}

/** Scratch limbs (160 bits: the magnitude of a decimal128 times up to 1000) and base-10000 groups. */
const LIMBS = new Float64Array(5);
const GROUPS = new Int32Array(16);

/**
 * Writes a decimal128 (little-endian 32-bit words at `at`) as a PostgreSQL numeric without
 * BigInt or strings: the magnitude is padded so the decimal point falls on a base-10000
 * boundary, then divided into base-10000 groups limb by limb (every step below 2^53).
 */
function writeDecimal128(out: Output, words: Uint32Array, at: number, scale: number): void {
  const negative = words[at + 3]! >= 0x80000000;
  let carry = negative ? 1 : 0;
  for (let k = 0; k < 4; k++) {
    const word = words[at + k]!;
    const value = (negative ? ~word >>> 0 : word) + carry;
    LIMBS[k] = value % TWO_32;
    carry = value >= TWO_32 ? 1 : 0;
  }
  LIMBS[4] = 0;
  const pad = (4 - (scale % 4)) % 4;
  if (pad > 0) {
    const factor = 10 ** pad;
    let up = 0;
    for (let k = 0; k < 5; k++) {
      const product = LIMBS[k]! * factor + up;
      LIMBS[k] = product % TWO_32;
      up = Math.floor(product / TWO_32);
    }
  }
  let groups = 0;
  let top = 4;
  while (top >= 0 && LIMBS[top] === 0) top--;
  while (top >= 0) {
    let remainder = 0;
    for (let k = top; k >= 0; k--) {
      const current = remainder * TWO_32 + LIMBS[k]!;
      const quotient = Math.floor(current / 10000);
      LIMBS[k] = quotient;
      remainder = current - quotient * 10000;
    }
    GROUPS[groups++] = remainder;
    while (top >= 0 && LIMBS[top] === 0) top--;
  }
  // GROUPS[0] is the least significant group; drop trailing zero groups.
  let low = 0;
  while (low < groups && GROUPS[low] === 0) low++;
  const digits = groups - low;
  const weight = digits === 0 ? 0 : groups - 1 - (scale + pad) / 4;
  out.int32(8 + digits * 2);
  out.int16(digits);
  out.int16(weight);
  out.ensure(2);
  out.buf.writeUInt16BE(negative && digits > 0 ? 0x4000 : 0, out.pos);
  out.pos += 2;
  out.int16(scale);
  for (let k = groups - 1; k >= low; k--) out.int16(GROUPS[k]!);
}

const NUMERIC_TEXT = /^\s*([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

function writeNumericText(out: Output, text: string): void {
  const special = text.trim().toLowerCase();
  if (
    special === 'nan' ||
    special === 'infinity' ||
    special === '+infinity' ||
    special === '-infinity' ||
    special === 'inf' ||
    special === '-inf'
  ) {
    out.int32(8);
    out.int16(0);
    out.int16(0);
    out.ensure(2);
    out.buf.writeUInt16BE(special === 'nan' ? 0xc000 : special.startsWith('-') ? 0xf000 : 0xd000, out.pos);
    out.pos += 2;
    out.int16(0);
    return;
  }
  const match = NUMERIC_TEXT.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === ''))
    throw new EncodeError(`${JSON.stringify(text)} is not a number`);
  let integer = match[2] ?? '';
  let fraction = match[3] ?? '';
  const exponent = Number(match[4] ?? 0);
  if (exponent > 0) {
    const moved = fraction.padEnd(exponent, '0');
    integer += moved.slice(0, exponent);
    fraction = moved.slice(exponent);
  } else if (exponent < 0) {
    const moved = integer.padStart(-exponent, '0');
    fraction = moved.slice(moved.length + exponent) + fraction;
    integer = moved.slice(0, moved.length + exponent);
  }
  writeNumeric(out, match[1] === '-', integer + fraction, fraction.length);
}

function decimalAt(data: Data, i: number): bigint {
  const words = (data.type as any).bitWidth / 32;
  const values = data.values as Uint32Array;
  let value = 0n;
  for (let w = words - 1; w >= 0; w--) value = (value << 32n) | BigInt(values[i * words + w]!);
  return BigInt.asIntN(words * 32, value);
}

const HEX_VALUE = new Int8Array(256).fill(-1);
for (let k = 0; k < 10; k++) HEX_VALUE[48 + k] = k;
for (let k = 0; k < 6; k++) {
  HEX_VALUE[97 + k] = 10 + k;
  HEX_VALUE[65 + k] = 10 + k;
}

/** Returns [start, end) of value `i` in a variable-width column's data. */
function span(data: Data, i: number): [number, number] {
  if (data.type.typeId === Type.FixedSizeBinary) {
    const width = (data.type as any).byteWidth;
    return [i * width, (i + 1) * width];
  }
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  return [Number(offsets[i]!), Number(offsets[i + 1]!)];
}

function timeUnitToMicros(value: number | bigint, unit: number, what: string): number | bigint {
  // TimeUnit: 0 s, 1 ms, 2 µs, 3 ns.
  if (unit === 2) return value;
  if (typeof value === 'number') {
    if (unit === 0 && Math.abs(value) < 9e9) return value * 1_000_000;
    if (unit === 1 && Math.abs(value) < 9e12) return value * 1000;
    if (unit === 3 && value % 1000 === 0) return value / 1000;
    value = BigInt(value);
  }
  if (unit === 0) return value * 1_000_000n;
  if (unit === 1) return value * 1000n;
  if (value % 1000n !== 0n)
    throw new EncodeError(`${what} ${value} ns is not a whole microsecond (PostgreSQL keeps microseconds)`);
  return value / 1000n;
}

function writerFor(source: DataType, target: PgType): ValueWriter {
  if (source.typeId === Type.Dictionary) {
    const inner = writerFor((source as any).dictionary, target);
    return (out, data, i) => {
      const dictionary = data.dictionary!;
      if (dictionary.data.length !== 1) throw new EncodeError('dictionaries with deltas are not supported');
      inner(out, dictionary.data[0]!, Number(data.values[i]));
    };
  }
  switch (target.kind) {
    case 'bool':
      return (out, data, i) => {
        const bit = data.offset + i;
        out.int32(1);
        out.ensure(1);
        out.buf[out.pos++] = ((data.values as Uint8Array)[bit >> 3]! >> (bit & 7)) & 1;
      };
    case 'int2':
    case 'int4':
    case 'int8': {
      const width = { int2: 2, int4: 4, int8: 8 }[target.kind];
      const is64 = (source as any).bitWidth === 64;
      return (out, data, i) => {
        out.int32(width);
        const value = is64 ? int64At(data.values as BigInt64Array, i) : (data.values[i] as number);
        if (width === 8) out.int64(value);
        else if (width === 4) out.int32(value as number);
        else out.int16(value as number);
      };
    }
    case 'float4':
      return (out, data, i) => {
        out.int32(4);
        out.ensure(4);
        out.buf.writeFloatBE(data.values[i] as number, out.pos);
        out.pos += 4;
      };
    case 'float8':
      return (out, data, i) => {
        out.int32(8);
        out.ensure(8);
        out.buf.writeDoubleBE(data.values[i] as number, out.pos);
        out.pos += 8;
      };
    case 'numeric': {
      if (source.typeId === Type.Decimal && (source as any).bitWidth === 128) {
        const scale = (source as any).scale as number;
        return (out, data, i) => writeDecimal128(out, data.values as Uint32Array, i * 4, scale);
      }
      if (source.typeId === Type.Decimal) {
        const scale = (source as any).scale as number;
        return (out, data, i) => {
          const value = decimalAt(data, i);
          writeNumeric(out, value < 0n, (value < 0n ? -value : value).toString(), scale);
        };
      }
      if (source.typeId === Type.Int) {
        const is64 = (source as any).bitWidth === 64;
        return (out, data, i) => {
          const value = is64 ? int64At(data.values as BigInt64Array, i) : (data.values[i] as number);
          const negative = value < 0;
          writeNumeric(out, negative, String(negative ? -value : value), 0);
        };
      }
      return (out, data, i) => {
        const [start, end] = span(data, i);
        writeNumericText(
          out,
          Buffer.from(data.values.buffer, data.values.byteOffset + start, end - start).toString('utf8'),
        );
      };
    }
    case 'text':
    case 'json':
    case 'bytea':
      return (out, data, i) => {
        const [start, end] = span(data, i);
        out.int32(end - start);
        out.bytes(data.values as Uint8Array, start, end);
      };
    case 'jsonb':
      return (out, data, i) => {
        const [start, end] = span(data, i);
        out.int32(end - start + 1);
        out.ensure(1);
        out.buf[out.pos++] = 1;
        out.bytes(data.values as Uint8Array, start, end);
      };
    case 'uuid':
      return (out, data, i) => {
        const [start, end] = span(data, i);
        const bytes = data.values as Uint8Array;
        out.int32(16);
        out.ensure(16);
        let written = 0;
        let high = -1;
        for (let k = start; k < end; k++) {
          const code = bytes[k]!;
          if (code === 45 && (k - start === 8 || k - start === 13 || k - start === 18 || k - start === 23)) continue;
          const nibble = HEX_VALUE[code]!;
          if (nibble < 0 || written >= 16) {
            written = -1;
            break;
          }
          if (high < 0) high = nibble;
          else {
            out.buf[out.pos + written++] = (high << 4) | nibble;
            high = -1;
          }
        }
        if (written !== 16) {
          throw new EncodeError(
            `${JSON.stringify(Buffer.from(bytes.subarray(start, end)).toString('utf8'))} is not a uuid`,
          );
        }
        out.pos += 16;
      };
    case 'date': {
      const millis = (source as any).unit === 1;
      return (out, data, i) => {
        out.int32(4);
        let days: number;
        if (millis) {
          const ms = Number(int64At(data.values as BigInt64Array, i));
          if (ms % 86_400_000 !== 0) throw new EncodeError(`date64 value ${ms} is not a whole day`);
          days = ms / 86_400_000;
        } else days = data.values[i] as number;
        out.int32(days - EPOCH_DAYS);
      };
    }
    case 'time': {
      const unit = (source as any).unit as number;
      const wide = (source as any).bitWidth === 64;
      return (out, data, i) => {
        out.int32(8);
        const raw = wide ? int64At(data.values as BigInt64Array, i) : (data.values[i] as number);
        out.int64(timeUnitToMicros(raw, unit, 'time'));
      };
    }
    case 'timestamp':
    case 'timestamptz': {
      const unit = (source as any).unit as number;
      return (out, data, i) => {
        out.int32(8);
        const micros = timeUnitToMicros(int64At(data.values as BigInt64Array, i), unit, 'timestamp');
        if (typeof micros === 'number') {
          const shifted = micros - 946_684_800_000_000;
          out.int64(Number.isSafeInteger(shifted) ? shifted : BigInt(micros) - EPOCH_MICROS);
        } else out.int64(micros - EPOCH_MICROS);
      };
    }
    case 'interval':
      return (out, data, i) => {
        const values = data.values as Int32Array;
        const nanos = new BigInt64Array(values.buffer, values.byteOffset + (i * 4 + 2) * 4, 1)[0]!;
        if (nanos % 1000n !== 0n) throw new EncodeError(`interval ${nanos} ns is not a whole microsecond`);
        out.int32(16);
        out.int64(nanos / 1000n);
        out.int32(values[i * 4 + 1]!);
        out.int32(values[i * 4]!);
      };
    case 'array': {
      const childType = (source as any).children[0].type as DataType;
      const element = writerFor(childType, target.element);
      const elementOid = target.element.oid;
      const fixedSize = source.typeId === Type.FixedSizeList ? (source as any).listSize : 0;
      return (out, data, i) => {
        const child = data.children[0]!;
        let start: number;
        let end: number;
        if (fixedSize) {
          start = (data.offset + i) * fixedSize;
          end = start + fixedSize;
        } else {
          const offsets = data.valueOffsets as Int32Array | BigInt64Array;
          start = Number(offsets[i]!);
          end = Number(offsets[i + 1]!);
        }
        const lengthAt = out.pos;
        out.int32(0);
        const bodyStart = out.pos;
        let hasNull = 0;
        for (let k = start; k < end; k++) if (!child.getValid(k)) hasNull = 1;
        out.int32(end > start ? 1 : 0);
        out.int32(hasNull);
        out.int32(elementOid);
        if (end > start) {
          out.int32(end - start);
          out.int32(1);
          for (let k = start; k < end; k++) {
            if (child.getValid(k)) element(out, child, k);
            else out.int32(-1);
          }
        }
        out.buf.writeInt32BE(out.pos - bodyStart, lengthAt);
      };
    }
  }
}

/** A target column: name (for messages) and resolved type. */
export interface EncodeColumn {
  name: string;
  type: PgType;
}

/**
 * Hot-loop kinds: the common source/target pairs are written inline by `encode` (no call
 * per value, 64-bit values moved as two 32-bit words, never through Number or BigInt);
 * everything else goes through its {@link ValueWriter}.
 */
const GENERIC = 0;
const BOOL = 1;
const WORD16 = 2;
const WORD32 = 3;
/** int64 → int8, float64 → float8, time64[us] → time: two words, high first. */
const WORD64 = 4;
/** timestamp[us] → timestamp/timestamptz: two words shifted to PostgreSQL's 2000 epoch. */
const TIMESTAMP = 5;
/** date32 → date: days shifted to PostgreSQL's 2000 epoch. */
const DATE = 6;
/** utf8/binary (32-bit offsets) → text, json, bytea: bytes as they are. */
const BYTES = 7;

const EPOCH_LO = Number(EPOCH_MICROS % 2n ** 32n);
const EPOCH_HI = Number(EPOCH_MICROS / 2n ** 32n);

function hotKind(source: DataType, target: PgType): number {
  const id = source.typeId;
  const bits = (source as any).bitWidth as number | undefined;
  switch (target.kind) {
    case 'bool':
      return id === Type.Bool ? BOOL : GENERIC;
    case 'int2':
      return id === Type.Int && bits === 16 && (source as any).isSigned ? WORD16 : GENERIC;
    case 'int4':
      return id === Type.Int && bits === 32 && (source as any).isSigned ? WORD32 : GENERIC;
    case 'int8':
      return id === Type.Int && bits === 64 && (source as any).isSigned ? WORD64 : GENERIC;
    case 'float4':
      return id === Type.Float && (source as any).precision === 1 ? WORD32 : GENERIC;
    case 'float8':
      return id === Type.Float && (source as any).precision === 2 ? WORD64 : GENERIC;
    case 'time':
      return id === Type.Time && bits === 64 && (source as any).unit === 2 ? WORD64 : GENERIC;
    case 'timestamp':
    case 'timestamptz':
      return id === Type.Timestamp && (source as any).unit === 2 ? TIMESTAMP : GENERIC;
    case 'date':
      return id === Type.Date && (source as any).unit === 0 ? DATE : GENERIC;
    case 'text':
    case 'json':
    case 'bytea':
      return id === Type.Utf8 || id === Type.Binary ? BYTES : GENERIC;
    default:
      return GENERIC;
  }
}

/** Wire bytes of one value of each fixed hot kind, length prefix included (generic: a NULL's). */
const HOT_SIZE = [4, 5, 6, 8, 12, 12, 8, 4];

/** 32-bit words over a typed array's bytes (64-bit values are read as word pairs). */
function wordsOf(values: ArrayBufferView): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.byteLength >> 2);
}

/** Encodes batches of a fixed schema into binary COPY chunks. */
export class CopyBinaryEncoder {
  private readonly writers: ValueWriter[];
  private readonly kinds: Uint8Array;
  private readonly out = new Output(1024 * 1024);
  /** Rows encoded so far. */
  rows = 0;

  private readonly columns: readonly EncodeColumn[];
  constructor(sourceTypes: readonly DataType[], columns: readonly EncodeColumn[]) {
    this.columns = columns;
    const problems: string[] = [];
    sourceTypes.forEach((type, c) => {
      const reason = encodable(type, columns[c]!.type);
      if (reason) problems.push(`"${columns[c]!.name}" (${type} → ${columns[c]!.type.kind}): ${reason}`);
    });
    if (problems.length > 0) {
      throw new SchemaMismatchError(`Columns cannot be written to PostgreSQL: ${problems.join('; ')}.`, {
        details: { columns: problems },
      });
    }
    this.writers = sourceTypes.map((type, c) => writerFor(type, columns[c]!.type));
    this.kinds = Uint8Array.from(sourceTypes.map((type, c) => hotKind(type, columns[c]!.type)));
  }

  header(): Buffer {
    const header = Buffer.alloc(19);
    SIGNATURE.copy(header, 0);
    return header;
  }

  trailer(): Buffer {
    return Buffer.from([0xff, 0xff]);
  }

  /**
   * Encodes one batch (columns in constructor order) into one chunk. The bytes the hot
   * columns need are reserved up front, so their values are written without bounds checks;
   * generic writers reserve their own.
   */
  encode(batch: RecordBatch): Buffer {
    const columns = batch.data.children;
    const count = this.writers.length;
    const kinds = this.kinds;
    const rows = batch.numRows;
    const out = this.out;
    let reserve = 2 * rows;
    const words: Array<Int32Array | null> = [];
    const bytes: Array<Uint8Array | null> = [];
    const shorts: Array<Int16Array | null> = [];
    const offsets: Array<Int32Array | null> = [];
    const validity: Array<Uint8Array | null> = [];
    for (let c = 0; c < count; c++) {
      const data = columns[c]!;
      const kind = kinds[c]!;
      validity.push(data.nullCount > 0 ? (data.nullBitmap ?? null) : null);
      words.push(kind >= WORD32 && kind <= DATE ? wordsOf(data.values) : null);
      bytes.push(kind === BOOL || kind === BYTES ? (data.values as Uint8Array) : null);
      shorts.push(kind === WORD16 ? (data.values as Int16Array) : null);
      const valueOffsets = kind === BYTES ? (data.valueOffsets as Int32Array) : null;
      offsets.push(valueOffsets);
      if (kind === BYTES) reserve += 4 * rows + (valueOffsets![rows]! - valueOffsets![0]!);
      else reserve += HOT_SIZE[kind]! * rows;
    }
    out.ensure(reserve);
    let buf = out.buf;
    let pos = out.pos;
    let i = 0;
    let c = 0;
    try {
      for (i = 0; i < rows; i++) {
        buf[pos] = count >> 8;
        buf[pos + 1] = count;
        pos += 2;
        for (c = 0; c < count; c++) {
          const data = columns[c]!;
          const nulls = validity[c];
          if (nulls) {
            const bit = data.offset + i;
            if (((nulls[bit >> 3]! >> (bit & 7)) & 1) === 0) {
              buf[pos] = 0xff;
              buf[pos + 1] = 0xff;
              buf[pos + 2] = 0xff;
              buf[pos + 3] = 0xff;
              pos += 4;
              continue;
            }
          }
          switch (kinds[c]) {
            case WORD64: {
              const w = words[c]!;
              const hi = w[i * 2 + 1]!;
              const lo = w[i * 2]!;
              buf[pos] = 0;
              buf[pos + 1] = 0;
              buf[pos + 2] = 0;
              buf[pos + 3] = 8;
              buf[pos + 4] = hi >>> 24;
              buf[pos + 5] = hi >>> 16;
              buf[pos + 6] = hi >>> 8;
              buf[pos + 7] = hi;
              buf[pos + 8] = lo >>> 24;
              buf[pos + 9] = lo >>> 16;
              buf[pos + 10] = lo >>> 8;
              buf[pos + 11] = lo;
              pos += 12;
              break;
            }
            case TIMESTAMP: {
              const w = words[c]!;
              const low = (w[i * 2]! >>> 0) - EPOCH_LO;
              const borrow = low < 0 ? 1 : 0;
              const lo = low + borrow * TWO_32;
              const hi = w[i * 2 + 1]! - EPOCH_HI - borrow;
              if (hi < -0x80000000)
                throw new EncodeError(`timestamp ${w[i * 2 + 1]!} · 2^32 µs is out of PostgreSQL's range`);
              buf[pos] = 0;
              buf[pos + 1] = 0;
              buf[pos + 2] = 0;
              buf[pos + 3] = 8;
              buf[pos + 4] = hi >>> 24;
              buf[pos + 5] = hi >>> 16;
              buf[pos + 6] = hi >>> 8;
              buf[pos + 7] = hi;
              buf[pos + 8] = lo >>> 24;
              buf[pos + 9] = lo >>> 16;
              buf[pos + 10] = lo >>> 8;
              buf[pos + 11] = lo;
              pos += 12;
              break;
            }
            case WORD32:
            case DATE: {
              const v = kinds[c] === DATE ? words[c]![i]! - EPOCH_DAYS : words[c]![i]!;
              buf[pos] = 0;
              buf[pos + 1] = 0;
              buf[pos + 2] = 0;
              buf[pos + 3] = 4;
              buf[pos + 4] = v >>> 24;
              buf[pos + 5] = v >>> 16;
              buf[pos + 6] = v >>> 8;
              buf[pos + 7] = v;
              pos += 8;
              break;
            }
            case BYTES: {
              const o = offsets[c]!;
              const start = o[i]!;
              const end = o[i + 1]!;
              const len = end - start;
              buf[pos] = len >>> 24;
              buf[pos + 1] = len >>> 16;
              buf[pos + 2] = len >>> 8;
              buf[pos + 3] = len;
              pos += 4;
              const source = bytes[c]!;
              if (len < 48) {
                // Short values: a loop beats the native copy's call overhead.
                for (let k = start; k < end; k++) buf[pos++] = source[k]!;
              } else {
                buf.set(source.subarray(start, end), pos);
                pos += len;
              }
              break;
            }
            case BOOL: {
              const bit = data.offset + i;
              buf[pos] = 0;
              buf[pos + 1] = 0;
              buf[pos + 2] = 0;
              buf[pos + 3] = 1;
              buf[pos + 4] = (bytes[c]![bit >> 3]! >> (bit & 7)) & 1;
              pos += 5;
              break;
            }
            case WORD16: {
              const v = shorts[c]![i]!;
              buf[pos] = 0;
              buf[pos + 1] = 0;
              buf[pos + 2] = 0;
              buf[pos + 3] = 2;
              buf[pos + 4] = v >>> 8;
              buf[pos + 5] = v;
              pos += 6;
              break;
            }
            default: {
              out.pos = pos;
              this.writers[c]!(out, data, i);
              // A generic writer may have grown the buffer; keep the reservation for the rest.
              pos = out.pos;
              out.ensure(reserve);
              buf = out.buf;
            }
          }
        }
      }
    } catch (error) {
      out.pos = 0;
      if (!(error instanceof EncodeError) && !(error instanceof RangeError)) throw error;
      const name = this.columns[c]!.name;
      throw new SchemaMismatchError(`Column "${name}", row ${this.rows + i + 1}: ${error.message}.`, {
        cause: error,
        details: { column: name, row: this.rows + i + 1 },
      });
    }
    out.pos = pos;
    this.rows += rows;
    return out.take();
  }
}
