/**
 * Making staged data the target, on HDFS, where RENAME is atomic (one name-node operation)
 * but there is no atomic replace of a non-empty directory.
 *
 * Replace:
 * - no target yet: RENAME the staged directory (or file) into place;
 * - a single-file target, no snapshot to keep: RENAME with OVERWRITE, atomic;
 * - otherwise: write the journal `<parent>/.honk-publish-<name>.json`, RENAME the old target
 *   aside (into a kept snapshot, when one is pending, see hdfs-snapshot.ts), RENAME the staged
 *   one into place, remove the journal, then the aside copy (unless it is the snapshot).
 *   Between the two renames the path does not exist: Honk's readers that find it missing
 *   with a journal beside it fail with `SOURCE_CHANGED` and retry; they never see a mix.
 *   A crash in that window is repaired by {@link recoverPublish} (the next `open()` of the
 *   task, a snapshot's `take()`): the old target is renamed back.
 *
 * Append (directory targets): the journal lists the part files, which are renamed into the
 * target as `part-<task>-NNNNN.<ext>`. Part files an earlier run of the same task appended
 * are removed first, so running a task twice never duplicates rows. Honk's readers treat the
 * directory as changing while the journal exists; an interrupted append is rolled back.
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { safeName } from '@honk/core';
import { type HdfsTargetPlaces, type PublishJournal, readJournal } from './hdfs-paths.ts';
import type { HdfsFileStatus, WebHdfsClient } from './webhdfs-client.ts';

/** Kept snapshots' markers are named `_honk_snapshot-<id>.json` inside the version's directory. */
export const MARKER_PREFIX = '_honk_snapshot-';

/** A file of a target, relative to it ('' for a file target). */
export type ListedFile = { name: string; length: number; modificationTime: number };

/** Every file of a target (a file, or a directory tree), sorted by name. */
export async function listTree(client: WebHdfsClient, path: string, status: HdfsFileStatus): Promise<ListedFile[]> {
  if (status.type === 'FILE') return [{ name: '', length: status.length, modificationTime: status.modificationTime }];
  const out: ListedFile[] = [];
  const walk = async (directory: string, prefix: string) => {
    for await (const child of client.listStatus(directory)) {
      const name = `${prefix}${child.pathSuffix}`;
      if (child.type === 'DIRECTORY') await walk(posix.join(directory, child.pathSuffix), `${name}/`);
      else out.push({ name, length: child.length, modificationTime: child.modificationTime });
    }
  };
  await walk(path, '');
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * The version of a target's contents: a hash of its file names, lengths and modification
 * times. Kept snapshots of the same version share one directory, so a publish keeps the
 * version it replaces once, for every snapshot taken of it.
 */
export function versionOf(files: readonly ListedFile[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file.name}:${file.length}:${file.modificationTime}\n`);
  return hash.digest('hex').slice(0, 16);
}

/** Writes a small JSON file in one CREATE (overwriting). */
export async function writeJson(client: WebHdfsClient, path: string, value: unknown): Promise<void> {
  const upload = await client.create(path, { overwrite: true });
  await upload.write(Buffer.from(`${JSON.stringify(value, null, 2)}\n`));
  await upload.finish();
}

/** Reads a small JSON file; `undefined` when it does not exist. */
export async function readJson<T>(client: WebHdfsClient, path: string): Promise<T | undefined> {
  let text = '';
  try {
    for await (const chunk of await client.open(path)) text += Buffer.from(chunk).toString();
  } catch (error) {
    if ((error as { code?: string }).code === 'NOT_FOUND') return undefined;
    throw error;
  }
  return JSON.parse(text) as T;
}

/**
 * Where a publish should keep the version it replaces: `<snapshots>/<version>/data`, when a
 * snapshot of exactly this version is waiting for it (a marker and no data yet).
 */
export async function pendingSnapshotData(
  client: WebHdfsClient,
  places: HdfsTargetPlaces,
): Promise<string | undefined> {
  const status = await client.statusIfExists(places.target);
  if (!status || !(await client.statusIfExists(places.snapshots))) return undefined;
  const directory = posix.join(places.snapshots, versionOf(await listTree(client, places.target, status)));
  let marked = false;
  try {
    for await (const child of client.listStatus(directory)) {
      if (child.pathSuffix === 'data') return undefined;
      if (child.pathSuffix.startsWith(MARKER_PREFIX)) marked = true;
    }
  } catch (error) {
    if ((error as { code?: string }).code === 'NOT_FOUND') return undefined;
    throw error;
  }
  return marked ? posix.join(directory, 'data') : undefined;
}

const isKept = (path: string) => path.includes('/.honk-snapshots/');

/** Repairs an interrupted publish of this target (see the module comment). Idempotent. */
export async function recoverPublish(client: WebHdfsClient, places: HdfsTargetPlaces): Promise<void> {
  const journal = await readJournal(client, places.target);
  if (!journal) return;
  if (journal.kind === 'replace' && journal.aside) {
    const [target, aside] = await Promise.all([
      client.statusIfExists(places.target),
      client.statusIfExists(journal.aside),
    ]);
    if (!target && aside) await client.rename(journal.aside, places.target);
    else if (target && aside && !isKept(journal.aside)) await client.delete(journal.aside, { recursive: true });
  } else if (journal.kind === 'append') {
    for (const name of journal.files ?? []) await client.delete(posix.join(places.target, name));
  }
  await client.delete(places.journal);
}

/**
 * Replaces the target with `ready` (the staged directory, or the staged file of a file
 * target). `keepPrevious: false` (a restore) never moves the replaced version into a snapshot.
 */
export async function publishReplace(
  client: WebHdfsClient,
  places: HdfsTargetPlaces,
  ready: string,
  { keepPrevious = true }: { keepPrevious?: boolean } = {},
): Promise<void> {
  const keep = keepPrevious ? await pendingSnapshotData(client, places) : undefined;
  if (!(await client.statusIfExists(places.target))) {
    await client.mkdirs(places.parent);
    await client.rename(ready, places.target);
    return;
  }
  if (!places.directory && !keep) {
    await client.rename(ready, places.target, { overwrite: true });
    return;
  }
  const aside = keep ?? places.aside;
  if (!keep) await client.delete(aside, { recursive: true });
  await writeJson(client, places.journal, { kind: 'replace', target: places.target, aside } satisfies PublishJournal);
  await client.rename(places.target, aside);
  await client.rename(ready, places.target);
  await client.delete(places.journal);
  if (!keep) await client.delete(aside, { recursive: true });
}

/** The name an appended part file gets in the target. */
export function appendedName(taskId: string, index: number, extension: string): string {
  return `part-${safeName(taskId)}-${String(index).padStart(5, '0')}${extension}`;
}

/** Moves the staged part files into the target directory (see the module comment). */
export async function publishAppend(
  client: WebHdfsClient,
  places: HdfsTargetPlaces,
  taskId: string,
  staged: readonly string[],
  extension: string,
): Promise<string[]> {
  if (!(await client.statusIfExists(places.target))) {
    await publishReplace(client, places, places.staging);
    return staged.map((file) => posix.basename(file));
  }
  const names = staged.map((_, index) => appendedName(taskId, index, extension));
  await writeJson(client, places.journal, {
    kind: 'append',
    target: places.target,
    files: names,
  } satisfies PublishJournal);
  const own = `part-${safeName(taskId)}-`;
  for await (const status of client.listStatus(places.target)) {
    if (status.type === 'FILE' && status.pathSuffix.startsWith(own))
      await client.delete(posix.join(places.target, status.pathSuffix));
  }
  for (const [index, file] of staged.entries()) {
    await client.rename(file, posix.join(places.target, names[index] as string), { overwrite: true });
  }
  await client.delete(places.journal);
  await client.delete(places.staging, { recursive: true });
  return names;
}
