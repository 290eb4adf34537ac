/**
 * HDFS paths: confinement under the connection root, source listing (a file, a directory of
 * part files, a glob) pinned with lengths and modification times, and the places a sink
 * uses beside its target. Names follow the file connector (`isHiddenName`, `safeName`,
 * `segmentPattern` are core's), so a path means the same on a local disk and on HDFS.
 */
import { posix } from 'node:path';
import {
  ConfigError,
  isDirectoryTarget,
  isGlob,
  isHiddenName,
  NotFoundError,
  safeName,
  segmentPattern,
  TransientError,
} from '@honk/core';
import type { WebHdfsClient } from './webhdfs-client.ts';

/** A file as it was when listed: a later read that finds another length or time fails the attempt. */
export interface PinnedHdfsFile {
  path: string;
  length: number;
  modificationTime: number;
}

/** Resolves `relative` under `root`; a path leaving the root is a ConfigError. */
export function resolveUnderRoot(root: string, relative: string, connection: string, option = 'path'): string {
  const base = posix.resolve('/', root);
  const resolved = posix.resolve(base, relative);
  if (resolved !== base && !resolved.startsWith(base === '/' ? '/' : `${base}/`)) {
    throw new ConfigError(
      `HDFS connection "${connection}": ${option} "${relative}" resolves outside the connection root "${base}". Use a path inside the root (no "..").`,
      { details: { option, path: relative } },
    );
  }
  return resolved;
}

/** The journal a publish writes beside its target while the target is being swapped. */
export function journalOf(target: string): string {
  return posix.join(posix.dirname(target), `.honk-publish-${posix.basename(target)}.json`);
}

/** The places a sink uses beside its target, all derived from the task id. */
export interface HdfsTargetPlaces {
  target: string;
  parent: string;
  name: string;
  /** `<parent>/.honk-staging-<task>-<name>`: part files of the attempt. */
  staging: string;
  /** `<parent>/.honk-aside-<task>-<name>`: the old target during a swap (no snapshot kept). */
  aside: string;
  /** `<parent>/.honk-publish-<name>.json`. */
  journal: string;
  /** `<parent>/.honk-snapshots/<name>`: kept previous versions. */
  snapshots: string;
  directory: boolean;
}

export function targetPlaces(root: string, relative: string, taskId: string, connection: string): HdfsTargetPlaces {
  const target = resolveUnderRoot(root, relative, connection);
  if (target === posix.resolve('/', root)) {
    throw new ConfigError(
      `HDFS connection "${connection}": a target path must name a file or directory inside the root, not the root itself.`,
      { details: { option: 'path' } },
    );
  }
  const parent = posix.dirname(target);
  const name = posix.basename(target);
  const task = safeName(taskId);
  return {
    target,
    parent,
    name,
    staging: posix.join(parent, `.honk-staging-${task}-${name}`),
    aside: posix.join(parent, `.honk-aside-${task}-${name}`),
    journal: journalOf(target),
    snapshots: posix.join(parent, '.honk-snapshots', name),
    directory: isDirectoryTarget(relative),
  };
}

function pin(path: string, status: { length: number; modificationTime: number }): PinnedHdfsFile {
  return { path, length: status.length, modificationTime: status.modificationTime };
}

/** The data files (not hidden) directly in a directory, in name order. */
export async function listDataFiles(
  client: WebHdfsClient,
  directory: string,
  signal?: AbortSignal,
): Promise<PinnedHdfsFile[]> {
  const files: PinnedHdfsFile[] = [];
  for await (const status of client.listStatus(directory, signal)) {
    if (status.type === 'FILE' && !isHiddenName(status.pathSuffix))
      files.push(pin(posix.join(directory, status.pathSuffix), status));
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

async function listGlob(client: WebHdfsClient, root: string, pattern: string, signal?: AbortSignal) {
  const segments = posix.relative(posix.resolve('/', root), pattern).split('/');
  let current: { path: string; status?: { length: number; modificationTime: number; type: string } }[] = [
    { path: posix.resolve('/', root) },
  ];
  for (const [index, segment] of segments.entries()) {
    const last = index === segments.length - 1;
    const next: typeof current = [];
    for (const entry of current) {
      if (!isGlob(segment)) {
        next.push({ path: posix.join(entry.path, segment) });
        continue;
      }
      const matcher = segmentPattern(segment);
      try {
        for await (const status of client.listStatus(entry.path, signal)) {
          if (isHiddenName(status.pathSuffix) && !segment.startsWith('.')) continue;
          if (!matcher.test(status.pathSuffix)) continue;
          if (last ? status.type === 'FILE' : status.type === 'DIRECTORY') {
            next.push({ path: posix.join(entry.path, status.pathSuffix), status });
          }
        }
      } catch (error) {
        if ((error as { code?: string }).code !== 'NOT_FOUND') throw error;
      }
    }
    current = next;
  }
  const files: PinnedHdfsFile[] = [];
  for (const entry of current) {
    const status = entry.status ?? (await client.statusIfExists(entry.path, signal));
    if (status?.type === 'FILE') files.push(pin(entry.path, status));
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * The files a source path denotes, pinned. Throws NotFoundError naming the path when nothing
 * matches, and `SOURCE_CHANGED` (transient) while a publish is swapping the path, unless
 * `publishing: 'ignore'` (the sink's own look at its target, which it repairs on `open()`).
 */
export async function listSourceFiles(
  client: WebHdfsClient,
  root: string,
  relative: string,
  connection: string,
  signal?: AbortSignal,
  publishing: 'refuse' | 'ignore' = 'refuse',
): Promise<PinnedHdfsFile[]> {
  const resolved = resolveUnderRoot(root, relative, connection);
  if (isGlob(relative)) {
    const files = await listGlob(client, root, resolved, signal);
    if (files.length === 0) {
      throw new NotFoundError(
        `HDFS connection "${connection}": no file matches "${resolved}". Check the path and the glob.`,
        {
          details: { path: resolved },
        },
      );
    }
    return files;
  }
  if (publishing === 'refuse') await checkNoPublishInFlight(client, resolved, connection, signal);
  const status = await client.statusIfExists(resolved, signal);
  if (!status) {
    throw new NotFoundError(
      `HDFS connection "${connection}": "${resolved}" does not exist. Check the path and the connection root.`,
      {
        details: { path: resolved },
      },
    );
  }
  if (status.type === 'FILE') return [pin(resolved, status)];
  const files = await listDataFiles(client, resolved, signal);
  if (files.length === 0) {
    throw new NotFoundError(`HDFS connection "${connection}": directory "${resolved}" holds no data files.`, {
      details: { path: resolved },
    });
  }
  return files;
}

/** The journal of a publish in flight, if any. */
export interface PublishJournal {
  kind: 'replace' | 'append';
  target: string;
  /** Replace: where the old target is parked. */
  aside?: string;
  /** Append: target-relative names of the part files being moved in. */
  files?: string[];
}

export async function readJournal(
  client: WebHdfsClient,
  target: string,
  signal?: AbortSignal,
): Promise<PublishJournal | undefined> {
  let text = '';
  try {
    for await (const chunk of await client.open(journalOf(target), { signal })) text += Buffer.from(chunk).toString();
  } catch (error) {
    if ((error as { code?: string }).code === 'NOT_FOUND') return undefined;
    throw error;
  }
  return JSON.parse(text) as PublishJournal;
}

/**
 * Readers never see half a publish: while an append moves part files in, or a replace has
 * moved the old target aside and not yet the new one in, the path is "changing".
 */
async function checkNoPublishInFlight(client: WebHdfsClient, path: string, connection: string, signal?: AbortSignal) {
  const journal = await readJournal(client, path, signal);
  if (!journal) return;
  if (journal.kind === 'replace' && (await client.statusIfExists(path, signal))) return;
  throw new TransientError(
    `HDFS connection "${connection}": "${path}" is being published (${journal.kind}; journal ${journalOf(path)}). The attempt is retried; an interrupted publish is completed or rolled back by the next run of the task that writes it.`,
    { code: 'SOURCE_CHANGED', details: { path } },
  );
}
