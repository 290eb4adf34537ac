/**
 * Honk's own reading of a Parquet footer (the Thrift FileMetaData at the end of the file),
 * independent of parquet-wasm: it cross-checks what the decoder is told (row counts),
 * locates column chunks for page checksum verification, finds INT96 and view columns that
 * need a read hint, and sees logical types arrow-rs does not surface (GEOMETRY, GEOGRAPHY).
 *
 * Field ids follow parquet.thrift (apache/parquet-format). Only the fields Honk uses are
 * typed here; the whole tree stays in `raw`, so a footer can be re-encoded with a change.
 */
import { HonkError } from '../errors/honk-error.ts';
import type { ByteInput } from './format-codec.ts';
import { CompactReader, encodeThriftStruct, type ThriftStruct } from './thrift-compact.ts';

/** Parquet physical types (parquet.thrift `Type`). */
export const ParquetPhysicalType = {
  BOOLEAN: 0,
  INT32: 1,
  INT64: 2,
  INT96: 3,
  FLOAT: 4,
  DOUBLE: 5,
  BYTE_ARRAY: 6,
  FIXED_LEN_BYTE_ARRAY: 7,
} as const;

/** Field ids of the LogicalType union (parquet.thrift). */
export const LogicalTypeId = {
  STRING: 1,
  MAP: 2,
  LIST: 3,
  ENUM: 4,
  DECIMAL: 5,
  DATE: 6,
  TIME: 7,
  TIMESTAMP: 8,
  INTEGER: 10,
  UNKNOWN: 11,
  JSON: 12,
  BSON: 13,
  UUID: 14,
  FLOAT16: 15,
  VARIANT: 16,
  GEOMETRY: 17,
  GEOGRAPHY: 18,
} as const;

/** One element of the flattened schema tree (parquet.thrift `SchemaElement`). */
export interface ParquetSchemaElement {
  name: string;
  /** Physical type; undefined for groups. */
  physicalType: number | undefined;
  numChildren: number;
  convertedType: number | undefined;
  /** The LogicalType union as decoded (one field set), or undefined. */
  logicalType: ThriftStruct | undefined;
  /** The element in the footer tree, for rewriting. */
  raw: ThriftStruct;
}

/** One leaf column of the schema, in column-chunk order. */
export interface ParquetLeaf {
  /** Dotted path for messages, e.g. `address.city` or `tags.list.element`. */
  path: string;
  element: ParquetSchemaElement;
}

/** Where one column chunk's pages lie in the file. */
export interface ParquetColumnChunk {
  /** Index of the leaf column (0-based, column-chunk order). */
  column: number;
  path: string;
  codec: number;
  /** Offset of the first page (the dictionary page when there is one). */
  start: number;
  /** Bytes of all pages, headers included. */
  length: number;
  numValues: number;
}

export interface ParquetRowGroup {
  numRows: number;
  /** Uncompressed bytes of the row group's column data. */
  totalByteSize: number;
  columns: ParquetColumnChunk[];
}

/** What Honk reads from a footer. */
export interface ParquetFooter {
  /** `num_rows` of FileMetaData. */
  numRows: number;
  rowGroups: ParquetRowGroup[];
  schema: ParquetSchemaElement[];
  leaves: ParquetLeaf[];
  keyValue: Map<string, string>;
  /** File offset where the Thrift footer starts, and its length (without the 8-byte tail). */
  footerStart: number;
  footerLength: number;
  /** The file's last bytes from `footerStart` on (footer, length, magic), as read. */
  tail: Uint8Array;
  raw: ThriftStruct;
}

function corrupt(file: string, why: string, cause?: unknown): HonkError {
  return new HonkError(
    'DATA_CORRUPT',
    `${file} is not a readable Parquet file: ${why}. Check that the file is Parquet and was written completely (re-export it from its producer).`,
    { details: { file }, ...(cause === undefined ? {} : { cause }) },
  );
}

const TAIL_GUESS = 64 * 1024;
const MAGIC = 0x31524150; // "PAR1" little-endian
const ENCRYPTED_MAGIC = 0x45524150; // "PARE"

async function bytesOf(blob: Blob, start: number, end: number): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

/** Reads and decodes the footer of the Parquet file in `blob`; `file` names it in errors. */
export async function readParquetFooter(blob: Blob, file: string): Promise<ParquetFooter> {
  const size = blob.size;
  if (size < 12) throw corrupt(file, `it is ${size} bytes long, shorter than the smallest Parquet file`);
  const tailStart = Math.max(0, size - TAIL_GUESS);
  let tail = await bytesOf(blob, tailStart, size);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  const magic = view.getUint32(tail.length - 4, true);
  if (magic === ENCRYPTED_MAGIC) {
    throw new HonkError(
      'SCHEMA_MISMATCH',
      `${file} is an encrypted Parquet file (footer magic PARE); Honk cannot read encrypted Parquet. Export it without encryption.`,
      { details: { file } },
    );
  }
  if (magic !== MAGIC) throw corrupt(file, 'it does not end with the Parquet magic bytes "PAR1"');
  const head = await bytesOf(blob, 0, 4);
  if (new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true) !== MAGIC) {
    throw corrupt(file, 'it does not start with the Parquet magic bytes "PAR1"');
  }
  const footerLength = view.getUint32(tail.length - 8, true);
  const footerStart = size - 8 - footerLength;
  if (footerStart < 4) throw corrupt(file, `its footer length (${footerLength} bytes) is larger than the file`);
  if (footerStart < tailStart) tail = await bytesOf(blob, footerStart, size);
  else tail = tail.subarray(footerStart - tailStart);
  let raw: ThriftStruct;
  try {
    raw = new CompactReader(tail.subarray(0, footerLength)).readStruct();
  } catch (error) {
    throw corrupt(file, `its footer cannot be decoded (${(error as Error).message})`, error);
  }
  return decodeFooter(raw, file, footerStart, footerLength, tail);
}

function toNumber(value: number | undefined, what: string, file: string): number {
  if (value === undefined || !Number.isSafeInteger(value) || value < 0) {
    throw corrupt(file, `its footer has an invalid ${what} (${String(value)})`);
  }
  return value;
}

/** Turns a decoded FileMetaData into {@link ParquetFooter}. */
export function decodeFooter(
  raw: ThriftStruct,
  file: string,
  footerStart = 0,
  footerLength = 0,
  tail: Uint8Array = new Uint8Array(0),
): ParquetFooter {
  const schema: ParquetSchemaElement[] = (raw.list(2) ?? []).map((value) => {
    const element = value as ThriftStruct;
    return {
      name: element.text(4) ?? '',
      physicalType: element.number(1),
      numChildren: element.number(5) ?? 0,
      convertedType: element.number(6),
      logicalType: element.struct(10),
      raw: element,
    };
  });
  if (schema.length === 0) throw corrupt(file, 'its footer has no schema');
  const leaves: ParquetLeaf[] = [];
  let index = 1;
  const walk = (count: number, prefix: string): void => {
    for (let child = 0; child < count; child++) {
      const element = schema[index++];
      if (element === undefined) throw corrupt(file, 'its schema tree is truncated');
      const path = `${prefix}${element.name}`;
      if (element.numChildren > 0) walk(element.numChildren, `${path}.`);
      else leaves.push({ path, element });
    }
  };
  walk((schema[0] as ParquetSchemaElement).numChildren, '');
  const rowGroups: ParquetRowGroup[] = (raw.list(4) ?? []).map((value, groupIndex) => {
    const group = value as ThriftStruct;
    const columns = (group.list(1) ?? []).map((chunkValue, column) => {
      const chunk = chunkValue as ThriftStruct;
      const meta = chunk.struct(3);
      if (!meta) throw corrupt(file, `row group ${groupIndex}, column ${column} has no column metadata`);
      const dataOffset = toNumber(meta.number(9), 'data page offset', file);
      const dictionaryOffset = meta.number(11);
      const start =
        dictionaryOffset !== undefined && dictionaryOffset > 0 && dictionaryOffset < dataOffset
          ? dictionaryOffset
          : dataOffset;
      return {
        column,
        path:
          leaves[column]?.path ??
          (meta.list(3) ?? []).map((part) => new TextDecoder().decode(part as Uint8Array)).join('.'),
        codec: meta.number(4) ?? 0,
        start,
        length: toNumber(meta.number(7), 'column chunk size', file),
        numValues: toNumber(meta.number(5), 'value count', file),
      };
    });
    return {
      numRows: toNumber(group.number(3), `row count of row group ${groupIndex}`, file),
      totalByteSize: Math.max(0, group.number(2) ?? 0),
      columns,
    };
  });
  const keyValue = new Map<string, string>();
  for (const value of raw.list(5) ?? []) {
    const pair = value as ThriftStruct;
    const key = pair.text(1);
    if (key !== undefined) keyValue.set(key, pair.text(2) ?? '');
  }
  return {
    numRows: toNumber(raw.number(3), 'row count', file),
    rowGroups,
    schema,
    leaves,
    keyValue,
    footerStart,
    footerLength,
    tail,
    raw,
  };
}

/** The bytes ending a Parquet file with footer `raw`: the Thrift footer, its length, "PAR1". */
export function encodeFooterTail(raw: ThriftStruct): Uint8Array {
  const footer = encodeThriftStruct(raw);
  const tail = new Uint8Array(footer.length + 8);
  tail.set(footer);
  const view = new DataView(tail.buffer);
  view.setUint32(footer.length, footer.length, true);
  view.setUint32(footer.length + 4, MAGIC, true);
  return tail;
}

/** Fails as DATA_CORRUPT when the footer's row count is not the sum of its row groups'. */
export function checkFooterCounts(footer: ParquetFooter, file: string): void {
  const sum = footer.rowGroups.reduce((total, group) => total + group.numRows, 0);
  if (sum !== footer.numRows) {
    throw new HonkError(
      'DATA_CORRUPT',
      `${file} is corrupt: its footer says ${footer.numRows} rows but its ${footer.rowGroups.length} row group(s) hold ${sum}. The file was damaged or written by a faulty writer; re-export it from its producer.`,
      { details: { file, footerRows: footer.numRows, rowGroupRows: sum } },
    );
  }
}

/** Rows of one file from its footer (cross-checked with the row groups). */
export async function countParquet(input: ByteInput): Promise<number> {
  const root = await input.blob();
  const footer = await readParquetFooter(root, input.name);
  checkFooterCounts(footer, input.name);
  return footer.numRows;
}
