/**
 * The raw decoder of PostgreSQL sources for worker threads (see `Source.rawDecoder` in
 * @honk/core): validation decodes the tuple bytes `readRaw()` forwards on another core with
 * the same decoder `read()` uses, so the main thread only moves bytes.
 */
import { type RawDecoder, type RawRowScanner, SchemaMismatchError } from '@honk/core';
import type { Schema } from 'apache-arrow';
import { CopyBinaryDecoder, type DecodeColumn } from './copy-binary-decoder.ts';

export interface CopyRawDecoderInit {
  columns: DecodeColumn[];
  batchRows: number;
}

export function createRawDecoder(
  init: CopyRawDecoderInit,
  schema: Schema,
  options: { batchRows?: number } = {},
): RawDecoder {
  const batchRows = Math.max(1, options.batchRows ?? init.batchRows);
  const decoder = new CopyBinaryDecoder(schema, init.columns, batchRows, { tuplesOnly: true });
  return {
    push: (bytes) => decoder.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
    end: () => decoder.end(),
    take: () => decoder.take(),
  };
}

/** The encoding name both sides of a PG → PG raw transfer share (binary COPY tuples). */
export const COPY_ROW_ENCODING = 'postgres-binary-copy';

/**
 * Where the rows and fields of whole binary COPY tuples lie (core's raw row validation hashes
 * them as they are): per tuple a 16-bit field count, then per field a 32-bit length (−1 for
 * NULL) and the value's bytes.
 */
export function createRawRowScanner(init: CopyRawDecoderInit): RawRowScanner {
  const fields = init.columns.length;
  // Reused from piece to piece (a scan's result is consumed before the next scan).
  let capacity = 16_384;
  let rowStart = new Int32Array(capacity + 1);
  let fieldStart = new Int32Array(capacity * fields);
  let fieldLength = new Int32Array(capacity * fields);
  return {
    encoding: COPY_ROW_ENCODING,
    fields,
    scan(bytes) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let rows = 0;
      let pos = 0;
      const end = bytes.length;
      while (pos + 2 <= end) {
        const count = view.getInt16(pos);
        if (count !== fields) {
          throw new SchemaMismatchError(
            `A binary COPY row has ${count} fields where ${fields} were expected (byte ${pos} of a piece); the stream is damaged.`,
          );
        }
        if (rows === capacity) {
          capacity *= 2;
          rowStart = grown(rowStart, capacity + 1);
          fieldStart = grown(fieldStart, capacity * fields);
          fieldLength = grown(fieldLength, capacity * fields);
        }
        rowStart[rows] = pos;
        let at = pos + 2;
        const base = rows * fields;
        for (let field = 0; field < fields; field++) {
          const length = view.getInt32(at);
          at += 4;
          fieldStart[base + field] = at;
          fieldLength[base + field] = length;
          if (length > 0) at += length;
        }
        if (at > end)
          throw new SchemaMismatchError('A binary COPY row runs past the end of its piece; the stream is damaged.');
        pos = at;
        rows++;
      }
      rowStart[rows] = pos;
      return { rows, rowStart, fieldStart, fieldLength };
    },
  };
}

function grown(array: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const next = new Int32Array(size);
  next.set(array);
  return next;
}
