/**
 * Storage Read API record batches in the REST path's Arrow types (bigquery-types.ts), so a
 * table reads into the same schema and values whichever API reads it.
 *
 * Most columns arrive in their REST type already and are passed on without a copy (only
 * the field, its metadata and nullability, change). What is converted, value by value and
 * exactly, or refused naming the column and row:
 * - NUMERIC(P, S) and BIGNUMERIC(P, S): the API sends decimal128(38, 9) and
 *   decimal256(76, 38) whatever the parameters; rescaled to the column's decimal(P, S),
 *   refused if a value has more fractional digits or more digits than P.
 * - timestamps, times and dates in other units (nanoseconds, milliseconds), which must
 *   convert exactly; DATETIME or TIME sent as text.
 * - large_utf8/large_binary offsets; lists whose NULL slots are empty (BigQuery has no
 *   NULL arrays: REST reads them as []), NULL list items are refused.
 * Anything else is refused as DATA_CORRUPT with the Arrow type received: it would mean the
 * API changed, and guessing could change a value.
 */
import { HonkError } from '@honk/core';
import {
  Data,
  type DataType,
  type Decimal,
  type Field,
  makeData,
  RecordBatch,
  type Schema,
  Struct,
  type Timestamp,
  TimeUnit,
  Type,
} from 'apache-arrow';
import { parseDateTimeMicros } from './tabledata-decoder.ts';

const MICROS_PER_DAY = 86_400_000_000n;

interface Place {
  column: string;
  /** 1-based row number of the batch's first row within its stream, for messages. */
  firstRow: number;
  stream: string;
}

function refuse(place: Place, message: string, row?: number): HonkError {
  return new HonkError(
    'DATA_CORRUPT',
    `BigQuery Storage Read API: column "${place.column}"${row === undefined ? '' : ` in row ${place.firstRow + row} of stream ${place.stream}`}: ${message}. Honk refuses to guess the value; read this table with \`readApi: rest\` and report it.`,
    { details: { column: place.column, ...(row === undefined ? {} : { row: place.firstRow + row }) } },
  );
}

function unexpected(place: Place, from: DataType, to: DataType): HonkError {
  return refuse(place, `the API sent Arrow type ${String(from)} where ${String(to)} was expected`);
}

/** The same buffers as another type (a type with the same physical layout). */
function retype(data: Data, type: DataType, children: Data[] = data.children as Data[]): Data {
  return new Data(type as any, data.offset, data.length, data.nullCount, data.buffers as any, children);
}

function isValid(data: Data, index: number): boolean {
  if (data.nullCount === 0 || !data.nullBitmap) return true;
  const bit = data.offset + index;
  return ((data.nullBitmap[bit >> 3] as number) & (1 << (bit & 7))) !== 0;
}

function validityCopy(data: Data): { nullBitmap?: Uint8Array; nullCount: number } {
  if (data.nullCount === 0) return { nullCount: 0 };
  const bitmap = new Uint8Array((data.length + 7) >> 3);
  for (let i = 0; i < data.length; i++) if (isValid(data, i)) bitmap[i >> 3]! |= 1 << (i & 7);
  return { nullBitmap: bitmap, nullCount: data.nullCount };
}

const UNIT_MICROS: Record<number, [bigint, bigint]> = {
  [TimeUnit.SECOND]: [1_000_000n, 1n],
  [TimeUnit.MILLISECOND]: [1_000n, 1n],
  [TimeUnit.MICROSECOND]: [1n, 1n],
  [TimeUnit.NANOSECOND]: [1n, 1_000n],
};

/** 64-bit integer-like values (timestamps, times) re-expressed in microseconds; `parse` for text. */
function toMicros(data: Data, to: DataType, place: Place, parse?: (text: string) => bigint | null): Data {
  const from = data.type as any;
  const out = new BigInt64Array(data.length);
  if (from.typeId === Type.Utf8) {
    if (!parse) throw unexpected(place, from, to);
    const offsets = data.valueOffsets as Int32Array;
    const bytes = Buffer.from((data.values as Uint8Array).buffer, (data.values as Uint8Array).byteOffset);
    for (let i = 0; i < data.length; i++) {
      if (!isValid(data, i)) continue;
      const at = data.offset + i;
      const text = bytes.toString('utf8', offsets[at] as number, offsets[at + 1] as number);
      const micros = parse(text);
      if (micros === null) throw refuse(place, `${JSON.stringify(text)} is not a valid value`, i);
      out[i] = micros;
    }
  } else {
    const [multiply, divide] = UNIT_MICROS[from.unit as number] ?? [1n, 1n];
    const values = data.values as ArrayLike<number | bigint>;
    for (let i = 0; i < data.length; i++) {
      if (!isValid(data, i)) continue;
      const value = BigInt(values[data.offset + i] as number | bigint);
      if (divide !== 1n && value % divide !== 0n) {
        throw refuse(place, `${value} ns has a fraction of a microsecond, which BigQuery does not hold`, i);
      }
      out[i] = (value * multiply) / divide;
    }
  }
  return makeData({ type: to as any, length: data.length, data: out, ...validityCopy(data) });
}

function readDecimal(words: Uint32Array, index: number, stride: number, bitWidth: number): bigint {
  let value = 0n;
  for (let w = stride - 1; w >= 0; w--) value = (value << 32n) | BigInt(words[index * stride + w] as number);
  return BigInt.asIntN(bitWidth, value);
}

function rescaleDecimal(data: Data, to: Decimal, place: Place): Data {
  const from = data.type as Decimal;
  const fromStride = from.bitWidth / 32;
  const toStride = to.bitWidth / 32;
  const words = data.values as Uint32Array;
  const out = new Uint32Array(data.length * toStride);
  const factor = 10n ** BigInt(Math.abs(from.scale - to.scale));
  const limit = 10n ** BigInt(to.precision);
  for (let i = 0; i < data.length; i++) {
    if (!isValid(data, i)) continue;
    let value = readDecimal(words, data.offset + i, fromStride, from.bitWidth);
    if (from.scale > to.scale) {
      if (value % factor !== 0n) {
        throw refuse(place, `a value has more than ${to.scale} fractional digits, beyond the column's type`, i);
      }
      value /= factor;
    } else value *= factor;
    if (value >= limit || value <= -limit) {
      throw refuse(place, `a value has more than ${to.precision} digits, beyond the column's type`, i);
    }
    let rest = BigInt.asUintN(to.bitWidth, value);
    for (let w = 0; w < toStride; w++) {
      out[i * toStride + w] = Number(rest & 0xffffffffn);
      rest >>= 32n;
    }
  }
  return makeData({ type: to, length: data.length, data: out, ...validityCopy(data) });
}

/** 64-bit offsets (large_utf8, large_binary) as 32-bit ones. */
function narrowOffsets(data: Data, to: DataType, place: Place): Data {
  const wide = data.valueOffsets as unknown as BigInt64Array;
  const base = wide[data.offset] as bigint;
  const end = wide[data.offset + data.length] as bigint;
  if (end - base > 2_147_483_647n) throw refuse(place, 'a batch holds more than 2 GiB of text');
  const offsets = new Int32Array(data.length + 1);
  for (let i = 0; i <= data.length; i++) offsets[i] = Number((wide[data.offset + i] as bigint) - base);
  const values = (data.values as Uint8Array).subarray(Number(base), Number(end));
  return makeData({ type: to as any, length: data.length, valueOffsets: offsets, data: values, ...validityCopy(data) });
}

function conformList(field: Field, data: Data, place: Place): Data {
  const item = (field.type.children as Field[])[0] as Field;
  const offsets = data.valueOffsets as Int32Array;
  if (data.nullCount > 0) {
    for (let i = 0; i < data.length; i++) {
      if (!isValid(data, i) && offsets[data.offset + i] !== offsets[data.offset + i + 1]) {
        throw refuse(place, 'a NULL array holds items', i);
      }
    }
  }
  const child = conformData(item, data.children[0] as Data, { ...place, column: `${place.column}[]` });
  if (child.nullCount > 0) throw refuse(place, 'an array holds a NULL item, which BigQuery does not store');
  // NULL arrays are [] in BigQuery (REST reads them so): the list is non-null, as REST's.
  return new Data(field.type as any, data.offset, data.length, 0, [data.valueOffsets, undefined, undefined] as any, [
    child,
  ]);
}

function conformStruct(field: Field, data: Data, place: Place): Data {
  const source = (data.type as Struct).children;
  const children = (field.type.children as Field[]).map((child) => {
    const index = findField(source, child.name);
    if (index < 0) throw refuse(place, `the API sent no field "${child.name}"`);
    return conformData(child, data.children[index] as Data, { ...place, column: `${place.column}.${child.name}` });
  });
  return retype(data, field.type, children);
}

function findField(fields: readonly Field[], name: string): number {
  const exact = fields.findIndex((field) => field.name === name);
  return exact >= 0 ? exact : fields.findIndex((field) => field.name.toLowerCase() === name.toLowerCase());
}

function parseTime(text: string): bigint | null {
  const micros = parseDateTimeMicros(`1970-01-01T${text}`);
  return micros !== null && micros >= 0n && micros < MICROS_PER_DAY ? micros : null;
}

/** `data` as the REST path's type of `field`; the buffers are reused where the layout is the same. */
export function conformData(field: Field, data: Data, place: Place): Data {
  const to = field.type as DataType;
  const from = data.type as any;
  const same = from.typeId === to.typeId;
  switch (to.typeId as Type) {
    case Type.Int:
      if (same && from.bitWidth === 64 && from.isSigned) return retype(data, to);
      break;
    case Type.Float:
      if (same && from.precision === (to as any).precision) return retype(data, to);
      break;
    case Type.Bool:
      if (same) return retype(data, to);
      break;
    case Type.Utf8:
      if (same) return retype(data, to);
      if (from.typeId === Type.LargeUtf8) return narrowOffsets(data, to, place);
      break;
    case Type.Binary:
      if (same) return retype(data, to);
      if (from.typeId === Type.LargeBinary) return narrowOffsets(data, to, place);
      break;
    case Type.Date:
      if (same && from.unit === (to as any).unit) return retype(data, to);
      if (same) {
        const out = new Int32Array(data.length);
        const values = data.values as BigInt64Array;
        for (let i = 0; i < data.length; i++) {
          if (!isValid(data, i)) continue;
          const ms = BigInt(values[data.offset + i] as bigint);
          if (ms % 86_400_000n !== 0n) throw refuse(place, `date64 value ${ms} is not a whole day`, i);
          out[i] = Number(ms / 86_400_000n);
        }
        return makeData({ type: to as any, length: data.length, data: out, ...validityCopy(data) });
      }
      break;
    case Type.Timestamp: {
      const zoned = Boolean((to as Timestamp).timezone);
      if (same && Boolean(from.timezone) === zoned) {
        return from.unit === TimeUnit.MICROSECOND ? retype(data, to) : toMicros(data, to, place);
      }
      if (!zoned && from.typeId === Type.Utf8) return toMicros(data, to, place, parseDateTimeMicros);
      break;
    }
    case Type.Time:
      if (same) {
        return from.unit === TimeUnit.MICROSECOND && from.bitWidth === 64
          ? retype(data, to)
          : toMicros(data, to, place);
      }
      if (from.typeId === Type.Utf8) return toMicros(data, to, place, parseTime);
      break;
    case Type.Decimal: {
      if (!same) break;
      const target = to as Decimal;
      if (from.scale === target.scale && from.precision === target.precision && from.bitWidth === target.bitWidth) {
        return retype(data, to);
      }
      return rescaleDecimal(data, target, place);
    }
    case Type.Struct:
      if (same) return conformStruct(field, data, place);
      break;
    case Type.List:
      if (same) return conformList(field, data, place);
      break;
    default:
      break;
  }
  throw unexpected(place, from, to);
}

/**
 * A Storage Read API batch in `schema` (the REST path's schema of the same columns), its
 * columns found by name. `firstRow` (1-based, within `stream`) is for messages.
 */
export function conformBatch(schema: Schema, batch: RecordBatch, stream: string, firstRow: number): RecordBatch {
  const source = batch.schema.fields;
  const children = schema.fields.map((field) => {
    const index = findField(source, field.name);
    const place = { column: field.name, firstRow, stream };
    if (index < 0) throw refuse(place, 'the API sent no such column');
    return conformData(field, batch.data.children[index] as Data, place);
  });
  return new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }),
  );
}
