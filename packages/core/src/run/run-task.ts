/**
 * runTask: move one dataset, verified.
 *
 *   preflight   resolve connectors, parse options, check capabilities, read the source
 *               schema, derive the output schema through the transforms, check the target
 *               accepts it: everything that can fail without moving data fails here.
 *   snapshot    keep the existing target (when the connector can and the task wants it).
 *   transfer    stream source → transforms → hashing → staging writer (or, with no transforms
 *               and a raw format both sides share, the source's bytes untouched: raw-transfer.ts).
 *   validate    read the staged data back and compare with what was streamed.
 *   publish     make staged data the target atomically (after the fencing check).
 *   rollback    a failure during publish restores the snapshot.
 *
 * Nothing half-written becomes visible: every failure before publish aborts the staging.
 */
import type { Schema } from 'apache-arrow';
import type { ZodType } from 'zod';
import { typeName } from '../arrow/type-names.ts';
import type {
  Connector,
  ConnectorContext,
  EndpointArgs,
  Logger,
  PublishMode,
  RawDecoderSpec,
  Sink,
  SinkWriter,
  Snapshot,
  SnapshotRef,
  Source,
  StagedTarget,
  TargetDescription,
  WriteOptions,
} from '../connector/connector.ts';
import { capabilitiesOf } from '../connector/connector.ts';
import type { ConnectorRegistry } from '../connector/connector-registry.ts';
import { guardSink, guardSnapshot, guardSource } from '../connector/guard.ts';
import { ConfigError, HonkError, type SerializedHonkError, toHonkError } from '../errors/honk-error.ts';
import { rawTransfer, sharedRawFormat } from '../transfer/raw-transfer.ts';
import { DEFAULT_BATCH_ROWS, transfer } from '../transfer/transfer.ts';
import type { BatchTransform } from '../transfer/transform.ts';
import { createTransforms } from '../transfer/transforms/index.ts';
import {
  type AsyncValidationSession,
  assertValid,
  createParallelValidationSession,
  createValidationSession,
  createValidators,
  INLINE_VALIDATION_ROWS,
} from '../validate/index.ts';
import type { ValidationReport, Validator } from '../validate/validator.ts';
import { sharedWorkerPool, type WorkerPool } from '../workers/worker-pool.ts';
import type { ResolvedEndpoint, TaskDefinition } from './task-definition.ts';
import type { RunEvent, RunPhase, TaskReport, TransferStats } from './task-report.ts';

export interface RunTaskOptions {
  task: TaskDefinition;
  connectors: ConnectorRegistry;
  /** Cancels the run; staged data is removed and nothing is published. */
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  logger?: Logger;
  /** Minimum milliseconds between progress events. Default 250. */
  progressIntervalMs?: number;
  /** Persist the snapshot ref before publish (agents store it on the task record). */
  onSnapshot?: (ref: SnapshotRef) => Promise<void>;
  /**
   * Called immediately before publish. Throwing (e.g. because the lease was lost) aborts the
   * run without publishing: this is the fencing point.
   */
  beforePublish?: () => Promise<void>;
  /**
   * `auto` (default) moves raw bytes when the source and the sink writer share a raw format
   * and no transform applies (see `Source.readRaw`); `arrow` always decodes to Arrow.
   */
  transferPath?: 'auto' | 'arrow';
  /**
   * Worker threads that hash for validation while the main thread moves data (see
   * `validate/parallel-validation-session.ts`). Default: the process-wide pool; `false`
   * hashes on the main thread.
   */
  workers?: WorkerPool | false;
}

const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Parses options with a connector schema, turning zod issues into a ConfigError with paths. */
function parseWith<T>(schema: ZodType<T>, value: unknown, where: string, connector: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues
    .map((issue) => `${[where, ...issue.path.map(String)].join('.')}: ${issue.message}`)
    .join('; ');
  throw new ConfigError(`Invalid options for connector "${connector}": ${issues}.`, {
    details: { where, connector },
  });
}

interface Endpoint {
  connector: Connector;
  args: EndpointArgs<unknown, unknown>;
}

function resolveEndpoint(
  registry: ConnectorRegistry,
  endpoint: ResolvedEndpoint,
  side: 'source' | 'target',
  context: Omit<ConnectorContext, 'connectionName'>,
): Endpoint {
  const connector = registry.get(endpoint.connector);
  return {
    connector,
    args: {
      options: parseWith(
        connector.optionsSchema,
        endpoint.options,
        `connections.${endpoint.connection}`,
        connector.name,
      ),
      endpoint: parseWith(connector.endpointSchema, endpoint.endpoint, side, connector.name),
      context: { ...context, connectionName: endpoint.connection },
    },
  };
}

function missingCapability(connector: string, what: string, fix: string): HonkError {
  return new HonkError('CAPABILITY_MISSING', `Connector "${connector}" ${what}. ${fix}`);
}

/** Everything preflight established; the open source and sink must be closed by the caller. */
export interface Prepared {
  source: Source;
  sink: Sink;
  transforms: BatchTransform[];
  /** The source schema as read. */
  sourceSchema: Schema;
  /** The schema the sink receives (after transforms). */
  schema: Schema;
  target: TargetDescription;
  mode: PublishMode;
  /** Publish mode and key, as the sink's `check()` and `open()` take them. */
  publish: Pick<WriteOptions, 'mode' | 'key'>;
  validators: Validator[];
  /** Snapshot factory, when a snapshot will be taken of an existing target. */
  snapshot?: () => Promise<Snapshot>;
  close(): Promise<void>;
}

/**
 * Preflight: resolve connectors, parse options, check capabilities, read the source schema,
 * derive the output schema through the transforms and ask the sink whether it accepts it.
 * Everything that can fail without moving data fails here. Reads schemas; writes nothing.
 */
export async function prepareTask(
  task: TaskDefinition,
  connectors: ConnectorRegistry,
  context: { signal: AbortSignal; logger: Logger },
): Promise<Prepared> {
  const base = {
    taskId: task.id,
    signal: context.signal,
    logger: context.logger,
    baseDir: task.baseDir ?? process.cwd(),
  };
  const from = resolveEndpoint(connectors, task.source, 'source', base);
  const to = resolveEndpoint(connectors, task.target, 'target', base);
  const targetCaps = capabilitiesOf(to.connector);
  const mode: PublishMode = task.target.mode ?? 'replace';
  const validators = createValidators(task.validate ?? {});
  const publish = { mode, ...(task.target.key?.length ? { key: task.target.key } : {}) };

  if (!from.connector.createSource) {
    throw missingCapability(from.connector.name, 'cannot be a source', 'Use it only as a target.');
  }
  if (!to.connector.createSink) {
    throw missingCapability(to.connector.name, 'cannot be a target', 'Use it only as a source.');
  }
  if (!targetCaps.publishModes.includes(mode)) {
    throw missingCapability(
      to.connector.name,
      `does not support publish mode "${mode}"`,
      `Supported modes: ${targetCaps.publishModes.join(', ')}. Set target.mode accordingly.`,
    );
  }
  if (mode === 'merge' && !task.target.key?.length) {
    throw new ConfigError(`Task "${task.id}": target.mode "merge" needs target.key (the key columns).`);
  }
  if (validators.length > 0 && !targetCaps.readStaged) {
    throw missingCapability(
      to.connector.name,
      'cannot read staged data back, so the migration cannot be validated',
      'Disable validation for this task explicitly (validate: { rowCount: false, checksum: false, sample: 0, schema: false }) if you accept an unverified copy.',
    );
  }
  const createSnapshot = to.connector.createSnapshot;
  if (task.snapshot?.enabled === true && !(targetCaps.snapshot && createSnapshot)) {
    throw missingCapability(to.connector.name, 'cannot take snapshots', 'Set snapshot: false for this task.');
  }

  const source = guardSource(from.connector.name, await from.connector.createSource(from.args));
  let sink: Sink | undefined;
  const close = async () => {
    await source.close?.().catch(() => {});
    await sink?.close?.().catch(() => {});
  };
  try {
    sink = guardSink(to.connector.name, await to.connector.createSink(to.args));
    const transforms = createTransforms(task.transform ?? {}, { baseDir: task.baseDir ?? process.cwd() });
    const sourceSchema = await source.schema();
    let schema: Schema = sourceSchema;
    for (const transform of transforms) schema = await transform.outputSchema(schema);
    const target = await sink.describe();
    await sink.check?.(schema, publish);
    const wantSnapshot = (task.snapshot?.enabled ?? targetCaps.snapshot) && target.exists && createSnapshot;
    return {
      source,
      sink,
      transforms,
      sourceSchema,
      schema,
      target,
      mode,
      publish,
      validators,
      ...(wantSnapshot
        ? { snapshot: async () => guardSnapshot(to.connector.name, await createSnapshot(to.args)) }
        : {}),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Columns as `name: type` lines, for reports and plans. */
export function schemaLines(schema: Schema): string[] {
  return schema.fields.map((field) => `${field.name}: ${typeName(field.type)}${field.nullable ? '' : ' not null'}`);
}

/** One line of a plan's column mapping; a side is absent when the column is dropped or added. */
export interface ColumnMapping {
  source?: string;
  target?: string;
}

/**
 * Pairs source and output columns by name, following `rename`. Output columns no source
 * column maps to (added by a module transform) come last.
 */
function mapColumns(source: Schema, output: Schema, rename: Record<string, string> = {}): ColumnMapping[] {
  const line = (field: Schema['fields'][number]) => `${field.name}: ${typeName(field.type)}`;
  const outputs = new Map(output.fields.map((field) => [field.name, field]));
  const used = new Set<string>();
  const mapping: ColumnMapping[] = source.fields.map((field) => {
    const name = rename[field.name] ?? field.name;
    const target = outputs.get(name);
    if (!target) return { source: line(field) };
    used.add(name);
    return { source: line(field), target: line(target) };
  });
  for (const field of output.fields) if (!used.has(field.name)) mapping.push({ target: line(field) });
  return mapping;
}

/** What `honk plan` shows for a task: schemas and what would happen, with no data moved. */
export interface TaskPlan {
  taskId: string;
  ok: boolean;
  source?: { connector: string; connection: string; schema: string[] };
  /** The schema the target receives, after transforms. */
  output?: string[];
  /** Source column → target column, by name (renames followed). */
  columns?: ColumnMapping[];
  target?: { connector: string; connection: string; exists: boolean; schema?: string[]; mode: PublishMode };
  /** Snapshot of the existing target before publishing. */
  snapshot?: boolean;
  validation?: string[];
  error?: SerializedHonkError;
}

/** Preflight only: validates a task against the real systems without moving data. */
export async function planTask(
  options: Pick<RunTaskOptions, 'task' | 'connectors' | 'signal' | 'logger'>,
): Promise<TaskPlan> {
  const { task } = options;
  try {
    const prepared = await prepareTask(task, options.connectors, {
      signal: options.signal ?? new AbortController().signal,
      logger: options.logger ?? silentLogger,
    });
    await prepared.close();
    return {
      taskId: task.id,
      ok: true,
      source: {
        connector: task.source.connector,
        connection: task.source.connection,
        schema: schemaLines(prepared.sourceSchema),
      },
      output: schemaLines(prepared.schema),
      columns: mapColumns(prepared.sourceSchema, prepared.schema, task.transform?.rename),
      target: {
        connector: task.target.connector,
        connection: task.target.connection,
        exists: prepared.target.exists,
        ...(prepared.target.schema ? { schema: schemaLines(prepared.target.schema) } : {}),
        mode: prepared.mode,
      },
      snapshot: prepared.snapshot !== undefined,
      validation: prepared.validators.map((validator) => validator.name),
    };
  } catch (error) {
    return { taskId: task.id, ok: false, error: toHonkError(error).toJSON() };
  }
}

/** Runs one task. Always resolves with a report: `report.ok` tells success. */
export async function runTask(options: RunTaskOptions): Promise<TaskReport> {
  const { task } = options;
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const logger = options.logger ?? silentLogger;
  const startedAt = new Date();
  const timings: Partial<Record<RunPhase, number>> = {};
  let stats: TransferStats = { rows: 0, bytes: 0, batches: 0, elapsedMs: 0, rowsPerSecond: 0 };
  let phase: RunPhase = 'preflight';
  let phaseStarted = performance.now();
  const emit = (event: RunEvent) => {
    try {
      options.onEvent?.(event);
    } catch (error) {
      logger.warn({ taskId: task.id, err: String(error) }, 'event listener threw');
    }
  };
  const enter = (next: RunPhase) => {
    const now = performance.now();
    timings[phase] = (timings[phase] ?? 0) + (now - phaseStarted);
    phase = next;
    phaseStarted = now;
    emit({ type: 'task-phase', taskId: task.id, phase: next });
  };

  let prepared: Prepared | undefined;
  let writer: SinkWriter | undefined;
  let snapshot: Snapshot | undefined;
  let snapshotRef: SnapshotRef | null = null;
  let validation: ValidationReport | undefined;
  let published: TaskReport['published'];
  let publishStarted = false;
  let restored = false;
  let schemas: TaskReport['schema'];
  let path: TaskReport['path'];
  let session: AsyncValidationSession | undefined;

  const finish = (error?: unknown): TaskReport => {
    enter('done');
    const report: TaskReport = {
      taskId: task.id,
      ok: error === undefined,
      stats,
      timings,
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
    };
    if (validation) report.validation = validation;
    if (snapshotRef !== null || snapshot) report.snapshot = snapshotRef;
    if (published !== undefined) report.published = published;
    if (publishStarted && error !== undefined) report.restored = restored;
    if (schemas) report.schema = schemas;
    if (path) report.path = path;
    if (error !== undefined) {
      const honk = toHonkError(error);
      report.error = honk.toJSON();
      Object.defineProperty(report, 'cause', { value: honk, enumerable: false });
    }
    return report;
  };

  try {
    emit({ type: 'task-phase', taskId: task.id, phase: 'preflight' });
    prepared = await prepareTask(task, options.connectors, { signal, logger });
    const { source, sink, transforms, schema } = prepared;
    schemas = { source: schemaLines(schema) };

    // ── snapshot ─────────────────────────────────────────────────────────────
    if (prepared.snapshot) {
      enter('snapshot');
      snapshot = await prepared.snapshot();
      snapshotRef = await snapshot.take();
      if (snapshotRef) {
        emit({ type: 'task-snapshot-taken', taskId: task.id, ref: snapshotRef });
        await options.onSnapshot?.(snapshotRef);
      }
    }

    // ── transfer ─────────────────────────────────────────────────────────────
    enter('transfer');
    session = validationSession(prepared.validators, task, schema, options.workers);
    writer = await sink.open(schema, { signal, ...prepared.publish });
    const batchRows = task.batchRows ?? DEFAULT_BATCH_ROWS;
    const common = {
      writer,
      batchRows,
      signal,
      onProgress: (progress: TransferStats) => emit({ type: 'task-progress', taskId: task.id, ...progress }),
      ...(options.progressIntervalMs !== undefined ? { progressIntervalMs: options.progressIntervalMs } : {}),
    };
    // Raw byte fast path: nothing transforms the rows and both sides speak the same bytes.
    // The source still decodes what it forwards when validating, so the checks keep their meaning.
    const rawFormat =
      options.transferPath !== 'arrow' && transforms.length === 0 ? await sharedRawFormat(source, writer) : null;
    path = rawFormat === null ? 'arrow' : 'raw';
    if (rawFormat !== null) logger.debug({ taskId: task.id, format: rawFormat }, 'raw transfer');
    const validating = prepared.validators.length > 0;
    // With a decoder for worker threads, the forwarded bytes are decoded and hashed there.
    const sourceDecoder =
      rawFormat !== null && validating ? await workerDecoder(source, options.workers, undefined) : null;
    stats =
      rawFormat === null
        ? await transfer({ ...common, source, transforms, observe: (batch) => session?.observeSource(batch) })
        : await rawTransfer({
            ...common,
            source,
            ...(sourceDecoder
              ? { observeRaw: (bytes) => session?.observeSourceRaw(bytes, sourceDecoder) }
              : validating
                ? { observe: (batch) => session?.observeSource(batch) }
                : {}),
          });
    const staged: StagedTarget = await writer.stage();

    // ── validate ─────────────────────────────────────────────────────────────
    if (prepared.validators.length > 0) {
      enter('validate');
      const reader = staged.reader();
      try {
        const stagedSchema = await reader.schema();
        session.startStaged(stagedSchema);
        schemas.target = schemaLines(stagedSchema);
        const stagedDecoder = await workerDecoder(reader, options.workers, stats.rows);
        if (stagedDecoder && reader.readRaw) {
          for await (const chunk of reader.readRaw({ signal, batchRows, decode: false })) {
            if (chunk.bytes.byteLength > 0) await session.observeStagedRaw(chunk.bytes, stagedDecoder);
          }
        } else {
          for await (const batch of reader.read({ signal, batchRows })) {
            await session.observeStaged(batch);
          }
        }
      } finally {
        await reader.close?.();
      }
      validation = await session.report();
      assertValid(validation, { taskId: task.id });
    }

    // ── publish ──────────────────────────────────────────────────────────────
    enter('publish');
    await options.beforePublish?.();
    publishStarted = true;
    published = (await writer.publish()).ref;
    logger.info({ taskId: task.id, rows: stats.rows }, 'published');
    return finish();
  } catch (error) {
    controller.abort(error);
    logger.warn({ taskId: task.id, phase, code: toHonkError(error).code }, 'task run failed');
    if (writer) {
      await writer.abort(error).catch((abortError: unknown) => {
        logger.error({ taskId: task.id, err: String(abortError) }, 'could not remove staged data');
      });
    }
    if (publishStarted && snapshot && snapshotRef) {
      enter('rollback');
      try {
        await snapshot.restore(snapshotRef);
        restored = true;
      } catch (restoreError) {
        logger.error({ taskId: task.id, err: String(restoreError) }, 'snapshot restore failed');
      }
    }
    return finish(error);
  } finally {
    await session?.close();
    await prepared?.close();
  }
}

/**
 * The decoder `reader` offers for worker threads when validation runs there and the read is
 * large enough to pay for it (`rows`, else the decoder's own estimate, against the rows a
 * side hashes inline); null otherwise.
 */
async function workerDecoder(
  reader: Source,
  workers: WorkerPool | false | undefined,
  rows: number | undefined,
): Promise<RawDecoderSpec | null> {
  if (workers === false || !reader.readRaw || !reader.rawDecoder) return null;
  if ((await reader.rawFormat?.()) == null) return null;
  const decoder = await reader.rawDecoder();
  if (decoder === null) return null;
  const expected = rows ?? decoder.estimatedRows ?? Number.POSITIVE_INFINITY;
  return expected >= INLINE_VALIDATION_ROWS ? decoder : null;
}

/**
 * The validation session of one run: hashing on worker threads unless `workers` is false,
 * else (or with no validators to run) on the main thread.
 */
function validationSession(
  validators: readonly Validator[],
  task: TaskDefinition,
  schema: Schema,
  workers: WorkerPool | false | undefined,
): AsyncValidationSession {
  if (workers !== false && validators.length > 0) {
    return createParallelValidationSession(task.validate ?? {}, schema, { pool: workers ?? sharedWorkerPool() });
  }
  const inline = createValidationSession(validators, schema);
  return {
    observeSource: async (batch) => inline.observeSource(batch),
    observeSourceRaw: () => Promise.reject(new HonkError('INTERNAL', 'Raw validation needs worker threads.')),
    startStaged: (stagedSchema) => inline.startStaged(stagedSchema),
    observeStaged: async (batch) => inline.observeStaged(batch),
    observeStagedRaw: () => Promise.reject(new HonkError('INTERNAL', 'Raw validation needs worker threads.')),
    report: async () => inline.report(),
    close: async () => {},
  };
}
