/**
 * Snapshots of an HDFS target, so a failed or unwanted publish can be rolled back. Two kinds:
 *
 * - **HDFS snapshot**, where the target's parent directory is snapshottable
 *   (`hdfs dfsadmin -allowSnapshot <parent>`): `take()` is one CREATESNAPSHOT of the parent,
 *   which costs no copy; `restore()` copies the target out of `<parent>/.snapshot/<name>/`
 *   into a staging place and swaps it in like a publish; `discard()` is DELETESNAPSHOT.
 * - **Kept version**, everywhere else: `take()` writes a marker
 *   (`<parent>/.honk-snapshots/<name>/<version>/_honk_snapshot-<id>.json`, with the target's
 *   files, lengths and times; `<version>` hashes them) and copies nothing. The next publish
 *   does not delete the version it replaces but renames it to `<version>/data` (a rename: no
 *   copy either), once for every snapshot of that version. `restore()` swaps
 *   `data` back in; when no publish replaced the target since, it removes only files added
 *   since (an append) and otherwise finds the target as it was. `discard()` removes the
 *   marker and the kept data. A kept version relies on writers replacing files rather than
 *   rewriting them, which Honk does; another program appending to the target in place between
 *   `take()` and `restore()` makes `restore()` fail instead of restoring something else.
 */
import { posix } from 'node:path';
import { ConfigError, HonkError, NotFoundError, type Snapshot, type SnapshotRef, safeName } from '@honk/core';
import type { HdfsConnectionOptions, HdfsEndpointOptions } from './hdfs-options.ts';
import { type HdfsTargetPlaces, targetPlaces } from './hdfs-paths.ts';
import {
  type ListedFile,
  listTree,
  MARKER_PREFIX,
  publishReplace,
  readJson,
  recoverPublish,
  versionOf,
  writeJson,
} from './hdfs-publish.ts';
import type { WebHdfsClient } from './webhdfs-client.ts';

export interface HdfsSnapshotArgs {
  client: WebHdfsClient;
  options: HdfsConnectionOptions;
  endpoint: HdfsEndpointOptions;
  taskId: string;
}

/** The JSON stored on the task record. */
export type HdfsSnapshotRef = SnapshotRef & {
  connector: 'hdfs';
  target: string;
  directory: boolean;
} & (
    | { kind: 'hdfs-snapshot'; snapshotRoot: string; snapshotName: string }
    | { kind: 'kept'; keptAt: string; marker: string; files: ListedFile[] }
  );

/** Copies a file or directory tree through the client (WebHDFS has no server-side copy), streaming. */
async function copyTree(client: WebHdfsClient, from: string, to: string): Promise<void> {
  const status = await client.getFileStatus(from);
  if (status.type === 'DIRECTORY') {
    await client.mkdirs(to);
    for await (const child of client.listStatus(from))
      await copyTree(client, posix.join(from, child.pathSuffix), posix.join(to, child.pathSuffix));
    return;
  }
  const upload = await client.create(to, { overwrite: true });
  try {
    for await (const chunk of await client.open(from)) await upload.write(chunk);
    await upload.finish();
  } catch (error) {
    await upload.abort();
    throw error;
  }
}

function asRef(ref: SnapshotRef): HdfsSnapshotRef {
  const value = ref as Partial<HdfsSnapshotRef>;
  if (
    value.connector !== 'hdfs' ||
    typeof value.target !== 'string' ||
    (value.kind !== 'kept' && value.kind !== 'hdfs-snapshot')
  ) {
    throw new ConfigError(
      `HDFS connector: the snapshot reference is not an HDFS snapshot (${JSON.stringify(ref)}). Restore it with the connector that took it.`,
    );
  }
  return value as HdfsSnapshotRef;
}

export function createHdfsSnapshot(args: HdfsSnapshotArgs): Snapshot {
  const { client, options, endpoint } = args;
  const connection = client.connection;
  const places: HdfsTargetPlaces = targetPlaces(options.root, endpoint.path, args.taskId, connection);
  const restorePlace = posix.join(places.parent, `.honk-restore-${safeName(args.taskId)}-${places.name}`);

  return {
    async take() {
      await recoverPublish(client, places);
      const status = await client.statusIfExists(places.target);
      if (!status) return null;
      const takenAt = new Date().toISOString();
      const id = `${takenAt.replace(/[:.]/g, '-')}-${safeName(args.taskId)}`;
      const base = { connector: 'hdfs' as const, takenAt, target: places.target, directory: places.directory };
      try {
        const name = `honk-${id}`;
        await client.createSnapshot(places.parent, name);
        return {
          ...base,
          kind: 'hdfs-snapshot',
          snapshotRoot: places.parent,
          snapshotName: name,
        } satisfies HdfsSnapshotRef;
      } catch (error) {
        // Only "this directory is not snapshottable" falls back to a kept version.
        if ((error as HonkError).details?.exception !== 'SnapshotException') throw error;
      }
      const files = await listTree(client, places.target, status);
      const keptAt = posix.join(places.snapshots, versionOf(files));
      const marker = `${MARKER_PREFIX}${id}.json`;
      await writeJson(client, posix.join(keptAt, marker), { target: places.target, takenAt, files });
      return { ...base, kind: 'kept', keptAt, marker, files } satisfies HdfsSnapshotRef;
    },

    async restore(ref) {
      const snapshot = asRef(ref);
      const target = targetPlaces(
        options.root,
        posix.relative(posix.resolve('/', options.root), snapshot.target) + (snapshot.directory ? '/' : ''),
        args.taskId,
        connection,
      );
      await recoverPublish(client, target);
      if (snapshot.kind === 'hdfs-snapshot') {
        const copy = posix.join(
          snapshot.snapshotRoot,
          '.snapshot',
          snapshot.snapshotName,
          posix.basename(snapshot.target),
        );
        if (!(await client.statusIfExists(copy))) {
          throw new NotFoundError(
            `HDFS connection "${connection}": HDFS snapshot "${snapshot.snapshotName}" of ${snapshot.snapshotRoot} no longer holds ${posix.basename(snapshot.target)}; it was deleted and cannot be restored.`,
            { details: { path: copy } },
          );
        }
        await client.delete(restorePlace, { recursive: true });
        await copyTree(client, copy, restorePlace);
        await publishReplace(client, target, restorePlace, { keepPrevious: false });
        return;
      }
      const marker = await readJson(client, posix.join(snapshot.keptAt, snapshot.marker));
      if (!marker) {
        throw new NotFoundError(
          `HDFS connection "${connection}": snapshot ${snapshot.keptAt} no longer exists (it was discarded); it cannot be restored.`,
          { details: { path: snapshot.keptAt } },
        );
      }
      const data = posix.join(snapshot.keptAt, 'data');
      if (await client.statusIfExists(data)) {
        // Publish the kept version back; the version it replaces is not kept.
        await publishReplace(client, target, data, { keepPrevious: false });
        return;
      }
      // No publish replaced the target since take(): it is as it was, plus what an append added.
      const status = await client.statusIfExists(snapshot.target);
      const now = status ? await listTree(client, snapshot.target, status) : [];
      const byName = new Map(now.map((file) => [file.name, file]));
      const intact = snapshot.files.every((file) => {
        const found = byName.get(file.name);
        return found && found.length === file.length && found.modificationTime === file.modificationTime;
      });
      if (!intact) {
        throw new HonkError(
          'INTERNAL',
          `HDFS connection "${connection}": cannot restore ${snapshot.target} from snapshot ${snapshot.keptAt}: the target was changed by a writer that did not keep the previous version (files differ from those recorded at ${snapshot.takenAt}).`,
          { details: { path: snapshot.target } },
        );
      }
      const recorded = new Set(snapshot.files.map((file) => file.name));
      for (const file of now) if (!recorded.has(file.name)) await client.delete(posix.join(snapshot.target, file.name));
    },

    async discard(ref) {
      const snapshot = asRef(ref);
      if (snapshot.kind === 'hdfs-snapshot') {
        try {
          await client.deleteSnapshot(snapshot.snapshotRoot, snapshot.snapshotName);
        } catch (error) {
          if ((error as HonkError).details?.exception !== 'SnapshotException') throw error;
        }
        return;
      }
      if (!snapshot.keptAt.includes('/.honk-snapshots/')) {
        throw new ConfigError(
          `HDFS connector: "${snapshot.keptAt}" is not inside a .honk-snapshots directory; refusing to remove it.`,
        );
      }
      await client.delete(posix.join(snapshot.keptAt, snapshot.marker));
      // The kept version goes with the last snapshot that needs it.
      for await (const child of client.listStatus(snapshot.keptAt))
        if (child.pathSuffix.startsWith(MARKER_PREFIX)) return;
      await client.delete(snapshot.keptAt, { recursive: true });
    },
  };
}
