/** Builders for small test batches (test code: clarity over speed). */
import { type Data, type DataType, makeData, RecordBatch, type Vector, vectorFromArray } from 'apache-arrow';
import type { BatchTransform, TransformContext } from '../../../src/transfer/transform.ts';

export function context(rowOffset = 0): TransformContext {
  return { rowOffset, signal: new AbortController().signal };
}

/** A validity bitmap from per-row flags. */
export function validity(valid: boolean[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((ok, i) => {
    if (ok) bits[i >> 3] = (bits[i >> 3] ?? 0) | (1 << (i & 7));
  });
  return bits;
}

/** A fixed-width column straight from a typed array; `nulls` lists null rows. */
export function fixed(type: DataType, values: ArrayBufferView & { length: number }, nulls: number[] = []): Data {
  const length = (type as { typeId: number }).typeId === 7 ? values.length / 4 : values.length;
  const valid = Array.from({ length }, (_, i) => !nulls.includes(i));
  return makeData({
    type,
    length,
    data: values,
    nullCount: nulls.length,
    ...(nulls.length > 0 ? { nullBitmap: validity(valid) } : {}),
  } as never) as Data;
}

/** A column from JS values via Arrow's builders (null → null). */
export function column(type: DataType, values: unknown[]): Data {
  return (vectorFromArray(values as never[], type as never) as Vector).data[0] as Data;
}

export function batchOf(columns: Record<string, Data>): RecordBatch {
  return new RecordBatch(columns);
}

/** Runs preflight then apply, as the pipeline does. */
export async function run(transform: BatchTransform, batch: RecordBatch, rowOffset = 0): Promise<RecordBatch> {
  await transform.outputSchema(batch.schema);
  return transform.apply(batch, context(rowOffset));
}

/** Column values as JS values (null for nulls). */
export function valuesOf(batch: RecordBatch, name: string): unknown[] {
  const vector = batch.getChild(name);
  if (!vector) throw new Error(`no column ${name}`);
  return [...vector].map((value) => (value === undefined ? null : value));
}

/** Raw int64 storage (timestamps, int64) with nulls as null. */
export function rawBigInts(batch: RecordBatch, name: string): Array<bigint | null> {
  const vector = batch.getChild(name);
  if (!vector) throw new Error(`no column ${name}`);
  const data = vector.data[0] as Data;
  const values = data.values as BigInt64Array;
  return Array.from({ length: data.length }, (_, i) => (data.getValid(i) ? (values[i] as bigint) : null));
}

/** Raw int32 storage (date32 days). */
export function rawInt32s(batch: RecordBatch, name: string): number[] {
  const data = batch.getChild(name)?.data[0];
  if (!data) throw new Error(`no column ${name}`);
  return Array.from(data.values as Int32Array);
}
