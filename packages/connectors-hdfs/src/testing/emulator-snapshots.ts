/**
 * Snapshots in the emulator: snapshottable directories (ALLOWSNAPSHOT), and for each
 * snapshot a copy of the directory taken at CREATESNAPSHOT, served read-only under
 * `<dir>/.snapshot/<name>/…`. A copy is simpler than HDFS's copy-on-write and, for test-sized
 * data, behaves the same to a client.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { EmulatedRemoteException } from './emulated-remote-exception.ts';
import { type EmulatorNamespace, normaliseHdfsPath } from './emulator-namespace.ts';

/** The path segment under which a snapshottable directory shows its snapshots. */
export const SNAPSHOT_SEGMENT = '.snapshot';

export class EmulatorSnapshots {
  readonly #namespace: EmulatorNamespace;
  readonly #snapshottable = new Set<string>();
  /** Snapshottable directory → snapshot name → local copy. */
  readonly #snapshots = new Map<string, Map<string, string>>();

  constructor(namespace: EmulatorNamespace) {
    this.#namespace = namespace;
  }

  /** The local copy of snapshot `name` of `directory`, if it exists. */
  copyOf(directory: string, name: string): string | undefined {
    return this.#snapshots.get(directory)?.get(name);
  }

  /** A snapshottable directory at or under `path` that has snapshots (it cannot be deleted). */
  holderUnder(path: string): string | undefined {
    for (const [directory, snapshots] of this.#snapshots) {
      if ((directory === path || directory.startsWith(`${path}/`)) && snapshots.size > 0) return directory;
    }
    return undefined;
  }

  async allowSnapshot(path: string, user: string): Promise<void> {
    const normal = normaliseHdfsPath(path);
    if ((await this.#namespace.status(normal)).type !== 'DIRECTORY') {
      throw new EmulatedRemoteException('SnapshotException', `${normal} is not a directory`);
    }
    if (user !== this.#namespace.superuser) {
      throw new EmulatedRemoteException(
        'AccessControlException',
        `Access denied for user ${user}. Superuser privilege is required`,
      );
    }
    this.#snapshottable.add(normal);
  }

  #snapshotsOf(path: string): Map<string, string> {
    const normal = normaliseHdfsPath(path);
    if (!this.#snapshottable.has(normal)) {
      throw new EmulatedRemoteException('SnapshotException', `Directory is not a snapshottable directory: ${normal}`);
    }
    let snapshots = this.#snapshots.get(normal);
    if (!snapshots) {
      snapshots = new Map();
      this.#snapshots.set(normal, snapshots);
    }
    return snapshots;
  }

  async createSnapshot(path: string, user: string, name?: string): Promise<string> {
    const normal = normaliseHdfsPath(path);
    const snapshots = this.#snapshotsOf(normal);
    await this.#namespace.check(user, normal, 2, 'createSnapshot');
    const snapshotName = name ?? `s${new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
    if (snapshots.has(snapshotName)) {
      throw new EmulatedRemoteException(
        'SnapshotException',
        `Failed to add snapshot: there is already a snapshot with the same name "${snapshotName}".`,
      );
    }
    const copy = join(this.#namespace.stateDirectory, 'snapshots', randomUUID());
    await fs.cp(this.#namespace.local(normal).file, copy, { recursive: true });
    snapshots.set(snapshotName, copy);
    return `${normal === '/' ? '' : normal}/${SNAPSHOT_SEGMENT}/${snapshotName}`;
  }

  async renameSnapshot(path: string, user: string, from: string, to: string): Promise<void> {
    const snapshots = this.#snapshotsOf(path);
    await this.#namespace.check(user, path, 2, 'renameSnapshot');
    const copy = snapshots.get(from);
    if (copy === undefined) {
      throw new EmulatedRemoteException(
        'SnapshotException',
        `The snapshot ${from} does not exist for directory ${normaliseHdfsPath(path)}`,
      );
    }
    if (snapshots.has(to)) throw new EmulatedRemoteException('SnapshotException', `The snapshot ${to} already exists`);
    snapshots.delete(from);
    snapshots.set(to, copy);
  }

  async deleteSnapshot(path: string, user: string, name: string): Promise<void> {
    const snapshots = this.#snapshotsOf(path);
    const copy = snapshots.get(name);
    if (copy === undefined) {
      throw new EmulatedRemoteException(
        'SnapshotException',
        `Cannot delete snapshot ${name} from path ${normaliseHdfsPath(path)}: the snapshot does not exist.`,
      );
    }
    await this.#namespace.check(user, path, 2, 'deleteSnapshot');
    snapshots.delete(name);
    await fs.rm(copy, { recursive: true, force: true });
  }
}
