/**
 * @honk/connectors-hdfs — HDFS over WebHDFS for Honk. See README.md; every export is
 * documented where it is defined. The WebHDFS emulator is in `@honk/connectors-hdfs/testing`.
 */
export { createHdfsClient, createHdfsConnector, type HdfsConnectorHooks, hdfsConnector } from './hdfs-connector.ts';
export { discoverHdfs } from './hdfs-discover.ts';
export {
  type HdfsConnectionInput,
  type HdfsConnectionOptions,
  type HdfsEndpointOptions,
  type HdfsFormat,
  hdfsConnectionSchema,
  hdfsEndpointSchema,
} from './hdfs-options.ts';
export {
  type HdfsTargetPlaces,
  listSourceFiles,
  type PinnedHdfsFile,
  resolveUnderRoot,
  targetPlaces,
} from './hdfs-paths.ts';
export { publishAppend, publishReplace, recoverPublish } from './hdfs-publish.ts';
export { createHdfsSink, hdfsPublishModes } from './hdfs-sink.ts';
export { createHdfsSnapshot, type HdfsSnapshotRef } from './hdfs-snapshot.ts';
export { createHdfsSource } from './hdfs-source.ts';
export {
  createWebHdfsClient,
  type HdfsContentSummary,
  type HdfsFileChecksum,
  type HdfsFileStatus,
  type WebHdfsClient,
  type WebHdfsClientOptions,
  type WebHdfsHeaderProvider,
} from './webhdfs-client.ts';
export { parseRemoteException, type RemoteException, remoteError, type WebHdfsCallContext } from './webhdfs-errors.ts';
export type { WebHdfsUpload } from './webhdfs-upload.ts';
