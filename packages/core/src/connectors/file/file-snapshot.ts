/**
 * Snapshots of a file target by hard links: `take()` links the target (the file, or every
 * file of the directory) into `<dir>/.honk-snapshots/<task>/<timestamp>/`, which costs no
 * data copy. That is safe because Honk never writes into a published file: publishing
 * renames a new inode over the name, so the linked inode keeps the old bytes untouched.
 * (Someone else rewriting the target in place would change the snapshot too; on file
 * systems without hard links, or across devices, the snapshot falls back to a copy.)
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Snapshot, SnapshotRef } from '../../connector/connector.ts';
import { ConfigError, NotFoundError } from '../../errors/honk-error.ts';
import type { FileEndpoint, FileOptions } from './file-options.ts';
import { exists, resolveUnderRoot, safeName, syncDirectory, type TargetPlaces, targetPlaces } from './file-paths.ts';
import { recoverAside, swapInto } from './file-sink.ts';

/** The JSON a file snapshot stores on the task record. Paths are relative to the root. */
export interface FileSnapshotRef extends SnapshotRef {
  connector: 'file';
  takenAt: string;
  /** The snapshot copy of the target, relative to the connection root. */
  path: string;
  /** The target it was taken of, relative to the connection root. */
  target: string;
  /** Whether the target is a directory of parts. */
  directory: boolean;
}

/** Links (or copies, when linking fails) a file or directory tree. */
export async function linkTree(from: string, to: string): Promise<void> {
  const stat = await fs.stat(from);
  if (stat.isDirectory()) {
    await fs.mkdir(to, { recursive: true });
    for (const entry of await fs.readdir(from)) await linkTree(path.join(from, entry), path.join(to, entry));
    return;
  }
  try {
    await fs.link(from, to);
  } catch {
    await fs.copyFile(from, to);
  }
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

function asRef(ref: SnapshotRef): FileSnapshotRef {
  const value = ref as Partial<FileSnapshotRef>;
  if (value.connector !== 'file' || typeof value.path !== 'string' || typeof value.target !== 'string') {
    throw new ConfigError(
      `File connector: the snapshot reference is not a file snapshot (${JSON.stringify(ref)}). Restore it with the connector that took it.`,
    );
  }
  return value as FileSnapshotRef;
}

/** Snapshots of one target. */
export class FileSnapshot implements Snapshot {
  readonly #root: string;
  readonly #taskId: string;
  readonly #places: TargetPlaces;

  constructor(options: FileOptions, endpoint: FileEndpoint, context: { taskId: string }) {
    this.#root = options.root;
    this.#taskId = context.taskId;
    this.#places = targetPlaces(options.root, endpoint.path, context.taskId);
  }

  async take(): Promise<FileSnapshotRef | null> {
    await recoverAside(this.#places);
    if (!(await exists(this.#places.target))) return null;
    const takenAt = new Date();
    const base = path.join(this.#places.parent, '.honk-snapshots', safeName(this.#taskId));
    let directory = path.join(base, stamp(takenAt));
    for (let attempt = 1; await exists(directory); attempt++)
      directory = path.join(base, `${stamp(takenAt)}-${attempt}`);
    await fs.mkdir(directory, { recursive: true });
    const copy = path.join(directory, path.basename(this.#places.target));
    await linkTree(this.#places.target, copy);
    await syncDirectory(directory);
    return {
      connector: 'file',
      takenAt: takenAt.toISOString(),
      path: path.relative(path.resolve(this.#root), copy),
      target: path.relative(path.resolve(this.#root), this.#places.target),
      directory: this.#places.directory,
    };
  }

  async restore(ref: SnapshotRef): Promise<void> {
    const file = asRef(ref);
    const copy = resolveUnderRoot(this.#root, file.path, 'snapshot path');
    if (!(await exists(copy))) {
      throw new NotFoundError(`File connector: snapshot "${copy}" no longer exists; it cannot be restored.`, {
        details: { path: copy },
      });
    }
    const places = targetPlaces(this.#root, file.directory ? `${file.target}/` : file.target, this.#taskId);
    const ready = path.join(places.parent, `.honk-restore-${safeName(this.#taskId)}-${path.basename(places.target)}`);
    await fs.rm(ready, { recursive: true, force: true });
    // Stage a linked copy and rename it in, so the target flips atomically and the snapshot
    // stays intact for another restore.
    await linkTree(copy, ready);
    await swapInto(ready, places);
  }

  async discard(ref: SnapshotRef): Promise<void> {
    const file = asRef(ref);
    const copy = resolveUnderRoot(this.#root, file.path, 'snapshot path');
    const stampDirectory = path.dirname(copy);
    if (!stampDirectory.includes(`${path.sep}.honk-snapshots${path.sep}`)) {
      throw new ConfigError(
        `File connector: "${file.path}" is not inside a .honk-snapshots directory; refusing to remove it.`,
      );
    }
    await fs.rm(stampDirectory, { recursive: true, force: true });
    // Tidy empty parents; rmdir fails harmlessly when other snapshots remain.
    const taskDirectory = path.dirname(stampDirectory);
    await fs.rmdir(taskDirectory).catch(() => undefined);
    await fs.rmdir(path.dirname(taskDirectory)).catch(() => undefined);
  }
}
