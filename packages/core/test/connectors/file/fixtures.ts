/** Test helpers for the file connector: a batch of tricky values, temp roots, read-all. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  Binary,
  Bool,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Int32,
  Int64,
  List,
  makeData,
  type RecordBatch,
  Schema,
  Timestamp,
  TimeUnit,
  Utf8,
} from 'apache-arrow';
import { makeRecordBatch } from '../../../src/arrow/column-data.ts';
import { typeName } from '../../../src/arrow/type-names.ts';
import { writeDecimalBigInt } from '../../../src/arrow/value-text.ts';
import type { Source } from '../../../src/connector/connector.ts';

/** Validity bitmap where row `nullRow` is NULL. */
function bitmapWithNull(length: number, nullRow: number): Uint8Array {
  const bits = new Uint8Array(8).fill(0xff);
  bits[nullRow >> 3] = (bits[nullRow >> 3] as number) & ~(1 << (nullRow & 7));
  return bits.subarray(0, Math.max(1, Math.ceil(length / 8)));
}

function utf8(values: (string | null)[]): { offsets: Int32Array; bytes: Uint8Array } {
  const parts = values.map((value) => Buffer.from(value ?? '', 'utf8'));
  const offsets = new Int32Array(values.length + 1);
  parts.forEach((part, index) => {
    offsets[index + 1] = (offsets[index] as number) + part.length;
  });
  return { offsets, bytes: new Uint8Array(Buffer.concat(parts)) };
}

export const trickyTypes = {
  id: new Int64(),
  amount: new Decimal(4, 38, 128),
  created_us_utc: new Timestamp(TimeUnit.MICROSECOND, 'UTC'),
  local_ms: new Timestamp(TimeUnit.MILLISECOND, 'Europe/Stockholm'),
  day: new DateDay(),
  flag: new Bool(),
  name: new Utf8(),
  blob: new Binary(),
  tags: new List(new Field('item', new Int32(), true)),
} satisfies Record<string, DataType>;

/**
 * Five rows; row 4 is NULL in every column, and each column holds its hard cases:
 * int64 beyond 2^53 and negative, decimal(38,4) negative / max precision, timestamps in
 * both units, utf8 with emoji, an empty string and a NULL, binary with zero bytes, lists
 * with an empty list.
 */
export function trickyBatch(): RecordBatch {
  const length = 5;
  const nulls = bitmapWithNull(length, 4);
  const id = makeData({
    type: trickyTypes.id,
    length,
    data: new BigInt64Array([2n ** 53n + 1n, -(2n ** 62n), 0n, 9223372036854775807n, 0n]),
    nullBitmap: nulls,
    nullCount: 1,
  });
  const words = new Uint32Array(length * 4);
  const decimals = [12345678n, -5n, 10n ** 37n + 1234n, -(10n ** 38n - 1n), 0n];
  for (const [index, value] of decimals.entries()) writeDecimalBigInt(words, index, value);
  const amount = makeData({ type: trickyTypes.amount, length, data: words, nullBitmap: nulls, nullCount: 1 });
  const created = makeData({
    type: trickyTypes.created_us_utc,
    length,
    data: new BigInt64Array([1_700_000_000_123_456n, 0n, -1n, 253_402_300_799_999_999n, 0n]),
    nullBitmap: nulls,
    nullCount: 1,
  });
  const local = makeData({
    type: trickyTypes.local_ms,
    length,
    data: new BigInt64Array([1_700_000_000_123n, 86_400_000n, -86_400_001n, 0n, 0n]),
    nullBitmap: nulls,
    nullCount: 1,
  });
  const day = makeData({
    type: trickyTypes.day,
    length,
    data: new Int32Array([19_000, 0, -1, 2_932_896, 0]),
    nullBitmap: nulls,
    nullCount: 1,
  });
  const flag = makeData({
    type: trickyTypes.flag,
    length,
    data: new Uint8Array([0b0101]),
    nullBitmap: nulls,
    nullCount: 1,
  });
  const text = utf8(['duck 🦆, "quoted"\nline two', '', 'plain', 'åäö;tab\there', null]);
  const name = makeData({
    type: trickyTypes.name,
    length,
    valueOffsets: text.offsets,
    data: text.bytes,
    nullBitmap: nulls,
    nullCount: 1,
  });
  const blob = makeData({
    type: trickyTypes.blob,
    length,
    valueOffsets: new Int32Array([0, 3, 3, 4, 6, 6]),
    data: new Uint8Array([0, 255, 10, 34, 1, 2]),
    nullBitmap: nulls,
    nullCount: 1,
  });
  const child = makeData({ type: new Int32(), length: 4, data: new Int32Array([1, -2, 2147483647, 7]) });
  const tags = makeData({
    type: trickyTypes.tags,
    length,
    valueOffsets: new Int32Array([0, 2, 2, 3, 4, 4]),
    child,
    nullBitmap: nulls,
    nullCount: 1,
  });
  const schema = new Schema(Object.entries(trickyTypes).map(([key, type]) => new Field(key, type, true)));
  return makeRecordBatch(schema, [id, amount, created, local, day, flag, name, blob, tags], length);
}

/** A JSON-safe, exact rendering of every value (bigints as strings, bytes as hex). */
export function canonicalRows(batches: RecordBatch[]): unknown[] {
  const rows: unknown[] = [];
  for (const batch of batches) {
    for (let row = 0; row < batch.numRows; row++) {
      const out: Record<string, unknown> = {};
      batch.schema.fields.forEach((field, index) => {
        const vector = batch.getChildAt(index);
        const value = vector?.get(row);
        out[field.name] = canonical(value, field.type, vector?.data[0]?.values, row, vector?.isValid(row) ?? false);
      });
      rows.push(out);
    }
  }
  return rows;
}

function canonical(value: unknown, type: DataType, values: unknown, row: number, valid: boolean): unknown {
  if (!valid) return null;
  if (type instanceof Decimal) {
    const words = values as Uint32Array;
    return Array.from(words.subarray(row * 4, row * 4 + 4)).join(':');
  }
  if (type instanceof Timestamp) return String((values as BigInt64Array)[row]);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value && typeof value === 'object' && 'toArray' in value) {
    // Iterate (not toArray()): typed-array views drop NULLs.
    return Array.from(value as unknown as Iterable<unknown>, (item) =>
      typeof item === 'bigint' ? item.toString() : item,
    );
  }
  return value;
}

export function schemaNames(schema: Schema): string[] {
  return schema.fields.map((field) => `${field.name}:${typeName(field.type)}`);
}

export async function readAll(source: Source, batchRows = 2): Promise<RecordBatch[]> {
  const batches: RecordBatch[] = [];
  for await (const batch of source.read({ signal: new AbortController().signal, batchRows })) batches.push(batch);
  return batches;
}

export async function tempRoot(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'honk-file-'));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export const context = (taskId = 'task/orders#1') => ({ taskId });
export const signal = (): AbortSignal => new AbortController().signal;
