/**
 * The `hdfs` connector: files and directories of part files on HDFS, over WebHDFS, as a
 * source, a sink (replace and append) and a snapshot, plus discovery. See README.md.
 *
 * `hdfsConnector` is what specs use. {@link createHdfsConnector} makes one with the hooks a
 * spec cannot hold: Kerberos/SPNEGO (or gateway) headers, and a data-node URL rewrite for
 * clusters behind NAT.
 */
import { defineConnector } from '@honk/core';
import { discoverHdfs } from './hdfs-discover.ts';
import {
  type HdfsConnectionOptions,
  type HdfsEndpointOptions,
  hdfsConnectionSchema,
  hdfsEndpointSchema,
} from './hdfs-options.ts';
import { listSourceFiles } from './hdfs-paths.ts';
import { createHdfsSink, hdfsPublishModes } from './hdfs-sink.ts';
import { createHdfsSnapshot } from './hdfs-snapshot.ts';
import { createHdfsSource } from './hdfs-source.ts';
import { createWebHdfsClient, type WebHdfsClient, type WebHdfsHeaderProvider } from './webhdfs-client.ts';

/** Hooks given in code, for every connection of the connector. */
export interface HdfsConnectorHooks {
  /** Headers for every name-node request, e.g. SPNEGO `Authorization: Negotiate …`. */
  headers?: WebHdfsHeaderProvider;
  /** Rewrites data-node redirect URLs (clusters behind NAT). */
  rewriteDatanodeUrl?: (url: URL) => URL | string;
}

/** The client a connection's options describe. */
export function createHdfsClient(
  options: HdfsConnectionOptions,
  connection: string,
  hooks: HdfsConnectorHooks = {},
): WebHdfsClient {
  return createWebHdfsClient({
    namenodes: [options.url, ...(options.namenodes ?? []).filter((url) => url !== options.url)],
    connection,
    retries: options.retries,
    requestTimeoutMs: options.requestTimeoutMs,
    ...(options.user ? { user: options.user } : {}),
    ...(options.delegationToken ? { delegationToken: options.delegationToken } : {}),
    ...(options.csrfHeader ? { csrfHeader: options.csrfHeader } : {}),
    ...(hooks.headers ? { headers: hooks.headers } : {}),
    ...(hooks.rewriteDatanodeUrl ? { rewriteDatanodeUrl: hooks.rewriteDatanodeUrl } : {}),
  });
}

/** An `hdfs` connector with hooks; see {@link HdfsConnectorHooks}. */
export function createHdfsConnector(hooks: HdfsConnectorHooks = {}) {
  return defineConnector<HdfsConnectionOptions, HdfsEndpointOptions>({
    specificationVersion: 'v1',
    name: 'hdfs',
    optionsSchema: hdfsConnectionSchema,
    endpointSchema: hdfsEndpointSchema,
    capabilities: {
      snapshot: true,
      readStaged: true,
      countPushdown: false,
      publishModes: hdfsPublishModes,
      partitionedRead: true,
      chunkedStaging: true,
    },
    createSource: ({ options, endpoint, context }) => {
      const client = createHdfsClient(options, context.connectionName, hooks);
      return createHdfsSource({
        client,
        endpoint,
        retries: options.retries,
        list: () => listSourceFiles(client, options.root, endpoint.path, context.connectionName, context.signal),
      });
    },
    createSink: ({ options, endpoint, context }) =>
      createHdfsSink({
        client: createHdfsClient(options, context.connectionName, hooks),
        options,
        endpoint,
        taskId: context.taskId,
      }),
    createSnapshot: ({ options, endpoint, context }) =>
      createHdfsSnapshot({
        client: createHdfsClient(options, context.connectionName, hooks),
        options,
        endpoint,
        taskId: context.taskId,
      }),
    discover: ({ options, scope, context }) =>
      discoverHdfs(createHdfsClient(options, context.connectionName, hooks), options, scope),
  });
}

/** The `hdfs` connector for specs (`connector: hdfs`). */
export const hdfsConnector = createHdfsConnector();
