/**
 * `honk plan <spec>`: validate the spec, resolve connections, read source schemas, show
 * the type mapping and what a run would do. No data moves. Exit codes as `honk run`.
 */
import { resolve } from 'node:path';
import {
  checkTransformModules,
  hashDefinition,
  loadSpec,
  planTask,
  resolveSpec,
  type TaskPlan,
  type TaskRecord,
} from '@honk/core';
import type { CliIo } from '../cli-io.ts';
import { EXIT, INVALID_INPUT_CODES } from '../cli-io.ts';
import { connectorRegistry } from '../load-connectors.ts';
import { openStore } from '../open-store.ts';

export interface PlanCommandOptions {
  store?: string;
  only?: string[];
  json?: boolean;
}

/** What a run would do with a task, judged from the store (if it can be read). */
type Action = 'run' | 'skip (unchanged since it succeeded)' | 'resume' | 'unknown (store busy)';

/** A task plan; `unresolvedEnv` lists variables not set here, so the task was not checked against its systems. */
type PlanEntry = TaskPlan & { action: Action; unresolvedEnv?: string[] };

async function storedRecords(ids: string[], options: PlanCommandOptions, specDir: string, io: CliIo) {
  try {
    const store = await openStore(options.store, { specDir, cwd: io.cwd, env: io.env });
    try {
      return new Map((await store.list({ ids })).map((record) => [record.id, record]));
    } finally {
      await store.close();
    }
  } catch {
    // A running `honk run` holds the embedded store; planning must not need it.
    return undefined;
  }
}

function actionFor(record: TaskRecord | undefined, hash: string, known: boolean): Action {
  if (!known) return 'unknown (store busy)';
  if (!record || record.definitionHash !== hash) return 'run';
  if (record.state === 'succeeded') return 'skip (unchanged since it succeeded)';
  return 'resume';
}

function printPlan(io: CliIo, plan: PlanEntry, action: Action): void {
  const lines = [`● ${plan.taskId}: ${plan.ok ? action : 'WOULD FAIL'}`];
  if (!plan.ok) lines.push(`    ${plan.error?.code}: ${plan.error?.message}`);
  if (plan.unresolvedEnv) {
    lines.push(
      `    spec valid; not checked against its systems: ${plan.unresolvedEnv.join(', ')} not set here (resolved by the agent that runs the task)`,
    );
  }
  if (plan.source && plan.target && plan.columns) {
    lines.push(
      `    ${plan.source.connection} (${plan.source.connector}) → ${plan.target.connection} (${plan.target.connector}), publish ${plan.target.mode}${plan.target.exists ? ', target exists' : ', new target'}${plan.snapshot ? ', snapshot first' : ''}`,
    );
    lines.push('    columns (source → target):');
    const width = Math.max(...plan.columns.map((column) => column.source?.length ?? 0), 10);
    for (const column of plan.columns) {
      lines.push(`      ${(column.source ?? '(new)').padEnd(width)}  →  ${column.target ?? '(dropped)'}`);
    }
    if (plan.validation?.length) lines.push(`    validation: ${plan.validation.join(', ')}`);
    if (plan.incremental) {
      const { cursor, from, range, fullCheck } = plan.incremental;
      lines.push(
        `    incremental on ${cursor}: mark ${from ?? 'none yet'}; next run reads ${range}${fullCheck ? ' (and makes the full check)' : ''}`,
      );
    }
  }
  io.stdout(`${lines.join('\n')}\n`);
}

export async function planCommand(specPath: string, options: PlanCommandOptions, io: CliIo): Promise<number> {
  const loaded = await loadSpec(resolve(io.cwd, specPath), { env: io.env });
  const registry = await connectorRegistry(loaded);
  // Unset ${env:…} is fine: a CI job without the agents' secrets validates the spec, and
  // tasks that need those values are checked as far as they can be without them.
  const resolved = resolveSpec(loaded, {
    registry,
    env: io.env,
    allowUnsetEnv: true,
    ...(options.only ? { only: options.only } : {}),
  });
  checkTransformModules(
    loaded,
    resolved.tasks.map((task) => task.id),
  );
  const records = await storedRecords(
    resolved.tasks.map((task) => task.id),
    options,
    loaded.baseDir,
    io,
  );
  const plans: PlanEntry[] = [];
  for (const task of resolved.tasks) {
    const hash = task.definitionHash ?? hashDefinition(task.portable as never);
    const action = actionFor(records?.get(task.id), hash, records !== undefined);
    if (task.unresolvedEnv) {
      plans.push({ taskId: task.id, ok: true, action, unresolvedEnv: task.unresolvedEnv });
      continue;
    }
    plans.push({ ...(await planTask({ task, connectors: registry })), action });
  }
  if (options.json)
    io.stdout(`${JSON.stringify({ spec: loaded.sourceName, ok: plans.every((p) => p.ok), tasks: plans }, null, 2)}\n`);
  else {
    for (const plan of plans) printPlan(io, plan, plan.action);
    const failing = plans.filter((plan) => !plan.ok).length;
    io.stdout(`\n${plans.length} task(s), ${failing} would fail. No data was moved.\n`);
  }
  if (plans.every((plan) => plan.ok)) return EXIT.ok;
  // A task the spec describes wrongly (a bad option, a module that does not load) is an
  // invalid spec, found before any data moves: exit 2, as for a spec that does not parse.
  return plans.some((plan) => plan.error && INVALID_INPUT_CODES.has(plan.error.code)) ? EXIT.invalid : EXIT.failed;
}
