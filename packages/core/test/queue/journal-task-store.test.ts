import { type ChildProcess, spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type JournalTaskStore, openJournalTaskStore, type TaskRecord, type TaskStore } from '../../src/queue/index.ts';
import { testTaskStore } from '../../src/testing/task-store-suite.ts';

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const worker = fileURLToPath(new URL('./fixtures/journal-worker.ts', import.meta.url));

function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'honk-journal-'));
}

testTaskStore({
  name: 'JournalTaskStore',
  create: async () => openJournalTaskStore(await tempDir()),
  cleanup: async (store: TaskStore) => rm((store as JournalTaskStore).dir, { recursive: true, force: true }),
});

/** The persisted view of records: leases of running tasks are taken back on reopen, so compare the others. */
function settled(records: TaskRecord[]): TaskRecord[] {
  return records.filter((record) => record.state !== 'running');
}

describe('JournalTaskStore durability', () => {
  const dirs: string[] = [];
  const stores: JournalTaskStore[] = [];
  const children: ChildProcess[] = [];

  async function openStore(dir: string, options?: { compactAfterRecords?: number }): Promise<JournalTaskStore> {
    const store = await openJournalTaskStore(dir, options);
    stores.push(store);
    return store;
  }

  async function newDir(): Promise<string> {
    const dir = await tempDir();
    dirs.push(dir);
    return dir;
  }

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const store of stores.splice(0)) await store.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  async function journalPath(dir: string): Promise<string> {
    const files = (await readdir(dir)).filter((file) => /^journal-\d+\.log$/.test(file));
    expect(files).toHaveLength(1);
    return join(dir, files[0] as string);
  }

  /** A store with history: succeeded, dead, retrying, cancelled, pending, limits, a role. */
  async function populate(store: JournalTaskStore): Promise<void> {
    await store.setConnectionLimits({ wh: 2 });
    await store.enqueue([
      { id: 'ok', definition: { big: 'x'.repeat(2000) }, priority: 3, connections: ['wh'] },
      { id: 'dead', definition: { n: 2 }, priority: 2, maxAttempts: 1 },
      { id: 'retry', definition: { n: 3 }, priority: 1 },
      { id: 'cancel', definition: { n: 4 } },
      {
        id: 'wait',
        definition: { n: 5 },
        window: { start: '01:00', end: '02:00', timezone: 'UTC' },
        labels: { a: 'b' },
      },
    ]);
    const ok = await store.claim('agent', { leaseMs: 60_000 });
    await store.setSnapshotRef('ok', ok!.token, { connector: 'file', takenAt: '2030-01-01T00:00:00.000Z' });
    await store.complete('ok', ok!.token, { rows: 5 });
    const dead = await store.claim('agent', { leaseMs: 60_000 });
    await store.fail('dead', dead!.token, { code: 'TRANSIENT', message: 'x', retryable: true });
    const retry = await store.claim('agent', { leaseMs: 60_000 });
    await store.fail(
      'retry',
      retry!.token,
      { code: 'TRANSIENT', message: 'y', retryable: true },
      {
        retryAt: new Date(Date.now() + 3_600_000),
      },
    );
    await store.cancel('cancel');
    await store.acquireRole('scheduler', 'agent', 3_600_000);
  }

  it('gives back every acknowledged change after reopening', async () => {
    const dir = await newDir();
    const first = await openStore(dir);
    await populate(first);
    const before = await first.list();
    const counts = await first.counts();
    await first.close();

    const second = await openStore(dir);
    expect(await second.list()).toEqual(before);
    expect(await second.counts()).toEqual(counts);
    expect(await second.getConnectionLimits()).toEqual({ wh: 2 });
    expect(await second.acquireRole('scheduler', 'someone-else', 1000)).toBe(false);
    expect(second.recovery).toMatchObject({ truncatedBytes: 0, expiredLeases: 0 });
    expect(second.recovery.replayedRecords).toBeGreaterThan(5);
  });

  it('takes back the leases of the process that held the store', async () => {
    const dir = await newDir();
    const first = await openStore(dir);
    await first.enqueue([{ id: 'a', definition: {} }]);
    const claim = await first.claim('agent', { leaseMs: 3_600_000 });
    await first.close();

    const second = await openStore(dir);
    expect(second.recovery.expiredLeases).toBe(1);
    expect(await second.get('a')).toMatchObject({
      state: 'retrying',
      attempts: 1,
      history: [{ outcome: 'lease-expired' }],
    });
    await expect(second.complete('a', claim!.token, {})).rejects.toMatchObject({ code: 'LEASE_LOST' });
    expect((await second.claim('agent-2', { leaseMs: 60_000 }))?.task.attempts).toBe(2);
  });

  it('keeps a chunked task, its plan and its chunk records across a reopen, and the rules that join them', async () => {
    const dir = await newDir();
    const first = await openStore(dir);
    await first.enqueue([{ id: 'big', definition: { id: 'big', source: 'x' } }]);
    const planner = await first.claim('planner', { leaseMs: 3_600_000 });
    await first.split('big', planner!.token, { planId: 'p1', plan: { pin: 1 }, chunks: [{ r: 0 }, { r: 1 }] });
    const chunk = await first.claim('agent', { leaseMs: 3_600_000 });
    await first.complete(chunk!.task.id, chunk!.token, { rows: 5 });
    const before = await first.list();
    await first.close();

    const second = await openStore(dir);
    expect(await second.list()).toEqual(before);
    expect((await second.get('big#1'))?.definition).toEqual({ id: 'big', source: 'x' });
    const last = await second.claim('agent', { leaseMs: 3_600_000 });
    expect(last?.task.chunkOf).toEqual({ task: 'big', index: 1, plan: 'p1', ref: { r: 1 } });
    await second.complete(last!.task.id, last!.token, { rows: 6 });
    expect((await second.claim('agent', { leaseMs: 3_600_000 }))?.task.id).toBe('big');
  });

  it('drops a torn tail: a line cut mid-way, then garbage', async () => {
    const dir = await newDir();
    const first = await openStore(dir);
    for (const id of ['a', 'b', 'c']) await first.enqueue([{ id, definition: { id } }]);
    await first.close();
    const path = await journalPath(dir);
    const full = await readFile(path);
    const lastLineStart = full.lastIndexOf(10, full.length - 2) + 1;

    // Cut the last record in the middle: it was never acknowledged, so it must vanish cleanly.
    await truncate(path, lastLineStart + 20);
    let store = await openStore(dir);
    expect((await store.list()).map((record) => record.id)).toEqual(['a', 'b']);
    expect(store.recovery.truncatedBytes).toBe(20);
    expect((await stat(path)).size).toBe(lastLineStart);
    await store.enqueue([{ id: 'd', definition: {} }]);
    await store.close();

    // Garbage (a half-flushed page) after valid lines.
    await appendFile(path, Buffer.from([0, 0, 0, 0x7b, 0x22, 0xff, 0xfe, 0x0a, 0x31, 0x32]));
    store = await openStore(dir);
    expect((await store.list()).map((record) => record.id)).toEqual(['a', 'b', 'd']);
    expect(store.recovery.truncatedBytes).toBe(10);
    expect(store.recovery.damagedTailPath).toBeUndefined();
    await store.enqueue([{ id: 'e', definition: {} }]);
    await store.close();

    store = await openStore(dir);
    expect((await store.list()).map((record) => record.id)).toEqual(['a', 'b', 'd', 'e']);
    expect(store.recovery.truncatedBytes).toBe(0);
  });

  it('detects a flipped byte by checksum and keeps damaged bytes that precede valid records', async () => {
    const dir = await newDir();
    const first = await openStore(dir);
    for (const id of ['a', 'b', 'c']) await first.enqueue([{ id, definition: { id } }]);
    await first.close();
    const path = await journalPath(dir);
    const bytes = await readFile(path);
    const secondLine = bytes.indexOf(10) + 1;
    const flipAt = bytes.indexOf('"b"', secondLine);
    bytes[flipAt + 1] = 'x'.charCodeAt(0); // valid JSON still, wrong checksum
    await writeFile(path, bytes);

    const store = await openStore(dir);
    expect((await store.list()).map((record) => record.id)).toEqual(['a']);
    expect(store.recovery.damagedTailPath).toBeDefined();
    expect((await readFile(store.recovery.damagedTailPath as string)).length).toBe(bytes.length - secondLine);
  });

  it('compacts into a snapshot and a fresh journal without changing state', async () => {
    const dir = await newDir();
    const first = await openStore(dir, { compactAfterRecords: 40 });
    await populate(first);
    for (let round = 0; round < 30; round += 1) {
      await first.enqueue([{ id: `t${round}`, definition: { round } }]);
      const claim = await first.claim('agent', { leaseMs: 60_000, excludeConnections: ['wh'] });
      if (claim !== null) await first.complete(claim.task.id, claim.token, { round });
    }
    const generation = Number((await journalPath(dir)).match(/journal-(\d+)\.log$/)?.[1]);
    expect(generation).toBeGreaterThan(0);
    const before = await first.list();
    await first.close();

    const second = await openStore(dir, { compactAfterRecords: 40 });
    expect(await second.list()).toEqual(before);
    expect(await second.getConnectionLimits()).toEqual({ wh: 2 });
    await second.compact();
    expect(await readdir(dir)).toContain(`journal-${generation + 1}.log`);
    await second.enqueue([{ id: 'after', definition: {} }]);
    await second.close();

    const third = await openStore(dir);
    expect(settled(await third.list())).toEqual([...settled(before), expect.objectContaining({ id: 'after' })]);
    expect(third.recovery.replayedRecords).toBeLessThan(200);
  });

  it('refuses a damaged snapshot instead of silently losing tasks', async () => {
    const dir = await newDir();
    const first = await openStore(dir);
    await populate(first);
    await first.compact();
    await first.close();
    const snapshot = join(dir, 'snapshot.log');
    const bytes = await readFile(snapshot);
    await writeFile(snapshot, bytes.subarray(0, bytes.length - 30));
    await expect(openJournalTaskStore(dir)).rejects.toMatchObject({ code: 'DATA_CORRUPT' });
  });

  function spawnWorker(dir: string, mode: 'work' | 'hold', compactAfter = 50_000) {
    const child = spawn(process.execPath, [worker, dir, mode, String(compactAfter)], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const lines = createInterface({ input: child.stdout! });
    return { child, lines, exited, stderr: () => stderr };
  }

  it("keeps a second process out with an error naming the holder, and takes over a dead holder's lock", async () => {
    const dir = await newDir();
    const { child, lines, exited, stderr } = spawnWorker(dir, 'hold');
    for await (const line of lines) {
      if (line.startsWith('ready')) break;
    }
    expect(stderr()).toBe('');
    const refused = openJournalTaskStore(dir);
    await expect(refused).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
    await expect(refused).rejects.toThrow(`process ${child.pid}`);

    child.kill('SIGKILL');
    await exited;
    const store = await openStore(dir);
    expect(await store.counts()).toMatchObject({ pending: 0 });
    await expect(openJournalTaskStore(dir)).rejects.toThrow('this process');
  });

  it('loses no acknowledged change and half-applies nothing when killed with SIGKILL', async () => {
    const dir = await newDir();
    const enqueued = new Set<string>();
    const completed = new Set<string>();
    // Three runs killed at different points, each resuming the store the last one left.
    for (const killAfter of [150, 400, 700]) {
      const { child, lines, exited, stderr } = spawnWorker(dir, 'work', 300);
      let completedThisRun = 0;
      for await (const line of lines) {
        const [kind, id] = line.split(' ');
        if (kind === 'enqueued') enqueued.add(id as string);
        if (kind === 'completed') {
          completed.add(id as string);
          completedThisRun += 1;
          if (completedThisRun === killAfter) child.kill('SIGKILL');
        }
      }
      await exited;
      expect(child.signalCode, stderr()).toBe('SIGKILL');

      const store = await openStore(dir);
      const records = await store.list();
      const byId = new Map(records.map((record) => [record.id, record]));
      for (const id of enqueued) expect(byId.has(id), `enqueued ${id}`).toBe(true);
      for (const id of completed) {
        expect(byId.get(id), `completed ${id}`).toMatchObject({
          state: 'succeeded',
          report: { rows: expect.any(Number) },
        });
      }
      for (const record of records) {
        expect(record.state).not.toBe('running'); // every dead process's lease was taken back
        expect(record.lease).toBeUndefined();
        if (record.state === 'succeeded') {
          expect(record.report).toBeDefined();
          expect(record.history.at(-1)?.outcome).toBe('succeeded');
        }
        expect(record.history.every((attempt) => attempt.outcome !== undefined)).toBe(true);
      }
      const counts = await store.counts();
      expect(Object.values(counts).reduce((sum, count) => sum + count, 0)).toBe(records.length);
      // A re-run never redoes what succeeded.
      const again = await store.enqueue([...completed].map((id) => ({ id, definition: byId.get(id)!.definition })));
      expect(again.every((result) => result.outcome === 'skipped-succeeded')).toBe(true);
      await store.close();
      stores.splice(stores.indexOf(store), 1);
    }
    expect(completed.size).toBeGreaterThanOrEqual(1250);
    const files = await readdir(dir);
    expect(files).toContain('snapshot.log'); // compaction ran (and was possibly interrupted) along the way
  });
});
