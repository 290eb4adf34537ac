/**
 * Page checks for Parquet reads, run by Honk on a row group's bytes before parquet-wasm
 * decodes them (parquet-reader.ts fetches each row group itself and serves the decoder from
 * that copy, so no byte is read twice):
 * - every page header must decode and its page must lie inside its column chunk. arrow-rs
 *   inside parquet-wasm does not fail cleanly on a malformed page: its error escapes as an
 *   uncaught exception and the read never ends, so malformed pages must not reach it;
 * - a page header may carry `crc`: the CRC-32 (the zlib/gzip polynomial) of the page bytes
 *   after the header, as stored (compressed). arrow-rs does not check it; Honk does when
 *   `verifyChecksums` is on (the default).
 *
 * Cost: decoding each page header (a few dozen bytes per page of ~1 MiB) and, for pages
 * with a CRC, one pass of `zlib.crc32` (hardware-accelerated, several GB/s) over them.
 */
import { crc32 } from 'node:zlib';
import { HonkError } from '../errors/honk-error.ts';
import type { ParquetColumnChunk, ParquetFooter } from './parquet-metadata.ts';
import { CompactReader, type ThriftStruct } from './thrift-compact.ts';

/** A column chunk with its row group, as the verifier tracks it. */
interface TrackedChunk extends ParquetColumnChunk {
  rowGroup: number;
}

const PAGE_TYPE_NAMES = ['data page', 'index page', 'dictionary page', 'data page (v2)'];

function corruptChunk(file: string, chunk: TrackedChunk, detail: string, page?: number): HonkError {
  const at = `row group ${chunk.rowGroup}, column "${chunk.path}"${page === undefined ? '' : `, page ${page}`}`;
  return new HonkError(
    'DATA_CORRUPT',
    `${file} is corrupt at ${at}: ${detail}. The file was damaged after it was written (storage, transfer or a faulty writer); restore it from a good copy or re-export it.`,
    {
      details: {
        file,
        rowGroup: chunk.rowGroup,
        column: chunk.path,
        ...(page === undefined ? {} : { page }),
      },
    },
  );
}

/**
 * Walks the pages of one column chunk (`bytes` is the whole chunk); with `checkCrc`, checks
 * every page that carries a CRC. Throws DATA_CORRUPT naming the page on a mismatch or a
 * malformed header.
 */
function verifyChunk(bytes: Uint8Array, chunk: TrackedChunk, file: string, checkCrc: boolean): void {
  let position = 0;
  let page = 0;
  while (position < bytes.length) {
    let header: ThriftStruct;
    const reader = new CompactReader(bytes, position);
    try {
      header = reader.readStruct();
    } catch (error) {
      throw corruptChunk(file, chunk, `its page header cannot be decoded (${(error as Error).message})`, page);
    }
    const size = header.number(3);
    if (size === undefined || size < 0 || reader.position + size > bytes.length) {
      throw corruptChunk(
        file,
        chunk,
        `the page size (${String(size)} bytes) runs past the end of the column chunk`,
        page,
      );
    }
    const crc = header.number(4);
    if (checkCrc && crc !== undefined) {
      const actual = crc32(bytes.subarray(reader.position, reader.position + size));
      if (actual !== crc >>> 0) {
        const kind = PAGE_TYPE_NAMES[header.number(1) ?? -1] ?? 'page';
        throw corruptChunk(
          file,
          chunk,
          `the ${kind}'s checksum does not match its bytes (stored CRC-32 ${(crc >>> 0).toString(16).padStart(8, '0')}, computed ${actual.toString(16).padStart(8, '0')})`,
          page,
        );
      }
    }
    position = reader.position + size;
    page++;
  }
}

/**
 * Walks the pages of every column chunk of row group `rowGroup`, whose bytes are `bytes`
 * read from file offset `offset`: each page header must decode and its page must lie inside
 * the chunk, and with `checkCrc` a page carrying a CRC must match it. Throws DATA_CORRUPT
 * naming file, row group, column and page.
 */
export function verifyRowGroupPages(
  footer: ParquetFooter,
  rowGroup: number,
  offset: number,
  bytes: Uint8Array,
  file: string,
  checkCrc: boolean,
): void {
  for (const column of footer.rowGroups[rowGroup]?.columns ?? []) {
    const chunk = { ...column, rowGroup };
    const from = column.start - offset;
    if (from < 0 || from + column.length > bytes.length) {
      throw corruptChunk(file, chunk, 'the column chunk lies outside its row group or the file');
    }
    verifyChunk(bytes.subarray(from, from + column.length), chunk, file, checkCrc);
  }
}

/** The byte range `[start, end)` holding every column chunk of `rowGroup`. */
export function rowGroupRange(footer: ParquetFooter, rowGroup: number): [number, number] {
  const columns = footer.rowGroups[rowGroup]?.columns ?? [];
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  for (const column of columns) {
    start = Math.min(start, column.start);
    end = Math.max(end, column.start + column.length);
  }
  return columns.length === 0 ? [0, 0] : [start, end];
}
