/**
 * Preflight: everything about a task that can be found out without moving data — connectors
 * resolved, options parsed, capabilities checked, the source schema read and pushed through
 * the transforms, the target asked whether it accepts it. `runTask` starts with it and
 * `honk plan` (planTask) stops after it.
 */
import { dirname, resolve } from 'node:path';
import type { Schema } from 'apache-arrow';
import type { ZodType } from 'zod';
import { typeName } from '../arrow/type-names.ts';
import type {
  Connector,
  ConnectorContext,
  EndpointArgs,
  Logger,
  PublishMode,
  Sink,
  Snapshot,
  Source,
  TargetDescription,
  WriteOptions,
} from '../connector/connector.ts';
import { capabilitiesOf } from '../connector/connector.ts';
import type { ConnectorRegistry } from '../connector/connector-registry.ts';
import { type ActivityTracker, guardSink, guardSnapshot, guardSource } from '../connector/guard.ts';
import {
  ConfigError,
  HonkError,
  SchemaMismatchError,
  type SerializedHonkError,
  toHonkError,
} from '../errors/honk-error.ts';
import { redact } from '../errors/redact.ts';
import { silentLogger } from '../observe/logger.ts';
import type { BatchTransform } from '../transfer/transform.ts';
import { createTransforms } from '../transfer/transforms/index.ts';
import { createValidators } from '../validate/index.ts';
import type { Validator } from '../validate/validator.ts';
import { beginIncrement, checkIncrementalTask, type PreparedIncrement } from './incremental-run.ts';
import type { ResolvedEndpoint, TaskDefinition } from './task-definition.ts';

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

/** `connection "legacy" (connector "file", path "orders.csv")`, with secrets masked. */
export function describeEndpoint(endpoint: ResolvedEndpoint): string {
  const options = Object.entries(redact(endpoint.endpoint))
    .filter(([, value]) => typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    .map(([key, value]) => `${key} ${JSON.stringify(value)}`);
  return `connection "${endpoint.connection}" (connector "${endpoint.connector}"${options.length > 0 ? `, ${options.join(', ')}` : ''})`;
}

/**
 * A dataset without columns is refused before anything is staged. It is a schema problem,
 * not damaged bytes (SCHEMA_MISMATCH, not DATA_CORRUPT): a wrong path or format, an empty
 * file, a query that selects nothing, a transform that drops every column. Letting it
 * through would publish an empty shell over a good target, and validation could not catch
 * it: zero columns compare equal to zero columns.
 */
function noColumns(task: TaskDefinition, what: string): SchemaMismatchError {
  return new SchemaMismatchError(
    `Task "${task.id}": ${what}: source ${describeEndpoint(task.source)}. A dataset without columns cannot be migrated (publishing it would replace the target with an empty shell), so nothing was staged or published. Check the source's path, format, table or query${task.transform ? ' and the transform of the task' : ''}.`,
    { details: { connection: task.source.connection, connector: task.source.connector, columns: 0 } },
  );
}

/**
 * The local directory a target of the built-in file connector writes to (its staging sits
 * beside the target), so a NO_SPACE error can name it and read its free space. Other
 * connectors do not say where they write; their errors name the path when the OS does.
 */
function localTargetDirectory(endpoint: Endpoint, baseDir: string): string | undefined {
  if (endpoint.connector.name !== 'file') return undefined;
  const root = (endpoint.args.options as { root?: unknown }).root;
  const path = (endpoint.args.endpoint as { path?: unknown }).path;
  if (typeof root !== 'string' || typeof path !== 'string') return undefined;
  return resolve(baseDir, root, dirname(path));
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
  /** Publish mode and key (and an incremental run's mark), as the sink's `check()` and `open()` take them. */
  publish: Pick<WriteOptions, 'mode' | 'key' | 'incremental'>;
  validators: Validator[];
  /** Snapshot factory, when a snapshot will be taken of an existing target. */
  snapshot?: () => Promise<Snapshot>;
  /** An incremental task's increment; `source` then reads just its rows. */
  incremental?: PreparedIncrement;
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
  context: { signal: AbortSignal; logger: Logger; activity?: ActivityTracker },
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
  if (task.chunks && task.incremental) {
    throw new ConfigError(
      `Task "${task.id}": chunks and incremental cannot be combined: an increment is read and published in one attempt. Remove one of them.`,
      { details: { option: 'chunks' } },
    );
  }
  checkIncrementalTask(task, from.connector, to.connector);
  if (task.chunks) {
    if (!capabilitiesOf(from.connector).partitionedRead) {
      throw missingCapability(
        from.connector.name,
        'cannot read its data in chunks (it does not declare partitionedRead)',
        'Remove chunks: from the task.',
      );
    }
    if (!targetCaps.chunkedStaging) {
      throw missingCapability(
        to.connector.name,
        'cannot stage data in chunks (it does not declare chunkedStaging)',
        'Remove chunks: from the task, or write to a target whose connector can.',
      );
    }
  }
  const createSnapshot = to.connector.createSnapshot;
  if (task.snapshot?.enabled === true && !(targetCaps.snapshot && createSnapshot)) {
    throw missingCapability(to.connector.name, 'cannot take snapshots', 'Set snapshot: false for this task.');
  }

  const hooks = context.activity ? { activity: context.activity } : {};
  const location = localTargetDirectory(to, base.baseDir);
  const source = guardSource(from.connector.name, await from.connector.createSource(from.args), hooks);
  let sink: Sink | undefined;
  const close = async () => {
    await source.close?.().catch(() => {});
    await sink?.close?.().catch(() => {});
  };
  try {
    sink = guardSink(to.connector.name, await to.connector.createSink(to.args), {
      ...hooks,
      ...(location ? { location } : {}),
    });
    // partitionedRead alone also serves reads of several partitions within one attempt; a
    // chunk read needs a source that reads one partition alone, later, anywhere: partition(ref).
    if (task.chunks && (!source.partitions || !source.partition)) {
      throw missingCapability(
        from.connector.name,
        'cannot read its data in chunks (its source has no partition(ref))',
        'Remove chunks: from the task.',
      );
    }
    if (task.chunks && !sink.openChunked) {
      throw new HonkError(
        'CONNECTOR_MISUSE',
        `Connector "${to.connector.name}" declares chunkedStaging but its sink has no openChunked(); this is a connector defect.`,
      );
    }
    const transforms = createTransforms(task.transform ?? {}, { baseDir: task.baseDir ?? process.cwd() });
    const sourceSchema = await source.schema();
    if (sourceSchema.fields.length === 0) throw noColumns(task, 'the source has no columns');
    let schema: Schema = sourceSchema;
    for (const transform of transforms) schema = await transform.outputSchema(schema);
    if (schema.fields.length === 0) throw noColumns(task, 'the transforms leave no columns');
    const target = await sink.describe();
    await sink.check?.(schema, publish);
    // Incremental targets take none (see checkIncrementalTask).
    const wantSnapshot =
      (task.snapshot?.enabled ?? (targetCaps.snapshot && !task.incremental)) && target.exists && createSnapshot;
    const increment = task.incremental
      ? await beginIncrement({ task, source, sink, sourceSchema, schema, target: to, hooks })
      : undefined;
    return {
      source: increment?.source ?? source,
      sink,
      transforms,
      sourceSchema,
      schema,
      target,
      mode,
      publish: increment ? { ...publish, incremental: increment.commit } : publish,
      validators,
      ...(increment ? { incremental: increment } : {}),
      ...(wantSnapshot
        ? { snapshot: async () => guardSnapshot(to.connector.name, await createSnapshot(to.args), hooks) }
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
  /** An incremental task's next increment: the stored mark, the bound the source found now, the range. */
  incremental?: { cursor: string; from: string | null; to: string | null; range: string; fullCheck: boolean };
  error?: SerializedHonkError;
}

/** Preflight only: validates a task against the real systems without moving data. */
export async function planTask(options: {
  task: TaskDefinition;
  connectors: ConnectorRegistry;
  signal?: AbortSignal;
  logger?: Logger;
}): Promise<TaskPlan> {
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
      ...(prepared.incremental
        ? {
            incremental: {
              cursor: prepared.incremental.commit.to.cursor,
              from: prepared.incremental.commit.from?.value ?? null,
              to: prepared.incremental.commit.to.value,
              range: prepared.incremental.range,
              fullCheck: prepared.incremental.fullCheckDue,
            },
          }
        : {}),
    };
  } catch (error) {
    return { taskId: task.id, ok: false, error: toHonkError(error).toJSON() };
  }
}
