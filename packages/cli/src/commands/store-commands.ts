/**
 * Operations against a store: `honk enqueue`, `honk status`, `honk dead-letter list|requeue`,
 * `honk cancel`. They talk to the store only; agents anywhere in the fleet pick up the work.
 */
import { resolve } from 'node:path';
import {
  ConfigError,
  cancelTask,
  connectionLimits,
  listDeadLetters,
  loadSpec,
  requeueDeadLetter,
  resolveSpec,
  TASK_STATES,
  type TaskRecord,
  type TaskState,
  type TaskStore,
  toTaskInputs,
} from '@honk/core';
import type { CliIo } from '../cli-io.ts';
import { EXIT } from '../cli-io.ts';
import { connectorRegistry } from '../load-connectors.ts';
import { openStore } from '../open-store.ts';

async function withStore<T>(url: string | undefined, io: CliIo, run: (store: TaskStore) => Promise<T>): Promise<T> {
  const store = await openStore(url, { cwd: io.cwd });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

function line(record: TaskRecord): string {
  const error = record.lastError ? `  ${record.lastError.code}: ${record.lastError.message}` : '';
  return `  ${record.state.padEnd(10)} ${record.id.padEnd(28)} attempts ${record.attempts}/${record.maxAttempts}${error}`;
}

function brief(record: TaskRecord) {
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
  };
}

export async function enqueueCommand(
  specPath: string,
  options: { store?: string; only?: string[]; json?: boolean },
  io: CliIo,
) {
  const loaded = await loadSpec(resolve(io.cwd, specPath), { env: io.env });
  const registry = await connectorRegistry(loaded);
  const resolved = resolveSpec(loaded, { registry, env: io.env, ...(options.only ? { only: options.only } : {}) });
  const results = await withStore(options.store ?? `journal:${resolve(loaded.baseDir, '.honk')}`, io, async (store) => {
    await store.setConnectionLimits(connectionLimits(resolved));
    return store.enqueue(toTaskInputs(resolved));
  });
  if (options.json) io.stdout(`${JSON.stringify(results, null, 2)}\n`);
  else for (const result of results) io.stdout(`  ${result.outcome.padEnd(18)} ${result.id} (${result.state})\n`);
  return EXIT.ok;
}

export async function statusCommand(
  ids: string[],
  options: { store?: string; json?: boolean; state?: string[] },
  io: CliIo,
) {
  const states = options.state?.map((state) => {
    if (!TASK_STATES.includes(state as TaskState))
      throw new ConfigError(`Unknown state "${state}". Use one of ${TASK_STATES.join(', ')}.`);
    return state as TaskState;
  });
  const { counts, records } = await withStore(options.store, io, async (store) => ({
    counts: await store.counts(),
    records: await store.list({ ...(ids.length ? { ids } : {}), ...(states ? { states } : {}) }),
  }));
  if (options.json) {
    io.stdout(`${JSON.stringify({ counts, tasks: records.map(brief) }, null, 2)}\n`);
  } else {
    io.stdout(`${TASK_STATES.map((state) => `${state}: ${counts[state]}`).join('  ')}\n`);
    for (const record of records) io.stdout(`${line(record)}\n`);
  }
  return EXIT.ok;
}

export async function deadLetterListCommand(options: { store?: string; json?: boolean }, io: CliIo) {
  const records = await withStore(options.store, io, (store) => listDeadLetters(store));
  if (options.json) io.stdout(`${JSON.stringify(records.map(brief), null, 2)}\n`);
  else if (records.length === 0) io.stdout('No dead-lettered tasks.\n');
  else for (const record of records) io.stdout(`${line(record)}\n`);
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
