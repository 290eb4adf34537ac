/**
 * Apache Parquet through parquet-wasm (arrow-rs compiled to WebAssembly, the node build).
 * Reading is in parquet-reader.ts (with Honk's own footer, row-count, page-checksum and INT96
 * checks around the decoder), writing in parquet-writer.ts (streaming, with the type plan of
 * parquet-write-types.ts). This object is the whole interface to the rest of core.
 */
import type { FormatCodec } from './format-codec.ts';
import { countParquet, readParquet, readParquetSchema } from './parquet-reader.ts';
import { checkParquetWritable } from './parquet-write-types.ts';
import { ParquetWriter } from './parquet-writer.ts';

/** Apache Parquet, see the module comment. */
export const parquetCodec: FormatCodec = {
  name: 'parquet',
  extensions: ['.parquet', '.pq'],
  contentType: 'application/vnd.apache.parquet',
  readSchema: (input, options) => readParquetSchema(input, options?.parquet),
  read: readParquet,
  count: countParquet,
  checkWritable: checkParquetWritable,
  createWriter: (sink, schema, options) => new ParquetWriter(sink, schema, options?.parquet),
};
