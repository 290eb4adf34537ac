/**
 * Decodes the JSON rows of `tabledata.list` and `getQueryResults` pages (`{ f: [{ v }] }`,
 * every scalar a string) into Arrow column buffers.
 *
 * A measured hot loop (bench/bigquery.ts): one monomorphic loop per BigQuery type over a
 * column's cells, writing straight into typed arrays; 64-bit integers are split into two
 * 32-bit words by float arithmetic when they have at most 15 digits (exact in a double), so
 * the common case builds no BigInt. Keep this style when adding a type.
 *
 * A value is never changed on the way: a NUMERIC with more fractional digits than its Arrow
 * scale, or a string that is not a valid value of its type, is refused naming the column
 * and row (pages come from BigQuery, so this means an emulator or API change, not user data).
 */
import { HonkError } from '@honk/core';
import {
  type Data,
  type DataType,
  type Decimal,
  type Field,
  makeData,
  RecordBatch,
  type Schema,
  Struct,
  Type,
} from 'apache-arrow';

/** One cell of a row: `{ v: value }`. */
export interface TableCell {
  v: unknown;
}

/** One row of a page. */
export interface TableRow {
  f: TableCell[];
}

const TWO_32 = 4_294_967_296;
const MICROS_PER_DAY = 86_400_000_000;
const encoder = new TextEncoder();

interface Place {
  column: string;
  /** Row number of the page's first row in the whole read (1-based), for messages. */
  firstRow: number;
}

function corrupt(message: string, details: Record<string, unknown>): HonkError {
  return new HonkError('DATA_CORRUPT', message, { details });
}

function invalid(place: Place, index: number, type: string, value: unknown): HonkError {
  return corrupt(
    `BigQuery returned ${JSON.stringify(value)?.slice(0, 80)} for ${type} column "${place.column}" in row ${place.firstRow + index}; Honk refuses to guess its value.`,
    { column: place.column, row: place.firstRow + index },
  );
}

interface Validity {
  bitmap: Uint8Array;
  nullCount: number;
}

function validityOf(values: readonly unknown[]): Validity {
  const n = values.length;
  const bitmap = new Uint8Array((n + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < n; i++) {
    if (values[i] === null || values[i] === undefined) nullCount++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { bitmap, nullCount };
}

function withValidity(validity: Validity): { nullBitmap?: Uint8Array; nullCount: number } {
  return validity.nullCount === 0 ? { nullCount: 0 } : { nullBitmap: validity.bitmap, nullCount: validity.nullCount };
}

/**
 * Writes a decimal integer string as a 64-bit two's complement value into `words` (low word
 * first) at `index`. Returns false for a string that is not an integer in range.
 */
function putInt64(words: Int32Array, index: number, text: string): boolean {
  const length = text.length;
  if (length > 0 && length <= 15) {
    const number = +text;
    if (!Number.isInteger(number)) return false;
    const high = Math.floor(number / TWO_32);
    words[index * 2] = number - high * TWO_32;
    words[index * 2 + 1] = high;
    return true;
  }
  let value: bigint;
  try {
    value = BigInt(text);
  } catch {
    return false;
  }
  if (value > 9223372036854775807n || value < -9223372036854775808n) return false;
  const unsigned = BigInt.asUintN(64, value);
  words[index * 2] = Number(unsigned & 0xffffffffn);
  words[index * 2 + 1] = Number(unsigned >> 32n);
  return true;
}

function decodeInt64(type: DataType, values: readonly unknown[], place: Place, label: string): Data {
  const n = values.length;
  const words = new Int32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string' || !putInt64(words, i, value)) throw invalid(place, i, label, value);
  }
  return makeData({
    type: type as any,
    length: n,
    data: new BigInt64Array(words.buffer),
    ...withValidity(validityOf(values)),
  });
}

function decodeFloat64(type: DataType, values: readonly unknown[], place: Place): Data {
  const n = values.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    const number = typeof value === 'string' ? Number(value) : Number.NaN;
    if (Number.isNaN(number) && value !== 'NaN') throw invalid(place, i, 'FLOAT64', value);
    out[i] = number;
  }
  return makeData({ type: type as any, length: n, data: out, ...withValidity(validityOf(values)) });
}

function decodeBool(type: DataType, values: readonly unknown[], place: Place): Data {
  const n = values.length;
  const out = new Uint8Array((n + 7) >> 3);
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    if (value === 'true') out[i >> 3]! |= 1 << (i & 7);
    else if (value !== 'false') throw invalid(place, i, 'BOOL', value);
  }
  return makeData({ type: type as any, length: n, data: out, ...withValidity(validityOf(values)) });
}

function decodeUtf8(type: DataType, values: readonly unknown[], place: Place): Data {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  let capacity = 0;
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (typeof value === 'string') capacity += value.length * 3;
    else if (value !== null && value !== undefined) throw invalid(place, i, 'STRING', value);
  }
  let bytes = new Uint8Array(capacity);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (typeof value === 'string' && value.length > 0) at += encoder.encodeInto(value, bytes.subarray(at)).written;
    offsets[i + 1] = at;
  }
  if (at < bytes.length) bytes = bytes.slice(0, at);
  return makeData({
    type: type as any,
    length: n,
    data: bytes,
    valueOffsets: offsets,
    ...withValidity(validityOf(values)),
  });
}

function decodeBinary(type: DataType, values: readonly unknown[], place: Place): Data {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const parts: Buffer[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (typeof value === 'string') {
      const part = Buffer.from(value, 'base64');
      parts.push(part);
      at += part.length;
    } else if (value !== null && value !== undefined) throw invalid(place, i, 'BYTES', value);
    offsets[i + 1] = at;
  }
  const bytes = new Uint8Array(Buffer.concat(parts, at));
  return makeData({
    type: type as any,
    length: n,
    data: bytes,
    valueOffsets: offsets,
    ...withValidity(validityOf(values)),
  });
}

/** Days since 1970-01-01 of `YYYY-MM-DD` starting at `from`, or NaN. */
function parseDays(text: string, from: number): number {
  if (text.charCodeAt(from + 4) !== 45 || text.charCodeAt(from + 7) !== 45) return Number.NaN;
  const year = digits(text, from, 4);
  const month = digits(text, from + 5, 2);
  const day = digits(text, from + 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31) return Number.NaN;
  // Date.UTC maps years 0–99 to 1900–1999; setUTCFullYear does not.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const days = date.getTime() / 86_400_000;
  return date.getUTCDate() === day ? days : Number.NaN;
}

/** The value of `count` ASCII digits at `from`, or NaN. */
function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let k = 0; k < count; k++) {
    const code = text.charCodeAt(from + k) - 48;
    if (code < 0 || code > 9) return Number.NaN;
    value = value * 10 + code;
  }
  return value;
}

/** Microseconds of `HH:MM:SS[.ffffff]` starting at `from`, or NaN. */
function parseTimeMicros(text: string, from: number): number {
  if (text.charCodeAt(from + 2) !== 58 || text.charCodeAt(from + 5) !== 58) return Number.NaN;
  const hours = digits(text, from, 2);
  const minutes = digits(text, from + 3, 2);
  const seconds = digits(text, from + 6, 2);
  if (hours > 23 || minutes > 59 || seconds > 59) return Number.NaN;
  let micros = 0;
  const rest = text.length - (from + 8);
  if (rest > 0) {
    if (text.charCodeAt(from + 8) !== 46 || rest > 7 || rest < 2) return Number.NaN;
    const fraction = digits(text, from + 9, rest - 1);
    micros = fraction * 10 ** (7 - rest);
  }
  return ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + micros;
}

function decodeDate(type: DataType, values: readonly unknown[], place: Place): Data {
  const n = values.length;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    const days = typeof value === 'string' && value.length === 10 ? parseDays(value, 0) : Number.NaN;
    if (Number.isNaN(days)) throw invalid(place, i, 'DATE', value);
    out[i] = days;
  }
  return makeData({ type: type as any, length: n, data: out, ...withValidity(validityOf(values)) });
}

/** Writes a safe-integer number as int64 words at `index`. */
function putNumber(words: Int32Array, index: number, number: number): void {
  const high = Math.floor(number / TWO_32);
  words[index * 2] = number - high * TWO_32;
  words[index * 2 + 1] = high;
}

function decodeTime(type: DataType, values: readonly unknown[], place: Place): Data {
  const n = values.length;
  const words = new Int32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    const micros = typeof value === 'string' ? parseTimeMicros(value, 0) : Number.NaN;
    if (Number.isNaN(micros)) throw invalid(place, i, 'TIME', value);
    putNumber(words, i, micros);
  }
  return makeData({
    type: type as any,
    length: n,
    data: new BigInt64Array(words.buffer),
    ...withValidity(validityOf(values)),
  });
}

/** Microseconds since the epoch of a DATETIME string (`YYYY-MM-DD[T| ]HH:MM:SS[.ffffff]`), or null. */
export function parseDateTimeMicros(value: string): bigint | null {
  const days = parseDays(value, 0);
  const separator = value.charCodeAt(10);
  if (Number.isNaN(days) || (separator !== 84 && separator !== 32)) return null;
  const micros = parseTimeMicros(value, 11);
  if (Number.isNaN(micros)) return null;
  return BigInt(days) * BigInt(MICROS_PER_DAY) + BigInt(micros);
}

function decodeDateTime(type: DataType, values: readonly unknown[], place: Place): Data {
  const n = values.length;
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    const micros = typeof value === 'string' ? parseDateTimeMicros(value) : null;
    if (micros === null) throw invalid(place, i, 'DATETIME', value);
    out[i] = micros;
  }
  return makeData({ type: type as any, length: n, data: out, ...withValidity(validityOf(values)) });
}

/** The unscaled integer of a decimal string at `scale`, or null when it has more fractional digits. */
export function unscaledOf(text: string, scale: number): bigint | null {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return null;
  let whole = match[2] ?? '';
  let fraction = match[3] ?? '';
  const exponent = match[4] ? Number(match[4]) : 0;
  if (exponent > 0) {
    const moved = fraction.slice(0, exponent).padEnd(exponent, '0');
    whole += moved;
    fraction = fraction.slice(exponent);
  } else if (exponent < 0) {
    const padded = whole.padStart(-exponent, '0');
    fraction = padded.slice(padded.length + exponent) + fraction;
    whole = padded.slice(0, padded.length + exponent);
  }
  fraction = fraction.replace(/0+$/, '');
  if (fraction.length > scale) return null;
  const unscaled = BigInt(`${whole || '0'}${fraction.padEnd(scale, '0')}`);
  return match[1] === '-' ? -unscaled : unscaled;
}

function decodeDecimal(type: Decimal, values: readonly unknown[], place: Place, label: string): Data {
  const n = values.length;
  const stride = type.bitWidth / 32;
  const words = new Uint32Array(n * stride);
  const bits = BigInt(type.bitWidth);
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    const unscaled = typeof value === 'string' ? unscaledOf(value, type.scale) : null;
    if (unscaled === null || BigInt.asIntN(Number(bits), unscaled) !== unscaled) throw invalid(place, i, label, value);
    let rest = BigInt.asUintN(Number(bits), unscaled);
    for (let w = 0; w < stride; w++) {
      words[i * stride + w] = Number(rest & 0xffffffffn);
      rest >>= 32n;
    }
  }
  return makeData({ type: type as any, length: n, data: words, ...withValidity(validityOf(values)) });
}

function decodeStruct(type: Struct, values: readonly unknown[], place: Place): Data {
  const n = values.length;
  const children = type.children.map((child, c) => {
    const childValues = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const value = values[i] as { f?: TableCell[] } | null | undefined;
      childValues[i] = value === null || value === undefined ? null : value.f?.[c]?.v;
    }
    return decodeValues(child, childValues, { ...place, column: `${place.column}.${child.name}` });
  });
  return makeData({ type, length: n, children, ...withValidity(validityOf(values)) });
}

/** `[start, end)` with `UNBOUNDED` or `NULL` bounds, as BigQuery prints a RANGE. */
function decodeRange(type: Struct, values: readonly unknown[], place: Place): Data {
  const n = values.length;
  const records = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (value === null || value === undefined) {
      records[i] = null;
      continue;
    }
    const match = typeof value === 'string' ? /^\[(.*), (.*)\)$/.exec(value) : null;
    if (!match) throw invalid(place, i, 'RANGE', value);
    const bound = (text: string) => (text === 'UNBOUNDED' || text === 'NULL' ? null : text);
    records[i] = { f: [{ v: bound(match[1] as string) }, { v: bound(match[2] as string) }] };
  }
  return decodeStruct(type, records, place);
}

function decodeList(field: Field, values: readonly unknown[], place: Place): Data {
  const n = values.length;
  const offsets = new Int32Array(n + 1);
  const items: unknown[] = [];
  for (let i = 0; i < n; i++) {
    const value = values[i];
    if (Array.isArray(value)) for (const item of value) items.push((item as TableCell).v);
    else if (value !== null && value !== undefined) throw invalid(place, i, 'ARRAY', value);
    offsets[i + 1] = items.length;
  }
  const itemField = (field.type.children as Field[])[0] as Field;
  const child = decodeValues(itemField, items, { column: `${place.column}[]`, firstRow: 1 });
  // BigQuery has no NULL arrays (a NULL reads back as []), so every list is valid.
  return makeData({ type: field.type as never, length: n, valueOffsets: offsets, child, nullCount: 0 });
}

/** Decodes the cells of one column (`v` values, in row order) into Arrow data of `field`'s type. */
export function decodeValues(field: Field, values: readonly unknown[], place: Place): Data {
  const type = field.type;
  const declared = field.metadata.get('bigquery.type');
  switch (type.typeId as Type) {
    case Type.Int:
      return decodeInt64(type, values, place, 'INT64');
    case Type.Timestamp:
      // TIMESTAMP arrives as integer microseconds (formatOptions.useInt64Timestamp).
      return (type as any).timezone
        ? decodeInt64(type, values, place, 'TIMESTAMP')
        : decodeDateTime(type, values, place);
    case Type.Float:
      return decodeFloat64(type, values, place);
    case Type.Bool:
      return decodeBool(type, values, place);
    case Type.Utf8:
      return decodeUtf8(type, values, place);
    case Type.Binary:
      return decodeBinary(type, values, place);
    case Type.Date:
      return decodeDate(type, values, place);
    case Type.Time:
      return decodeTime(type, values, place);
    case Type.Decimal:
      return decodeDecimal(
        type as Decimal,
        values,
        place,
        (type as Decimal).bitWidth === 256 ? 'BIGNUMERIC' : 'NUMERIC',
      );
    case Type.Struct:
      return declared?.startsWith('RANGE<')
        ? decodeRange(type as Struct, values, place)
        : decodeStruct(type as Struct, values, place);
    case Type.List:
      return decodeList(field, values, place);
    default:
      throw corrupt(
        `BigQuery column "${place.column}" has Arrow type ${String(type)}, which the decoder does not build.`,
        {
          column: place.column,
        },
      );
  }
}

/**
 * Decodes a page of rows into one batch of `schema`. `firstRow` is the 1-based number of the
 * page's first row in the read, for messages.
 */
export function decodeRows(schema: Schema, rows: readonly TableRow[], firstRow: number): RecordBatch {
  const n = rows.length;
  const children = schema.fields.map((field, c) => {
    const values = new Array<unknown>(n);
    for (let i = 0; i < n; i++) values[i] = (rows[i] as TableRow).f[c]?.v;
    return decodeValues(field, values, { column: field.name, firstRow });
  });
  const data = makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children });
  return new RecordBatch(schema, data);
}
