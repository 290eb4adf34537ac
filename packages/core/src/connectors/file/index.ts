/** The local file-system connector: see file-connector.ts and docs/file-connector.md. */
export {
  createFileSink,
  createFileSnapshot,
  createFileSource,
  type FileEndpointArgs,
  fileConnector,
} from './file-connector.ts';
export {
  DEFAULT_PART_FILE_BYTES,
  type FileEndpoint,
  type FileFormatName,
  type FileOptions,
  fileEndpointSchema,
  fileFormats,
  fileOptionsSchema,
} from './file-options.ts';
// Path rules shared with connectors of other file systems (HDFS), so a path means the same everywhere.
export { isDirectoryTarget, isGlob, isHiddenName, safeName, segmentPattern } from './file-paths.ts';
export { FileSink } from './file-sink.ts';
export { FileSnapshot, type FileSnapshotRef } from './file-snapshot.ts';
export { FileSource, type PinnedFile } from './file-source.ts';
