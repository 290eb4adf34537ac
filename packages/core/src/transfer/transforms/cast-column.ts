/**
 * Cast kernels: convert one Arrow column (a Data) to another type, row by row over typed
 * arrays, building the result with `makeData`. Exact conversions only, unless the column's
 * context allows loss (see docs/transforms.md for the rules table). Nulls stay null; a
 * lossy value either throws (naming column, row and value) or becomes null / is rounded.
 */

import type { Data } from 'apache-arrow';
import {
  type DataType,
  type Date_,
  DateUnit,
  type Decimal,
  type Float,
  type Int,
  makeVector,
  Precision,
  type Timestamp,
  TimeUnit,
  Type,
} from 'apache-arrow';
import { type CastContext, type LossReason, reportLoss } from './cast-context.ts';
import { formatDate, localToUtcMs, MS_PER_DAY, zoneOffsetMs } from './civil-time.ts';
import {
  allValid,
  asciiAt,
  copyValidity,
  fixedWidthData,
  readStrings,
  type StringColumn,
  StringColumnWriter,
  stringAt,
} from './column-buffers.ts';
import {
  compact,
  decimalReader,
  decimalText,
  type ExactInteger,
  inRange,
  integerBounds,
  integerReader,
  readWide,
  wordsOf,
  writeDecimal,
  writeWide,
} from './numeric-columns.ts';
import { sameType } from './schema-helpers.ts';
import {
  divideByPowerOfTen,
  parseBoolText,
  parseDateText,
  parseDecimalText,
  parseFloatText,
  parseTimestampText,
} from './text-parsers.ts';

/** Converts one column; `context` names it for errors and says whether loss is tolerated. */
export type CastKernel = (data: Data, context: CastContext) => Data;

type Kind = 'int' | 'float' | 'decimal' | 'bool' | 'string' | 'binary' | 'date' | 'timestamp' | 'other';

function kindOf(type: DataType): Kind {
  switch (type.typeId) {
    case Type.Int:
      return 'int';
    case Type.Float:
      return (type as Float).precision === Precision.HALF ? 'other' : 'float';
    case Type.Decimal:
      return 'decimal';
    case Type.Bool:
      return 'bool';
    case Type.Utf8:
    case Type.LargeUtf8:
      return 'string';
    case Type.Binary:
    case Type.LargeBinary:
      return 'binary';
    case Type.Date:
      return 'date';
    case Type.Timestamp:
      return 'timestamp';
    default:
      return 'other';
  }
}

/**
 * The kernel converting `from` to `to`, or undefined when the pair is not supported (the
 * caller turns that into a SchemaMismatchError at preflight).
 */
export function planCast(from: DataType, to: DataType): CastKernel | undefined {
  if (sameType(from, to)) return (data) => data;
  const source = kindOf(from);
  const target = kindOf(to);
  // Date64 is readable but not a cast target (the type-name grammar has date32 only).
  if (target === 'date' && (to as Date_).unit !== DateUnit.DAY) return undefined;
  if (target === 'string') return toTextKernel(source, to);
  if (source === 'string') {
    if (target === 'other') return undefined;
    return fromTextKernel(target, to);
  }
  const numeric = (kind: Kind) => kind === 'int' || kind === 'float' || kind === 'decimal';
  if (numeric(source) && numeric(target)) return numericKernel(source, to);
  if ((source === 'bool' && target === 'int') || (source === 'int' && target === 'bool'))
    return numericKernel(source, to);
  if ((source === 'date' || source === 'timestamp') && (target === 'date' || target === 'timestamp')) {
    return temporalKernel(to);
  }
  return undefined;
}

// --- shared ----------------------------------------------------------------------------------

const isNull = (bits: Uint8Array | null, i: number): boolean =>
  bits !== null && (((bits[i >> 3] ?? 0) >> (i & 7)) & 1) === 0;

function setNull(bits: Uint8Array | null, length: number, i: number): Uint8Array {
  const out = bits ?? allValid(length);
  out[i >> 3] = (out[i >> 3] ?? 0) & ~(1 << (i & 7));
  return out;
}

const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** Formats a source value for a loss message. */
function describer(data: Data): (i: number) => string {
  const kind = kindOf(data.type);
  if (kind === 'string' || kind === 'binary') {
    const strings = readStrings(data);
    return (i) => stringAt(strings, i);
  }
  if (kind === 'decimal') {
    const read = decimalReader(data);
    const scale = (data.type as Decimal).scale;
    return (i) => decimalText(read(i), scale);
  }
  if (kind === 'int' || kind === 'bool') {
    const read = integerReader(data);
    return (i) => String(kind === 'bool' ? read(i) === 1 : read(i));
  }
  const vector = makeVector(data);
  return (i) => String(vector.get(i));
}

/** Reports a loss at row `i` from a hot loop (no per-row closures); returns if tolerated. */
function lossAt(data: Data, context: CastContext, i: number, reason: LossReason): void {
  reportLoss(context, i, reason, () => describer(data)(i));
}

/**
 * Runs `convert` for every non-null row. `convert` returns false when the value must become
 * null (it has already called `loss`, which throws unless loss is allowed).
 */
function eachRow(
  data: Data,
  context: CastContext,
  convert: (i: number, loss: (reason: LossReason) => void) => boolean,
): Uint8Array | null {
  const length = data.length;
  let bits = copyValidity(data);
  let describe: ((i: number) => string) | undefined;
  let row = 0;
  const loss = (reason: LossReason) => {
    reportLoss(context, row, reason, () => {
      describe ??= describer(data);
      return describe(row);
    });
  };
  for (let i = 0; i < length; i++) {
    if (isNull(bits, i)) continue;
    row = i;
    if (!convert(i, loss)) bits = setNull(bits, length, i);
  }
  return bits;
}

// --- numeric: int, float, decimal, bool ------------------------------------------------------

/** Reads a numeric source row as an exact integer at `scale` (rounding reported as precision loss). */
function scaledReader(
  data: Data,
  kind: Kind,
  scale: number,
): (i: number, loss: (reason: LossReason) => void) => ExactInteger | undefined {
  if (kind === 'int' || kind === 'bool') {
    const read = integerReader(data);
    if (scale === 0) return (i) => read(i);
    const factor = 10n ** BigInt(scale);
    const numberFactor = scale < 16 ? (POW10[scale] ?? 1) : 0;
    return (i) => {
      const value = read(i);
      if (typeof value === 'number' && numberFactor !== 0) {
        const product = value * numberFactor;
        if (Number.isSafeInteger(product)) return product;
      }
      return compact(BigInt(value) * factor);
    };
  }
  if (kind === 'float') {
    const values = data.values as Float64Array;
    return (i, loss) => {
      const x = values[i] ?? 0;
      if (!Number.isFinite(x)) {
        loss('overflow');
        return undefined;
      }
      if (scale === 0 && Number.isSafeInteger(x)) return x;
      // A float's value is the shortest text that reads back as it (what String(x) prints):
      // 0.1 converts to 0.1, not to 0.1000000000000000055511151231257827.
      const parsed = parseDecimalText(String(x), scale);
      if (parsed === null) {
        loss('unparseable');
        return undefined;
      }
      if (!parsed.exact) loss('precision');
      return compact(parsed.value);
    };
  }
  // decimal
  const read = decimalReader(data);
  const shift = (data.type as Decimal).scale - scale;
  if (shift === 0) return (i) => read(i);
  if (shift < 0) {
    const factor = 10n ** BigInt(-shift);
    return (i) => compact(BigInt(read(i)) * factor);
  }
  const numberDivisor = shift < 16 ? (POW10[shift] ?? 1) : 0;
  return (i, loss) => {
    const value = read(i);
    if (typeof value === 'number' && numberDivisor !== 0) {
      const quotient = value / numberDivisor;
      if (Number.isInteger(quotient)) return quotient;
    }
    const result = divideByPowerOfTen(BigInt(value), shift);
    if (!result.exact) loss('precision');
    return compact(result.value);
  };
}

function numericKernel(source: Kind, to: DataType): CastKernel {
  const target = kindOf(to);
  if (target === 'int') return toIntegerKernel(source, to as Int);
  if (target === 'float') return toFloatKernel(source, to as Float);
  if (target === 'decimal') return toDecimalKernel(source, to as Decimal);
  return toBoolKernel(to);
}

function toIntegerKernel(source: Kind, to: Int): CastKernel {
  const { min, max } = integerBounds(to);
  const numberMin = Number(min);
  const numberMax = Number(max);
  const wide = to.bitWidth === 64;
  return (data, context) => {
    const length = data.length;
    const out = new (to.ArrayType as unknown as new (n: number) => Int32Array | BigInt64Array)(length);
    const from = data.type as Int;
    // Fast paths: plain typed-array loops (no per-row callbacks) for narrow integer sources.
    if (source === 'int' && from.bitWidth <= 32) {
      const values = data.values as Int32Array;
      let bits = copyValidity(data);
      if (wide) {
        const words = wordsOf(out as BigInt64Array, 2);
        for (let i = 0; i < length; i++) {
          const value = values[i] as number;
          if (value < numberMin) {
            if (bits !== null && (((bits[i >> 3] as number) >> (i & 7)) & 1) === 0) continue;
            lossAt(data, context, i, 'overflow');
            bits = setNull(bits, length, i);
            continue;
          }
          words[2 * i] = value;
          words[2 * i + 1] = value < 0 ? -1 : 0;
        }
        return fixedWidthData(to, length, out, bits);
      }
      const narrow = out as Int32Array;
      for (let i = 0; i < length; i++) {
        const value = values[i] as number;
        if (value < numberMin || value > numberMax) {
          if (bits !== null && (((bits[i >> 3] as number) >> (i & 7)) & 1) === 0) continue;
          lossAt(data, context, i, 'overflow');
          bits = setNull(bits, length, i);
          continue;
        }
        narrow[i] = value;
      }
      return fixedWidthData(to, length, out, bits);
    }
    const read = scaledReader(data, source, 0);
    const words = wide ? wordsOf(out as BigInt64Array, 2) : undefined;
    const bits = eachRow(data, context, (i, loss) => {
      const value = read(i, loss);
      if (value === undefined) return false;
      if (!inRange(value, min, max)) {
        loss('overflow');
        return false;
      }
      if (words) writeWide(words, i, value, out as BigInt64Array);
      else (out as Int32Array)[i] = value as number;
      return true;
    });
    return fixedWidthData(to, length, out, bits);
  };
}

function toFloatKernel(source: Kind, to: Float): CastKernel {
  const single = to.precision === Precision.SINGLE;
  return (data, context) => {
    const length = data.length;
    const out = single ? new Float32Array(length) : new Float64Array(length);
    if (source === 'float') {
      const values = data.values as Float64Array;
      const bits = eachRow(data, context, (i, loss) => {
        const x = values[i] ?? 0;
        const y = single ? Math.fround(x) : x;
        if (Number.isFinite(x) && !Number.isFinite(y)) {
          loss('overflow');
          return false;
        }
        if (y !== x && !Number.isNaN(x)) loss('precision');
        out[i] = y;
        return true;
      });
      return fixedWidthData(to, length, out, bits);
    }
    if (source === 'int' || source === 'bool') {
      const read = integerReader(data);
      const exactBelow = single ? 16_777_216 : 9_007_199_254_740_992;
      const bits = eachRow(data, context, (i, loss) => {
        const value = read(i);
        const x = Number(value);
        const y = single ? Math.fround(x) : x;
        const exact = typeof value === 'number' ? Math.abs(value) <= exactBelow || y === value : BigInt(y) === value;
        if (!exact) loss('precision');
        out[i] = y;
        return true;
      });
      return fixedWidthData(to, length, out, bits);
    }
    // decimal: exact when the float's shortest text is the same number.
    const read = decimalReader(data);
    const scale = (data.type as Decimal).scale;
    const bits = eachRow(data, context, (i, loss) => {
      const unscaled = read(i);
      const text = decimalText(unscaled, scale);
      const x = Number(text);
      const y = single ? Math.fround(x) : x;
      if (!Number.isFinite(y)) {
        loss('overflow');
        return false;
      }
      const significant = text
        .replace(/^-?0*\.?0*/, '')
        .replace('.', '')
        .replace(/0+$/, '').length;
      const roundTrips =
        single && significant <= 6
          ? true
          : (() => {
              const back = parseDecimalText(String(y), scale);
              return back?.exact === true && back.value === BigInt(unscaled);
            })();
      if (!roundTrips) loss('precision');
      out[i] = y;
      return true;
    });
    return fixedWidthData(to, length, out, bits);
  };
}

function toDecimalKernel(source: Kind, to: Decimal): CastKernel {
  const limit = 10n ** BigInt(to.precision);
  const numberLimit = to.precision <= 15 ? 10 ** to.precision : Number.MAX_SAFE_INTEGER + 1;
  const stride = to.bitWidth / 32;
  return (data, context) => {
    const length = data.length;
    const words = new Int32Array(length * stride);
    const read = scaledReader(data, source, to.scale);
    const bits = eachRow(data, context, (i, loss) => {
      const value = read(i, loss);
      if (value === undefined) return false;
      const fits = typeof value === 'number' ? Math.abs(value) < numberLimit : value < limit && value > -limit;
      if (!fits) {
        loss('overflow');
        return false;
      }
      writeDecimal(words, stride, i, value);
      return true;
    });
    return fixedWidthData(to, length, new Uint32Array(words.buffer), bits);
  };
}

function toBoolKernel(to: DataType): CastKernel {
  return (data, context) => {
    const length = data.length;
    const out = new Uint8Array((length + 7) >> 3);
    const read = integerReader(data);
    const bits = eachRow(data, context, (i, loss) => {
      const value = read(i);
      if (value !== 0 && value !== 1) {
        loss('overflow');
        return false;
      }
      if (value === 1) out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
      return true;
    });
    return fixedWidthData(to, length, out, bits);
  };
}

// --- temporal ------------------------------------------------------------------------------

const UNIT_DIGITS: Record<number, number> = {
  [TimeUnit.SECOND]: 0,
  [TimeUnit.MILLISECOND]: 3,
  [TimeUnit.MICROSECOND]: 6,
  [TimeUnit.NANOSECOND]: 9,
};
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function int64Fits(value: ExactInteger): boolean {
  return typeof value === 'number' || (value >= INT64_MIN && value <= INT64_MAX);
}

/** Multiplies by 10^digits, staying in numbers while safe. */
function scaleUp(value: ExactInteger, digits: number): ExactInteger {
  if (digits === 0) return value;
  if (typeof value === 'number') {
    const product = value * (POW10[digits] ?? 1);
    if (Number.isSafeInteger(product)) return product;
  }
  return compact(BigInt(value) * 10n ** BigInt(digits));
}

/** Floor division by 10^digits with the remainder, for instants before the epoch. */
function floorScaleDown(value: ExactInteger, digits: number): { quotient: number; exact: boolean } {
  if (typeof value === 'number') {
    const divisor = POW10[digits] ?? 1;
    const quotient = Math.floor(value / divisor);
    return { quotient, exact: quotient * divisor === value };
  }
  const divisor = 10n ** BigInt(digits);
  let quotient = value / divisor;
  const remainder = value - quotient * divisor;
  if (remainder < 0n) quotient -= 1n;
  return { quotient: Number(quotient), exact: remainder === 0n };
}

function temporalKernel(to: DataType): CastKernel {
  if (to.typeId === Type.Date) {
    // → date32: the calendar day of the instant (in the source zone when it has one).
    return (data, context) => {
      const length = data.length;
      const out = new Int32Array(length);
      const from = data.type as Timestamp | Date_;
      const isTimestamp = from.typeId === Type.Timestamp;
      const digits = isTimestamp ? (UNIT_DIGITS[(from as Timestamp).unit] ?? 0) : 3;
      const zone = isTimestamp ? (from as Timestamp).timezone : null;
      const values = data.values as BigInt64Array;
      const words = wordsOf(values, 2);
      const bits = eachRow(data, context, (i, loss) => {
        const value = readWide(words, i, true, values);
        // Instant in ms (floored), then local ms in the zone, then the day.
        const ms = digits >= 3 ? floorScaleDown(value, digits - 3) : { quotient: Number(value) * 1000, exact: true };
        const local = zone ? ms.quotient + zoneOffsetMs(zone, ms.quotient) : ms.quotient;
        const day = Math.floor(local / MS_PER_DAY);
        if (!ms.exact || day * MS_PER_DAY !== local) loss('precision');
        out[i] = day;
        return true;
      });
      return fixedWidthData(to, length, out, bits);
    };
  }
  const target = to as Timestamp;
  const targetDigits = UNIT_DIGITS[target.unit] ?? 0;
  return (data, context) => {
    const length = data.length;
    const out = new BigInt64Array(length);
    const outWords = wordsOf(out, 2);
    const from = data.type as Timestamp | Date_;
    let bits: Uint8Array | null;
    if (from.typeId === Type.Date) {
      const dayValues = (from as Date_).unit === 0 ? (data.values as Int32Array) : undefined;
      const msValues = dayValues ? undefined : (data.values as BigInt64Array);
      const msWords = msValues ? wordsOf(msValues, 2) : undefined;
      bits = eachRow(data, context, (i, loss) => {
        // A date is midnight of that day: in the target zone when it has one, else wall-clock.
        let ms = dayValues
          ? (dayValues[i] ?? 0) * MS_PER_DAY
          : Number(readWide(msWords as Int32Array, i, true, msValues as BigInt64Array));
        if (target.timezone) ms = localToUtcMs(target.timezone, ms);
        const value =
          targetDigits >= 3 ? scaleUp(ms, targetDigits - 3) : divideByPowerOfTen(BigInt(ms), 3 - targetDigits);
        return store(i, value, loss);
      });
    } else {
      const sourceDigits = UNIT_DIGITS[(from as Timestamp).unit] ?? 0;
      const values = data.values as BigInt64Array;
      const words = wordsOf(values, 2);
      // A zone change keeps the instant: the stored UTC values are the same.
      const shift = targetDigits - sourceDigits;
      bits = eachRow(data, context, (i, loss) => {
        const value = readWide(words, i, true, values);
        if (shift >= 0) return store(i, scaleUp(value, shift), loss);
        return store(i, divideByPowerOfTen(BigInt(value), -shift), loss);
      });
    }
    return fixedWidthData(to, length, out, bits);

    function store(
      i: number,
      value: ExactInteger | { value: bigint; exact: boolean },
      loss: (reason: LossReason) => void,
    ): boolean {
      let exact: ExactInteger;
      if (typeof value === 'object') {
        if (!value.exact) loss('precision');
        exact = compact(value.value);
      } else exact = value;
      if (!int64Fits(exact)) {
        loss('overflow');
        return false;
      }
      writeWide(outWords, i, exact, out);
      return true;
    }
  };
}

/** Canonical ISO 8601 text of a timestamp: fraction digits per unit, `Z` when the type has a zone. */
function formatTimestamp(value: ExactInteger, digits: number, zoned: boolean): string {
  const { quotient: seconds } = floorScaleDown(value, digits);
  const fractionValue = digits === 0 ? 0n : BigInt(value) - BigInt(seconds) * 10n ** BigInt(digits);
  const days = Math.floor(seconds / 86_400);
  let rest = seconds - days * 86_400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  const time = `${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}:${String(secs).padStart(2, '0')}`;
  const fraction = digits === 0 ? '' : `.${fractionValue.toString().padStart(digits, '0')}`;
  return `${formatDate(days)}T${time}${fraction}${zoned ? 'Z' : ''}`;
}

// --- to text ---------------------------------------------------------------------------------

function toTextKernel(source: Kind, to: DataType): CastKernel {
  return (data, context) => {
    const length = data.length;
    const bits = copyValidity(data);
    const writer = new StringColumnWriter(length, length * 8);
    let out = bits;
    const each = (write: (i: number) => boolean) => {
      for (let i = 0; i < length; i++) {
        if (!isNull(out, i) && !write(i)) out = setNull(out, length, i);
        writer.endValue();
      }
    };
    const from = data.type;
    if (source === 'int' && (from as Int).bitWidth <= 32) {
      const values = data.values as Int32Array;
      for (let i = 0; i < length; i++) {
        if (!isNull(out, i)) writer.writeInteger(values[i] as number);
        writer.endValue();
      }
    } else if (source === 'int' || source === 'decimal') {
      const read = source === 'int' ? integerReader(data) : decimalReader(data);
      const scale = source === 'int' ? 0 : (from as Decimal).scale;
      each((i) => {
        const value = read(i);
        if (scale === 0 && typeof value === 'number') writer.writeInteger(value);
        else writer.writeAscii(decimalText(value, scale));
        return true;
      });
    } else if (source === 'float') {
      const values = data.values as Float64Array;
      each((i) => {
        writer.writeAscii(String(values[i]));
        return true;
      });
    } else if (source === 'bool') {
      const read = integerReader(data);
      each((i) => {
        writer.writeAscii(read(i) === 1 ? 'true' : 'false');
        return true;
      });
    } else if (source === 'date' && (from as Date_).unit === 0) {
      const values = data.values as Int32Array;
      each((i) => {
        writer.writeAscii(formatDate(values[i] ?? 0));
        return true;
      });
    } else if (source === 'date' || source === 'timestamp') {
      const values = data.values as BigInt64Array;
      const words = wordsOf(values, 2);
      const digits = source === 'date' ? 3 : (UNIT_DIGITS[(from as Timestamp).unit] ?? 0);
      const zoned = source === 'timestamp' && Boolean((from as Timestamp).timezone);
      each((i) => {
        const value = readWide(words, i, true, values);
        if (source === 'date') writer.writeAscii(formatDate(Math.floor(floorScaleDown(value, 3).quotient / 86_400)));
        else writer.writeAscii(formatTimestamp(value, digits, zoned));
        return true;
      });
    } else if (source === 'string' || source === 'binary') {
      const strings = readStrings(data);
      const strict = source === 'binary';
      each((i) => {
        const start = strings.offsets[i] ?? 0;
        const end = strings.offsets[i + 1] ?? 0;
        if (strict && !isUtf8(strings.bytes.subarray(start, end))) {
          reportLoss(context, i, 'unparseable', () => hex(strings.bytes.subarray(start, end)));
          return false;
        }
        writer.writeBytes(strings.bytes, start, end);
        return true;
      });
    } else {
      // Nested and rare types: JSON text of the value (bigints as numbers' digits).
      const vector = makeVector(data);
      each((i) => {
        writer.writeText(jsonText(vector.get(i)));
        return true;
      });
    }
    return writer.finish(to, out);
  };
}

const utf8Check = new TextDecoder('utf-8', { fatal: true });

function isUtf8(bytes: Uint8Array): boolean {
  try {
    utf8Check.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item)) ?? 'null';
}

// --- from text -------------------------------------------------------------------------------

/** True when bytes[start..end) is empty or whitespace only: such a string casts to null. */
function isBlank(bytes: Uint8Array, start: number, end: number): boolean {
  for (let p = start; p < end; p++) {
    const byte = bytes[p];
    if (byte !== 32 && byte !== 9 && byte !== 10 && byte !== 13) return false;
  }
  return true;
}

function fromTextKernel(target: Kind, to: DataType): CastKernel {
  if (target === 'int') return textToIntegerKernel(to as Int);
  if (target === 'binary' || target === 'string') {
    return (data) => {
      const strings = readStrings(data);
      const writer = new StringColumnWriter(data.length, strings.bytes.length);
      for (let i = 0; i < data.length; i++) {
        writer.writeBytes(strings.bytes, strings.offsets[i] ?? 0, strings.offsets[i + 1] ?? 0);
        writer.endValue();
      }
      return writer.finish(to, copyValidity(data));
    };
  }
  return (data, context) => {
    const length = data.length;
    const strings = readStrings(data);
    const text = (i: number) => asciiAt(strings, i);
    const parse = textParser(target, to, strings);
    let out: ArrayBufferView;
    let store: (i: number, value: ExactInteger | number | boolean) => void;
    if (target === 'float') {
      const values = (to as Float).precision === Precision.SINGLE ? new Float32Array(length) : new Float64Array(length);
      out = values;
      store = (i, value) => {
        values[i] = value as number;
      };
    } else if (target === 'bool') {
      const values = new Uint8Array((length + 7) >> 3);
      out = values;
      store = (i, value) => {
        if (value) values[i >> 3] = (values[i >> 3] ?? 0) | (1 << (i & 7));
      };
    } else if (target === 'date') {
      const values = new Int32Array(length);
      out = values;
      store = (i, value) => {
        values[i] = value as number;
      };
    } else if (target === 'decimal') {
      const stride = (to as Decimal).bitWidth / 32;
      const words = new Int32Array(length * stride);
      out = new Uint32Array(words.buffer);
      store = (i, value) => writeDecimal(words, stride, i, value as ExactInteger);
    } else {
      const values = new BigInt64Array(length);
      const words = wordsOf(values, 2);
      out = values;
      store = (i, value) => writeWide(words, i, value as ExactInteger, values);
    }
    const bits = eachRow(data, context, (i, loss) => {
      const start = strings.offsets[i] ?? 0;
      const end = strings.offsets[i + 1] ?? 0;
      if (isBlank(strings.bytes, start, end)) return false;
      const value = parse(text(i), loss);
      if (value === undefined) return false;
      store(i, value);
      return true;
    });
    return fixedWidthData(to, length, out, bits);
  };
}

/** Parses one string (null when it is not ASCII) into the value to store, or undefined for null. */
function textParser(
  target: Kind,
  to: DataType,
  _strings: StringColumn,
): (text: string | null, loss: (reason: LossReason) => void) => ExactInteger | number | boolean | undefined {
  const unparseable = (loss: (reason: LossReason) => void) => {
    loss('unparseable');
    return undefined;
  };
  switch (target) {
    case 'float': {
      const single = (to as Float).precision === Precision.SINGLE;
      return (text, loss) => {
        const x = text === null ? undefined : parseFloatText(text);
        if (x === undefined) return unparseable(loss);
        const y = single ? Math.fround(x) : x;
        // Numeric text beyond the type's range (`1e999`, or `1e39` for float32) overflows;
        // the literals `inf` and `nan` are values of their own.
        if (!Number.isFinite(y) && !Number.isNaN(y) && /\d/.test(text ?? '')) {
          loss('overflow');
          return undefined;
        }
        return y;
      };
    }
    case 'bool':
      return (text, loss) => {
        const value = text === null ? undefined : parseBoolText(text);
        return value === undefined ? unparseable(loss) : value;
      };
    case 'date':
      return (text, loss) => {
        const value = text === null ? undefined : parseDateText(text);
        return value === undefined ? unparseable(loss) : value;
      };
    case 'decimal': {
      const { scale, precision } = to as Decimal;
      const limit = 10n ** BigInt(precision);
      return (text, loss) => {
        const parsed = text === null ? null : parseDecimalText(text, scale);
        if (parsed === null) return unparseable(loss);
        if (!parsed.exact) loss('precision');
        if (parsed.value >= limit || parsed.value <= -limit) {
          loss('overflow');
          return undefined;
        }
        return compact(parsed.value);
      };
    }
    case 'timestamp': {
      const { unit, timezone } = to as Timestamp;
      const digits = UNIT_DIGITS[unit] ?? 0;
      return (text, loss) => {
        const parsed = text === null ? undefined : parseTimestampText(text);
        if (parsed === undefined) return unparseable(loss);
        let seconds: number;
        if (parsed.offsetSeconds !== null) seconds = parsed.localSeconds - parsed.offsetSeconds;
        else if (timezone) seconds = Math.round(localToUtcMs(timezone, parsed.localSeconds * 1000) / 1000);
        else seconds = parsed.localSeconds;
        const kept = parsed.fraction.slice(0, digits).padEnd(digits, '0');
        const dropped = parsed.fraction.slice(digits);
        let fraction = digits === 0 ? 0 : Number(kept);
        if (/[1-9]/.test(dropped)) {
          loss('precision');
          if ((dropped.charCodeAt(0) ?? 48) >= 53) fraction += 1;
        }
        const value = compact(BigInt(seconds) * 10n ** BigInt(digits) + BigInt(fraction));
        if (!int64Fits(value)) {
          loss('overflow');
          return undefined;
        }
        return value;
      };
    }
    default:
      return (_text, loss) => unparseable(loss);
  }
}

/**
 * utf8 → integer, parsed straight from the UTF-8 bytes: digits accumulate in a double while
 * exact (15 digits), longer numbers go through BigInt.
 */
function textToIntegerKernel(to: Int): CastKernel {
  const { min, max } = integerBounds(to);
  const numberMin = Number(min);
  const numberMax = Number(max);
  const wide = to.bitWidth === 64;
  return (data, context) => {
    const length = data.length;
    const { offsets, bytes } = readStrings(data);
    const out = new (to.ArrayType as unknown as new (n: number) => Int32Array | BigInt64Array)(length);
    const words = wide ? wordsOf(out as BigInt64Array, 2) : new Int32Array(0);
    const narrow = out as Int32Array;
    let bits = copyValidity(data);
    for (let i = 0; i < length; i++) {
      if (bits !== null && (((bits[i >> 3] as number) >> (i & 7)) & 1) === 0) continue;
      let p = offsets[i] as number;
      let end = offsets[i + 1] as number;
      while (p < end && (bytes[p] === 32 || bytes[p] === 9)) p++;
      while (
        end > p &&
        (bytes[end - 1] === 32 || bytes[end - 1] === 9 || bytes[end - 1] === 13 || bytes[end - 1] === 10)
      )
        end--;
      if (p === end) {
        bits = setNull(bits, length, i); // blank → null
        continue;
      }
      let negative = false;
      const sign = bytes[p];
      if (sign === 45 || sign === 43) {
        negative = sign === 45;
        p++;
      }
      const digitsStart = p;
      let value = 0;
      let bad = p === end;
      for (; p < end; p++) {
        const digit = (bytes[p] as number) - 48;
        if (digit < 0 || digit > 9) {
          bad = true;
          break;
        }
        value = value * 10 + digit;
      }
      if (bad) {
        lossAt(data, context, i, 'unparseable');
        bits = setNull(bits, length, i);
        continue;
      }
      if (end - digitsStart > 15) {
        // Beyond 15 digits a double may round: redo exactly (rare).
        let text = negative ? '-' : '';
        for (let q = digitsStart; q < end; q++) text += String.fromCharCode(bytes[q] as number);
        const exact = compact(BigInt(text));
        if (!inRange(exact, min, max)) {
          lossAt(data, context, i, 'overflow');
          bits = setNull(bits, length, i);
          continue;
        }
        if (wide) writeWide(words, i, exact, out as BigInt64Array);
        else narrow[i] = exact as number;
        continue;
      }
      if (negative) value = -value;
      if (value < numberMin || value > numberMax) {
        lossAt(data, context, i, 'overflow');
        bits = setNull(bits, length, i);
        continue;
      }
      if (wide) {
        const high = Math.floor(value / 4_294_967_296);
        words[2 * i] = (value - high * 4_294_967_296) | 0;
        words[2 * i + 1] = high;
      } else narrow[i] = value;
    }
    return fixedWidthData(to, length, out, bits);
  };
}
