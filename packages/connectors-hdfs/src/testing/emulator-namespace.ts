/**
 * The file-system side of the WebHDFS emulator: HDFS namespace semantics over a local
 * directory. Paths are HDFS paths (`/a/b`); `root` holds the namespace as ordinary files, so
 * `honk-webhdfs-emulator --root DIR` serves a directory that already has data in it.
 *
 * Modelled closely enough to exercise a client end to end: owners and permission bits
 * (owner / other, a superuser that bypasses them) producing AccessControlException;
 * HDFS rename rules (into an existing directory, `false` answers, the OVERWRITE option);
 * snapshottable directories with `.snapshot/<name>/…` read-only views; content summaries.
 * Not modelled: groups (a group bit never grants), quotas, blocks and replication, leases.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import { EmulatedRemoteException } from './emulated-remote-exception.ts';
import { EmulatorSnapshots, SNAPSHOT_SEGMENT } from './emulator-snapshots.ts';

export { EmulatedRemoteException };

/** The FileStatus JSON of WebHDFS. */
export interface EmulatedFileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY';
  length: number;
  owner: string;
  group: string;
  permission: string;
  accessTime: number;
  modificationTime: number;
  blockSize: number;
  replication: number;
  childrenNum: number;
  fileId: number;
  storagePolicy: number;
}

interface Meta {
  owner: string;
  group: string;
  permission: string;
}

/** Normalises an HDFS path: absolute, no `.`/`..` escapes, no trailing slash. */
export function normaliseHdfsPath(path: string): string {
  const normal = posix.normalize(`/${decodeURIComponent(path)}`);
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal;
}

export interface NamespaceOptions {
  /** Local directory holding the namespace. */
  root: string;
  /** Local directory for snapshot copies and uploads in flight (outside `root`). */
  stateDirectory: string;
  /** The user that bypasses permission checks. Default `hdfs`. */
  superuser?: string;
}

/** HDFS namespace operations; every method throws {@link EmulatedRemoteException} like a name node. */
export class EmulatorNamespace {
  readonly root: string;
  readonly stateDirectory: string;
  readonly superuser: string;
  readonly #meta = new Map<string, Meta>();
  readonly snapshots: EmulatorSnapshots;
  #fileIds = new Map<string, number>();
  #nextFileId = 16_386;

  constructor(options: NamespaceOptions) {
    this.root = options.root;
    this.stateDirectory = options.stateDirectory;
    this.superuser = options.superuser ?? 'hdfs';
    this.snapshots = new EmulatorSnapshots(this);
  }

  /** The local file of an HDFS path; `.snapshot/<name>/…` paths resolve into the snapshot's copy. */
  local(path: string): { file: string; readOnly: boolean } {
    const normal = normaliseHdfsPath(path);
    const segments = normal.split('/').filter(Boolean);
    const index = segments.indexOf(SNAPSHOT_SEGMENT);
    if (index < 0) return { file: join(this.root, ...segments), readOnly: false };
    const directory = `/${segments.slice(0, index).join('/')}`;
    const name = segments[index + 1];
    const copy = name === undefined ? undefined : this.snapshots.copyOf(directory, name);
    if (copy === undefined) {
      throw new EmulatedRemoteException('FileNotFoundException', `File does not exist: ${normal}`);
    }
    return { file: join(copy, ...segments.slice(index + 2)), readOnly: true };
  }

  async #stat(path: string): Promise<Stats | undefined> {
    try {
      return await fs.stat(this.local(path).file);
    } catch (error) {
      if (error instanceof EmulatedRemoteException) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  #metaOf(path: string, directory: boolean): Meta {
    return (
      this.#meta.get(normaliseHdfsPath(path)) ?? {
        owner: this.superuser,
        group: 'supergroup',
        // Data that was in the directory before the emulator started is open to everyone.
        permission: directory ? '777' : '666',
      }
    );
  }

  #allowed(user: string, meta: Meta, bit: 4 | 2 | 1): boolean {
    if (user === this.superuser) return true;
    const digits = meta.permission.padStart(3, '0');
    const digit = Number(user === meta.owner ? digits.at(-3) : digits.at(-1));
    return (digit & bit) !== 0;
  }

  /** Throws AccessControlException unless `user` has the permission `bit` (4 r, 2 w, 1 x) on `path`. */
  async check(user: string, path: string, bit: 4 | 2 | 1, what: string): Promise<void> {
    const stat = await this.#stat(path);
    if (!stat) return;
    const meta = this.#metaOf(path, stat.isDirectory());
    if (!this.#allowed(user, meta, bit)) {
      const access = bit === 4 ? 'READ' : bit === 2 ? 'WRITE' : 'EXECUTE';
      throw new EmulatedRemoteException(
        'AccessControlException',
        `Permission denied: user=${user}, access=${access}, inode="${normaliseHdfsPath(path)}":${meta.owner}:${meta.group}:${stat.isDirectory() ? 'd' : '-'}${meta.permission} (${what})`,
      );
    }
  }

  async #checkWritableParent(user: string, path: string, what: string): Promise<void> {
    const normal = normaliseHdfsPath(path);
    if (this.local(normal).readOnly) {
      throw new EmulatedRemoteException(
        'SnapshotAccessControlException',
        `Modification on a read-only snapshot is disallowed: ${normal}`,
      );
    }
    // The nearest existing ancestor decides, as it does for HDFS mkdirs/create with parents.
    let parent = posix.dirname(normal);
    while (parent !== '/' && !(await this.#stat(parent))) parent = posix.dirname(parent);
    await this.check(user, parent, 2, what);
  }

  #setMeta(path: string, owner: string, permission: string): void {
    this.#meta.set(normaliseHdfsPath(path), { owner, group: 'supergroup', permission });
  }

  async status(path: string, suffix = ''): Promise<EmulatedFileStatus> {
    const normal = normaliseHdfsPath(path);
    const stat = await this.#stat(normal);
    if (!stat) throw new EmulatedRemoteException('FileNotFoundException', `File does not exist: ${normal}`);
    const directory = stat.isDirectory();
    const meta = this.#metaOf(normal, directory);
    let fileId = this.#fileIds.get(normal);
    if (fileId === undefined) {
      fileId = this.#nextFileId++;
      this.#fileIds.set(normal, fileId);
    }
    return {
      pathSuffix: suffix,
      type: directory ? 'DIRECTORY' : 'FILE',
      length: directory ? 0 : stat.size,
      owner: meta.owner,
      group: meta.group,
      permission: meta.permission,
      accessTime: directory ? 0 : Math.floor(stat.atimeMs),
      modificationTime: Math.floor(stat.mtimeMs),
      blockSize: directory ? 0 : 134_217_728,
      replication: directory ? 0 : 3,
      childrenNum: directory ? (await fs.readdir(this.local(normal).file)).length : 0,
      fileId,
      storagePolicy: 0,
    };
  }

  /** Children of a directory (name order), or the file itself with an empty suffix. */
  async list(path: string, user: string): Promise<EmulatedFileStatus[]> {
    const normal = normaliseHdfsPath(path);
    const own = await this.status(normal);
    await this.check(user, normal, 4, 'listStatus');
    if (own.type === 'FILE') return [own];
    const names = (await fs.readdir(this.local(normal).file)).sort();
    const out: EmulatedFileStatus[] = [];
    for (const name of names) {
      const child = await this.status(posix.join(normal, name), name).catch(() => undefined);
      if (child) out.push(child);
    }
    return out;
  }

  async mkdirs(path: string, user: string, permission = '755'): Promise<boolean> {
    const normal = normaliseHdfsPath(path);
    const stat = await this.#stat(normal);
    if (stat?.isDirectory()) return true;
    if (stat) throw new EmulatedRemoteException('FileAlreadyExistsException', `Path is not a directory: ${normal}`);
    await this.#checkWritableParent(user, normal, 'mkdirs');
    const missing: string[] = [];
    for (let at = normal; at !== '/' && !(await this.#stat(at)); at = posix.dirname(at)) missing.push(at);
    await fs.mkdir(this.local(normal).file, { recursive: true });
    for (const made of missing) this.#setMeta(made, user, permission);
    return true;
  }

  /** Checks a CREATE at the name node (the data node writes the bytes). */
  async checkCreate(path: string, user: string, overwrite: boolean): Promise<void> {
    const normal = normaliseHdfsPath(path);
    const stat = await this.#stat(normal);
    if (stat?.isDirectory()) {
      throw new EmulatedRemoteException('FileAlreadyExistsException', `${normal} already exists as a directory`);
    }
    if (stat && !overwrite) {
      throw new EmulatedRemoteException('FileAlreadyExistsException', `${normal} for client 127.0.0.1 already exists`);
    }
    await this.#checkWritableParent(user, normal, 'create');
  }

  /** A fresh local file for an upload in flight; {@link commitUpload} puts it in place. */
  uploadFile(): string {
    return join(this.stateDirectory, 'uploads', randomUUID());
  }

  async commitUpload(upload: string, path: string, user: string, overwrite: boolean, permission = '644') {
    await this.checkCreate(path, user, overwrite);
    const normal = normaliseHdfsPath(path);
    await this.mkdirs(posix.dirname(normal), user);
    await fs.rename(upload, this.local(normal).file);
    this.#setMeta(normal, user, permission);
    this.#fileIds.delete(normal);
  }

  async checkAppend(path: string, user: string): Promise<void> {
    const normal = normaliseHdfsPath(path);
    const stat = await this.#stat(normal);
    if (!stat) throw new EmulatedRemoteException('FileNotFoundException', `File does not exist: ${normal}`);
    if (stat.isDirectory()) throw new EmulatedRemoteException('FileNotFoundException', `${normal} is a directory`);
    if (this.local(normal).readOnly) {
      throw new EmulatedRemoteException(
        'SnapshotAccessControlException',
        `Modification on a read-only snapshot is disallowed: ${normal}`,
      );
    }
    await this.check(user, normal, 2, 'append');
  }

  /** Where OPEN reads: checks the file exists, is a file and is readable. */
  async openFile(path: string, user: string): Promise<{ file: string; size: number }> {
    const normal = normaliseHdfsPath(path);
    const status = await this.status(normal);
    if (status.type !== 'FILE')
      throw new EmulatedRemoteException('FileNotFoundException', `Path is not a file: ${normal}`);
    await this.check(user, normal, 4, 'open');
    return { file: this.local(normal).file, size: status.length };
  }

  async rename(from: string, to: string, user: string, overwrite: boolean): Promise<boolean> {
    const source = normaliseHdfsPath(from);
    let destination = normaliseHdfsPath(to);
    const stat = await this.#stat(source);
    if (!stat) {
      if (overwrite)
        throw new EmulatedRemoteException('FileNotFoundException', `rename source ${source} is not found.`);
      return false;
    }
    await this.#checkWritableParent(user, source, 'rename');
    await this.#checkWritableParent(user, destination, 'rename');
    if (source === '/' || destination.startsWith(`${source}/`)) return false;
    const target = await this.#stat(destination);
    if (target?.isDirectory() && !overwrite) {
      destination = posix.join(destination, posix.basename(source));
      if (await this.#stat(destination)) return false;
    } else if (target) {
      if (!overwrite) return false;
      if (target.isDirectory() !== stat.isDirectory()) {
        throw new EmulatedRemoteException(
          'IOException',
          `Source ${source} and destination ${destination} must both be directories or files`,
        );
      }
      if (target.isDirectory() && (await fs.readdir(this.local(destination).file)).length > 0) {
        throw new EmulatedRemoteException('IOException', `rename destination directory is not empty: ${destination}`);
      }
      await fs.rm(this.local(destination).file, { recursive: true, force: true });
    }
    const parent = await this.#stat(posix.dirname(destination));
    if (!parent?.isDirectory()) {
      if (overwrite)
        throw new EmulatedRemoteException(
          'FileNotFoundException',
          `rename destination parent ${posix.dirname(destination)} not found.`,
        );
      return false;
    }
    await fs.rename(this.local(source).file, this.local(destination).file);
    this.#moveMeta(source, destination);
    return true;
  }

  #moveMeta(from: string, to: string): void {
    for (const map of [this.#meta, this.#fileIds] as Map<string, unknown>[]) {
      for (const [key, value] of [...map]) {
        if (key === from || key.startsWith(`${from}/`)) {
          map.delete(key);
          map.set(`${to}${key.slice(from.length)}`, value);
        }
      }
    }
  }

  async delete(path: string, user: string, recursive: boolean): Promise<boolean> {
    const normal = normaliseHdfsPath(path);
    const stat = await this.#stat(normal);
    if (!stat) return false;
    await this.#checkWritableParent(user, normal, 'delete');
    if (stat.isDirectory()) {
      const holder = this.snapshots.holderUnder(normal);
      if (holder !== undefined) {
        throw new EmulatedRemoteException(
          'SnapshotException',
          `The directory ${holder} cannot be deleted since ${holder} is snapshottable and already has snapshots`,
        );
      }
      if (!recursive && (await fs.readdir(this.local(normal).file)).length > 0) {
        throw new EmulatedRemoteException(
          'PathIsNotEmptyDirectoryException',
          `\`${normal} is non empty': Directory is not empty`,
        );
      }
    }
    await fs.rm(this.local(normal).file, { recursive: true, force: true });
    for (const key of [...this.#meta.keys()])
      if (key === normal || key.startsWith(`${normal}/`)) this.#meta.delete(key);
    return true;
  }

  async setPermission(path: string, user: string, permission: string): Promise<void> {
    const normal = normaliseHdfsPath(path);
    const status = await this.status(normal);
    if (user !== this.superuser && user !== status.owner) {
      throw new EmulatedRemoteException(
        'AccessControlException',
        `Permission denied. user=${user} is not the owner of inode=${normal}`,
      );
    }
    this.#meta.set(normal, {
      owner: status.owner,
      group: status.group,
      permission: permission.replace(/^0+(?=\d{3})/, ''),
    });
  }

  async setOwner(path: string, user: string, owner: string): Promise<void> {
    const normal = normaliseHdfsPath(path);
    const status = await this.status(normal);
    if (user !== this.superuser) {
      throw new EmulatedRemoteException('AccessControlException', `Non-super user cannot change owner (user=${user})`);
    }
    this.#meta.set(normal, { owner, group: status.group, permission: status.permission });
  }

  async contentSummary(path: string, user: string) {
    const normal = normaliseHdfsPath(path);
    const own = await this.status(normal);
    await this.check(user, normal, 4, 'getContentSummary');
    let length = 0;
    let fileCount = 0;
    let directoryCount = 0;
    const walk = async (at: string, status: EmulatedFileStatus) => {
      if (status.type === 'FILE') {
        fileCount += 1;
        length += status.length;
        return;
      }
      directoryCount += 1;
      for (const child of await this.list(at, this.superuser)) await walk(posix.join(at, child.pathSuffix), child);
    };
    await walk(normal, own);
    return { directoryCount, fileCount, length, quota: -1, spaceConsumed: length * 3, spaceQuota: -1, typeQuota: {} };
  }
}
