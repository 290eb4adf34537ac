/**
 * `honk run <spec>`: enqueue every task of the spec (idempotently) and run in-process agents
 * until nothing runnable is left. The default store is the journal in `.honk/` beside the
 * spec, so a re-run skips what already succeeded with the same definition and resumes the
 * rest, also after the previous run was killed. Incremental tasks are the exception: each
 * `honk run` runs them again, moving what changed at the source since their last run.
 *
 * SIGTERM / SIGINT drain: no new task starts, running ones may finish within
 * `--drain-timeout-ms` (default 30 s), then they are aborted (nothing publishes, staging is
 * removed) and released back to the store, not failed; the command writes its summary and
 * exits 143 / 130. A second signal releases at once.
 *
 * When the run ends normally it sweeps the snapshots of the spec's tasks whose `keepFor`
 * has passed (the same sweep `honk agent`'s scheduler runs), so repeated runs do not pile
 * snapshots up.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  Agent,
  checkTransformModules,
  connectionLimits,
  enqueueTasks,
  HonkEvents,
  type IdleReport,
  type LoadedSpec,
  loadSpec,
  moduleSpecifier,
  type ResolvedSpec,
  resolveSpec,
  sharedWorkerPool,
  sweepSnapshots,
  type TaskStore,
} from '@honk/core';
import type { CliIo } from '../cli-io.ts';
import { EXIT, exitCodeForSignal, noteStopSignal } from '../cli-io.ts';
import { connectorRegistry } from '../load-connectors.ts';
import { describeStoreUrl, openStore } from '../open-store.ts';
import { toJUnit } from '../reporters/junit.ts';
import { createBarProgress, createPlainProgress, type ProgressDisplay } from '../reporters/progress.ts';
import { outcomeOf, type RunSummary } from '../reporters/run-summary.ts';

export interface RunCommandOptions {
  agents: number;
  store?: string;
  only?: string[];
  json?: boolean;
  report?: string;
  junit?: string;
  leaseMs?: number;
  /** Wait for tasks whose notBefore is at most this far ahead (ms). */
  waitForMs?: number;
  /** On SIGTERM/SIGINT, how long running tasks may finish before they are released (ms). */
  drainTimeoutMs?: number;
}

async function writeOutput(io: CliIo, path: string, text: string): Promise<void> {
  const target = resolve(io.cwd, path);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, text);
}

function printSummary(io: CliIo, summary: RunSummary, idle: IdleReport[]): void {
  if (summary.interrupted) {
    io.stdout(
      `\nStopped by ${summary.interrupted}: running tasks were released back to the store (not failed); run again to resume them.\n`,
    );
  }
  const lines = [''];
  for (const task of summary.tasks) {
    const mark = (task.incremental as { to?: string | null } | undefined)?.to;
    const rows =
      task.rows !== undefined
        ? `${task.rows.toLocaleString('en-US')} rows${mark !== undefined ? ` (incremental, mark ${mark ?? 'none'})` : ''}`
        : '';
    const detail = task.error
      ? `${task.error.code}: ${task.error.message}`
      : task.action === 'skipped'
        ? 'unchanged since it succeeded'
        : rows;
    lines.push(`  ${task.state.padEnd(10)} ${task.id.padEnd(28)} ${detail}`);
  }
  const waiting = idle.flatMap((report) => report.waiting);
  const unique = new Map(waiting.map((task) => [task.id, task]));
  for (const task of unique.values()) lines.push(`  waiting: ${task.id} (${task.reason}, runs at ${task.runAt})`);
  const counts = Object.entries(summary.counts)
    .filter(([, count]) => count > 0)
    .map(([state, count]) => `${count} ${state}`)
    .join(', ');
  if (summary.snapshotsDiscarded) lines.push(`  discarded ${summary.snapshotsDiscarded} expired snapshot(s)`);
  lines.push(
    '',
    `${summary.ok ? 'All tasks succeeded' : 'Some tasks did not succeed'}: ${counts}. Store: ${summary.store}`,
    '',
  );
  io.stdout(lines.join('\n'));
}

/**
 * Starts the worker threads while the store opens and the agents start, when the spec
 * reads or writes Parquet (whose codec loads a WebAssembly module in every worker): a
 * small run would otherwise wait for that on its first Parquet file.
 */
function prewarmWorkers(loaded: LoadedSpec): void {
  const endpoints = loaded.spec.tasks.flatMap((task) => [task.source, task.target]) as Array<Record<string, unknown>>;
  const parquet = endpoints.some(
    (endpoint) => endpoint.format === 'parquet' || /\.(parquet|pq)$/i.test(String(endpoint.path ?? endpoint.key ?? '')),
  );
  // One thread: a small run needs no more, and starting a second one at once would take the
  // cores from this one; larger runs start the others as their work arrives.
  if (parquet)
    void sharedWorkerPool()
      .prewarm(['parquet'], 1)
      .catch(() => undefined);
}

/** The connector and transform modules the spec's tasks use (what this run's agents may load). */
function specModules(resolved: ResolvedSpec): string[] {
  const modules = new Set<string>();
  for (const task of resolved.tasks) {
    for (const module of Object.values(task.portable.connectorModules ?? {})) modules.add(moduleSpecifier(module));
    const transform = task.transform?.module;
    if (transform !== undefined) modules.add(moduleSpecifier(transform));
  }
  return [...modules].filter((module) => isAbsolute(module) || !module.startsWith('.'));
}

export async function runCommand(specPath: string, options: RunCommandOptions, io: CliIo): Promise<number> {
  const startedAt = new Date();
  const loaded = await loadSpec(resolve(io.cwd, specPath), { env: io.env });
  prewarmWorkers(loaded);
  const registry = await connectorRegistry(loaded);
  const resolved = resolveSpec(loaded, { registry, env: io.env, ...(options.only ? { only: options.only } : {}) });
  checkTransformModules(
    loaded,
    resolved.tasks.map((task) => task.id),
  );
  const storeOptions = { specDir: loaded.baseDir, cwd: io.cwd, env: io.env };
  // Credentials the spec wrote literally stay out of the store: its records refer to them by
  // name, and only this run's agents have the values (in memory; a re-run reads the spec again).
  const env = {
    ...io.env,
    ...Object.fromEntries(resolved.credentials.map((credential) => [credential.env, credential.value])),
  };
  const store: TaskStore = await openStore(options.store, storeOptions);
  const events = new HonkEvents();
  let progress: ProgressDisplay | undefined;
  const agents: Agent[] = [];
  const uninstall: Array<() => void> = [];
  let signalled: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    signalled ??= signal;
    noteStopSignal(signal);
  };
  try {
    // Beside the agents' own handlers (which drain): remember which signal stopped the run.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, onSignal);
      uninstall.push(() => process.off(signal, onSignal));
    }
    await store.setConnectionLimits(connectionLimits(resolved));
    // Incremental tasks run every time (see enqueueTasks); the rest resume.
    const enqueued = await enqueueTasks(store, resolved.tasks);
    const ids = enqueued.map((result) => result.id);
    const ran = new Set<string>();
    events.on('task-claimed', (event) => ran.add(event.taskId));
    const toRun = enqueued.filter((result) => result.state !== 'succeeded').length;
    progress =
      io.isTTY && !options.json
        ? createBarProgress(events, toRun)
        : createPlainProgress(events, (line) => io.stderr(`${line}\n`));

    for (let i = 0; i < Math.max(1, options.agents); i++) {
      agents.push(
        new Agent({
          store,
          connectors: registry,
          concurrency: 1,
          events,
          env,
          baseDir: loaded.baseDir,
          // The spec's own modules only: a shared store may hold tasks others enqueued.
          allowModules: specModules(resolved),
          ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
          ...(options.drainTimeoutMs ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
        }),
      );
    }
    // Ctrl-C / SIGTERM: stop claiming, let running tasks finish, release what does not.
    uninstall.push(...agents.map((agent) => agent.onSignals()));
    const idle = await Promise.all(agents.map((agent) => agent.runUntilIdle({ waitForMs: options.waitForMs ?? 0 })));
    await Promise.all(agents.map((agent) => agent.stop({ drain: true })));
    progress.stop();
    progress = undefined;
    // Same sweep as the scheduler's; skipped when a signal asked the run to stop.
    const snapshotsDiscarded = signalled
      ? 0
      : await sweepSnapshots({
          store,
          connectors: registry,
          agentId: `honk-run:${process.pid}`,
          events,
          env,
          baseDir: loaded.baseDir,
          ids,
        });

    const records = await store.list({ ids });
    const byId = new Map(records.map((record) => [record.id, record]));
    const tasks = ids.map((id) => outcomeOf(byId.get(id)!, ran.has(id)));
    const counts: Record<string, number> = {};
    for (const task of tasks) counts[task.state] = (counts[task.state] ?? 0) + 1;
    const interrupted = idle.some((report) => report.stopped);
    const failed = interrupted || tasks.some((task) => task.state !== 'succeeded' && task.action !== 'waiting');
    const summary: RunSummary = {
      spec: loaded.sourceName,
      store: describeStoreUrl(options.store, storeOptions),
      ok: !failed,
      ...(signalled ? { interrupted: signalled } : {}),
      ...(snapshotsDiscarded > 0 ? { snapshotsDiscarded } : {}),
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      counts,
      tasks,
    };
    if (options.json) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    else printSummary(io, summary, idle);
    if (options.report) await writeOutput(io, options.report, `${JSON.stringify(summary, null, 2)}\n`);
    if (options.junit) await writeOutput(io, options.junit, toJUnit(summary));
    if (signalled) return exitCodeForSignal(signalled);
    return summary.ok ? EXIT.ok : EXIT.failed;
  } finally {
    progress?.stop();
    for (const off of uninstall) off();
    await Promise.all(agents.map((agent) => agent.stop({ drain: false }).catch(() => {})));
    await store.close();
  }
}
