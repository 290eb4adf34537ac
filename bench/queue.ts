/**
 * Task queue throughput: enqueue 10k tasks in one call, then claim + complete no-op tasks
 * with 1 and 4 concurrent claimers, for MemoryTaskStore and JournalTaskStore.
 *
 *   node bench/queue.ts          (BENCH_TASKS=… to change the task count)
 *
 * The journal store acknowledges a mutation only after fdatasync, so its physical limit is
 * the disk's sync rate: measured here first (append one line + fdatasync, in a loop), and
 * each journal figure is reported as a ratio of mutations per second (claim and complete
 * are one each) to that rate — above 1 means group commit shares syncs between claimers.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openJournalTaskStore } from '../packages/core/src/queue/journal-task-store.ts';
import { MemoryTaskStore } from '../packages/core/src/queue/memory-task-store.ts';
import type { TaskInput, TaskStore } from '../packages/core/src/queue/task-store.ts';
import { emit, measure } from './report.ts';
import type { ScenarioResult } from './run.ts';

const LEASE_MS = 60_000;

function inputs(count: number, prefix: string): TaskInput[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `${prefix}-${index}`,
    definition: { id: `${prefix}-${index}`, source: { connection: 'a', path: `in/${index}.csv` } },
    priority: index % 5,
    connections: ['a', 'b'],
  }));
}

/** Claims and completes until the store has nothing claimable; returns the tasks done. */
async function drainWith(store: TaskStore, claimers: number): Promise<number> {
  let done = 0;
  await Promise.all(
    Array.from({ length: claimers }, async (_, index) => {
      for (;;) {
        const claim = await store.claim(`agent-${index}`, { leaseMs: LEASE_MS });
        if (claim === null) return;
        await store.complete(claim.task.id, claim.token, { rows: 0 });
        done += 1;
      }
    }),
  );
  return done;
}

/** User + system CPU seconds since `start`: on a shared machine, steadier than wall time. */
function cpuSeconds(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** Append one journal-sized line + fdatasync, in a loop for ~1 s: the disk's acknowledged-write rate. */
async function syncsPerSecond(dir: string): Promise<number> {
  const handle = await open(join(dir, 'sync-probe.log'), 'a');
  const line = Buffer.from(`${'x'.repeat(300)}\n`);
  let count = 0;
  const started = performance.now();
  try {
    while (performance.now() - started < 1000) {
      await handle.write(line);
      await handle.datasync();
      count += 1;
    }
  } finally {
    await handle.close();
  }
  return count / ((performance.now() - started) / 1000);
}

export interface QueueBenchOptions {
  /** Tasks per scenario. Default 10,000 (BENCH_TASKS). */
  tasks?: number;
  /** Called with each result as it is measured. */
  onResult?: (result: ScenarioResult) => void;
}

/** Runs every queue scenario and returns the results (tasks/s in `rowsPerSecond`). */
export async function benchQueue(options: QueueBenchOptions = {}): Promise<ScenarioResult[]> {
  const tasks = options.tasks ?? Number(process.env.BENCH_TASKS ?? 10_000);
  const results: ScenarioResult[] = [];
  const report = (result: ScenarioResult): void => {
    results.push(result);
    options.onResult?.(result);
  };
  const root = await mkdtemp(join(tmpdir(), 'honk-bench-queue-'));
  try {
    const syncRate = await syncsPerSecond(root);
    report({
      suite: 'queue',
      name: 'disk/append+fdatasync',
      seconds: 1,
      rowsPerSecond: syncRate,
      note: 'syncs/s: the journal store’s physical limit',
    });

    let generation = 0;
    const stores: Array<{ kind: string; create: () => Promise<TaskStore> }> = [
      { kind: 'memory', create: async () => new MemoryTaskStore() },
      { kind: 'journal', create: () => openJournalTaskStore(join(root, `journal-${generation++}`)) },
    ];
    for (const { kind, create } of stores) {
      const journal = kind === 'journal';
      const store = await create();
      try {
        let cpu = process.cpuUsage();
        const enqueue = await measure(() => store.enqueue(inputs(tasks, 'enqueue')));
        const enqueueCpu = cpuSeconds(cpu);
        report({
          suite: 'queue',
          name: `${kind}/enqueue`,
          rows: tasks,
          seconds: enqueue.seconds,
          rowsPerSecond: tasks / enqueue.seconds,
          peakRssMb: enqueue.peakRssMb,
          cpuSeconds: enqueueCpu,
          note: `${tasks} tasks in one call, tasks/s (cpu ${enqueueCpu.toFixed(2)} s)`,
        });
        for (const claimers of [1, 4]) {
          // The first drain also empties the enqueue scenario's tasks; later ones enqueue their own.
          if (claimers !== 1) await store.enqueue(inputs(tasks, `drain-${claimers}`));
          cpu = process.cpuUsage();
          const drain = await measure(() => drainWith(store, claimers));
          const drainCpu = cpuSeconds(cpu);
          const perSecond = drain.value / drain.seconds;
          report({
            suite: 'queue',
            name: `${kind}/claim+complete x${claimers}`,
            rows: drain.value,
            seconds: drain.seconds,
            rowsPerSecond: perSecond,
            peakRssMb: drain.peakRssMb,
            ...(journal ? { reference: 'mutations/s vs disk syncs/s', ratio: (2 * perSecond) / syncRate } : {}),
            cpuSeconds: drainCpu,
            note: `no-op tasks, ${claimers} concurrent claimer(s), tasks/s (cpu ${drainCpu.toFixed(2)} s)`,
          });
        }
      } finally {
        await store.close();
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await benchQueue({ onResult: emit });
}
