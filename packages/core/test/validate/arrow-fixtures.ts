/**
 * Arrow batch builders for the validation tests and bench/validate-hash.ts, straight from
 * typed arrays with makeData.
 */
import {
  type Binary,
  Bool,
  type Data,
  type DataType,
  Field,
  Float64,
  Int64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  Utf8,
} from 'apache-arrow';

/** A validity bitmap from a list of nullable values (bit set = valid). */
export function validity(values: readonly unknown[]): Uint8Array | undefined {
  if (!values.some((v) => v === null)) return undefined;
  const bitmap = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v !== null) bitmap[i >> 3]! |= 1 << (i & 7);
  });
  return bitmap;
}

/** A fixed-width column from a typed array, with nulls where `nulls[i]` is true. */
export function fixed(type: DataType, data: ArrayBufferView, nulls?: readonly boolean[]): Data {
  const length = (data as unknown as ArrayLike<unknown>).length;
  const marks = nulls ? nulls.map((isNull) => (isNull ? null : 0)) : [];
  const bitmap = nulls ? validity(marks) : undefined;
  return makeData({ type: type as any, data: data as any, length, ...(bitmap ? { nullBitmap: bitmap } : {}) });
}

/** A variable-width column (utf8 or binary) from strings/byte arrays; null for NULL. */
export function variable(type: Utf8 | Binary, values: readonly (string | Uint8Array | null)[]): Data {
  const encoder = new TextEncoder();
  const parts = values.map((v) => (v === null ? new Uint8Array(0) : typeof v === 'string' ? encoder.encode(v) : v));
  const offsets = new Int32Array(values.length + 1);
  parts.forEach((p, i) => {
    offsets[i + 1] = offsets[i]! + p.length;
  });
  const bytes = new Uint8Array(offsets[values.length]!);
  parts.forEach((p, i) => {
    bytes.set(p, offsets[i]!);
  });
  const bitmap = validity(values);
  return makeData({ type, data: bytes, valueOffsets: offsets, ...(bitmap ? { nullBitmap: bitmap } : {}) } as any);
}

/** A boolean column; null for NULL. */
export function bools(values: readonly (boolean | null)[]): Data {
  const bits = new Uint8Array(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v) bits[i >> 3]! |= 1 << (i & 7);
  });
  const bitmap = validity(values);
  return makeData({ type: new Bool(), data: bits, length: values.length, ...(bitmap ? { nullBitmap: bitmap } : {}) });
}

/** A record batch from named columns (all of one length). */
export function batchOf(columns: Record<string, Data>): RecordBatch {
  const fields = Object.entries(columns).map(([name, data]) => new Field(name, data.type, true));
  const children = Object.values(columns);
  const length = children[0]?.length ?? 0;
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length, children }));
}

/** The bench's 5-column batch: int64, utf8 (~25-byte emails), float64, timestamp[us, UTC], bool. */
export function makeBenchBatch(seed: number, rows: number): RecordBatch {
  const ids = new BigInt64Array(rows);
  const amounts = new Float64Array(rows);
  const times = new BigInt64Array(rows);
  const flags = new Uint8Array(Math.ceil(rows / 8));
  const emails: string[] = [];
  let x = seed * 2654435761;
  for (let i = 0; i < rows; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    ids[i] = BigInt(seed * rows + i);
    amounts[i] = (x >>> 8) / 100;
    times[i] = 1_700_000_000_000_000n + BigInt(seed * rows + i) * 1_000_003n;
    if (x & 1) flags[i >> 3]! |= 1 << (i & 7);
    emails.push(`customer-${(x >>> 4).toString(36)}@example.com`);
  }
  return batchOf({
    id: fixed(new Int64(), ids),
    email: variable(new Utf8(), emails),
    amount: fixed(new Float64(), amounts),
    created_at: fixed(new TimestampMicrosecond('UTC'), times),
    active: makeData({ type: new Bool(), data: flags, length: rows }),
  });
}
