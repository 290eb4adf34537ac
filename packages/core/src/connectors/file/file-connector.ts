/**
 * The local file-system connector, Honk's embedded default (`connector: file`).
 *
 * Capabilities: `snapshot` (hard-link snapshots), `readStaged` (staged part files read back
 * with the same options), publish mode `replace` only, and chunked tasks: `partitionedRead`
 * (a dataset's part files, grouped into chunks) and `chunkedStaging` (directory targets). `countPushdown` is declared false
 * because it is per connector and only Parquet can count without reading; Parquet sources
 * still offer `count()` from file metadata, and other formats have no `count()` at all.
 * `discover()` lists data files and part folders (see file-discover.ts).
 * See docs/file-connector.md for options, formats and the types each keeps.
 */
import { resolve } from 'node:path';
import { defineConnector, type EndpointArgs } from '../../connector/connector.ts';
import { discoverFiles } from './file-discover.ts';
import { type FileEndpoint, type FileOptions, fileEndpointSchema, fileOptionsSchema } from './file-options.ts';
import { listSourceFiles, resolveUnderRoot } from './file-paths.ts';
import { FileSink, filePublishModes } from './file-sink.ts';
import { FileSnapshot } from './file-snapshot.ts';
import { FileSource } from './file-source.ts';

/** Arguments of the file connector's factories. */
export type FileEndpointArgs = Pick<EndpointArgs<FileOptions, FileEndpoint>, 'options' | 'endpoint'> & {
  context: { taskId: string };
};

/** A source over a file, a directory of part files or a glob under `options.root`. */
export function createFileSource({ options, endpoint }: Pick<FileEndpointArgs, 'options' | 'endpoint'>): FileSource {
  const parsedOptions = fileOptionsSchema.parse(options);
  const parsedEndpoint = fileEndpointSchema.parse(endpoint);
  resolveUnderRoot(parsedOptions.root, parsedEndpoint.path); // fail fast on a path outside the root
  return new FileSource({
    endpoint: parsedEndpoint,
    list: () => listSourceFiles(parsedOptions.root, parsedEndpoint.path),
  });
}

/** A sink that stages beside the target and publishes by rename. */
export function createFileSink({ options, endpoint, context }: FileEndpointArgs): FileSink {
  return new FileSink(fileOptionsSchema.parse(options), fileEndpointSchema.parse(endpoint), context);
}

/** Hard-link snapshots of the target. */
export function createFileSnapshot({ options, endpoint, context }: FileEndpointArgs): FileSnapshot {
  return new FileSnapshot(fileOptionsSchema.parse(options), fileEndpointSchema.parse(endpoint), context);
}

/** A relative `root` resolves against the spec's directory (the context's baseDir), not the process cwd. */
function rooted<A extends { options: FileOptions; context: { baseDir?: string } }>(args: A): A {
  return {
    ...args,
    options: { ...args.options, root: resolve(args.context.baseDir ?? process.cwd(), args.options.root) },
  };
}

/** The `file` connector. */
export const fileConnector = defineConnector<FileOptions, FileEndpoint>({
  specificationVersion: 'v1',
  name: 'file',
  optionsSchema: fileOptionsSchema,
  endpointSchema: fileEndpointSchema,
  capabilities: {
    snapshot: true,
    readStaged: true,
    countPushdown: false,
    partitionedRead: true,
    chunkedStaging: true,
    publishModes: filePublishModes,
  },
  createSource: (args) => createFileSource(rooted(args)),
  createSink: (args) => createFileSink(rooted(args)),
  createSnapshot: (args) => createFileSnapshot(rooted(args)),
  discover: (args) => discoverFiles(rooted(args).options, args.scope),
});
