/**
 * Operations against a store: `honk enqueue`, `honk status`, `honk dead-letter list|requeue`,
 * `honk cancel`. They talk to the store only; agents anywhere in the fleet pick up the work.
 */
import { resolve } from 'node:path';
import {
  type ChunkProgress,
  ConfigError,
  cancelTask,
  checkTransformModules,
  chunkIdsOf,
  chunkProgress,
  connectionLimits,
  enqueueTasks,
  isWaitingForChunks,
  type KeptSnapshot,
  keptSnapshots,
  listDeadLetters,
  loadSpec,
  type ResolvedSpec,
  requeueDeadLetter,
  resolveSpec,
  TASK_STATES,
  type TaskRecord,
  type TaskState,
  type TaskStore,
} from '@honk/core';
import type { CliIo } from '../cli-io.ts';
import { EXIT } from '../cli-io.ts';
import { connectorRegistry } from '../load-connectors.ts';
import { openStore, resolveStore } from '../open-store.ts';

/** Opens the store of a command without a spec: it must exist (an empty one made up here would hide the tasks). */
async function withStore<T>(url: string | undefined, io: CliIo, run: (store: TaskStore) => Promise<T>): Promise<T> {
  const store = await openStore(url, { cwd: io.cwd, env: io.env, mustExist: true });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

/** Where a snapshot is, from its ref: a path, a table, a prefix — whichever the connector recorded. */
function snapshotLocation(snapshot: KeptSnapshot): string | undefined {
  const ref = snapshot.ref as Record<string, unknown>;
  for (const key of ['path', 'snapshotTable', 'snapshotPrefix', 'table', 'key']) {
    if (typeof ref[key] === 'string') return ref[key] as string;
  }
  return undefined;
}

function age(ms: number): string {
  const hours = ms / 3_600_000;
  if (hours < 1) return `${Math.max(0, Math.round(ms / 60_000))}m`;
  if (hours < 48) return `${Math.round(hours)}h`;
  return `${Math.round(hours / 24)}d`;
}

function snapshotLine(snapshot: KeptSnapshot): string {
  const where = snapshotLocation(snapshot);
  const when = snapshot.expired
    ? `expired at ${snapshot.discardAfter}, discarded by the sweep`
    : `discarded after ${snapshot.discardAfter}`;
  return `      snapshot (${snapshot.connector}${where ? ` ${where}` : ''}) taken ${age(snapshot.ageMs)} ago, ${when}`;
}

function chunkText(progress: ChunkProgress): string {
  const states = TASK_STATES.filter((state) => state !== 'succeeded' && (progress.states[state] ?? 0) > 0)
    .map((state) => `${progress.states[state]} ${state}`)
    .join(', ');
  return `chunks ${progress.states.succeeded ?? 0}/${progress.total} succeeded${states ? `, ${states}` : ''}; ${progress.rows.toLocaleString('en-US')} rows`;
}

function line(record: TaskRecord, now: Date, chunks?: ChunkProgress): string {
  const error = record.lastError ? `  ${record.lastError.code}: ${record.lastError.message}` : '';
  const waiting = isWaitingForChunks(record) ? 'waiting' : record.state;
  const head = `  ${waiting.padEnd(10)} ${record.id.padEnd(28)} attempts ${record.attempts}/${record.maxAttempts}${error}`;
  return [
    head,
    ...(chunks ? [`      ${chunkText(chunks)}`] : []),
    ...keptSnapshots(record, now).map(snapshotLine),
  ].join('\n');
}

function brief(record: TaskRecord, now = new Date(), chunks?: ChunkProgress) {
  const snapshots = keptSnapshots(record, now).map((snapshot) => ({
    connector: snapshot.connector,
    takenAt: snapshot.takenAt,
    ageMs: snapshot.ageMs,
    keepForMs: snapshot.keepForMs,
    discardAfter: snapshot.discardAfter,
    expired: snapshot.expired,
    ...(snapshotLocation(snapshot) ? { location: snapshotLocation(snapshot) } : {}),
  }));
  return {
    id: record.id,
    state: record.state,
    attempts: record.attempts,
    maxAttempts: record.maxAttempts,
    priority: record.priority,
    runAt: record.runAt,
    ...(record.lastError ? { lastError: record.lastError } : {}),
    ...(record.lease ? { lease: { owner: record.lease.owner, expiresAt: record.lease.expiresAt } } : {}),
    ...(record.progress ? { progress: record.progress } : {}),
    ...(snapshots.length > 0 ? { snapshots } : {}),
    ...(record.chunkOf ? { chunkOf: { task: record.chunkOf.task, index: record.chunkOf.index } } : {}),
    ...(chunks ? { chunks, waitingForChunks: isWaitingForChunks(record) } : {}),
  };
}

/**
 * A task record is read by every agent and by whoever can read the store, so a credential
 * written literally in the spec is refused rather than stored (the message names where, never
 * the value).
 */
function refuseLiteralCredentials(sourceName: string, resolved: ResolvedSpec): void {
  if (resolved.credentials.length === 0) return;
  const paths = [...new Set(resolved.credentials.map((credential) => credential.path))];
  throw new ConfigError(
    `${sourceName}: credentials are written literally at ${paths.join(', ')}. honk enqueue does not write credentials to a task store (every agent and whoever can read the store would see them). Write each as a reference that the agents running the task resolve from their own environment, e.g. url: "postgres://user:\${env:PG_PASSWORD}@host/db" or secretAccessKey: "\${env:AWS_SECRET_ACCESS_KEY}". (honk run keeps literal credentials in memory only.)`,
    { details: { paths } },
  );
}

export async function enqueueCommand(
  specPath: string,
  options: { store?: string; only?: string[]; json?: boolean },
  io: CliIo,
) {
  const loaded = await loadSpec(resolve(io.cwd, specPath), { env: io.env });
  const registry = await connectorRegistry(loaded);
  // The agents resolve ${env:…} where they run: their secrets are not needed here.
  const resolved = resolveSpec(loaded, {
    registry,
    env: io.env,
    allowUnsetEnv: true,
    ...(options.only ? { only: options.only } : {}),
  });
  refuseLiteralCredentials(loaded.sourceName, resolved);
  // Agents load transform modules when they run the task: a missing file is found here, not by them.
  checkTransformModules(
    loaded,
    resolved.tasks.map((task) => task.id),
  );
  const storeOptions = { specDir: loaded.baseDir, cwd: io.cwd, env: io.env };
  const location = resolveStore(options.store, storeOptions);
  const store = await openStore(options.store, storeOptions);
  let results: Awaited<ReturnType<TaskStore['enqueue']>>;
  try {
    await store.setConnectionLimits(connectionLimits(resolved));
    results = await enqueueTasks(store, resolved.tasks);
  } finally {
    await store.close();
  }
  if (options.json) io.stdout(`${JSON.stringify(results, null, 2)}\n`);
  else {
    for (const result of results) io.stdout(`  ${result.outcome.padEnd(18)} ${result.id} (${result.state})\n`);
    io.stdout(`Store: ${location.description} (from ${location.from})\n`);
  }
  return EXIT.ok;
}

export async function statusCommand(
  ids: string[],
  options: { store?: string; json?: boolean; state?: string[]; chunks?: boolean },
  io: CliIo,
) {
  const states = options.state?.map((state) => {
    if (!TASK_STATES.includes(state as TaskState))
      throw new ConfigError(`Unknown state "${state}". Use one of ${TASK_STATES.join(', ')}.`);
    return state as TaskState;
  });
  const location = resolveStore(options.store, { cwd: io.cwd, env: io.env });
  const { counts, records, chunks } = await withStore(options.store, io, async (store) => {
    const listed = await store.list({ ...(ids.length ? { ids } : {}), ...(states ? { states } : {}) });
    // A chunked task's chunks are listed under it in sum; `--chunks` lists them one by one too.
    const chunkIds = listed.flatMap(chunkIdsOf);
    const chunkRecords = chunkIds.length > 0 ? await store.list({ ids: chunkIds }) : [];
    return {
      counts: await store.counts(),
      records: options.chunks || ids.length > 0 ? listed : listed.filter((record) => record.chunkOf === undefined),
      chunks: new Map(chunkRecords.map((record) => [record.id, record])),
    };
  });
  const now = new Date();
  if (options.json) {
    const store = { url: location.description, from: location.from };
    const tasks = records.map((record) => brief(record, now, chunkProgress(record, chunks)));
    io.stdout(`${JSON.stringify({ store, counts, tasks }, null, 2)}\n`);
  } else {
    io.stdout(`Store: ${location.description} (from ${location.from})\n`);
    io.stdout(`${TASK_STATES.map((state) => `${state}: ${counts[state]}`).join('  ')}\n`);
    for (const record of records) io.stdout(`${line(record, now, chunkProgress(record, chunks))}\n`);
  }
  return EXIT.ok;
}

export async function deadLetterListCommand(options: { store?: string; json?: boolean }, io: CliIo) {
  const records = await withStore(options.store, io, (store) => listDeadLetters(store));
  const now = new Date();
  if (options.json)
    io.stdout(
      `${JSON.stringify(
        records.map((record) => brief(record, now)),
        null,
        2,
      )}\n`,
    );
  else if (records.length === 0) io.stdout('No dead-lettered tasks.\n');
  else for (const record of records) io.stdout(`${line(record, now)}\n`);
  return EXIT.ok;
}

export async function requeueCommand(id: string, options: { store?: string; keepAttempts?: boolean }, io: CliIo) {
  const record = await withStore(options.store, io, (store) =>
    requeueDeadLetter(store, id, { resetAttempts: !options.keepAttempts }),
  );
  io.stdout(`Requeued ${record.id}: now ${record.state}, attempts ${record.attempts}/${record.maxAttempts}.\n`);
  return EXIT.ok;
}

export async function cancelCommand(id: string, options: { store?: string }, io: CliIo) {
  const record = await withStore(options.store, io, (store) => cancelTask(store, id));
  io.stdout(`Task ${record.id} is ${record.state}.\n`);
  return EXIT.ok;
}
