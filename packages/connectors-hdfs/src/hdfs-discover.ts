/**
 * `discover()` for HDFS: the datasets directly under a directory (the connection's root, or
 * `scope.within` relative to it). A data file is a dataset; a directory is one (a dataset
 * of part files) with its size from GETCONTENTSUMMARY and its format from the first data
 * file's extension. Names starting with `.` or `_` (Honk's staging, `_SUCCESS` …) are
 * skipped. Only metadata is read: one listing, one summary and one listing page per directory.
 */
import { posix } from 'node:path';
import {
  type DatasetInfo,
  type DiscoverScope,
  formatOfExtension,
  isHiddenName,
  NotFoundError,
  throwIfAborted,
} from '@honk/core';
import type { HdfsConnectionOptions } from './hdfs-options.ts';
import { resolveUnderRoot } from './hdfs-paths.ts';
import type { WebHdfsClient } from './webhdfs-client.ts';

async function firstDataFormat(client: WebHdfsClient, directory: string, signal?: AbortSignal) {
  for await (const child of client.listStatus(directory, signal)) {
    if (child.type !== 'FILE' || isHiddenName(child.pathSuffix)) continue;
    const format = formatOfExtension(child.pathSuffix);
    if (format) return format;
  }
  return undefined;
}

/** Lists the datasets of one directory. Throws NotFoundError when it does not exist. */
export async function discoverHdfs(
  client: WebHdfsClient,
  options: HdfsConnectionOptions,
  scope: DiscoverScope,
): Promise<DatasetInfo[]> {
  const root = posix.resolve('/', options.root);
  const within = resolveUnderRoot(root, scope.within ?? '.', client.connection, 'within');
  const status = await client.statusIfExists(within, scope.signal);
  if (!status) {
    throw new NotFoundError(
      `HDFS connection "${client.connection}": "${within}" does not exist; nothing to discover there.`,
      {
        details: { path: within },
      },
    );
  }
  const out: DatasetInfo[] = [];
  for await (const child of client.listStatus(within, scope.signal)) {
    throwIfAborted(scope.signal);
    if (scope.limit !== undefined && out.length >= scope.limit) break;
    // `within` may name a file: it lists itself, with an empty name.
    if (status.type !== 'FILE' && isHiddenName(child.pathSuffix)) continue;
    const path = status.type === 'FILE' ? within : posix.join(within, child.pathSuffix);
    const relative = posix.relative(root, path);
    const modifiedAt = new Date(child.modificationTime).toISOString();
    if (child.type === 'FILE') {
      const format = formatOfExtension(path);
      if (!format) continue;
      out.push({ name: relative, kind: 'file', endpoint: { path: relative, format }, bytes: child.length, modifiedAt });
      continue;
    }
    if (child.type !== 'DIRECTORY') continue;
    const [summary, format] = await Promise.all([
      client.getContentSummary(path, scope.signal),
      firstDataFormat(client, path, scope.signal),
    ]);
    if (!format) continue;
    out.push({
      name: `${relative}/`,
      kind: 'directory',
      endpoint: { path: `${relative}/`, format },
      bytes: summary.length,
      modifiedAt,
    });
  }
  return out;
}
