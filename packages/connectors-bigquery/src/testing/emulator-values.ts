/**
 * The emulator's cell values, one canonical JavaScript form per BigQuery type, and the
 * conversions into it (from Arrow data of loaded Parquet, from JSON of NDJSON loads,
 * `insertAll` and SQL literals) and out of it (the `{ v }` strings of the REST API).
 *
 * | type | cell |
 * | --- | --- |
 * | INT64, TIMESTAMP (µs), DATETIME (µs, wall clock), TIME (µs of the day) | bigint |
 * | FLOAT64 | number |
 * | NUMERIC, BIGNUMERIC | `{ unscaled: bigint, scale: number }` normalised to the column's scale |
 * | BOOL | boolean |
 * | STRING, JSON, GEOGRAPHY | string |
 * | BYTES | Uint8Array |
 * | DATE | number (days since 1970-01-01) |
 * | RECORD | cell[] (one per subfield) |
 * | REPEATED | cell[] |
 * | RANGE | [start, end], each a cell or null (unbounded) |
 */
import { type Field as ArrowField, type Data, type Decimal, TimeUnit, Type } from 'apache-arrow';
import { type BigQueryField, canonicalType } from '../bigquery-types.ts';
import { parseDateTimeMicros, unscaledOf } from '../tabledata-decoder.ts';

export type Cell = unknown;

/** A value the emulator refuses, as BigQuery would (`invalid`). */
export class EmulatorValueError extends Error {
  readonly reason = 'invalid';
}

const MICROS_PER_DAY = 86_400_000_000n;

export function scaleOf(field: BigQueryField): number {
  const type = canonicalType(field.type);
  if (field.scale) return Number(field.scale);
  if (field.precision) return 0;
  return type === 'BIGNUMERIC' ? 38 : 9;
}

function maxDigits(field: BigQueryField): number {
  if (field.precision) return Number(field.precision);
  return canonicalType(field.type) === 'BIGNUMERIC' ? 76 : 38;
}

function checkDecimal(field: BigQueryField, unscaled: bigint, shown: string): { unscaled: bigint; scale: number } {
  const digits = (unscaled < 0n ? -unscaled : unscaled).toString().length;
  if (digits > maxDigits(field)) {
    throw new EmulatorValueError(`Invalid ${canonicalType(field.type)} value: ${shown} for field ${field.name}`);
  }
  return { unscaled, scale: scaleOf(field) };
}

function daysOf(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) return Number.NaN;
  const date = new Date(0);
  date.setUTCFullYear(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return date.getUTCDate() === Number(match[3]) ? date.getTime() / 86_400_000 : Number.NaN;
}

function timeOf(text: string): bigint | null {
  const match = /^(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!match) return null;
  return (
    BigInt((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1_000_000n +
    BigInt((match[4] ?? '').padEnd(6, '0'))
  );
}

/** Microseconds since the epoch of a TIMESTAMP literal: ISO 8601, `YYYY-MM-DD HH:MM:SS[.f] [UTC|+hh:mm]`, or seconds. */
function timestampOf(value: unknown): bigint | null {
  if (typeof value === 'number') return BigInt(Math.round(value * 1_000_000));
  if (typeof value !== 'string') return null;
  if (/^-?\d+(\.\d+)?$/.test(value)) return BigInt(Math.round(Number(value) * 1_000_000));
  const match =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{1,2}:\d{2}:\d{2}(?:\.\d{1,6})?))?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i.exec(value);
  if (!match) return null;
  const days = daysOf(match[1] as string);
  const time = match[2] ? timeOf(match[2]) : 0n;
  if (Number.isNaN(days) || time === null) return null;
  let micros = BigInt(days) * MICROS_PER_DAY + time;
  const zone = match[3];
  if (zone && zone.toUpperCase() !== 'Z' && zone.toUpperCase() !== 'UTC') {
    const sign = zone.startsWith('-') ? -1n : 1n;
    const digits = zone.slice(1).replace(':', '');
    const minutes = BigInt(Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
    micros -= sign * minutes * 60_000_000n;
  }
  return micros;
}

/** A cell from a JSON value (NDJSON loads, insertAll, query literals, CSV text). */
export function cellFromJson(field: BigQueryField, value: unknown, repeatedItem = false): Cell {
  if (field.mode === 'REPEATED' && !repeatedItem) {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) throw new EmulatorValueError(`Array specified for non-repeated field: ${field.name}.`);
    return value.map((item) => {
      if (item === null) throw new EmulatorValueError(`Array ${field.name} cannot have a null element.`);
      return cellFromJson(field, item, true);
    });
  }
  if (value === null || value === undefined) {
    if (field.mode === 'REQUIRED') throw new EmulatorValueError(`Missing required field: ${field.name}.`);
    return null;
  }
  const bad = () =>
    new EmulatorValueError(
      `Cannot convert value ${JSON.stringify(value)} to ${canonicalType(field.type)} for field ${field.name}.`,
    );
  switch (canonicalType(field.type)) {
    case 'INT64': {
      if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
      if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) return BigInt(value.trim());
      throw bad();
    }
    case 'FLOAT64': {
      const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
      if (Number.isNaN(number) && value !== 'NaN') throw bad();
      return number;
    }
    case 'NUMERIC':
    case 'BIGNUMERIC': {
      const text = String(value);
      const unscaled = unscaledOf(text, scaleOf(field));
      if (unscaled === null) throw bad();
      return checkDecimal(field, unscaled, text);
    }
    case 'BOOL':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'TRUE' || value === '1') return true;
      if (value === 'false' || value === 'FALSE' || value === '0') return false;
      throw bad();
    case 'STRING':
    case 'GEOGRAPHY':
      return String(value);
    case 'JSON':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'BYTES':
      if (typeof value !== 'string') throw bad();
      return new Uint8Array(Buffer.from(value, 'base64'));
    case 'DATE': {
      const days = typeof value === 'string' ? daysOf(value) : Number.NaN;
      if (Number.isNaN(days)) throw bad();
      return days;
    }
    case 'DATETIME': {
      const micros =
        typeof value === 'string' ? parseDateTimeMicros(value.length === 10 ? `${value}T00:00:00` : value) : null;
      if (micros === null) throw bad();
      return micros;
    }
    case 'TIME': {
      const micros = typeof value === 'string' ? timeOf(value) : null;
      if (micros === null) throw bad();
      return micros;
    }
    case 'TIMESTAMP': {
      const micros = timestampOf(value);
      if (micros === null) throw bad();
      return micros;
    }
    case 'RECORD': {
      if (typeof value !== 'object' || Array.isArray(value)) throw bad();
      const record = value as Record<string, unknown>;
      return (field.fields ?? []).map((child) => cellFromJson(child, record[child.name]));
    }
    case 'RANGE': {
      const match = typeof value === 'string' ? /^\[(.*), (.*)\)$/.exec(value) : null;
      if (!match) throw bad();
      const element: BigQueryField = { name: field.name, type: field.rangeElementType?.type ?? 'DATE' };
      const bound = (text: string) => (text === 'UNBOUNDED' || text === 'NULL' ? null : cellFromJson(element, text));
      return [bound(match[1] as string), bound(match[2] as string)];
    }
    default:
      throw new EmulatorValueError(`The emulator does not support type ${field.type} (field ${field.name}).`);
  }
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** `YYYY-MM-DD` of days since 1970-01-01. */
export function dateText(days: number): string {
  const date = new Date(days * 86_400_000);
  return `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}`;
}

function timeText(micros: bigint): string {
  const seconds = Number(micros / 1_000_000n);
  const fraction = Number(micros % 1_000_000n);
  const base = `${pad(Math.floor(seconds / 3600), 2)}:${pad(Math.floor(seconds / 60) % 60, 2)}:${pad(seconds % 60, 2)}`;
  return fraction === 0 ? base : `${base}.${pad(fraction, 6)}`;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

function dateTimeText(micros: bigint): string {
  const days = floorDiv(micros, MICROS_PER_DAY);
  return `${dateText(Number(days))}T${timeText(micros - days * MICROS_PER_DAY)}`;
}

/** The shortest decimal text of a NUMERIC or BIGNUMERIC cell. */
export function decimalText(cell: { unscaled: bigint; scale: number }): string {
  const negative = cell.unscaled < 0n;
  const digits = (negative ? -cell.unscaled : cell.unscaled).toString().padStart(cell.scale + 1, '0');
  const whole = digits.slice(0, digits.length - cell.scale);
  const fraction = digits.slice(digits.length - cell.scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** Text of a cell as SQL and the API print it (also used to compare and hash keys). */
export function cellText(field: BigQueryField, cell: Cell, useInt64Timestamp = true): string {
  switch (canonicalType(field.type)) {
    case 'INT64':
      return String(cell);
    case 'FLOAT64': {
      const number = cell as number;
      return Object.is(number, -0) ? '-0' : String(number);
    }
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return decimalText(cell as { unscaled: bigint; scale: number });
    case 'BOOL':
      return cell ? 'true' : 'false';
    case 'BYTES':
      return Buffer.from(cell as Uint8Array).toString('base64');
    case 'DATE':
      return dateText(cell as number);
    case 'DATETIME':
      return dateTimeText(cell as bigint);
    case 'TIME':
      return timeText(cell as bigint);
    case 'TIMESTAMP':
      return useInt64Timestamp ? String(cell) : (Number(cell as bigint) / 1_000_000).toExponential().replace('e+', 'E');
    case 'RANGE': {
      const element: BigQueryField = { name: field.name, type: field.rangeElementType?.type ?? 'DATE' };
      const [start, end] = cell as [Cell, Cell];
      const bound = (value: Cell) => (value === null ? 'UNBOUNDED' : cellText(element, value, false));
      return `[${bound(start)}, ${bound(end)})`;
    }
    default:
      return String(cell);
  }
}

/** The `v` of a cell in API responses. */
export function renderCell(
  field: BigQueryField,
  cell: Cell,
  useInt64Timestamp: boolean,
  repeatedItem = false,
): unknown {
  if (field.mode === 'REPEATED' && !repeatedItem) {
    return (cell as Cell[]).map((item) => ({ v: renderCell(field, item, useInt64Timestamp, true) }));
  }
  if (cell === null || cell === undefined) return null;
  if (canonicalType(field.type) === 'RECORD') {
    const cells = cell as Cell[];
    return {
      f: (field.fields ?? []).map((child, index) => ({ v: renderCell(child, cells[index], useInt64Timestamp) })),
    };
  }
  return cellText(field, cell, useInt64Timestamp);
}

function isValid(data: Data, index: number): boolean {
  return data.nullCount === 0 || data.getValid(index);
}

function int64At(values: ArrayLike<unknown>, index: number): bigint {
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) return values[index] as bigint;
  const words = values as Int32Array;
  return (BigInt(words[index * 2 + 1] as number) << 32n) | BigInt((words[index * 2] as number) >>> 0);
}

function unitToMicros(value: bigint, unit: TimeUnit): bigint {
  switch (unit) {
    case TimeUnit.SECOND:
      return value * 1_000_000n;
    case TimeUnit.MILLISECOND:
      return value * 1_000n;
    case TimeUnit.MICROSECOND:
      return value;
    default:
      return value / 1_000n;
  }
}

/** The cells of Arrow data (a loaded Parquet column) for a BigQuery column. */
export function cellsFromArrow(field: BigQueryField, data: Data, repeatedItem = false): Cell[] {
  const n = data.length;
  const out = new Array<Cell>(n);
  const type = data.type as any;
  const typeId = data.typeId as Type;
  if (field.mode === 'REPEATED' && !repeatedItem) {
    if (typeId !== Type.List)
      throw new EmulatorValueError(`Field ${field.name} is REPEATED but the file has ${String(type)}.`);
    const offsets = data.valueOffsets as Int32Array;
    const child = data.children[0] as Data;
    const items = cellsFromArrow(field, child, true);
    for (let i = 0; i < n; i++) {
      if (!isValid(data, i)) {
        out[i] = [];
        continue;
      }
      const list = items.slice(
        (offsets[data.offset + i] as number) - child.offset,
        (offsets[data.offset + i + 1] as number) - child.offset,
      );
      if (list.some((item) => item === null))
        throw new EmulatorValueError(`Array ${field.name} cannot have a null element.`);
      out[i] = list;
    }
    return out;
  }
  const bq = canonicalType(field.type);
  const read = scalarReader(field, data, bq);
  // Arrow's validity getters cost more than the cells themselves when called per cell.
  const bitmap = data.nullCount > 0 ? data.nullBitmap : undefined;
  for (let i = 0; i < n; i++) {
    const bit = data.offset + i;
    if (bitmap && ((bitmap[bit >> 3] as number) & (1 << (bit & 7))) === 0) {
      if (field.mode === 'REQUIRED' && !repeatedItem)
        throw new EmulatorValueError(`Missing required field: ${field.name}.`);
      out[i] = null;
      continue;
    }
    out[i] = read(data.offset + i, i);
  }
  return out;
}

/**
 * How to read one valid cell of `data` (at its buffer index `at`, row `i` of the data),
 * chosen once per column: loading a file calls it for every cell.
 */
function scalarReader(field: BigQueryField, data: Data, bq: string): (at: number, i: number) => Cell {
  const values = data.values as ArrayLike<unknown>;
  const type = data.type as any;
  const typeId = data.typeId as Type;
  switch (typeId) {
    case Type.Int:
      if (type.bitWidth !== 64) return (at) => BigInt(values[at] as number);
      return values instanceof BigInt64Array || values instanceof BigUint64Array
        ? (at) => values[at] as bigint
        : (at) => int64At(values, at);
    case Type.Float:
      return (at) => Number(values[at]);
    case Type.Bool:
      return (at) => ((values as Uint8Array)[at >> 3]! & (1 << (at & 7))) !== 0;
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
    case Type.LargeBinary: {
      const offsets = data.valueOffsets as Int32Array;
      const bytes = values as Uint8Array;
      const slice = (at: number) => bytes.subarray(Number(offsets[at]), Number(offsets[at + 1]));
      if (bq === 'BYTES') return (at) => slice(at).slice();
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const text = (at: number) => buffer.toString('utf8', Number(offsets[at]), Number(offsets[at + 1]));
      if (bq === 'JSON' || bq === 'STRING' || bq === 'GEOGRAPHY') return text;
      return (at) => cellFromJson(field, text(at), true);
    }
    case Type.Date:
      return type.unit === 0
        ? (at) => values[at] as number
        : (at) => Math.floor(Number(int64At(values, at)) / 86_400_000);
    case Type.Timestamp:
      return (at) => unitToMicros(int64At(values, at), type.unit);
    case Type.Time:
      return type.bitWidth === 64
        ? (at) => unitToMicros(int64At(values, at), type.unit)
        : (at) => unitToMicros(BigInt(values[at] as number), type.unit);
    case Type.Decimal: {
      const decimal = type as Decimal;
      const stride = decimal.bitWidth / 32;
      const words = values as Uint32Array;
      const target = scaleOf(field);
      const factor = 10n ** BigInt(Math.abs(decimal.scale - target));
      const limit = 10n ** BigInt(maxDigits(field));
      return (at) => {
        let unscaled = 0n;
        for (let w = stride - 1; w >= 0; w--) unscaled = (unscaled << 32n) | BigInt(words[at * stride + w] as number);
        unscaled = BigInt.asIntN(decimal.bitWidth, unscaled);
        if (decimal.scale > target) {
          if (unscaled % factor !== 0n) {
            throw new EmulatorValueError(
              `Invalid ${bq} value for field ${field.name}: more than ${target} fractional digits.`,
            );
          }
          unscaled /= factor;
        } else unscaled *= factor;
        if (unscaled >= limit || unscaled <= -limit) return checkDecimal(field, unscaled, unscaled.toString());
        return { unscaled, scale: target };
      };
    }
    case Type.Struct: {
      if (bq === 'RANGE') {
        const element: BigQueryField = { name: field.name, type: field.rangeElementType?.type ?? 'DATE' };
        return (_at, i) => {
          const start = cellsFromArrow(element, (data.children[0] as Data).slice(i, 1));
          const end = cellsFromArrow(element, (data.children[1] as Data).slice(i, 1));
          return [start[0], end[0]];
        };
      }
      return (_at, i) =>
        (field.fields ?? []).map((child) => {
          const index = (type.children as ArrowField[]).findIndex(
            (c) => c.name.toLowerCase() === child.name.toLowerCase(),
          );
          if (index < 0) return null;
          return cellsFromArrow(child, (data.children[index] as Data).slice(i, 1))[0];
        });
    }
    default: {
      // Thrown at the first value: a column of NULLs of any type loads.
      const message =
        typeId === Type.Dictionary
          ? `The emulator does not load dictionary-encoded column ${field.name}.`
          : `Cannot load ${String(type)} into ${bq} field ${field.name}.`;
      return () => {
        throw new EmulatorValueError(message);
      };
    }
  }
}

/** Orders two cells of one column (NULLs first), for ORDER BY and comparisons. */
export function compareCells(field: BigQueryField, a: Cell, b: Cell): number {
  if (a === null || a === undefined) return b === null || b === undefined ? 0 : -1;
  if (b === null || b === undefined) return 1;
  switch (canonicalType(field.type)) {
    case 'NUMERIC':
    case 'BIGNUMERIC': {
      const x = a as { unscaled: bigint; scale: number };
      const y = b as { unscaled: bigint; scale: number };
      const left = x.unscaled * 10n ** BigInt(Math.max(0, y.scale - x.scale));
      const right = y.unscaled * 10n ** BigInt(Math.max(0, x.scale - y.scale));
      return left < right ? -1 : left > right ? 1 : 0;
    }
    case 'BYTES':
      return Buffer.compare(Buffer.from(a as Uint8Array), Buffer.from(b as Uint8Array));
    case 'RECORD':
    case 'RANGE':
      return cellText(field, a) < cellText(field, b) ? -1 : cellText(field, a) > cellText(field, b) ? 1 : 0;
    default:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
}
