/**
 * JournalTaskStore: the embedded durable queue `honk run` uses by default (in `.honk/`
 * beside the spec), so a run killed at any point — even with `kill -9` — resumes on re-run
 * and never redoes a task it acknowledged as succeeded. Plain files, no database engine.
 *
 * Layout of the store directory:
 * - `journal-<g>.log`: one change per line, appended; each line is the CRC-32 (8 hex
 *   digits) of its JSON followed by the JSON. A mutation is acknowledged only after its
 *   lines are written and `fdatasync`ed. Concurrent mutations share one write and one sync
 *   (group commit), which is what makes many in-process agents fast.
 * - `snapshot.log`: the whole state at the start of generation `g`, in the same line
 *   format, framed by a header and an end marker. Written to a temporary file, synced and
 *   renamed into place, so it is either the old or the new snapshot, never half of one.
 * - `lock`: `{ pid, hostname }` of the one process that has the store open.
 *
 * Recovery on open: load the snapshot, replay the journal up to the first line that is
 * incomplete or fails its checksum (a torn tail from a crash mid-write: never acknowledged,
 * so dropping it loses nothing acknowledged), truncate the journal there, and take back
 * every lease (the lock guarantees the process that held them is gone). Should valid lines
 * follow a bad one — damage, not a torn write — the dropped bytes are kept beside the
 * journal in `journal-<g>.log.damaged-<time>` for inspection.
 *
 * Compaction: when the journal holds `compactAfterRecords` lines (and more than there are
 * tasks), the state is written as a new snapshot of generation g+1 and an empty
 * `journal-<g+1>.log` starts. Replay is idempotent (every line is a whole-record put), so
 * changes made while the snapshot is written may appear in both without harm.
 */
import { randomUUID } from 'node:crypto';
import { type FileHandle, link, mkdir, open, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Json } from '../connector/connector.ts';
import { HonkError, StoreUnavailableError } from '../errors/honk-error.ts';
import { TableTaskStore } from './table-task-store.ts';
import type { TaskRecord } from './task-store.ts';
import type { TableEntry } from './task-table.ts';

export interface JournalTaskStoreOptions {
  /** Compact once the journal holds this many records (and more than there are tasks). Default 50,000. */
  compactAfterRecords?: number;
}

/** What `open` found and repaired; useful in logs after a crash. */
export interface JournalRecovery {
  /** Records replayed from the snapshot and the journal. */
  replayedRecords: number;
  /** Bytes cut from the journal's tail (a torn or damaged write). */
  truncatedBytes: number;
  /** Where the cut bytes were kept, when valid records followed the damage. */
  damagedTailPath?: string;
  /** Running tasks of the previous process whose leases were taken back. */
  expiredLeases: number;
}

type JournalLine =
  | { t: 'p'; r: Omit<TaskRecord, 'definition'> & { definition?: Json } }
  | { t: 'l'; v: Record<string, number | null> }
  | { t: 'r'; n: string; h: string | null; e: number }
  | { t: 's'; g: number; n: number }
  | { t: 'e'; n: number };

const SNAPSHOT_FILE = 'snapshot.log';
const LOCK_FILE = 'lock';

function journalFile(generation: number): string {
  return `journal-${generation}.log`;
}

function encodeLine(line: JournalLine): string {
  const json = JSON.stringify(line);
  return `${crc32(json).toString(16).padStart(8, '0')}${json}\n`;
}

function toLine(entry: TableEntry): JournalLine {
  if (entry.kind === 'put') {
    return { t: 'p', r: entry.definitionChanged ? entry.record : { ...entry.record, definition: undefined } };
  }
  if (entry.kind === 'limits') return { t: 'l', v: entry.limits };
  return { t: 'r', n: entry.name, h: entry.holder, e: entry.expiresAtMs };
}

/** Decodes one line (without its newline), or undefined when it is damaged. */
function decodeLine(text: string): JournalLine | undefined {
  if (text.length < 10) return undefined;
  const checksum = Number.parseInt(text.slice(0, 8), 16);
  const json = text.slice(8);
  if (!Number.isFinite(checksum) || crc32(json) !== checksum) return undefined;
  try {
    const line = JSON.parse(json) as JournalLine;
    return typeof line === 'object' && line !== null && ['p', 'l', 'r', 's', 'e'].includes(line.t) ? line : undefined;
  } catch {
    return undefined;
  }
}

/** Splits a file into decoded lines up to the first damaged or unterminated one. */
function decodeFile(buffer: Buffer): { lines: JournalLine[]; validEnd: number; damageFollowedByValid: boolean } {
  const lines: JournalLine[] = [];
  let position = 0;
  while (position < buffer.length) {
    const newline = buffer.indexOf(10, position);
    if (newline === -1) break; // unterminated: a torn write
    const line = decodeLine(buffer.toString('utf8', position, newline));
    if (line === undefined) break;
    lines.push(line);
    position = newline + 1;
  }
  let damageFollowedByValid = false;
  if (position < buffer.length) {
    const rest = buffer.toString('utf8', position).split('\n').slice(1, -1);
    damageFollowedByValid = rest.some((text) => decodeLine(text) !== undefined);
  }
  return { lines, validEnd: position, damageFollowedByValid };
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeAll(handle: FileHandle, text: string): Promise<void> {
  const buffer = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
    offset += bytesWritten;
  }
}

interface LockHolder {
  pid: number;
  hostname: string;
  acquiredAt: string;
}

function isAlive(holder: LockHolder): boolean {
  if (holder.hostname !== hostname()) return true; // cannot tell: assume it is
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the directory's lock. The lock file is created complete under a temporary name and
 * hard-linked into place, so a reader never sees a half-written lock. A lock left by a
 * dead process on this host is taken over.
 */
async function acquireLock(dir: string): Promise<void> {
  const lockPath = join(dir, LOCK_FILE);
  const temporary = join(dir, `${LOCK_FILE}.${process.pid}.${randomUUID()}.tmp`);
  const me: LockHolder = { pid: process.pid, hostname: hostname(), acquiredAt: new Date().toISOString() };
  await writeFile(temporary, JSON.stringify(me));
  try {
    for (let round = 0; round < 5; round += 1) {
      try {
        await link(temporary, lockPath);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const content = await readIfExists(lockPath);
      let holder: LockHolder | undefined;
      try {
        holder = content === undefined ? undefined : (JSON.parse(content.toString('utf8')) as LockHolder);
      } catch {
        holder = undefined; // unreadable: not written by a live store
      }
      if (holder !== undefined && isAlive(holder)) {
        const who =
          holder.pid === process.pid && holder.hostname === me.hostname ? 'this process' : `process ${holder.pid}`;
        throw new StoreUnavailableError(
          `The task store in "${dir}" is already open by ${who} on host "${holder.hostname}" (since ${holder.acquiredAt}). ` +
            'An embedded store serves one process at a time: wait for that run to finish or stop it, close the other ' +
            'store first, or use a shared store (--store postgres://…) for several processes.',
          { details: { dir, pid: holder.pid, hostname: holder.hostname } },
        );
      }
      await unlinkIfExists(lockPath); // stale: its process is gone
    }
    throw new StoreUnavailableError(`Could not take the lock of the task store in "${dir}"; try again.`);
  } finally {
    await unlinkIfExists(temporary);
  }
}

export class JournalTaskStore extends TableTaskStore {
  readonly name: string;
  readonly dir: string;
  /** Filled by `open`. */
  recovery: JournalRecovery = { replayedRecords: 0, truncatedBytes: 0, expiredLeases: 0 };

  private readonly compactAfterRecords: number;
  private generation = 0;
  private journal: FileHandle | undefined;
  private journalRecords = 0;
  private pendingText: string[] = [];
  private pendingRecords = 0;
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private draining: Promise<void> | undefined;
  private broken: HonkError | undefined;
  private compactRequested = false;

  private constructor(dir: string, options: JournalTaskStoreOptions) {
    super();
    this.dir = dir;
    this.name = `journal:${dir}`;
    this.compactAfterRecords = options.compactAfterRecords ?? 50_000;
  }

  /**
   * Opens (creating if needed) the store in `dir`, recovering from any crash. Throws a
   * StoreUnavailableError (`STORE_UNAVAILABLE`) naming the holder when another live process has it open.
   */
  static async open(dir: string, options: JournalTaskStoreOptions = {}): Promise<JournalTaskStore> {
    const absolute = resolve(dir);
    await mkdir(absolute, { recursive: true });
    await acquireLock(absolute);
    const store = new JournalTaskStore(absolute, options);
    try {
      await store.load();
    } catch (error) {
      await store.journal?.close().catch(() => {});
      await unlinkIfExists(join(absolute, LOCK_FILE));
      throw error;
    }
    return store;
  }

  /** Writes a snapshot and starts a fresh journal now (normally automatic). */
  async compact(): Promise<void> {
    this.assertOpen();
    this.compactRequested = true;
    this.pendingText.push('');
    await this.schedule();
  }

  protected persist(entries: TableEntry[]): Promise<void> {
    if (this.broken !== undefined) return Promise.reject(this.broken);
    let text = '';
    for (const entry of entries) text += encodeLine(toLine(entry));
    this.pendingText.push(text);
    this.pendingRecords += entries.length;
    return this.schedule();
  }

  protected override assertOpen(): void {
    super.assertOpen();
    if (this.broken !== undefined) throw this.broken;
  }

  protected async closeStore(): Promise<void> {
    try {
      while (this.draining !== undefined) await this.draining.catch(() => {});
      await this.journal?.close();
      this.journal = undefined;
    } finally {
      await unlinkIfExists(join(this.dir, LOCK_FILE));
    }
  }

  /** Waits until the text queued so far is durable; starts the writer when idle. */
  private schedule(): Promise<void> {
    const done = new Promise<void>((resolvePromise, reject) => {
      this.waiters.push({ resolve: resolvePromise, reject });
    });
    if (this.draining === undefined) {
      this.draining = this.drain().finally(() => {
        this.draining = undefined;
      });
    }
    return done;
  }

  /** The single writer: one write + one fdatasync per round, whatever queued meanwhile. */
  private async drain(): Promise<void> {
    while (this.waiters.length > 0) {
      const text = this.pendingText.join('');
      const records = this.pendingRecords;
      const waiters = this.waiters;
      this.pendingText = [];
      this.pendingRecords = 0;
      this.waiters = [];
      try {
        const journal = this.journal as FileHandle;
        if (text.length > 0) {
          await writeAll(journal, text);
          await journal.datasync();
        }
        this.journalRecords += records;
        if (
          this.compactRequested ||
          (this.journalRecords >= this.compactAfterRecords && this.journalRecords > this.table.size)
        ) {
          this.compactRequested = false;
          await this.writeSnapshot();
        }
      } catch (error) {
        // Memory is now ahead of the disk: refuse everything rather than acknowledge
        // changes that might not survive. Reopening the store recovers from the files.
        this.broken = new HonkError(
          'INTERNAL',
          `Writing the task store journal in "${this.dir}" failed; the store refuses further changes. ` +
            'Check disk space and permissions, then reopen it (acknowledged changes are safe).',
          { cause: error, retryable: false },
        );
        for (const waiter of [...waiters, ...this.waiters]) waiter.reject(this.broken);
        this.waiters = [];
        return;
      }
      for (const waiter of waiters) waiter.resolve();
    }
  }

  /** Snapshot of generation g+1 and a fresh journal, switched by one atomic rename. */
  private async writeSnapshot(): Promise<void> {
    const generation = this.generation + 1;
    const entries = this.table.snapshotEntries();
    const temporary = join(this.dir, `${SNAPSHOT_FILE}.tmp`);
    const handle = await open(temporary, 'w');
    try {
      let chunk = encodeLine({ t: 's', g: generation, n: entries.length });
      for (const entry of entries) {
        chunk += encodeLine(toLine(entry));
        if (chunk.length > 1 << 20) {
          await writeAll(handle, chunk);
          chunk = '';
        }
      }
      chunk += encodeLine({ t: 'e', n: entries.length });
      await writeAll(handle, chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const nextJournal = await open(join(this.dir, journalFile(generation)), 'w');
    await nextJournal.sync();
    await rename(temporary, join(this.dir, SNAPSHOT_FILE));
    await syncDirectory(this.dir);
    const previous = this.journal;
    const previousGeneration = this.generation;
    this.journal = nextJournal;
    this.generation = generation;
    this.journalRecords = 0;
    await previous?.close();
    await unlinkIfExists(join(this.dir, journalFile(previousGeneration)));
  }

  private async load(): Promise<void> {
    await unlinkIfExists(join(this.dir, `${SNAPSHOT_FILE}.tmp`));
    let replayed = 0;
    const snapshot = await readIfExists(join(this.dir, SNAPSHOT_FILE));
    if (snapshot !== undefined) {
      const { lines, validEnd } = decodeFile(snapshot);
      const header = lines[0];
      const end = lines[lines.length - 1];
      if (
        validEnd !== snapshot.length ||
        header?.t !== 's' ||
        end?.t !== 'e' ||
        end.n !== header.n ||
        lines.length !== header.n + 2
      ) {
        throw new HonkError(
          'DATA_CORRUPT',
          `The task store snapshot "${join(this.dir, SNAPSHOT_FILE)}" is damaged (it is written atomically, so ` +
            'the disk or another program changed it). Restore it from a backup, or move the directory away to start empty.',
        );
      }
      this.generation = header.g;
      for (const line of lines.slice(1, -1)) this.replay(line, SNAPSHOT_FILE);
      replayed += header.n;
    }

    const journalPath = join(this.dir, journalFile(this.generation));
    const buffer = (await readIfExists(journalPath)) ?? Buffer.alloc(0);
    const { lines, validEnd, damageFollowedByValid } = decodeFile(buffer);
    for (const line of lines) this.replay(line, journalFile(this.generation));
    replayed += lines.length;
    this.journalRecords = lines.length;
    this.recovery.replayedRecords = replayed;

    if (validEnd < buffer.length) {
      if (damageFollowedByValid) {
        const damagedTailPath = `${journalPath}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        await writeFile(damagedTailPath, buffer.subarray(validEnd));
        this.recovery.damagedTailPath = damagedTailPath;
      }
      const handle = await open(journalPath, 'r+');
      try {
        await handle.truncate(validEnd);
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.recovery.truncatedBytes = buffer.length - validEnd;
    }

    for (const file of await readdir(this.dir)) {
      if (/^journal-\d+\.log$/.test(file) && file !== journalFile(this.generation)) {
        await unlinkIfExists(join(this.dir, file)); // left by a compaction interrupted after its rename
      }
    }
    this.journal = await open(journalPath, 'a');
    // A new file's name must be durable too, or a crash could lose the whole journal.
    if (buffer.length === 0) {
      await this.journal.sync();
      await syncDirectory(this.dir);
      await syncDirectory(dirname(this.dir));
    }

    // The lock proves the process that held these leases is gone: take them back now
    // instead of making a resumed run wait out their expiry.
    const running = this.table.runningIds();
    this.recovery.expiredLeases = running.length;
    if (running.length > 0) await this.mutate(() => this.table.expireAll(running, new Date()));
  }

  private replay(line: JournalLine, file: string): void {
    if (line.t === 'p') {
      const definition = 'definition' in line.r ? line.r.definition : this.table.definitionOf(line.r.id);
      if (definition === undefined) {
        throw new HonkError(
          'DATA_CORRUPT',
          `The task store file "${join(this.dir, file)}" updates task "${line.r.id}" before defining it; ` +
            'the store directory was changed by hand or is incomplete. Restore it from a backup or move it away.',
        );
      }
      this.table.apply({ kind: 'put', record: { ...line.r, definition } as TaskRecord, definitionChanged: false });
    } else if (line.t === 'l') {
      this.table.apply({ kind: 'limits', limits: line.v });
    } else if (line.t === 'r') {
      this.table.apply({ kind: 'role', name: line.n, holder: line.h, expiresAtMs: line.e });
    }
  }
}

/** Opens the embedded durable store in `dir` (created if needed). See JournalTaskStore. */
export function openJournalTaskStore(dir: string, options?: JournalTaskStoreOptions): Promise<JournalTaskStore> {
  return JournalTaskStore.open(dir, options);
}
