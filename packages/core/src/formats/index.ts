/** File formats shared by every connector that stores files: see format-codec.ts. */
export { arrowIpcCodec } from './arrow-ipc-codec.ts';
export {
  codecFor,
  compressionFor,
  formatOfExtension,
  isCompressibleFormat,
  parseColumnTypes,
} from './codec-for.ts';
export { CSV_SAMPLE_ROWS, csvCodec } from './csv-codec.ts';
export {
  type ByteInput,
  type ByteSink,
  type FormatCodec,
  type FormatName,
  type FormatOptions,
  type FormatReadOptions,
  type FormatWriter,
  formatNames,
  type WrittenFile,
} from './format-codec.ts';
export {
  type CsvOptions,
  csvOptionsSchema,
  DEFAULT_ROW_GROUP_BYTES,
  DEFAULT_ROW_GROUP_ROWS,
  type ParquetOptions,
  parquetOptionsSchema,
} from './format-options.ts';
export { NDJSON_SAMPLE_ROWS, ndjsonCodec } from './ndjson-codec.ts';
export { parquetCodec } from './parquet-codec.ts';
export { RandomAccessBlob, type RandomAccessReader } from './random-access-blob.ts';
export {
  compressionExtensions,
  compressionOfName,
  type TextCompression,
  textCompressions,
  withoutCompressionExtension,
} from './text-compression.ts';
