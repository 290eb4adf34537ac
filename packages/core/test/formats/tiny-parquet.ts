/**
 * Test helpers that make Parquet files byte by byte, as other writers (Spark, Hadoop,
 * Impala) do and parquet-wasm cannot: INT96 columns, page CRCs, footers that disagree with
 * their row groups. Pages are PLAIN-encoded, uncompressed, V1, optional columns; DuckDB reads
 * the result, which checks the helper against an independent reader.
 */
import { crc32 } from 'node:zlib';
import { decodeFooter, encodeFooterTail, readParquetFooter } from '../../src/formats/parquet-metadata.ts';
import { encodeThriftStruct, ThriftStruct, ThriftType, thriftText } from '../../src/formats/thrift-compact.ts';

type FieldSpec = [id: number, type: number, value: unknown];

/** A struct from `[id, wire type, value]` triples (lists as `{ elementType, items }`). */
export function struct(...fields: FieldSpec[]): ThriftStruct {
  return new ThriftStruct(
    fields.map(([id, type, value]) => ({
      id,
      type,
      value:
        type === ThriftType.LIST
          ? { kind: 'list', ...(value as { elementType: number; items: unknown[] }) }
          : typeof value === 'string'
            ? thriftText(value)
            : value,
    })) as never,
  );
}

const list = (elementType: number, items: unknown[]) => ({ elementType, items });

export type TinyValue = number | bigint | Uint8Array | null;

export interface TinyColumn {
  name: string;
  physical: 'INT32' | 'INT64' | 'INT96' | 'BYTE_ARRAY';
  /** The LogicalType union, e.g. `struct([8, STRUCT, …])` for TIMESTAMP. */
  logicalType?: ThriftStruct;
  convertedType?: number;
  values: TinyValue[];
}

export interface TinyFile {
  columns: TinyColumn[];
  /** Rows per row group (default: one group of all rows). */
  rowGroups?: number[];
  /** Rows per data page inside a column chunk (default: one page). */
  pageRows?: number;
  /** Write a CRC-32 into every page header. */
  crc?: boolean;
  keyValue?: Record<string, string>;
}

const PHYSICAL = { INT32: 1, INT64: 2, INT96: 3, BYTE_ARRAY: 6 } as const;

/** An INT96 timestamp value (Julian day, nanoseconds of the day) from a UTC instant in ns. */
export function int96(nanosSinceEpoch: bigint): Uint8Array {
  const dayNanos = 86_400_000_000_000n;
  let days = nanosSinceEpoch / dayNanos;
  let nanos = nanosSinceEpoch % dayNanos;
  if (nanos < 0n) {
    nanos += dayNanos;
    days -= 1n;
  }
  const bytes = new Uint8Array(12);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, nanos, true);
  view.setInt32(8, Number(days + 2_440_588n), true);
  return bytes;
}

function plain(column: TinyColumn, values: TinyValue[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const value of values) {
    if (value === null) continue;
    if (column.physical === 'INT32') {
      const bytes = new Uint8Array(4);
      new DataView(bytes.buffer).setInt32(0, Number(value), true);
      parts.push(bytes);
    } else if (column.physical === 'INT64') {
      const bytes = new Uint8Array(8);
      new DataView(bytes.buffer).setBigInt64(0, BigInt(value as number | bigint), true);
      parts.push(bytes);
    } else if (column.physical === 'INT96') {
      parts.push(value as Uint8Array);
    } else {
      const bytes = value as Uint8Array;
      const length = new Uint8Array(4);
      new DataView(length.buffer).setInt32(0, bytes.length, true);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

/** Definition levels (0 null, 1 value) as one bit-packed run, with the V1 4-byte length prefix. */
function definitionLevels(values: TinyValue[]): Uint8Array {
  const groups = Math.ceil(values.length / 8);
  const run = new Uint8Array(1 + groups);
  run[0] = (groups << 1) | 1;
  values.forEach((value, index) => {
    if (value !== null) run[1 + (index >> 3)] = (run[1 + (index >> 3)] as number) | (1 << (index & 7));
  });
  const out = new Uint8Array(4 + run.length);
  new DataView(out.buffer).setInt32(0, run.length, true);
  out.set(run, 4);
  return out;
}

/** Builds a Parquet file; see the module comment for what it can hold. */
export function writeTinyParquet(file: TinyFile): Uint8Array {
  const rows = file.columns[0]?.values.length ?? 0;
  const groups = file.rowGroups ?? [rows];
  const chunks: Uint8Array[] = [Buffer.from('PAR1')];
  let offset = 4;
  const rowGroups: ThriftStruct[] = [];
  let first = 0;
  for (const groupRows of groups) {
    const columnChunks: ThriftStruct[] = [];
    let groupBytes = 0;
    for (const column of file.columns) {
      const start = offset;
      const values = column.values.slice(first, first + groupRows);
      const pageRows = file.pageRows ?? Math.max(1, values.length);
      for (let at = 0; at < Math.max(1, values.length); at += pageRows) {
        const pageValues = values.slice(at, at + pageRows);
        const body = Buffer.concat([definitionLevels(pageValues), plain(column, pageValues)]);
        const header = struct(
          [1, ThriftType.I32, 0],
          [2, ThriftType.I32, body.length],
          [3, ThriftType.I32, body.length],
          ...(file.crc ? [[4, ThriftType.I32, crc32(body) | 0] as FieldSpec] : []),
          [
            5,
            ThriftType.STRUCT,
            struct(
              [1, ThriftType.I32, pageValues.length],
              [2, ThriftType.I32, 0],
              [3, ThriftType.I32, 3],
              [4, ThriftType.I32, 3],
            ),
          ],
        );
        const headerBytes = encodeThriftStruct(header);
        chunks.push(headerBytes, body);
        offset += headerBytes.length + body.length;
      }
      const size = offset - start;
      groupBytes += size;
      const meta = struct(
        [1, ThriftType.I32, PHYSICAL[column.physical]],
        [2, ThriftType.LIST, list(ThriftType.I32, [0, 3])],
        [3, ThriftType.LIST, list(ThriftType.BINARY, [thriftText(column.name)])],
        [4, ThriftType.I32, 0],
        [5, ThriftType.I64, BigInt(values.length)],
        [6, ThriftType.I64, BigInt(size)],
        [7, ThriftType.I64, BigInt(size)],
        [9, ThriftType.I64, BigInt(start)],
      );
      columnChunks.push(struct([2, ThriftType.I64, BigInt(start)], [3, ThriftType.STRUCT, meta]));
    }
    rowGroups.push(
      struct(
        [1, ThriftType.LIST, list(ThriftType.STRUCT, columnChunks)],
        [2, ThriftType.I64, BigInt(groupBytes)],
        [3, ThriftType.I64, BigInt(groupRows)],
      ),
    );
    first += groupRows;
  }
  const schema = [
    struct([4, ThriftType.BINARY, 'schema'], [5, ThriftType.I32, file.columns.length]),
    ...file.columns.map((column) =>
      struct(
        [1, ThriftType.I32, PHYSICAL[column.physical]],
        [3, ThriftType.I32, 1],
        [4, ThriftType.BINARY, column.name],
        ...(column.convertedType === undefined ? [] : [[6, ThriftType.I32, column.convertedType] as FieldSpec]),
        ...(column.logicalType ? [[10, ThriftType.STRUCT, column.logicalType] as FieldSpec] : []),
      ),
    ),
  ];
  const keyValue = Object.entries(file.keyValue ?? {}).map(([key, value]) =>
    struct([1, ThriftType.BINARY, key], [2, ThriftType.BINARY, value]),
  );
  const footer = struct(
    [1, ThriftType.I32, 1],
    [2, ThriftType.LIST, list(ThriftType.STRUCT, schema)],
    [3, ThriftType.I64, BigInt(rows)],
    [4, ThriftType.LIST, list(ThriftType.STRUCT, rowGroups)],
    ...(keyValue.length > 0 ? [[5, ThriftType.LIST, list(ThriftType.STRUCT, keyValue)] as FieldSpec] : []),
    [6, ThriftType.BINARY, 'tiny-parquet test writer'],
  );
  chunks.push(encodeFooterTail(footer));
  return Buffer.concat(chunks);
}

/** Rewrites the footer of a Parquet file with `change` (row counts, metadata …); pages stay as they are. */
export async function rewriteFooter(bytes: Uint8Array, change: (footer: ThriftStruct) => void): Promise<Uint8Array> {
  const footer = await readParquetFooter(new Blob([bytes]), 'test');
  change(footer.raw);
  decodeFooter(footer.raw, 'test'); // still decodable
  return Buffer.concat([bytes.subarray(0, footer.footerStart), encodeFooterTail(footer.raw)]);
}
