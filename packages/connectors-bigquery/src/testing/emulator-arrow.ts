/**
 * The emulator's Storage Read API output: table cells (emulator-values.ts) as Arrow record
 * batches in the types BigQuery's Storage Read API documents for `ARROW` sessions, which
 * are not always those the REST path gives (the connector converts, see storage-arrow.ts):
 *
 * | BigQuery | Arrow as the Storage Read API sends it |
 * | --- | --- |
 * | INT64, FLOAT64, BOOL, STRING, BYTES, DATE | int64, float64, bool, utf8, binary, date32 |
 * | NUMERIC, NUMERIC(P, S) | decimal128(38, 9), whatever the column's parameters |
 * | BIGNUMERIC, BIGNUMERIC(P, S) | decimal256(76, 38) |
 * | DATETIME, TIME, TIMESTAMP | timestamp[us], time64[us], timestamp[us, UTC] |
 * | JSON, GEOGRAPHY | utf8 with field metadata `ARROW:extension:name` `google:sqlType:json` / `google:sqlType:geography` (WKT) |
 * | ARRAY<T> | list<T> (item field nullable, no NULL items) |
 * | STRUCT | struct |
 * | RANGE<T> | struct<start: T, end: T> |
 *
 * Written independently of the connector's decoders on purpose: the two paths are compared
 * in tests, and a shared builder would make them agree by construction.
 */
import {
  Binary,
  Bool,
  type Data,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Float64,
  Int64,
  List,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  TimeMicrosecond,
  Timestamp,
  TimeUnit,
  Utf8,
} from 'apache-arrow';
import { type BigQueryField, canonicalType } from '../bigquery-types.ts';
import type { Cell } from './emulator-values.ts';

const EXTENSION_NAME = 'ARROW:extension:name';
const EXTENSION_METADATA = 'ARROW:extension:metadata';
const encoder = new TextEncoder();

/** A type the emulator's Storage Read API does not serve. */
export class StorageTypeError extends Error {}

function scalarType(field: BigQueryField, type: string): DataType {
  switch (type) {
    case 'INT64':
      return new Int64();
    case 'FLOAT64':
      return new Float64();
    case 'NUMERIC':
      return new Decimal(9, 38, 128);
    case 'BIGNUMERIC':
      return new Decimal(38, 76, 256);
    case 'BOOL':
      return new Bool();
    case 'STRING':
    case 'JSON':
    case 'GEOGRAPHY':
      return new Utf8();
    case 'BYTES':
      return new Binary();
    case 'DATE':
      return new DateDay();
    case 'DATETIME':
      return new Timestamp(TimeUnit.MICROSECOND);
    case 'TIME':
      return new TimeMicrosecond();
    case 'TIMESTAMP':
      return new Timestamp(TimeUnit.MICROSECOND, 'UTC');
    default:
      throw new StorageTypeError(`The emulator's Storage Read API does not serve ${type} (column ${field.name}).`);
  }
}

function valueType(field: BigQueryField): { type: DataType; metadata: Map<string, string> } {
  const type = canonicalType(field.type);
  const metadata = new Map<string, string>();
  if (type === 'RECORD') {
    return { type: new Struct((field.fields ?? []).map((child) => storageFieldOf(child))), metadata };
  }
  if (type === 'RANGE') {
    const element = { name: field.name, type: canonicalType(field.rangeElementType?.type ?? 'DATE') };
    const bound = scalarType(element, element.type);
    return { type: new Struct([new Field('start', bound, true), new Field('end', bound, true)]), metadata };
  }
  if (type === 'JSON') metadata.set(EXTENSION_NAME, 'google:sqlType:json');
  if (type === 'GEOGRAPHY') {
    metadata.set(EXTENSION_NAME, 'google:sqlType:geography');
    metadata.set(EXTENSION_METADATA, '{"encoding": "WKT"}');
  }
  return { type: scalarType(field, type), metadata };
}

/** The Arrow field of a column as the Storage Read API describes it. */
export function storageFieldOf(field: BigQueryField): Field {
  const { type, metadata } = valueType(field);
  if (field.mode === 'REPEATED') {
    return new Field(field.name, new List(new Field(field.name, type, true, metadata)), false);
  }
  return new Field(field.name, type, field.mode !== 'REQUIRED', metadata);
}

export function storageSchemaOf(fields: readonly BigQueryField[]): Schema {
  return new Schema(fields.map((field) => storageFieldOf(field)));
}

function validity(cells: readonly Cell[]): { nullBitmap?: Uint8Array; nullCount: number } {
  const bitmap = new Uint8Array((cells.length + 7) >> 3);
  let nullCount = 0;
  cells.forEach((cell, i) => {
    if (cell === null || cell === undefined) nullCount++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return nullCount === 0 ? { nullCount } : { nullBitmap: bitmap, nullCount };
}

function variableWidth(cells: readonly Cell[], bytesOf: (cell: Cell) => Uint8Array) {
  const offsets = new Int32Array(cells.length + 1);
  const parts: Uint8Array[] = [];
  let at = 0;
  cells.forEach((cell, i) => {
    if (cell !== null && cell !== undefined) {
      const bytes = bytesOf(cell);
      parts.push(bytes);
      at += bytes.length;
    }
    offsets[i + 1] = at;
  });
  return { valueOffsets: offsets, data: new Uint8Array(Buffer.concat(parts, at)) };
}

function dataOf(field: Field, bigQuery: BigQueryField, cells: readonly Cell[], repeatedItem = false): Data {
  const length = cells.length;
  const type = field.type as DataType;
  if (bigQuery.mode === 'REPEATED' && !repeatedItem) {
    const items: Cell[] = [];
    const offsets = new Int32Array(length + 1);
    cells.forEach((cell, i) => {
      for (const item of (cell as Cell[] | null) ?? []) items.push(item);
      offsets[i + 1] = items.length;
    });
    const itemField = (type as List).children[0] as Field;
    const child = dataOf(itemField, bigQuery, items, true);
    return makeData({ type: type as List, length, valueOffsets: offsets, child, nullCount: 0 });
  }
  const valid = validity(cells);
  const kind = canonicalType(bigQuery.type);
  const present = (cell: Cell) => cell !== null && cell !== undefined;
  switch (kind) {
    case 'RECORD': {
      const children = (type as Struct).children.map((child, c) =>
        dataOf(
          child,
          (bigQuery.fields ?? [])[c] as BigQueryField,
          cells.map((cell) => (present(cell) ? (cell as Cell[])[c] : null)),
        ),
      );
      return makeData({ type: type as Struct, length, children, ...valid });
    }
    case 'RANGE': {
      const element: BigQueryField = { name: 'bound', type: bigQuery.rangeElementType?.type ?? 'DATE' };
      const children = (type as Struct).children.map((child, c) =>
        dataOf(
          child,
          element,
          cells.map((cell) => (present(cell) ? (cell as Cell[])[c] : null)),
        ),
      );
      return makeData({ type: type as Struct, length, children, ...valid });
    }
    case 'INT64':
    case 'DATETIME':
    case 'TIME':
    case 'TIMESTAMP':
      return makeData({
        type: type as Int64,
        length,
        data: BigInt64Array.from(cells, (cell) => (present(cell) ? (cell as bigint) : 0n)),
        ...valid,
      });
    case 'FLOAT64':
      return makeData({
        type: type as Float64,
        length,
        data: Float64Array.from(cells, (cell) => (present(cell) ? (cell as number) : 0)),
        ...valid,
      });
    case 'DATE':
      return makeData({
        type: type as DateDay,
        length,
        data: Int32Array.from(cells, (cell) => (present(cell) ? (cell as number) : 0)),
        ...valid,
      });
    case 'BOOL': {
      const bits = new Uint8Array((length + 7) >> 3);
      cells.forEach((cell, i) => {
        if (cell === true) bits[i >> 3]! |= 1 << (i & 7);
      });
      return makeData({ type: type as Bool, length, data: bits, ...valid });
    }
    case 'NUMERIC':
    case 'BIGNUMERIC': {
      const decimal = type as Decimal;
      const stride = decimal.bitWidth / 32;
      const words = new Uint32Array(length * stride);
      cells.forEach((cell, i) => {
        if (!present(cell)) return;
        const { unscaled, scale } = cell as { unscaled: bigint; scale: number };
        // Stored at the column's scale; sent at the Storage API's fixed scale (9 or 38).
        let rest = BigInt.asUintN(decimal.bitWidth, unscaled * 10n ** BigInt(decimal.scale - scale));
        for (let w = 0; w < stride; w++) {
          words[i * stride + w] = Number(rest & 0xffffffffn);
          rest >>= 32n;
        }
      });
      return makeData({ type: decimal, length, data: words, ...valid });
    }
    case 'STRING':
    case 'JSON':
    case 'GEOGRAPHY':
      return makeData({
        type: type as Utf8,
        length,
        ...variableWidth(cells, (cell) => encoder.encode(cell as string)),
        ...valid,
      });
    case 'BYTES':
      return makeData({
        type: type as Binary,
        length,
        ...variableWidth(cells, (cell) => cell as Uint8Array),
        ...valid,
      });
    default:
      throw new StorageTypeError(`The emulator's Storage Read API does not serve ${kind} (column ${bigQuery.name}).`);
  }
}

/** Rows of a table (cells of `fields`, in order) as one record batch of `schema` (storageSchemaOf(fields)). */
export function storageBatchOf(schema: Schema, fields: readonly BigQueryField[], rows: readonly Cell[][]): RecordBatch {
  const children = schema.fields.map((field, c) =>
    dataOf(
      field,
      fields[c] as BigQueryField,
      rows.map((row) => row[c]),
    ),
  );
  return new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: rows.length, nullCount: 0, children }),
  );
}

/**
 * IPC encoding of a session: the schema message once (`ArrowSchema.serialized_schema`) and
 * each batch as its own message (`ArrowRecordBatch.serialized_record_batch`), as the API
 * sends them: a stream's bytes split at message boundaries, without the end-of-stream marker.
 */
export class StorageIpc {
  readonly schema: Schema;
  readonly serializedSchema: Uint8Array;

  constructor(schema: Schema) {
    this.schema = schema;
    const writer = new RecordBatchStreamWriter();
    writer.reset(undefined, schema);
    writer.close();
    const stream = writer.toUint8Array(true);
    // A schema-only stream is the schema message and the 8-byte end-of-stream marker.
    this.serializedSchema = stream.slice(0, stream.length - 8);
  }

  serializeBatch(batch: RecordBatch): Uint8Array {
    const stream = RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
    return stream.subarray(this.serializedSchema.length, stream.length - 8);
  }
}
