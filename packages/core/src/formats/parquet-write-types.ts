/**
 * Which Parquet type each Arrow type is written as, so that every engine (DuckDB, Spark,
 * pyarrow, Trino) reads the values with their meaning, not as bare integers.
 *
 * arrow-rs (inside parquet-wasm) annotates most types itself, but stores three with no
 * Parquet logical type at all, restoring them only from the embedded Arrow schema
 * (`ARROW:schema`), which other engines ignore. Those are converted exactly before encoding:
 * - `timestamp[s]` → `timestamp[ms]` (×1000, same zone): TIMESTAMP(MILLIS);
 * - `time32[s]` → `time32[ms]` (×1000): TIME(MILLIS);
 * - `date64` → `date32`: DATE, only when every value is a whole day; a value with a time of
 *   day is refused, naming column and row (cast it to a timestamp instead).
 * Types Parquet cannot hold are refused before any data moves (SchemaMismatchError naming
 * the column): `interval[month_day_nano]` (Parquet's INTERVAL is months, days and
 * milliseconds; arrow-rs cannot write it) and unions. Durations have no Parquet logical
 * type anywhere: they are written as INT64 counts of their unit, as pyarrow writes them,
 * and Arrow readers restore them from the embedded schema. The full table is in
 * docs/file-connector.md.
 *
 * The validators accept the conversions: the row hash encodes instants and days the same in
 * every unit, and the schema check passes a finer unit and date32 ↔ date64.
 */
import {
  Data,
  type DataType,
  DateDay,
  DateUnit,
  Dictionary,
  Field,
  IntervalUnit,
  makeData,
  makeVector,
  RecordBatch,
  Schema,
  Struct,
  TimeMillisecond,
  Timestamp,
  TimeUnit,
  Type,
  type Vector,
} from 'apache-arrow';
import { SchemaMismatchError } from '../errors/honk-error.ts';
import { describeType } from '../validate/schema-validator.ts';

/** Where a value being converted sits, for error messages. */
interface Place {
  column: string;
  /** Row number of the batch's first row in the file (top-level values only). */
  rowBase: number;
  nested: boolean;
}

type Converter = (data: Data, place: Place) => Data;

interface WritableType {
  type: DataType;
  /** Present when the values must change; absent when the column is written as it is. */
  convert?: Converter;
}

/** How a schema is written: the Arrow schema the encoder gets and a batch converter. */
export interface ParquetWritePlan {
  /** The schema handed to the encoder (and read back from the file). */
  readonly schema: Schema;
  /** True when some column is converted. */
  readonly converts: boolean;
  /** Converts one batch; `rowBase` is the file row of its first row (for messages). */
  convert(batch: RecordBatch, rowBase: number): RecordBatch;
}

function refuse(column: string, type: DataType, why: string, fix: string): SchemaMismatchError {
  return new SchemaMismatchError(
    `column "${column}" has type ${describeType(type)}, which Parquet cannot hold: ${why}. ${fix}`,
    { details: { column, type: describeType(type), format: 'parquet' } },
  );
}

function isValid(data: Data, index: number): boolean {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return true;
  const bit = data.offset + index;
  return ((bitmap[bit >> 3] as number) & (1 << (bit & 7))) !== 0;
}

function where(place: Place, index: number): string {
  return place.nested
    ? `column "${place.column}" (a nested value at position ${index} of its batch)`
    : `column "${place.column}" row ${place.rowBase + index}`;
}

function withValues(data: Data, type: DataType, values: ArrayBufferView): Data {
  return makeData({
    type,
    offset: data.offset,
    length: data.length,
    nullCount: data.nullCount,
    nullBitmap: data.nullBitmap,
    data: values,
  } as never) as unknown as Data;
}

const MAX_SECONDS = 9_223_372_036_854_775n; // ⌊(2^63 − 1) / 1000⌋: seconds whose ms fit int64

function secondsToMilliseconds(type: Timestamp): Converter {
  const target = new Timestamp(TimeUnit.MILLISECOND, type.timezone);
  return (data, place) => {
    const source = data.values as BigInt64Array;
    const out = new BigInt64Array(data.length);
    for (let index = 0; index < data.length; index++) {
      const value = source[index] as bigint;
      if (value > MAX_SECONDS || value < -MAX_SECONDS) {
        if (!isValid(data, index)) continue;
        throw new SchemaMismatchError(
          `${where(place, index)}: timestamp[s] value ${value} is too far from 1970 to be written in milliseconds (Parquet has no seconds unit). Remove or correct the value.`,
          { details: { column: place.column, row: place.rowBase + index, format: 'parquet' } },
        );
      }
      out[index] = value * 1000n;
    }
    return withValues(data, target, out);
  };
}

const MAX_TIME_SECONDS = 2_147_483; // seconds whose ms fit int32

function timeSecondsToMilliseconds(data: Data, place: Place): Data {
  const source = data.values as Int32Array;
  const out = new Int32Array(data.length);
  for (let index = 0; index < data.length; index++) {
    const value = source[index] as number;
    if ((value > MAX_TIME_SECONDS || value < -MAX_TIME_SECONDS) && isValid(data, index)) {
      throw new SchemaMismatchError(
        `${where(place, index)}: time32[s] value ${value} is not a time of day and does not fit time32[ms]. Remove or correct the value.`,
        { details: { column: place.column, row: place.rowBase + index, format: 'parquet' } },
      );
    }
    out[index] = value * 1000;
  }
  return withValues(data, new TimeMillisecond(), out);
}

const MS_PER_DAY = 86_400_000;

function date64ToDate32(data: Data, place: Place): Data {
  // date64 values are int64 milliseconds; read them as two int32 lanes to avoid BigInt.
  const source = data.values as BigInt64Array;
  const lanes = new Int32Array(source.buffer, source.byteOffset, source.length * 2);
  const out = new Int32Array(data.length);
  for (let index = 0; index < data.length; index++) {
    const ms = (lanes[2 * index + 1] as number) * 4294967296 + ((lanes[2 * index] as number) >>> 0);
    const days = ms / MS_PER_DAY;
    if (Number.isInteger(days) && Number.isSafeInteger(ms) && days <= 2147483647 && days >= -2147483648) {
      out[index] = days;
    } else if (isValid(data, index)) {
      throw new SchemaMismatchError(
        `${where(place, index)}: date64 value ${String(source[index])} ms is not a whole day. Parquet stores dates as whole days, so the time of day would be lost; cast the column to a timestamp in the task's transform (cast: { ${place.column}: "timestamp[ms]" }) to keep it.`,
        { details: { column: place.column, row: place.rowBase + index, format: 'parquet' } },
      );
    }
  }
  return withValues(data, new DateDay(), out);
}

function mapChildren(data: Data, type: DataType, children: readonly WritableType[], place: Place): Data {
  const nested = { ...place, nested: true };
  const converted = data.children.map((child, index) => {
    const convert = children[index]?.convert;
    return convert ? convert(child, nested) : child;
  });
  return data.clone(type as never, data.offset, data.length, data.nullCount, undefined, converted) as unknown as Data;
}

function convertVector(vector: Vector, convert: Converter, place: Place): Vector {
  const nested = { ...place, nested: true };
  return makeVector(vector.data.map((chunk) => convert(chunk, nested)) as never) as unknown as Vector;
}

/** The type `type` is written as (at `column`), or a SchemaMismatchError when Parquet cannot hold it. */
function writableType(type: DataType, column: string): WritableType {
  const t = type as any;
  switch (type.typeId as Type) {
    case Type.Timestamp:
      return t.unit === TimeUnit.SECOND
        ? { type: new Timestamp(TimeUnit.MILLISECOND, t.timezone), convert: secondsToMilliseconds(t) }
        : { type };
    case Type.Time:
      return t.unit === TimeUnit.SECOND
        ? { type: new TimeMillisecond(), convert: timeSecondsToMilliseconds }
        : { type };
    case Type.Date:
      return t.unit === DateUnit.MILLISECOND ? { type: new DateDay(), convert: date64ToDate32 } : { type };
    case Type.Interval:
      if (t.unit === IntervalUnit.MONTH_DAY_NANO) {
        throw refuse(
          column,
          type,
          "Parquet's INTERVAL holds months, days and milliseconds, and the encoder cannot write month-day-nanosecond intervals",
          'Drop the column (select:) or convert it in a module transform (for example to interval[day_time] or a utf8 text); Arrow IPC keeps it as it is.',
        );
      }
      return { type };
    case Type.Union:
      throw refuse(
        column,
        type,
        'Parquet has no union type',
        'Drop the column (select:), split it into one column per member in a module transform, or write Arrow IPC, which keeps unions.',
      );
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList:
    case Type.Struct:
    case Type.Map: {
      const fields = type.children as Field[];
      const children = fields.map((field) =>
        writableType(field.type, type.typeId === Type.Struct ? `${column}.${field.name}` : `${column}[]`),
      );
      if (children.every((child) => !child.convert)) return { type };
      const newFields = fields.map(
        (field, index) => new Field(field.name, (children[index] as WritableType).type, field.nullable, field.metadata),
      );
      const rebuilt = rebuildNested(type, newFields);
      return { type: rebuilt, convert: (data, place) => mapChildren(data, rebuilt, children, place) };
    }
    case Type.Dictionary: {
      const values = writableType(t.dictionary, column);
      const convertValues = values.convert;
      if (!convertValues) return { type };
      const rebuilt = new Dictionary(values.type, t.indices, t.id, t.isOrdered);
      return {
        type: rebuilt,
        convert: (data, place) =>
          new Data(
            rebuilt,
            data.offset,
            data.length,
            data.nullCount,
            data as never,
            [],
            convertVector(data.dictionary as Vector, convertValues, place),
          ) as unknown as Data,
      };
    }
    default:
      return { type };
  }
}

/** A nested type like `type` with `fields` as its children. */
function rebuildNested(type: DataType, fields: Field[]): DataType {
  const t = type as any;
  const Constructor = type.constructor as new (...args: unknown[]) => DataType;
  switch (type.typeId as Type) {
    case Type.Struct:
      return new Struct(fields);
    case Type.FixedSizeList:
      return new Constructor(t.listSize, fields[0]);
    case Type.Map:
      return new Constructor(fields[0], t.keysSorted);
    default:
      return new Constructor(fields[0]);
  }
}

/**
 * Plans how `schema` is written to Parquet. Throws a SchemaMismatchError naming the first
 * column Parquet cannot hold (before any data moves: sinks call this from `check()`).
 */
export function planParquetWrite(schema: Schema): ParquetWritePlan {
  const columns = schema.fields.map((field) => writableType(field.type, field.name));
  if (columns.every((column) => !column.convert)) {
    return { schema, converts: false, convert: (batch) => batch };
  }
  const fields = schema.fields.map(
    (field, index) => new Field(field.name, (columns[index] as WritableType).type, field.nullable, field.metadata),
  );
  const written = new Schema(fields, schema.metadata);
  const structType = new Struct(fields);
  return {
    schema: written,
    converts: true,
    convert(batch, rowBase) {
      const children = batch.data.children.map((child, index) => {
        const convert = columns[index]?.convert;
        const name = (schema.fields[index] as Field).name;
        return convert ? convert(child, { column: name, rowBase, nested: false }) : child;
      });
      const data = makeData({ type: structType, length: batch.numRows, nullCount: 0, children });
      return new RecordBatch(written, data);
    },
  };
}

/** Throws a SchemaMismatchError when Parquet cannot hold a column of `schema`. */
export function checkParquetWritable(schema: Schema): void {
  planParquetWrite(schema);
}
