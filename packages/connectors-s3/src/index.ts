/**
 * @honk/connectors-s3 — Amazon S3 and S3-compatible object storage for Honk.
 * See README.md; every export is documented where it is defined.
 */
export { createS3Client } from './create-s3-client.ts';
export { s3Connector } from './s3-connector.ts';
export { copyObject, copyObjects, deleteKeys } from './s3-copy.ts';
export { discoverS3 } from './s3-discover.ts';
export { type S3CallContext, s3ErrorCode, toS3Error, withS3Retry } from './s3-errors.ts';
export { globToRegExp, headPinned, listPinned, type PinnedObject, type S3Location } from './s3-listing.ts';
export { buildManifest, MANIFEST_NAME, readManifest, type S3Manifest, s3ManifestSchema } from './s3-manifest.ts';
export { createS3RangeReader, s3ByteInput, streamS3Object } from './s3-object-reader.ts';
export { createS3ObjectWriter, type S3ObjectWriter, type WrittenObject } from './s3-object-writer.ts';
export {
  type S3ConnectionInput,
  type S3ConnectionOptions,
  type S3EndpointOptions,
  type S3Format,
  s3ConnectionSchema,
  s3EndpointSchema,
} from './s3-options.ts';
export { publishDataset } from './s3-publish.ts';
export { createS3Sink, stagingPrefixOf } from './s3-sink.ts';
export { createS3Snapshot } from './s3-snapshot.ts';
export { createS3Source, pinDataset } from './s3-source.ts';
