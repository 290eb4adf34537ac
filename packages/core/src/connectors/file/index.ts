/** The local file-system connector: see file-connector.ts and docs/file-connector.md. */
export {
  createFileSink,
  createFileSnapshot,
  createFileSource,
  type FileEndpointArgs,
  fileConnector,
} from './file-connector.ts';
export {
  type CsvOptions,
  csvOptionsSchema,
  DEFAULT_PART_FILE_BYTES,
  DEFAULT_ROW_GROUP_ROWS,
  type FileEndpoint,
  type FileFormatName,
  type FileOptions,
  fileEndpointSchema,
  fileFormats,
  fileOptionsSchema,
  type ParquetOptions,
  parquetOptionsSchema,
} from './file-options.ts';
export { FileSink } from './file-sink.ts';
export { FileSnapshot, type FileSnapshotRef } from './file-snapshot.ts';
export { FileSource, type PinnedFile } from './file-source.ts';
