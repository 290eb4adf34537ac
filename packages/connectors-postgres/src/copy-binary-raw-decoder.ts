/**
 * The raw decoder of PostgreSQL sources for worker threads (see `Source.rawDecoder` in
 * @honk/core): validation decodes the tuple bytes `readRaw()` forwards on another core with
 * the same decoder `read()` uses, so the main thread only moves bytes.
 */
import type { RawDecoder } from '@honk/core';
import type { Schema } from 'apache-arrow';
import { CopyBinaryDecoder, type DecodeColumn } from './copy-binary-decoder.ts';

export interface CopyRawDecoderInit {
  columns: DecodeColumn[];
  batchRows: number;
}

export function createRawDecoder(init: CopyRawDecoderInit, schema: Schema): RawDecoder {
  const decoder = new CopyBinaryDecoder(schema, init.columns, Math.max(1, init.batchRows), { tuplesOnly: true });
  return {
    push: (bytes) => decoder.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
    end: () => decoder.end(),
    take: () => decoder.take(),
  };
}
