/**
 * The incremental part of a run (see docs/incremental.md and connector/incremental-mark.ts):
 *
 *   preflight   the configuration is checked before anything connects
 *               ({@link checkIncrementalTask}): publish mode append or merge, a source that
 *               reads increments, a sink that commits the mark with its publish, no snapshot.
 *               Once the schemas are known ({@link beginIncrement}): the cursor column exists
 *               and is orderable; the mark stored at the target is read (the truth), and the
 *               source finds the increment after it in its point-in-time read.
 *   transfer    the increment's source replaces the task's source; validation compares the
 *               increment read with the increment staged, like any transfer.
 *   publish     the writer commits the new mark in the same atomic step as the increment,
 *               over the mark the run started from only.
 *   full check  every `fullCheckEvery` runs, after the publish: the whole target against the
 *               source up to the mark (row count and checksum), in the source's same read.
 */
import { DataType, type Schema } from 'apache-arrow';
import { typeName } from '../arrow/type-names.ts';
import type { Connector, EndpointArgs, PublishResult, Sink, Source } from '../connector/connector.ts';
import { capabilitiesOf } from '../connector/connector.ts';
import { type GuardHooks, guardSource } from '../connector/guard.ts';
import type { IncrementalCommit, IncrementalMark } from '../connector/incremental-mark.ts';
import { ConfigError, HonkError, ValidationFailedError } from '../errors/honk-error.ts';
import { redact } from '../errors/redact.ts';
import { canonicalJson } from '../spec/resolve-spec.ts';
import { applyTransforms } from '../transfer/transfer.ts';
import type { BatchTransform } from '../transfer/transform.ts';
import { createValidators } from '../validate/create-validators.ts';
import { createParallelValidationSession } from '../validate/parallel-validation-session.ts';
import { createValidationSession } from '../validate/validation-session.ts';
import type { ValidateOptions, ValidationReport } from '../validate/validator.ts';
import { sharedWorkerPool, type WorkerPool } from '../workers/worker-pool.ts';
import type { TaskDefinition } from './task-definition.ts';
import type { TransferStats } from './task-report.ts';

/** What a run's report says about its increment. */
export interface IncrementalReport {
  /** The cursor column at the source. */
  cursor: string;
  /** The mark the run started from (canonical text; null on the first run or while the source was empty). */
  from: string | null;
  /** The mark committed with this run's publish. */
  to: string | null;
  /** Increments published under this mark, this one included. */
  runs: number;
  /** The range read, in words. */
  range: string;
  /** Whether the rows at the old mark's value were read again (rows had arrived at it since). */
  reread: boolean;
  /** Rows read from the source: the increment. */
  rowsRead: number;
  /** Rows the publish added to or changed in the target, when the sink says (re-read rows it skipped are not counted). */
  rowsWritten?: number;
  /** The periodic full check, when this run made one. */
  fullCheck?: ValidationReport;
}

/** Preflight's part: the increment to move and how to commit it. */
export interface PreparedIncrement {
  /** The increment's rows (guarded), read instead of the whole source. */
  source: Source;
  /** What the writer commits with the publish. */
  commit: IncrementalCommit;
  range: string;
  /** Whether this run also compares the whole target with the source. */
  fullCheckDue: boolean;
  /** Every source row up to the new mark (the full check's source side). */
  upToMark(): Source;
  /** Reads the published target back through the target connector's own source (the full check's other side). */
  openTarget(): Promise<Source>;
  /** The report of the published increment (see {@link incrementReport}). */
  report(stats: TransferStats, published: PublishResult): IncrementalReport;
  /**
   * After the publish, when {@link fullCheckDue}: the full check, recorded in `report.fullCheck`;
   * throws when it finds a difference (see {@link assertFullCheck}).
   */
  check(report: IncrementalReport, args: FullCheckArgs): Promise<void>;
}

/** What the full check needs of the run. */
export interface FullCheckArgs {
  transforms: readonly BatchTransform[];
  /** The schema after transforms. */
  schema: Schema;
  signal: AbortSignal;
  batchRows: number;
  /** Worker threads to hash on (runTask's `workers`): default the shared pool, `false` the main thread. */
  workers?: WorkerPool | false | undefined;
}

/** What the full check compares: every row, by count and checksum. */
export const FULL_CHECK_VALIDATION: ValidateOptions = Object.freeze({
  rowCount: true,
  checksum: true,
  sample: 0,
  schema: false,
});

/** Whose mark the target keeps for this task (see {@link IncrementalOptions.markKey}). */
export function markKeyOf(task: TaskDefinition): string {
  const scheduledFrom = task.meta?.scheduledFrom;
  return task.incremental?.markKey ?? (typeof scheduledFrom === 'string' ? scheduledFrom : task.id);
}

/** The source a mark belongs to: its connector and endpoint options (no connection, no secrets). */
export function markSourceOf(task: TaskDefinition): string {
  return `${task.source.connector} ${canonicalJson(redact(task.source.endpoint))}`;
}

function capabilityMissing(connector: string, what: string, fix: string): HonkError {
  return new HonkError('CAPABILITY_MISSING', `Connector "${connector}" ${what}. ${fix}`, {
    details: { connector, option: 'incremental' },
  });
}

/**
 * The checks that need no connection: mode, connector capabilities, snapshot, full check.
 * Throws ConfigError (CONFIG_INVALID) or CAPABILITY_MISSING naming the option.
 */
export function checkIncrementalTask(task: TaskDefinition, from: Connector, to: Connector): void {
  const incremental = task.incremental;
  if (!incremental) return;
  const mode = task.target.mode ?? 'replace';
  if (mode !== 'append' && mode !== 'merge') {
    throw new ConfigError(
      `Task "${task.id}": target.mode is "${mode}", but an incremental task publishes each increment with mode "append" or "merge" (replace would swap the whole target for the increment). Set target.mode: merge with target.key, or target.mode: append.`,
      { details: { path: 'target.mode', mode } },
    );
  }
  if (!capabilitiesOf(from).incrementalRead) {
    throw capabilityMissing(
      from.name,
      'cannot read increments (capability incrementalRead)',
      `Task "${task.id}" sets incremental.cursor "${incremental.cursor}": remove incremental to copy the whole source each run, or read from a connector that supports it (postgres).`,
    );
  }
  if (!capabilitiesOf(to).incrementalCommit) {
    throw capabilityMissing(
      to.name,
      'cannot commit a high-water mark atomically with its publish (capability incrementalCommit), so an incremental run into it could skip or repeat rows after a crash',
      `Task "${task.id}": remove incremental, or write to a target that supports it (postgres).`,
    );
  }
  if (task.snapshot?.enabled === true) {
    throw new ConfigError(
      `Task "${task.id}": snapshot is on, but incremental tasks take no snapshots: restoring one would put the target behind its high-water mark, and the next run would skip the rows in between. Each increment is validated before it is published; remove snapshot (or set snapshot: false).`,
      { details: { path: 'snapshot' } },
    );
  }
  if (incremental.fullCheckEvery !== undefined && !to.createSource) {
    throw capabilityMissing(
      to.name,
      'cannot be read as a source, so the full check cannot read the target back',
      `Task "${task.id}": remove incremental.fullCheckEvery.`,
    );
  }
}

/** Cursor types: totally ordered and exact (no floats, no collation-dependent text). */
function isCursorType(type: DataType): boolean {
  return DataType.isInt(type) || DataType.isDecimal(type) || DataType.isDate(type) || DataType.isTimestamp(type);
}

/** The checks against the schemas: the cursor column exists, is orderable, and (append) reaches the target. */
function checkCursor(task: TaskDefinition, sourceSchema: Schema, output: Schema): string {
  const { cursor, lagMs } = task.incremental!;
  const field = sourceSchema.fields.find((candidate) => candidate.name === cursor);
  const details = { path: 'incremental.cursor', cursor };
  if (!field) {
    throw new ConfigError(
      `Task "${task.id}": incremental.cursor "${cursor}" is not a column of the source. Its columns: ${sourceSchema.fields.map((candidate) => candidate.name).join(', ')}.`,
      { details },
    );
  }
  if (!isCursorType(field.type)) {
    throw new ConfigError(
      `Task "${task.id}": incremental.cursor "${cursor}" is ${typeName(field.type)}; a cursor must be an integer, decimal, date or timestamp column (totally ordered and exact), such as updated_at or an identity key.`,
      { details: { ...details, type: typeName(field.type) } },
    );
  }
  if (lagMs && !DataType.isTimestamp(field.type)) {
    throw new ConfigError(
      `Task "${task.id}": incremental.lag applies to timestamp cursors, but "${cursor}" is ${typeName(field.type)}. Remove lag.`,
      { details: { path: 'incremental.lag', cursor } },
    );
  }
  const column = task.transform?.rename?.[cursor] ?? cursor;
  const out = output.fields.find((candidate) => candidate.name === column);
  if (task.target.mode === 'append' && (!out || typeName(out.type) !== typeName(field.type))) {
    throw new ConfigError(
      `Task "${task.id}": incremental.cursor "${cursor}" must reach an append target unchanged (as "${column}", ${typeName(field.type)}), so rows read again at the mark's value are recognised and not appended twice; ${out ? `the transforms make it ${typeName(out.type)}` : 'the transforms drop it'}.`,
      { details },
    );
  }
  return column;
}

/**
 * The increment of this run: checks the cursor against the schemas, reads the mark the
 * target holds and asks the source for the rows after it. Reads only.
 */
export async function beginIncrement(args: {
  task: TaskDefinition;
  source: Source;
  sink: Sink;
  sourceSchema: Schema;
  schema: Schema;
  target: { connector: Connector; args: EndpointArgs<unknown, unknown> };
  hooks: GuardHooks;
}): Promise<PreparedIncrement> {
  const { task, source, sink } = args;
  const options = task.incremental!;
  const column = checkCursor(task, args.sourceSchema, args.schema);
  if (!source.incremental) {
    throw capabilityMissing(task.source.connector, 'declares incrementalRead but its source has no incremental()', '');
  }
  if (!sink.incrementalMark) {
    throw capabilityMissing(
      task.target.connector,
      'declares incrementalCommit but its sink has no incrementalMark()',
      '',
    );
  }
  const key = markKeyOf(task);
  const sourceName = markSourceOf(task);
  const after = await sink.incrementalMark(key);
  if (after && (after.cursor !== options.cursor || after.source !== sourceName)) {
    throw new ConfigError(
      `Task "${task.id}": the target keeps a high-water mark for this task that was taken ${after.cursor !== options.cursor ? `on cursor "${after.cursor}", not "${options.cursor}"` : `from another source (${after.source}, now ${sourceName})`}. Continuing from it could skip rows. To start over, delete the mark at the target (see the connector's documentation) and empty the target; or run the task under another id.`,
      { details: { path: 'incremental.cursor', markKey: key, storedCursor: after.cursor } },
    );
  }
  const read = await source.incremental({
    cursor: options.cursor,
    after,
    ...(options.lagMs ? { lagMs: options.lagMs } : {}),
  });
  const to: IncrementalMark = {
    cursor: options.cursor,
    value: read.mark.value,
    runs: (after?.runs ?? 0) + 1,
    source: sourceName,
    ...(read.mark.state !== undefined ? { state: read.mark.state } : {}),
  };
  const every = options.fullCheckEvery;
  const target = args.target;
  const increment: PreparedIncrement = {
    source: read.increment,
    commit: { key, from: after, to, column, reread: read.reread },
    range: read.range,
    fullCheckDue: every !== undefined && to.runs % every === 0,
    upToMark: () => read.upToMark(),
    openTarget: async () => {
      const create = target.connector.createSource!.bind(target.connector);
      return guardSource(target.connector.name, await create(target.args), args.hooks);
    },
    report: (stats, published) => incrementReport(increment, stats, published),
    check: async (report, checkArgs) => {
      report.fullCheck = await fullCheck({ ...checkArgs, increment });
      assertFullCheck(report.fullCheck, task, increment);
    },
  };
  return increment;
}

/** The report of a published increment. */
export function incrementReport(
  increment: PreparedIncrement,
  stats: TransferStats,
  published: PublishResult,
): IncrementalReport {
  const { from, to, reread } = increment.commit;
  return {
    cursor: to.cursor,
    from: from?.value ?? null,
    to: to.value,
    runs: to.runs,
    range: increment.range,
    reread,
    rowsRead: stats.rows,
    ...(published.rows !== undefined ? { rowsWritten: published.rows } : {}),
  };
}

/**
 * The periodic full check, after the publish: every source row up to the mark (through the
 * task's transforms) against the whole target, by row count and checksum. See
 * {@link assertFullCheck} for what a difference means.
 */
export async function fullCheck(args: FullCheckArgs & { increment: PreparedIncrement }): Promise<ValidationReport> {
  const { increment, signal, batchRows } = args;
  const hashing =
    args.workers === false
      ? createValidationSession(createValidators(FULL_CHECK_VALIDATION), args.schema)
      : createParallelValidationSession(FULL_CHECK_VALIDATION, args.schema, {
          pool: args.workers ?? sharedWorkerPool(),
        });
  try {
    const source = increment.upToMark();
    try {
      for await (const batch of applyTransforms(source.read({ signal, batchRows }), args.transforms, signal)) {
        await hashing.observeSource(batch);
      }
    } finally {
      await source.close?.();
    }
    const target = await increment.openTarget();
    try {
      hashing.startStaged(await target.schema());
      for await (const batch of target.read({ signal, batchRows })) await hashing.observeStaged(batch);
    } finally {
      await target.close?.();
    }
    return await hashing.report();
  } finally {
    if ('close' in hashing) await hashing.close();
  }
}

/**
 * Throws ValidationFailedError (not retried) when the full check found a difference. The
 * increment stays published: it was validated on its own, and the difference is older.
 */
export function assertFullCheck(report: ValidationReport, task: TaskDefinition, increment: PreparedIncrement): void {
  if (report.ok) return;
  const failing = report.checks.filter((check) => !check.ok);
  const lines = failing.map(
    (check) => `- ${check.name}: source ${JSON.stringify(check.expected)}, target ${JSON.stringify(check.actual)}`,
  );
  const { to } = increment.commit;
  throw new ValidationFailedError(
    `Task "${task.id}": the full check of run ${to.runs} found that the target differs from the source up to the mark ${JSON.stringify(to.value)}:\n${lines.join('\n')}\nThis run's increment was validated and published; the difference is older: rows deleted at the source, rows that arrived with a cursor below the mark (consider incremental.lag), or changes made at the target. To rebuild the target, empty it and delete its mark (see the connector's documentation), then run the task again.`,
    { details: { taskId: task.id, check: 'incremental-full-check', checks: failing } },
  );
}
