/**
 * The spec file, as zod schemas (DESIGN §4). These are the single source of truth: files,
 * objects built in code (`defineSpec`) and the JSON Schema editors use (`honk schema`) all
 * come from here.
 *
 * Design choices:
 * - Objects are strict: an unknown key is an error, never silently ignored, because a typo
 *   (`notbefore:`) would otherwise change what a migration does without anyone noticing.
 *   The exceptions are the places where a connector owns the keys: connection options and
 *   a task's `source:`/`target:`. Those pass through here and are checked against the
 *   connector's own schemas when the spec is resolved.
 * - The schemas apply no defaults and no transforms, so a parsed spec equals its input and
 *   hashes the same however it was written; defaults are applied by `resolveSpec`.
 * - Fields the control plane reads before secrets are available (ids, connection names,
 *   times, cron, durations) must be literal; `${env:NAME}` is allowed in every other string.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { envReferenceSyntaxError } from './env-reference.ts';
import { DURATION_PATTERN } from './parse-duration.ts';
import { closest } from './spec-error.ts';
import { isValidTimeZone } from './task-window.ts';

const LITERAL_ONLY =
  'environment references are not allowed here: this field is read before secrets are available; write the value itself';

/** A string that must not contain `${env:…}`. */
function literalString() {
  return z.string().refine((value) => !value.includes('${env:'), { message: LITERAL_ONLY, abort: true });
}

/** Characters allowed in task ids and connection names: they end up in file and table names. */
export const SAFE_NAME_PATTERN = /^[A-Za-z0-9._-]+$/;

const safeName = (what: string) =>
  literalString()
    .min(1)
    .max(200)
    .regex(SAFE_NAME_PATTERN, `expected a ${what} made of letters, digits, ".", "_" and "-"`);

/** `7d`, `12h`, `30m`, `45s`, `500ms`. */
export const durationSchema = literalString()
  .regex(DURATION_PATTERN, 'expected a duration such as "7d", "12h", "30m", "45s" or "500ms"')
  .meta({ description: 'A duration: a whole number and a unit (ms, s, m, h, d), e.g. "7d".' });

/** `HH:MM`, 24-hour; `24:00` is allowed as an end. */
export const timeOfDaySchema = literalString()
  .regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'expected a time of day HH:MM (24-hour), e.g. "06:00"')
  .meta({ description: 'Wall-clock time HH:MM (24-hour).' });

/** An IANA time zone known to the runtime (checked with Intl). */
export const timeZoneSchema = literalString()
  .refine(isValidTimeZone, 'expected an IANA time zone such as "UTC" or "Europe/Stockholm"')
  .meta({ description: 'IANA time zone, e.g. "UTC" or "Europe/Stockholm".' });

const nonNegativeInt = () => z.int().min(0);

export const backoffSchema = z
  .strictObject({
    initialMs: nonNegativeInt().optional().meta({ description: 'Delay before the first retry, in ms. Default 1000.' }),
    factor: z.number().min(1).optional().meta({ description: 'Each delay is the previous one times this. Default 2.' }),
    maxMs: nonNegativeInt().optional().meta({ description: 'Upper bound of a delay, in ms. Default 60000.' }),
    jitter: z
      .boolean()
      .optional()
      .meta({ description: 'Randomise each delay (full jitter) so a fleet does not retry in lockstep. Default true.' }),
  })
  .meta({ title: 'Backoff', description: 'Exponential backoff between attempts.' });

export const retrySchema = z
  .strictObject({
    attempts: z
      .int()
      .min(1)
      .optional()
      .meta({ description: 'Attempts in total, including the first. Default 3. Non-retryable errors never retry.' }),
    backoff: backoffSchema.optional(),
  })
  .meta({ title: 'Retry', description: 'How often and how patiently a transient failure is retried.' });

export const validateSchema = z
  .strictObject({
    rowCount: z.boolean().optional().meta({ description: 'Compare row counts. Default true.' }),
    checksum: z
      .boolean()
      .optional()
      .meta({ description: 'Compare the order-independent 64-bit checksum of all rows. Default true.' }),
    sample: nonNegativeInt()
      .optional()
      .meta({ description: 'Compare this many rows chosen by key hash; 0 turns it off. Default 100.' }),
    schema: z.boolean().optional().meta({ description: 'Compare column names, order and types. Default true.' }),
    key: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .meta({ description: 'Key columns used to pick sample rows. Default: all columns.' }),
  })
  .meta({ title: 'Validate', description: 'Checks run on the staged data before it is published.' });

export const snapshotSchema = z
  .union(
    [
      z.boolean(),
      z.strictObject({
        keepFor: durationSchema.meta({
          description: 'Keep the snapshot this long after it was taken, then discard it, e.g. "30d". Default "7d".',
        }),
      }),
    ],
    { error: 'expected true, false or { keepFor: "7d" }' },
  )
  .meta({
    title: 'Snapshot',
    description:
      'Snapshot an existing target before publishing so it can be restored: true, false, or { keepFor: "7d" }. Default: on when the target connector supports it, kept 7 days. A task keeps one snapshot: that of its latest publish.',
  });

export const idleTimeoutSchema = z
  .union([durationSchema, z.literal(false)], { error: 'expected a duration such as "10m", or false' })
  .meta({
    description:
      'Abort an attempt that made no progress (no batch read or written, no connector call ending) for this long; it is retried (TIMED_OUT). false turns it off. Default "10m". A snapshot or publish reports no progress, so it must finish within this.',
  });

export const timeoutSchema = durationSchema.meta({
  description: 'Abort an attempt that runs longer than this in total (TIMED_OUT, retried). Default: no limit.',
});

export const chunksSchema = z
  .union(
    [
      z.boolean(),
      z.strictObject({
        max: z
          .int()
          .min(1)
          .max(10_000)
          .optional()
          .meta({ description: 'At most this many chunks; the source decides how to split. Default 16.' }),
      }),
    ],
    { error: 'expected true, false or { max: 16 }' },
  )
  .meta({
    title: 'Chunks',
    description:
      'Move the dataset in chunks (the source’s partitions: key ranges, part files), each staged and recorded on its own: a restart repeats only unfinished chunks, and a fleet’s agents move chunks at once. Published once, after the whole is validated. Default false.',
  });

export const batchRowsSchema = z
  .int()
  .min(1)
  .meta({ description: 'Rows per Arrow record batch; bounds memory. Default 65536.' });

/**
 * Labels an agent must have to run a task (agent classes). Keys and values are restricted
 * to what survives `key=value,…` variables, Kubernetes and Prometheus labels and SQL
 * literals; the same rules as `assertAgentLabels` in the queue.
 */
export const agentLabelsSchema = z
  .record(
    literalString().regex(
      /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/,
      'expected a label name of 1 to 63 letters, digits, ".", "_", "-" or "/", starting and ending with a letter or digit',
    ),
    literalString().regex(
      /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/,
      'expected a label value of 1 to 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit',
    ),
  )
  .meta({
    description:
      'Labels an agent must have to run this (agent classes), e.g. { region: eu }. Agents declare theirs with `honk agent --label region=eu` or HONK_AGENT_LABELS; `honk run` runs every task itself.',
  });

export const connectionSchema = z
  .looseObject({
    connector: safeName('connector name').meta({
      description: 'Connector name: file, postgres, s3, … or one loaded from `connectors:`.',
    }),
    maxConcurrency: z
      .int()
      .min(1)
      .optional()
      .meta({ description: 'At most this many tasks use this connection at once, fleet-wide.' }),
    agentLabels: agentLabelsSchema.optional().meta({
      description:
        "Labels an agent must have to run tasks that use this connection, e.g. { region: eu } for agents close to the data. Merged with the task's own agentLabels.",
    }),
  })
  .meta({
    title: 'Connection',
    description:
      'A named connection. Every other key is a connector option (root, url, bucket, …) checked by the connector.',
  });

const connectionName = literalString()
  .min(1)
  .meta({ description: 'The name of a connection defined under `connections:`.' });

export const publishModeSchema = z
  .enum(['replace', 'append', 'merge'])
  .meta({ description: 'How staged data becomes the target. Default replace.' });

export const sourceSchema = z.looseObject({ connection: connectionName }).meta({
  title: 'Source',
  description:
    'Where data comes from. Other keys are the connector’s endpoint options: path/format for files, table/query for databases.',
});

export const targetSchema = z
  .looseObject({
    connection: connectionName,
    mode: publishModeSchema.optional(),
    key: z.array(z.string().min(1)).min(1).optional().meta({ description: 'Key columns; required for mode merge.' }),
  })
  .meta({
    title: 'Target',
    description: 'Where data goes. Other keys are the connector’s endpoint options: path/format or table.',
  });

export const transformSchema = z
  .strictObject({
    select: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .meta({ description: 'Keep only these columns, in this order.' }),
    rename: z.record(z.string(), z.string().min(1)).optional().meta({ description: 'Rename columns: { old: new }.' }),
    cast: z
      .record(z.string(), z.string().min(1))
      .optional()
      .meta({ description: 'Convert columns: { column: int64 | timestamp | decimal(38,2) | … }.' }),
    allowLossy: z
      .union([z.boolean(), z.array(z.string().min(1))])
      .optional()
      .meta({ description: 'Allow lossy casts for all columns (true) or the listed ones. Default false.' }),
    module: z
      .string()
      .regex(/^[^#]+(#[A-Za-z_$][\w$]*)?$/, 'expected a module path, optionally with #exportName')
      .optional()
      .meta({ description: 'A batch transform module: "./transforms/orders.ts#maskEmails".' }),
  })
  .meta({ title: 'Transform', description: 'Applied in order: select, rename, cast, module.' });

function isValidCron(pattern: string): boolean {
  try {
    new Cron(pattern, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}

export const scheduleSchema = z
  .strictObject({
    cron: literalString()
      .refine(isValidCron, 'expected a cron expression with 5 or 6 fields, e.g. "0 2 * * *"')
      .meta({ description: 'Cron expression (minute hour day month weekday), e.g. "0 2 * * *".' }),
    timezone: timeZoneSchema.optional().meta({ description: 'Time zone of the cron expression. Default UTC.' }),
  })
  .meta({ title: 'Schedule', description: 'Re-run the task on a schedule.' });

export const windowSchema = z
  .strictObject({
    start: timeOfDaySchema,
    end: timeOfDaySchema,
    timezone: timeZoneSchema.optional().meta({ description: 'Time zone of start and end. Default UTC.' }),
  })
  .superRefine((window, context) => {
    if (window.start === window.end) {
      context.addIssue({
        code: 'custom',
        path: ['end'],
        message: 'end equals start: a window must have a length (omit `window` to allow any time)',
        input: window.end,
      });
    }
    if (window.start === '24:00') {
      context.addIssue({ code: 'custom', path: ['start'], message: 'start cannot be 24:00; use "00:00"' });
    }
  })
  .meta({
    title: 'Window',
    description: 'The task may start only between start and end each day (wall clock); end < start crosses midnight.',
  });

export const incrementalSchema = z
  .strictObject({
    cursor: z.string().min(1).meta({
      description:
        'The source column that tells new and changed rows: a timestamp such as updated_at, or a key that only grows. Integer, decimal, date or timestamp.',
    }),
    lag: durationSchema.optional().meta({
      description:
        'Timestamp cursors: leave rows newer than now minus this for a later run, so rows of transactions still open when the run reads are not overtaken, e.g. "5m". Default none.',
    }),
    fullCheckEvery: z.int().min(1).optional().meta({
      description:
        'Every Nth run also compares the whole target with the source up to the mark (row count and checksum). Default: never.',
    }),
  })
  .meta({
    title: 'Incremental',
    description:
      'Re-runs move only rows past the high-water mark (the highest cursor value published, kept at the target and committed with each publish). Needs target.mode append or merge. See docs/incremental.md.',
  });

const isoDateTime = z.iso.datetime({ offset: true });

export const taskSchema = z
  .strictObject({
    id: safeName('task id').meta({
      description: 'Unique task id, the idempotency key. Letters, digits, ".", "_" and "-".',
    }),
    entity: z.string().min(1).optional().meta({ description: 'Catalog entity ref, e.g. resource:default/orders.' }),
    priority: z.int().optional().meta({ description: 'Higher runs first. Default 0.' }),
    notBefore: literalString()
      .refine(
        (value) => isoDateTime.safeParse(value).success,
        'expected an ISO 8601 date-time with a zone, e.g. "2026-11-25T00:00:00Z"',
      )
      .optional()
      .meta({ description: 'Do not start before this instant (ISO 8601 with Z or an offset).' }),
    schedule: scheduleSchema.optional(),
    window: windowSchema.optional(),
    source: sourceSchema,
    target: targetSchema,
    transform: transformSchema.optional(),
    retry: retrySchema.optional(),
    validate: validateSchema.optional(),
    snapshot: snapshotSchema.optional(),
    incremental: incrementalSchema.optional(),
    labels: z
      .record(z.string(), z.string())
      .optional()
      .meta({ description: 'Free-form labels, copied into events, metrics and reports.' }),
    agentLabels: agentLabelsSchema.optional().meta({
      description:
        'Labels an agent must have to claim this task, added to those of its connections, e.g. { region: eu }.',
    }),
    batchRows: batchRowsSchema.optional(),
    chunks: chunksSchema.optional(),
    idleTimeout: idleTimeoutSchema.optional(),
    timeout: timeoutSchema.optional(),
  })
  .check(
    // Runs even when other fields failed, so every problem is reported in one pass.
    z.superRefine<unknown>(
      (task, context) => {
        const target = field(task, 'target');
        if (field(target, 'mode') === 'merge' && field(target, 'key') === undefined) {
          context.addIssue({
            code: 'custom',
            path: ['target', 'key'],
            message: 'required when mode is "merge": list the key columns, e.g. key: [id]',
          });
        }
        const mode = field(target, 'mode') ?? 'replace';
        if (field(task, 'incremental') !== undefined && mode !== 'append' && mode !== 'merge') {
          context.addIssue({
            code: 'custom',
            path: ['target', 'mode'],
            message: `an incremental task publishes each increment with mode "append" or "merge", not "${String(mode)}" (replace would swap the whole target for the increment): set mode: merge with key: [...], or mode: append`,
          });
        }
      },
      { when: () => true },
    ),
  )
  .meta({ title: 'Task', description: 'One dataset to migrate.' });

export const defaultsSchema = z
  .strictObject({
    retry: retrySchema.optional(),
    validate: validateSchema.optional(),
    snapshot: snapshotSchema.optional(),
    batchRows: batchRowsSchema.optional(),
    idleTimeout: idleTimeoutSchema.optional(),
    timeout: timeoutSchema.optional(),
  })
  .meta({ title: 'Defaults', description: 'Settings every task inherits unless it sets its own.' });

export const specSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: 'Editor hint: the JSON Schema of this file.' }),
    version: z.literal(1).meta({ description: 'Spec format version. Always 1.' }),
    connections: z
      .record(safeName('connection name'), connectionSchema)
      .meta({ description: 'Named connections tasks refer to.' }),
    connectors: z.array(literalString().min(1)).optional().meta({
      description:
        'Modules providing custom connectors, relative to the spec file: "./my-connector.ts" (default or named exports), optionally "#exportName".',
    }),
    defaults: defaultsSchema.optional(),
    tasks: z.array(taskSchema).meta({ description: 'The datasets to migrate.' }),
  })
  .check(z.superRefine<unknown>((spec, context) => crossCheck(spec, context), { when: () => true }))
  .meta({ title: 'Honk spec', description: 'Datasets to migrate, and the connections they use.' });

/** Reads `value[key]` when value is an object; the refinements below see unvalidated input. */
function field(value: unknown, key: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** Checks across fields: unique ids, known connection names, `${env:` syntax. */
function crossCheck(spec: unknown, context: z.RefinementCtx): void {
  const connections = field(spec, 'connections');
  const connectionNames =
    connections !== null && typeof connections === 'object' && !Array.isArray(connections)
      ? Object.keys(connections)
      : [];
  const tasks = field(spec, 'tasks');
  const firstIndex = new Map<string, number>();
  if (Array.isArray(tasks)) {
    tasks.forEach((task, index) => {
      const id = field(task, 'id');
      if (typeof id === 'string') {
        const previous = firstIndex.get(id);
        if (previous !== undefined) {
          context.addIssue({
            code: 'custom',
            path: ['tasks', index, 'id'],
            message: `duplicate task id "${id}": tasks[${previous}] and tasks[${index}] both use it; ids must be unique`,
          });
        } else firstIndex.set(id, index);
      }
      for (const side of ['source', 'target'] as const) {
        const name = field(field(task, side), 'connection');
        if (typeof name === 'string' && connections !== undefined && !connectionNames.includes(name)) {
          const suggestion = closest(name, connectionNames);
          context.addIssue({
            code: 'custom',
            path: ['tasks', index, side, 'connection'],
            message: `unknown connection "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; defined connections: ${connectionNames.join(', ') || '(none)'}`,
          });
        }
      }
    });
  }
  checkEnvReferenceSyntax(spec, [], context);
}

function checkEnvReferenceSyntax(value: unknown, path: PropertyKey[], context: z.RefinementCtx): void {
  if (typeof value === 'string') {
    const problem = envReferenceSyntaxError(value);
    if (problem) context.addIssue({ code: 'custom', path, message: problem });
  } else if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) checkEnvReferenceSyntax(item, [...path, index], context);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) checkEnvReferenceSyntax(item, [...path, key], context);
  }
}

/** A parsed spec. No defaults applied: it equals its input. */
export type Spec = z.output<typeof specSchema>;
/** What a spec file or `defineSpec` accepts. */
export type SpecInput = z.input<typeof specSchema>;
export type TaskSpec = z.output<typeof taskSchema>;
export type TaskSpecInput = z.input<typeof taskSchema>;
export type ConnectionSpec = z.output<typeof connectionSchema>;
export type SourceSpec = z.output<typeof sourceSchema>;
export type TargetSpec = z.output<typeof targetSchema>;
export type RetrySpec = z.output<typeof retrySchema>;
export type ValidateSpec = z.output<typeof validateSchema>;
export type SnapshotSpec = z.output<typeof snapshotSchema>;
export type DefaultsSpec = z.output<typeof defaultsSchema>;
export type ScheduleSpec = z.output<typeof scheduleSchema>;
export type WindowSpec = z.output<typeof windowSchema>;
export type TransformSpec = z.output<typeof transformSchema>;
export type IncrementalSpec = z.output<typeof incrementalSchema>;
