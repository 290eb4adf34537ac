/**
 * PostgresTaskStore: the TaskStore contract (v1) on PostgreSQL, for a fleet of agents in
 * many processes and hosts sharing one queue (`honk agent --store postgres://…`).
 *
 * How the rules of the contract hold across processes:
 * - **Claim** is, in the common case, two statements: take back up to {@link REAP_BATCH}
 *   expired leases (`FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on each
 *   other), then one `WITH … UPDATE` that locks the first claimable row in claim order
 *   (`FOR UPDATE SKIP LOCKED LIMIT 1`) and leases it. The row comes from the partial index
 *   `tasks_claim_order (priority DESC, run_at, enqueued_at, sequence) WHERE state IN
 *   ('pending','retrying')`: ended tasks are not in it and due tasks are at its front, so a
 *   claim costs the same with 1k or 100k tasks waiting. The store's connections run with
 *   `enable_sort` and `enable_bitmapscan` off so the planner cannot trade that index walk
 *   for a sort of every pending row when statistics are stale (a freshly filled queue).
 *   What the walk still steps over row by row: tasks of a *higher* priority whose `runAt`
 *   is in the future, tasks on an excluded connection or in a closed window, and tasks the
 *   claiming agent's class may not take (`agent_labels <@ labels`, `connections <@ list`).
 * - **Windows** are evaluated in JS with `windowAllows` (the same code as every store). A
 *   store instance knows the windows it enqueued or met in a candidate row; the claim
 *   filters `window_key = ANY(open)` in SQL, and a row with a window it has not met yet
 *   goes to the careful path, which learns the window and checks it — one extra step per
 *   distinct window, once per process, so closed-window tasks never make claims loop.
 * - **Connection limits** (`maxConcurrency`, fleet-wide): a candidate that uses a limited
 *   connection takes the careful path, a transaction that locks that connection's
 *   `connection_limits` row (`FOR UPDATE`, names in sorted order) and then counts running
 *   tasks using it in a fresh statement, so two claimers can never both take the last
 *   slot; a full connection is excluded and the walk goes on. Unlimited connections cost
 *   nothing. A deadlock between claimers (PostgreSQL aborts one) is retried transparently.
 * - **Fencing**: every claim mints a random lease token; `heartbeat`, `complete`, `fail`,
 *   `release` and `setSnapshotRef` are single `UPDATE … WHERE state = 'running' AND
 *   lease_token = $token AND lease_expires_at > $now`, so a stale holder changes nothing and
 *   gets a LeaseLostError.
 * - **Time**: every comparison uses the `now` of the call (default: this process's clock),
 *   passed as a parameter, never the database clock. Hosts of one fleet need synchronised
 *   clocks (NTP); a skew shortens or lengthens leases by that much.
 * - **Wake-ups** (LISTEN/NOTIFY): mutations that can make a task claimable — enqueue,
 *   release, retry, dead-letter, cancel, requeue, lease expiry, and success of a task on a
 *   limited connection (a slot frees up) — `pg_notify` the store's channel in the same
 *   statement or transaction. Each store keeps one dedicated LISTEN connection (reconnected
 *   with backoff when it drops) and re-emits on `events` the event another store instance
 *   notified — its own notifications are ignored, since it already emitted them. A relayed
 *   enqueue is one `task-enqueued` event for the *first* task of the remote batch (a
 *   wake-up hint, not a per-task log); relayed error messages are cut to 1,000 characters.
 *   Notifications lost while the LISTEN connection is down are covered by the agents' poll.
 * - **Roles** (the cron scheduler, see `Scheduler` in @honk/core): a `roles` row per name
 *   with holder and expiry, taken with one `INSERT … ON CONFLICT DO UPDATE … WHERE holder =
 *   me OR expired`; the row lock serialises contenders and `now` decides expiry, so exactly
 *   one agent of the fleet schedules at a time.
 * - **Schema**: tables live in their own schema (default `honk`), created and upgraded by
 *   versioned migrations (`task-store-migrations.ts`) under an advisory lock.
 */
import { randomUUID } from 'node:crypto';
import {
  assertDuration,
  assertSplitInput,
  type BacklogFilter,
  type ChunkedTask,
  type ChunkOf,
  type Claim,
  type ClaimOptions,
  ConfigError,
  type EnqueueOptions,
  type EnqueueResult,
  endAttempt,
  type FailOptions,
  type HeartbeatOptions,
  HonkError,
  isoOf,
  type Json,
  LeaseLostError,
  NotFoundError,
  type NowOption,
  normaliseTaskError,
  prepareTaskInputs,
  type QueueBacklog,
  type RequeueOptions,
  type SplitInput,
  type SplitResult,
  splitRecords,
  stripUndefined,
  TASK_STATES,
  type TaskAttempt,
  type TaskError,
  TaskEventHub,
  type TaskFilter,
  type TaskInput,
  type TaskRecord,
  type TaskState,
  type TaskStore,
  type TaskStoreEvent,
  type TaskWindow,
  TransientError,
  windowAllows,
} from '@honk/core';
import pg from 'pg';
import { postgresBacklog } from './postgres-backlog.ts';
import { toPostgresError } from './postgres-errors.ts';
import { cancelChunksSql, cascadeSelect, chunkCascadeCtes, settleSql } from './postgres-task-store-chunks.ts';
import { quoteIdentifier, shortHash } from './table-name.ts';
import { migrateTaskStore } from './task-store-migrations.ts';

export interface PostgresTaskStoreOptions {
  /** `postgres://user:password@host:port/database` (libpq-style parameters such as `sslmode` work). */
  url: string;
  /** PostgreSQL schema holding the store's tables. Default `honk`. One schema is one queue. */
  schema?: string;
  /** Connections in the pool (plus one for LISTEN). Default 10. */
  poolSize?: number;
  /** `application_name` of the connections, shown in `pg_stat_activity`. Default `honk-task-store`. */
  applicationName?: string;
}

/** Expired leases taken back per claim; the rest are taken back by the next claims. */
export const REAP_BATCH = 32;

const TRANSACTION_ATTEMPTS = 6;
const RELAYED_MESSAGE_CHARS = 1000;
/** PostgreSQL's ISO-8601 rendering of a timestamptz, identical to `Date.prototype.toISOString`. */
const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const iso = (expression: string): string => `to_char(${expression} AT TIME ZONE 'UTC', ${ISO})`;

interface TaskRow {
  id: string;
  definition: Json;
  definition_hash: string;
  priority: number;
  run_at: Date;
  window: TaskWindow | null;
  window_key: string | null;
  connections: string[];
  state: TaskState;
  attempts: number;
  max_attempts: number;
  last_error: TaskError | null;
  history: TaskAttempt[];
  progress: Json | null;
  snapshot_ref: Json | null;
  report: Json | null;
  lease_owner: string | null;
  lease_token: string | null;
  lease_expires_at: Date | null;
  enqueued_at: Date;
  updated_at: Date;
  sequence: string | number;
  labels: Record<string, string>;
  /** `{}` when the task requires none. */
  agent_labels: Record<string, string>;
  entity: string | null;
  /** The chunked task's id, on a chunk record. */
  chunk_of: string | null;
  chunk: ChunkOf | null;
  chunked: ChunkedTask | null;
}

interface ReapedRow {
  id: string;
  lease_owner: string;
  attempts: number;
  state: 'retrying' | 'dead';
  lease_expires_at: Date;
  error: TaskError;
}

/** Column name → type, for writing whole records through `jsonb_to_recordset`. */
const RECORD_COLUMNS: ReadonlyArray<[keyof TaskRow, string]> = [
  ['id', 'text'],
  ['definition', 'jsonb'],
  ['definition_hash', 'text'],
  ['priority', 'double precision'],
  ['run_at', 'timestamptz'],
  ['window', 'jsonb'],
  ['window_key', 'text'],
  ['connections', 'text[]'],
  ['state', 'text'],
  ['attempts', 'integer'],
  ['max_attempts', 'integer'],
  ['last_error', 'jsonb'],
  ['history', 'jsonb'],
  ['progress', 'jsonb'],
  ['snapshot_ref', 'jsonb'],
  ['report', 'jsonb'],
  ['lease_owner', 'text'],
  ['lease_token', 'text'],
  ['lease_expires_at', 'timestamptz'],
  ['enqueued_at', 'timestamptz'],
  ['updated_at', 'timestamptz'],
  ['sequence', 'bigint'],
  ['labels', 'jsonb'],
  ['agent_labels', 'jsonb'],
  ['entity', 'text'],
  ['chunk_of', 'text'],
  ['chunk', 'jsonb'],
  ['chunked', 'jsonb'],
];

/** What {@link cascadeSelect} reports: tasks woken by a chunk's end, chunks cancelled by their task's end. */
interface Cascade {
  woken: string[] | null;
  orphaned: string[] | null;
}

/** Thrown inside a transaction to run it again from the start (a concurrent insert won). */
class RetryTransaction extends Error {}

/** The distributed task store. Create it with {@link createPostgresTaskStore}. */
export class PostgresTaskStore implements TaskStore {
  readonly specificationVersion = 'v1' as const;
  readonly name: string;
  readonly events = new TaskEventHub();
  /** The PostgreSQL schema holding this store's tables. */
  readonly schema: string;
  /** The NOTIFY channel of this store's schema. */
  readonly channel: string;

  readonly #url: string;
  readonly #applicationName: string;
  readonly #pool: pg.Pool;
  readonly #origin = randomUUID();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #t: { tasks: string; limits: string; roles: string; sequence: string };
  /** Windows seen in enqueues and candidates, by key; a claim decides which are open. */
  readonly #windows = new Map<string, TaskWindow>();
  readonly #statementNames = new Map<string, string>();
  #listener: pg.Client | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #reconnectDelayMs = 500;
  #closed = false;

  /** Use {@link createPostgresTaskStore}, which also migrates the schema and starts listening. */
  constructor(options: PostgresTaskStoreOptions) {
    const schema = options.schema ?? 'honk';
    if (typeof schema !== 'string' || schema.length === 0 || schema.length > 63) {
      throw new ConfigError(`PostgreSQL task store: schema must be a name of 1 to 63 characters (got "${schema}").`);
    }
    const poolSize = options.poolSize ?? 10;
    if (!Number.isInteger(poolSize) || poolSize < 1) {
      throw new ConfigError(`PostgreSQL task store: poolSize must be an integer of at least 1 (got ${poolSize}).`);
    }
    this.schema = schema;
    this.#url = options.url;
    this.#applicationName = options.applicationName ?? 'honk-task-store';
    this.name = `postgres:${describeUrl(options.url)}#${schema}`;
    this.channel = `honk_tasks_${shortHash(schema, 16)}`;
    const s = quoteIdentifier(schema);
    this.#t = {
      tasks: `${s}."tasks"`,
      limits: `${s}."connection_limits"`,
      roles: `${s}."roles"`,
      sequence: `${s}."task_sequence"`,
    };
    this.#pool = new pg.Pool({
      connectionString: options.url,
      max: poolSize,
      application_name: this.#applicationName,
      // Pins the claim to its index walk (see the module notes); no store query needs a sort.
      options: '-c enable_sort=off -c enable_bitmapscan=off',
    });
    // An idle connection the server dropped must not crash the process; the next query reconnects.
    this.#pool.on('error', () => {});
  }

  /** Migrates the schema and starts the LISTEN connection. Called once by the factory. */
  async open(): Promise<void> {
    await this.#op('opening the task store (migrating its schema)', async () => {
      const client = await this.#pool.connect();
      try {
        await migrateTaskStore(client, this.schema);
      } finally {
        client.release();
      }
      await this.#listen();
    });
  }

  // ---------------------------------------------------------------- enqueue

  async enqueue(inputs: readonly TaskInput[], options: EnqueueOptions = {}): Promise<EnqueueResult[]> {
    this.#assertOpen();
    const now = options.now ?? new Date();
    const nowIso = isoOf(now, 'enqueue now');
    const policy = options.onConflict ?? 'resume';
    if (policy !== 'resume' && policy !== 'keep' && policy !== 'replace') {
      throw new ConfigError(`Unknown enqueue onConflict "${String(policy)}"; use "resume", "keep" or "replace".`);
    }
    const prepared = prepareTaskInputs(inputs, now);
    if (prepared.length === 0) return [];
    return this.#op('enqueuing tasks', async () => {
      const { results, events } = await this.#transaction(async (client) => {
        const results: EnqueueResult[] = [];
        const events: TaskStoreEvent[] = [];
        const { rows } = await client.query<TaskRow>(
          `SELECT * FROM ${this.#t.tasks} WHERE "id" = ANY($1::text[]) ORDER BY "id" FOR UPDATE`,
          [prepared.map((item) => item.id)],
        );
        const existing = new Map(rows.map((row) => [row.id, toRecord(row)]));
        for (const record of existing.values()) {
          if (record.chunkOf !== undefined) {
            throw new ConfigError(
              `Task id "${record.id}" is chunk ${record.chunkOf.index} of task "${record.chunkOf.task}"; chunks are made by split(), not enqueued. Use another id.`,
            );
          }
        }
        const replanned: string[] = [];
        const newCount = prepared.length - existing.size;
        const sequences =
          newCount === 0
            ? []
            : (
                await client.query<{ value: string }>(
                  'SELECT nextval($1::regclass) AS "value" FROM generate_series(1, $2::int)',
                  [this.#t.sequence, newCount],
                )
              ).rows
                .map((row) => Number(row.value))
                .sort((a, b) => a - b);
        const inserts: TaskRecord[] = [];
        const updates: TaskRecord[] = [];
        for (const item of prepared) {
          const fresh = {
            definition: item.definition,
            definitionHash: item.definitionHash,
            priority: item.priority,
            runAt: item.runAt,
            connections: item.connections,
            maxAttempts: item.maxAttempts,
            labels: item.labels,
            agentLabels: item.agentLabels,
            window: item.window,
            entity: item.entity,
          };
          const current = existing.get(item.id);
          if (current === undefined) {
            const record = stripUndefined<TaskRecord>({
              id: item.id,
              ...fresh,
              state: 'pending',
              attempts: 0,
              history: [],
              enqueuedAt: nowIso,
              sequence: sequences[inserts.length] as number,
              updatedAt: nowIso,
            });
            inserts.push(record);
            events.push({ type: 'task-enqueued', taskId: item.id, at: nowIso, outcome: 'created' });
            results.push({ id: item.id, outcome: 'created', state: 'pending' });
            continue;
          }
          const changed = current.definitionHash !== item.definitionHash;
          const restart =
            changed ||
            (policy === 'resume' && (current.state === 'dead' || current.state === 'cancelled')) ||
            (policy === 'replace' && current.state !== 'running');
          if (!restart) {
            results.push({
              id: item.id,
              outcome: current.state === 'succeeded' ? 'skipped-succeeded' : 'unchanged',
              state: current.state,
            });
            continue;
          }
          // A new definition, or a new run of a succeeded task, plans its chunks afresh.
          const replan = changed || current.state === 'succeeded';
          if (replan && current.chunked !== undefined) replanned.push(item.id);
          updates.push(
            stripUndefined<TaskRecord>({
              ...current,
              ...fresh,
              state: 'pending',
              attempts: 0,
              lastError: undefined,
              report: undefined,
              lease: undefined,
              chunked: replan ? undefined : current.chunked,
              history:
                current.state === 'running'
                  ? endAttempt(current.history, { endedAt: nowIso, outcome: 'superseded' })
                  : current.history,
              updatedAt: nowIso,
            }),
          );
          const outcome = changed ? 'updated' : 'requeued';
          events.push({ type: 'task-enqueued', taskId: item.id, at: nowIso, outcome });
          results.push({ id: item.id, outcome, state: 'pending' });
        }
        await this.#putRecords(client, inserts, updates);
        if (replanned.length > 0) {
          const cancelled = await client.query<{ id: string }>(cancelChunksSql(this.#t.tasks), [
            replanned,
            nowIso,
            nowIso,
          ]);
          for (const row of cancelled.rows) events.push({ type: 'task-cancelled', taskId: row.id, at: nowIso });
        }
        if (events.length > 0) await this.#notify(client, events[0] as TaskStoreEvent);
        return { results, events };
      });
      for (const item of prepared)
        if (item.window !== undefined) this.#windows.set(windowKey(item.window), item.window);
      this.events.emit(events);
      return results;
    });
  }

  /** Writes whole records: `inserts` are new ids (a lost insert race retries the transaction), `updates` exist. */
  async #putRecords(client: pg.PoolClient, inserts: TaskRecord[], updates: TaskRecord[]): Promise<void> {
    const columns = RECORD_COLUMNS.map(([name]) => `"${name}"`).join(', ');
    const recordset = `jsonb_to_recordset($1::jsonb) AS r(${RECORD_COLUMNS.map(([name, type]) => `"${name}" ${type}`).join(', ')})`;
    if (inserts.length > 0) {
      // In id order, so two enqueuers of overlapping new ids wait on each other instead of deadlocking.
      inserts.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const inserted = await client.query(
        `INSERT INTO ${this.#t.tasks} (${columns}) SELECT ${columns} FROM ${recordset} ON CONFLICT ("id") DO NOTHING`,
        [JSON.stringify(inserts.map(toRow))],
      );
      // Another process created one of these ids since our SELECT: decide again with its row.
      if (inserted.rowCount !== inserts.length) throw new RetryTransaction();
    }
    if (updates.length > 0) {
      const assignments = RECORD_COLUMNS.filter(([name]) => name !== 'id')
        .map(([name]) => `"${name}" = r."${name}"`)
        .join(', ');
      await client.query(`UPDATE ${this.#t.tasks} t SET ${assignments} FROM ${recordset} WHERE t."id" = r."id"`, [
        JSON.stringify(updates.map(toRow)),
      ]);
    }
  }

  // ---------------------------------------------------------------- claim

  async claim(agentId: string, options: ClaimOptions): Promise<Claim | null> {
    this.#assertOpen();
    if (typeof agentId !== 'string' || agentId.length === 0) {
      throw new ConfigError('claim() needs a non-empty agentId (it names the lease owner in records and messages).');
    }
    assertDuration(options?.leaseMs, 'claim');
    const now = options.now ?? new Date();
    const nowIso = isoOf(now, 'claim now');
    return this.#op('claiming a task', async () => {
      const token = randomUUID();
      const expiresAt = new Date(now.getTime() + options.leaseMs).toISOString();
      const exclude = [...new Set(options.excludeConnections ?? [])];
      const labels = options.labels === undefined ? null : JSON.stringify(options.labels);
      const only = options.connections === undefined ? null : [...options.connections];
      const { open, known } = this.#windowsAt(now);
      // Fast path, one statement: take back expired leases and, when there were none (a task
      // taken back must compete in this very claim), lock the first due row in claim order
      // and lease it if it needs no connection-limit check and its window is known open.
      const { rows } = await this.#pool.query<
        TaskRow & { limited: string[]; claimed: boolean; reaped: ReapedRow[] } & Cascade
      >(
        this.#prepared(
          `WITH ${this.#reapCtes('$1', '$8', '$9', '$10')},
           c AS (
             SELECT t.*, ARRAY(SELECT l."name" FROM ${this.#t.limits} l WHERE l."name" = ANY(t."connections")) AS "limited"
               FROM ${this.#t.tasks} t
              WHERE t."state" IN ('pending', 'retrying') AND t."run_at" <= $1::timestamptz
                AND NOT (t."connections" && $2::text[])
                AND (t."window_key" IS NULL OR t."window_key" = ANY($3::text[]) OR t."window_key" <> ALL($4::text[]))
                AND ($11::jsonb IS NULL OR t."agent_labels" <@ $11::jsonb)
                AND ($12::text[] IS NULL OR t."connections" <@ $12::text[])
              ORDER BY t."priority" DESC, t."run_at", t."enqueued_at", t."sequence"
              LIMIT 1 FOR UPDATE OF t SKIP LOCKED),
           u AS (
             UPDATE ${this.#t.tasks} t
                SET "state" = 'running', "attempts" = t."attempts" + 1, "lease_owner" = $5, "lease_token" = $6,
                    "lease_expires_at" = $7::timestamptz, "updated_at" = $1::timestamptz,
                    "history" = t."history" || jsonb_build_array(jsonb_build_object(
                      'attempt', t."attempts" + 1, 'agentId', $5::text, 'startedAt', $8::text))
               FROM c
              WHERE t."id" = c."id" AND cardinality(c."limited") = 0
                AND (c."window_key" IS NULL OR c."window_key" = ANY($3::text[]))
                AND NOT EXISTS (SELECT 1 FROM "changed")
              RETURNING t."id")
           SELECT c.*, (u."id" IS NOT NULL) AS "claimed",
                  (SELECT jsonb_agg(to_jsonb(r)) FROM "reaped" r) AS "reaped",
                  ${cascadeSelect('$9', '$10', '$8')}
             FROM (SELECT 1) one LEFT JOIN c ON true LEFT JOIN u ON true`,
        ),
        [nowIso, exclude, open, known, agentId, token, expiresAt, nowIso, this.channel, this.#origin, labels, only],
      );
      const first = rows[0] as TaskRow & { limited: string[]; claimed: boolean; reaped: ReapedRow[] | null } & Cascade;
      const reaped = (first.reaped ?? []).map((entry) => ({
        ...entry,
        lease_expires_at: new Date(entry.lease_expires_at as unknown as string),
      }));
      const events = [...reapEvents(reaped, nowIso), ...cascadeEvents(first, nowIso)];
      const row = first.id === null ? undefined : first;
      let claim: Claim | null = null;
      if (row?.claimed === true) {
        claim = { task: leased(toRecord(row), agentId, token, expiresAt, nowIso), token };
      } else if (row !== undefined || reaped.length > 0) {
        claim = await this.#transaction((client) =>
          this.#claimChecked(client, agentId, { exclude, labels, only }, now, token, expiresAt),
        );
      }
      if (claim !== null) {
        events.push({ type: 'task-claimed', taskId: claim.task.id, at: nowIso, agentId, attempt: claim.task.attempts });
      }
      this.events.emit(events);
      return claim;
    });
  }

  /**
   * The careful claim, in a transaction: the first candidate uses a limited connection, or
   * a window this instance has not seen yet. Walks candidates in claim order; a candidate's
   * limited connections are locked (`FOR UPDATE`, sorted names) and their running tasks
   * counted in a statement that starts after the lock is ours, so it sees every claim
   * committed before — two claimers can never both take the last slot. A full connection
   * or a closed window is excluded and the walk goes on, so it ends after at most one step
   * per limited connection and per unseen window.
   */
  async #claimChecked(
    client: pg.PoolClient,
    agentId: string,
    filter: { exclude: string[]; labels: string | null; only: string[] | null },
    now: Date,
    token: string,
    expiresAt: string,
  ): Promise<Claim | null> {
    const nowIso = isoOf(now, 'claim now');
    const excluded = new Set(filter.exclude);
    for (;;) {
      const { open, known } = this.#windowsAt(now);
      const {
        rows: [row],
      } = await client.query<TaskRow & { limited: string[] }>(
        this.#prepared(
          `SELECT t.*, ARRAY(SELECT l."name" FROM ${this.#t.limits} l WHERE l."name" = ANY(t."connections")) AS "limited"
             FROM ${this.#t.tasks} t
            WHERE t."state" IN ('pending', 'retrying') AND t."run_at" <= $1::timestamptz
              AND NOT (t."connections" && $2::text[])
              AND (t."window_key" IS NULL OR t."window_key" = ANY($3::text[]) OR t."window_key" <> ALL($4::text[]))
              AND ($5::jsonb IS NULL OR t."agent_labels" <@ $5::jsonb)
              AND ($6::text[] IS NULL OR t."connections" <@ $6::text[])
            ORDER BY t."priority" DESC, t."run_at", t."enqueued_at", t."sequence"
            LIMIT 1 FOR UPDATE OF t SKIP LOCKED`,
        ),
        [nowIso, [...excluded], open, known, filter.labels, filter.only],
      );
      if (row === undefined) return null;
      if (row.window !== null && row.window_key !== null && !this.#windows.has(row.window_key)) {
        this.#windows.set(row.window_key, row.window);
        if (!safeWindowAllows(row.window, now)) continue; // now known and closed: filtered out
      }
      const names = [...row.limited].sort();
      if (names.length > 0) {
        await client.query(
          this.#prepared(
            `SELECT "name" FROM ${this.#t.limits} WHERE "name" = ANY($1::text[]) ORDER BY "name" FOR UPDATE`,
          ),
          [names],
        );
        const { rows: counts } = await client.query<{ name: string; max_concurrency: number; running: number }>(
          this.#prepared(
            `SELECT l."name", l."max_concurrency",
                    (SELECT count(*) FROM ${this.#t.tasks} t
                      WHERE t."state" = 'running' AND l."name" = ANY(t."connections"))::int AS "running"
               FROM ${this.#t.limits} l WHERE l."name" = ANY($1::text[])`,
          ),
          [names],
        );
        const full = counts.filter((count) => count.running >= count.max_concurrency);
        if (full.length > 0) {
          for (const count of full) excluded.add(count.name);
          continue;
        }
      }
      const task = toRecord(row);
      await client.query(
        this.#prepared(
          `UPDATE ${this.#t.tasks}
              SET "state" = 'running', "attempts" = "attempts" + 1, "lease_owner" = $2, "lease_token" = $3,
                  "lease_expires_at" = $4::timestamptz, "updated_at" = $5::timestamptz,
                  "history" = "history" || jsonb_build_array(jsonb_build_object(
                    'attempt', "attempts" + 1, 'agentId', $2::text, 'startedAt', $6::text))
            WHERE "id" = $1`,
        ),
        [task.id, agentId, token, expiresAt, nowIso, nowIso],
      );
      return { task: leased(task, agentId, token, expiresAt, nowIso), token };
    }
  }

  /** Open and known window keys at `now`, from the windows this instance has seen. */
  #windowsAt(now: Date): { open: string[]; known: string[] } {
    const open: string[] = [];
    for (const [key, window] of this.#windows) if (safeWindowAllows(window, now)) open.push(key);
    return { open, known: [...this.#windows.keys()] };
  }

  /**
   * Takes back up to REAP_BATCH leases expired at `nowIso` (rows other transactions hold
   * are skipped, so concurrent claimers never wait here), notifies, and returns the events.
   */
  /**
   * CTEs that take back up to REAP_BATCH leases expired at `now` (rows other transactions
   * hold are skipped, so concurrent claimers never wait here) and notify each: `changed`
   * (the updated rows) and `reaped` (what the events need). Parameters are placeholders.
   */
  #reapCtes(now: string, nowText: string, channel: string, origin: string): string {
    return `"expired" AS (
           SELECT "id", jsonb_build_object(
               'code', 'LEASE_LOST',
               'message', 'The lease of agent "' || "lease_owner" || '" expired at ' || ${iso('"lease_expires_at"')} ||
                          ' without a heartbeat (the agent died, hung, or lost its connection to the store).',
               'retryable', true) AS "error"
             FROM ${this.#t.tasks}
            WHERE "state" = 'running' AND "lease_expires_at" <= ${now}::timestamptz
            ORDER BY "lease_expires_at"
            LIMIT ${REAP_BATCH}
              FOR UPDATE SKIP LOCKED),
         "changed" AS (
           UPDATE ${this.#t.tasks} t
              SET "state" = CASE WHEN t."attempts" >= t."max_attempts" THEN 'dead' ELSE 'retrying' END,
                  "run_at" = CASE WHEN t."attempts" >= t."max_attempts" THEN t."run_at" ELSE ${now}::timestamptz END,
                  "last_error" = e."error",
                  "history" = jsonb_set(t."history", '{-1}', (t."history" -> -1) ||
                                jsonb_build_object('endedAt', ${nowText}::text, 'outcome', 'lease-expired', 'error', e."error")),
                  "updated_at" = ${now}::timestamptz
             FROM "expired" e
            WHERE t."id" = e."id"
           RETURNING t."id", t."lease_owner", t."attempts", t."state", t."lease_expires_at", e."error",
                     t."chunk_of", t."chunk"),
         ${chunkCascadeCtes(this.#t.tasks, '"changed"', `f."state" = 'dead'`, now, nowText)},
         "reaped" AS (
           SELECT ch.*, pg_notify(${channel}, jsonb_build_object('o', ${origin}::text, 'e', jsonb_build_object(
                    'type', 'lease-expired', 'taskId', ch."id", 'at', ${nowText}::text, 'agentId', ch."lease_owner",
                    'attempt', ch."attempts"))::text) AS "notified"
             FROM "changed" ch)`;
  }

  /** Takes back expired leases now; returns the events (not yet emitted). */
  async #reap(nowIso: string): Promise<TaskStoreEvent[]> {
    const { rows } = await this.#pool.query<{ reaped: ReapedRow[] | null } & Cascade>(
      this.#prepared(
        `WITH ${this.#reapCtes('$1', '$2', '$3', '$4')}
         SELECT (SELECT jsonb_agg(to_jsonb(r)) FROM "reaped" r) AS "reaped", ${cascadeSelect('$3', '$4', '$2')}`,
      ),
      [nowIso, nowIso, this.channel, this.#origin],
    );
    const first = rows[0] as { reaped: ReapedRow[] | null } & Cascade;
    const reaped = (first.reaped ?? []).map((entry) => ({
      ...entry,
      lease_expires_at: new Date(entry.lease_expires_at as unknown as string),
    }));
    return [...reapEvents(reaped, nowIso), ...cascadeEvents(first, nowIso)];
  }

  /** Takes back expired leases outside a claim (a holder found its lease expired), and emits. */
  async #reapNow(now: Date): Promise<void> {
    this.events.emit(await this.#reap(isoOf(now, 'now')));
  }

  /**
   * A named prepared statement: parsed and planned once per connection, not per call (the
   * planning of these statements costs more than running them).
   */
  #prepared(text: string): { name: string; text: string } {
    let name = this.#statementNames.get(text);
    if (name === undefined) {
      name = `honk_${shortHash(text, 24)}`;
      this.#statementNames.set(text, name);
    }
    return { name, text };
  }

  // ---------------------------------------------------------------- fenced mutations

  async heartbeat(id: string, token: string, options: HeartbeatOptions): Promise<{ expiresAt: string }> {
    this.#assertOpen();
    assertDuration(options?.leaseMs, 'heartbeat');
    const now = options.now ?? new Date();
    const nowIso = isoOf(now, 'heartbeat now');
    const expiresAt = new Date(now.getTime() + options.leaseMs).toISOString();
    return this.#op(`heartbeating task "${id}"`, async () => {
      const { rowCount } = await this.#pool.query(
        this.#prepared(`UPDATE ${this.#t.tasks}
            SET "lease_expires_at" = $3::timestamptz, "progress" = COALESCE($4::jsonb, "progress"), "updated_at" = $5::timestamptz
          WHERE "id" = $1 AND "state" = 'running' AND "lease_token" = $2 AND "lease_expires_at" > $5::timestamptz`),
        [id, token, expiresAt, options.progress === undefined ? null : JSON.stringify(options.progress), nowIso],
      );
      if (rowCount === 0) await this.#fenced(id, token, now);
      return { expiresAt };
    });
  }

  async complete(id: string, token: string, report: Json, options: NowOption = {}): Promise<void> {
    this.#assertOpen();
    const now = options.now ?? new Date();
    const nowIso = isoOf(now, 'complete now');
    await this.#op(`completing task "${id}"`, async () => {
      const { rows } = await this.#pool.query<{ lease_owner: string; attempts: number }>(
        this.#prepared(`WITH u AS (
           UPDATE ${this.#t.tasks}
              SET "state" = 'succeeded', "report" = $3::jsonb, "last_error" = NULL,
                  "history" = jsonb_set("history", '{-1}', ("history" -> -1) || $4::jsonb), "updated_at" = $5::timestamptz
            WHERE "id" = $1 AND "state" = 'running' AND "lease_token" = $2 AND "lease_expires_at" > $5::timestamptz
              AND "chunk_of" IS NULL
            RETURNING "id", "lease_owner", "attempts", "connections")
         SELECT u."lease_owner", u."attempts",
                (SELECT count(*) FROM (
                   SELECT pg_notify($6, jsonb_build_object('o', $7::text, 'e', jsonb_build_object(
                     'type', 'task-succeeded', 'taskId', u."id", 'at', $8::text, 'agentId', u."lease_owner",
                     'attempt', u."attempts"))::text)
                     FROM ${this.#t.limits} l WHERE l."name" = ANY(u."connections") LIMIT 1) n) AS "notified"
           FROM u`),
        [
          id,
          token,
          report === undefined ? null : JSON.stringify(report),
          JSON.stringify({ endedAt: nowIso, outcome: 'succeeded' }),
          nowIso,
          this.channel,
          this.#origin,
          nowIso,
        ],
      );
      const row = rows[0];
      if (row !== undefined) {
        this.events.emit([
          { type: 'task-succeeded', taskId: id, at: nowIso, agentId: row.lease_owner, attempt: row.attempts },
        ]);
        return;
      }
      const chunk = await this.#pool.query<{ chunk_of: string | null }>(
        `SELECT "chunk_of" FROM ${this.#t.tasks} WHERE "id" = $1`,
        [id],
      );
      const parent = chunk.rows[0]?.chunk_of;
      if (parent == null) return this.#fenced(id, token, now);
      const events = await this.#completeChunk(id, parent, token, report, nowIso);
      if (events === undefined) return this.#fenced(id, token, now);
      this.events.emit(events);
    });
  }

  /**
   * Completes chunk `id` of task `parent` in a transaction that first locks the task's row,
   * so the ends of sibling chunks are serialised and the last one wakes the task (see
   * postgres-task-store-chunks.ts). Undefined when the lease does not hold.
   */
  async #completeChunk(
    id: string,
    parent: string,
    token: string,
    report: Json,
    nowIso: string,
  ): Promise<TaskStoreEvent[] | undefined> {
    return this.#transaction(async (client) => {
      await client.query(`SELECT 1 FROM ${this.#t.tasks} WHERE "id" = $1 FOR UPDATE`, [parent]);
      const { rows } = await client.query<{ lease_owner: string; attempts: number; plan: string }>(
        `UPDATE ${this.#t.tasks}
            SET "state" = 'succeeded', "report" = $3::jsonb, "last_error" = NULL,
                "history" = jsonb_set("history", '{-1}', ("history" -> -1) || $4::jsonb), "updated_at" = $5::timestamptz
          WHERE "id" = $1 AND "state" = 'running' AND "lease_token" = $2 AND "lease_expires_at" > $5::timestamptz
          RETURNING "lease_owner", "attempts", "chunk" ->> 'plan' AS "plan"`,
        [
          id,
          token,
          report === undefined ? null : JSON.stringify(report),
          JSON.stringify({ endedAt: nowIso, outcome: 'succeeded' }),
          nowIso,
        ],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      const events: TaskStoreEvent[] = [
        { type: 'task-succeeded', taskId: id, at: nowIso, agentId: row.lease_owner, attempt: row.attempts },
      ];
      await this.#notify(client, events[0] as TaskStoreEvent);
      const woken = await client.query(settleSql(this.#t.tasks), [parent, row.plan, nowIso]);
      if ((woken.rowCount ?? 0) > 0) {
        const event: TaskStoreEvent = { type: 'task-chunks-ended', taskId: parent, at: nowIso };
        await this.#notify(client, event);
        events.push(event);
      }
      return events;
    });
  }

  async fail(id: string, token: string, error: TaskError, options: FailOptions = {}): Promise<'retrying' | 'dead'> {
    this.#assertOpen();
    const taskError = normaliseTaskError(error, id);
    const now = options.now ?? new Date();
    const nowIso = isoOf(now, 'fail now');
    const runAtIso = isoOf(options.retryAt ?? now, `fail() of task "${id}": retryAt`);
    const relayed = { ...taskError, message: taskError.message.slice(0, RELAYED_MESSAGE_CHARS) };
    return this.#op(`failing task "${id}"`, async () => {
      const { rows } = await this.#pool.query<
        { state: 'retrying' | 'dead'; attempts: number; run_at: string } & Cascade
      >(
        this.#prepared(`WITH u AS (
           UPDATE ${this.#t.tasks}
              SET "state" = CASE WHEN NOT $3::boolean OR "attempts" >= "max_attempts" THEN 'dead' ELSE 'retrying' END,
                  "run_at" = CASE WHEN NOT $3::boolean OR "attempts" >= "max_attempts" THEN "run_at" ELSE $4::timestamptz END,
                  "last_error" = $5::jsonb,
                  "history" = jsonb_set("history", '{-1}', ("history" -> -1) || $6::jsonb),
                  "updated_at" = $7::timestamptz
            WHERE "id" = $1 AND "state" = 'running' AND "lease_token" = $2 AND "lease_expires_at" > $7::timestamptz
            RETURNING "id", "state", "attempts", ${iso('"run_at"')} AS "run_at", "chunk_of", "chunk"),
         ${chunkCascadeCtes(this.#t.tasks, 'u', `f."state" = 'dead'`, '$7', '$10')}
         SELECT u."state", u."attempts", u."run_at", ${cascadeSelect('$8', '$9', '$10')},
                pg_notify($8, jsonb_build_object('o', $9::text, 'e',
                  CASE WHEN u."state" = 'dead'
                    THEN jsonb_build_object('type', 'task-dead', 'taskId', u."id", 'at', $10::text, 'attempt', u."attempts", 'error', $11::jsonb)
                    ELSE jsonb_build_object('type', 'task-retrying', 'taskId', u."id", 'at', $10::text, 'attempt', u."attempts",
                                            'runAt', u."run_at", 'error', $11::jsonb)
                  END)::text)
           FROM u`),
        [
          id,
          token,
          taskError.retryable,
          runAtIso,
          JSON.stringify(taskError),
          JSON.stringify({ endedAt: nowIso, outcome: 'failed', error: taskError }),
          nowIso,
          this.channel,
          this.#origin,
          nowIso,
          JSON.stringify(relayed),
        ],
      );
      const row = rows[0];
      if (row === undefined) return this.#fenced(id, token, now);
      this.events.emit([
        row.state === 'dead'
          ? { type: 'task-dead', taskId: id, at: nowIso, attempt: row.attempts, error: taskError }
          : {
              type: 'task-retrying',
              taskId: id,
              at: nowIso,
              attempt: row.attempts,
              runAt: row.run_at,
              error: taskError,
            },
        ...cascadeEvents(row, nowIso),
      ]);
      return row.state;
    });
  }

  async release(id: string, token: string, options: NowOption = {}): Promise<void> {
    this.#assertOpen();
    const now = options.now ?? new Date();
    const nowIso = isoOf(now, 'release now');
    await this.#op(`releasing task "${id}"`, async () => {
      const { rows } = await this.#pool.query<{ lease_owner: string }>(
        this.#prepared(`WITH u AS (
           UPDATE ${this.#t.tasks}
              SET "attempts" = greatest(0, "attempts" - 1),
                  "state" = CASE WHEN "attempts" - 1 > 0 THEN 'retrying' ELSE 'pending' END,
                  "history" = jsonb_set("history", '{-1}', ("history" -> -1) || $3::jsonb),
                  "updated_at" = $4::timestamptz
            WHERE "id" = $1 AND "state" = 'running' AND "lease_token" = $2 AND "lease_expires_at" > $4::timestamptz
            RETURNING "id", "lease_owner")
         SELECT u."lease_owner",
                pg_notify($5, jsonb_build_object('o', $6::text, 'e', jsonb_build_object(
                  'type', 'task-released', 'taskId', u."id", 'at', $7::text, 'agentId', u."lease_owner"))::text)
           FROM u`),
        [
          id,
          token,
          JSON.stringify({ endedAt: nowIso, outcome: 'released' }),
          nowIso,
          this.channel,
          this.#origin,
          nowIso,
        ],
      );
      const row = rows[0];
      if (row === undefined) return this.#fenced(id, token, now);
      this.events.emit([{ type: 'task-released', taskId: id, at: nowIso, agentId: row.lease_owner }]);
    });
  }

  async setSnapshotRef(id: string, token: string, ref: Json, options: NowOption = {}): Promise<void> {
    this.#assertOpen();
    const now = options.now ?? new Date();
    const nowIso = isoOf(now, 'setSnapshotRef now');
    await this.#op(`storing the snapshot ref of task "${id}"`, async () => {
      const { rowCount } = await this.#pool.query(
        this.#prepared(`UPDATE ${this.#t.tasks} SET "snapshot_ref" = $3::jsonb, "updated_at" = $4::timestamptz
          WHERE "id" = $1 AND "state" = 'running' AND "lease_token" = $2 AND "lease_expires_at" > $4::timestamptz`),
        [id, token, ref === undefined ? null : JSON.stringify(ref), nowIso],
      );
      if (rowCount === 0) await this.#fenced(id, token, now);
    });
  }

  async split(id: string, token: string, input: SplitInput, options: NowOption = {}): Promise<SplitResult> {
    this.#assertOpen();
    assertSplitInput(id, input);
    const now = options.now ?? new Date();
    isoOf(now, 'split now'); // refuses an instant outside what the database holds
    return this.#op(`splitting task "${id}" into chunks`, async () => {
      const outcome = await this.#transaction(async (client) => {
        const { rows } = await client.query<TaskRow>(`SELECT * FROM ${this.#t.tasks} WHERE "id" = $1 FOR UPDATE`, [id]);
        const row = rows[0];
        if (
          row?.state !== 'running' ||
          row.lease_token !== token ||
          row.lease_expires_at === null ||
          row.lease_expires_at.getTime() <= now.getTime()
        ) {
          return undefined;
        }
        const existing = (
          await client.query<TaskRow>(`SELECT * FROM ${this.#t.tasks} WHERE "chunk_of" = $1 ORDER BY "id" FOR UPDATE`, [
            id,
          ])
        ).rows.map(toRecord);
        const indexes = new Set(existing.map((record) => record.chunkOf?.index));
        const fresh = input.chunks.filter((_, index) => !indexes.has(index)).length;
        const sequences =
          fresh === 0
            ? []
            : (
                await client.query<{ value: string }>(
                  'SELECT nextval($1::regclass) AS "value" FROM generate_series(1, $2::int)',
                  [this.#t.sequence, fresh],
                )
              ).rows
                .map((item) => Number(item.value))
                .sort((a, b) => a - b);
        let next = 0;
        const split = splitRecords(toRecord(row), existing, input, now, () => sequences[next++] as number);
        await this.#putRecords(
          client,
          split.chunks.filter((chunk) => chunk.created).map((chunk) => chunk.record),
          [split.parent, ...split.chunks.filter((chunk) => !chunk.created).map((chunk) => chunk.record)],
        );
        // One wake-up is enough: idle agents claim until nothing is left.
        const wake = split.events.find((event) => event.type === 'task-enqueued' || event.type === 'task-chunks-ended');
        if (wake !== undefined) await this.#notify(client, wake);
        return split;
      });
      if (outcome === undefined) return this.#fenced(id, token, now);
      this.events.emit(outcome.events);
      return { chunks: input.chunks.length, waiting: outcome.waiting };
    });
  }

  /**
   * A fenced update matched nothing: says why with a LeaseLostError. When the lease merely
   * expired, takes expired leases back first so the record shows it (as every store does).
   */
  async #fenced(id: string, token: string, now: Date): Promise<never> {
    const { rows } = await this.#pool.query<
      Pick<TaskRow, 'state' | 'lease_owner' | 'lease_token' | 'lease_expires_at'>
    >(`SELECT "state", "lease_owner", "lease_token", "lease_expires_at" FROM ${this.#t.tasks} WHERE "id" = $1`, [id]);
    const row = rows[0];
    if (row === undefined) throw new LeaseLostError(id, 'no task with that id exists any more');
    if (row.state !== 'running') throw new LeaseLostError(id, `the task is now ${row.state}`);
    if (row.lease_token !== token) throw new LeaseLostError(id, `agent "${row.lease_owner}" holds a newer lease`);
    const expiresAt = row.lease_expires_at as Date;
    if (expiresAt.getTime() <= now.getTime()) {
      await this.#reapNow(now);
      throw new LeaseLostError(id, `the lease expired at ${expiresAt.toISOString()}`);
    }
    throw new LeaseLostError(id, 'the lease changed while this call ran');
  }

  // ---------------------------------------------------------------- requeue and cancel

  async requeue(id: string, options: RequeueOptions = {}): Promise<TaskRecord> {
    this.#assertOpen();
    const now = options.now ?? new Date();
    const nowIso = isoOf(now, 'requeue now');
    const reset = options.resetAttempts ?? true;
    return this.#op(`requeuing task "${id}"`, async () => {
      const { rows } = await this.#pool.query<TaskRow>(
        `WITH u AS (
           UPDATE ${this.#t.tasks}
              SET "state" = 'pending', "run_at" = $2::timestamptz,
                  "attempts" = CASE WHEN $3::boolean THEN 0 ELSE "attempts" END,
                  -- Running a succeeded chunked task again plans its chunks afresh.
                  "chunked" = CASE WHEN "state" = 'succeeded' THEN NULL ELSE "chunked" END,
                  "report" = NULL, "updated_at" = $2::timestamptz
            WHERE "id" = $1 AND "state" <> 'running'
            RETURNING *)
         SELECT u.*, pg_notify($4, jsonb_build_object('o', $5::text, 'e', jsonb_build_object(
                  'type', 'task-enqueued', 'taskId', u."id", 'at', $6::text, 'outcome', 'requeued'))::text) AS "notified"
           FROM u`,
        [id, nowIso, reset, this.channel, this.#origin, nowIso],
      );
      const row = rows[0];
      if (row === undefined) {
        const current = await this.#pool.query<Pick<TaskRow, 'lease_owner'>>(
          `SELECT "lease_owner" FROM ${this.#t.tasks} WHERE "id" = $1`,
          [id],
        );
        if (current.rows[0] === undefined)
          throw new NotFoundError(`Cannot requeue task "${id}": no task with that id.`);
        throw new ConfigError(
          `Cannot requeue task "${id}": it is running (leased by "${current.rows[0].lease_owner}"); cancel it first.`,
        );
      }
      this.events.emit([{ type: 'task-enqueued', taskId: id, at: nowIso, outcome: 'requeued' }]);
      return toRecord(row);
    });
  }

  async cancel(id: string, options: NowOption = {}): Promise<TaskRecord> {
    this.#assertOpen();
    const now = options.now ?? new Date();
    const nowIso = isoOf(now, 'cancel now');
    return this.#op(`cancelling task "${id}"`, async () => {
      const { rows } = await this.#pool.query<TaskRow & Cascade>(
        `WITH u AS (
           UPDATE ${this.#t.tasks}
              SET "state" = 'cancelled',
                  "history" = CASE WHEN "state" = 'running'
                                THEN jsonb_set("history", '{-1}', ("history" -> -1) || $2::jsonb) ELSE "history" END,
                  "updated_at" = $3::timestamptz
            WHERE "id" = $1 AND "state" IN ('pending', 'retrying', 'running')
            RETURNING *),
         ${chunkCascadeCtes(this.#t.tasks, 'u', 'true', '$3', '$6')}
         SELECT u.*, pg_notify($4, jsonb_build_object('o', $5::text, 'e', jsonb_build_object(
                  'type', 'task-cancelled', 'taskId', u."id", 'at', $6::text))::text) AS "notified",
                ${cascadeSelect('$4', '$5', '$6')}
           FROM u`,
        [id, JSON.stringify({ endedAt: nowIso, outcome: 'cancelled' }), nowIso, this.channel, this.#origin, nowIso],
      );
      const row = rows[0];
      if (row !== undefined) {
        this.events.emit([{ type: 'task-cancelled', taskId: id, at: nowIso }, ...cascadeEvents(row, nowIso)]);
        return toRecord(row);
      }
      const current = await this.#pool.query<TaskRow>(`SELECT * FROM ${this.#t.tasks} WHERE "id" = $1`, [id]);
      if (current.rows[0] === undefined) throw new NotFoundError(`Cannot cancel task "${id}": no task with that id.`);
      return toRecord(current.rows[0]);
    });
  }

  // ---------------------------------------------------------------- reads

  async get(id: string): Promise<TaskRecord | undefined> {
    this.#assertOpen();
    return this.#op(`reading task "${id}"`, async () => {
      const { rows } = await this.#pool.query<TaskRow>(`SELECT * FROM ${this.#t.tasks} WHERE "id" = $1`, [id]);
      return rows[0] === undefined ? undefined : toRecord(rows[0]);
    });
  }

  async list(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    this.#assertOpen();
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (filter.states !== undefined) {
      values.push(filter.states);
      conditions.push(`"state" = ANY($${values.length}::text[])`);
    }
    if (filter.ids !== undefined) {
      values.push(filter.ids);
      conditions.push(`"id" = ANY($${values.length}::text[])`);
    }
    if (filter.entities !== undefined) {
      values.push(filter.entities);
      conditions.push(`"entity" = ANY($${values.length}::text[])`);
    }
    let limit = '';
    if (filter.limit !== undefined) {
      values.push(Math.max(0, Math.floor(filter.limit)));
      limit = ` LIMIT $${values.length}`;
    }
    const where = conditions.length === 0 ? '' : ` WHERE ${conditions.join(' AND ')}`;
    return this.#op('listing tasks', async () => {
      const { rows } = await this.#pool.query<TaskRow>(
        `SELECT * FROM ${this.#t.tasks}${where} ORDER BY "sequence"${limit}`,
        values,
      );
      return rows.map(toRecord);
    });
  }

  async counts(): Promise<Record<TaskState, number>> {
    this.#assertOpen();
    return this.#op('counting tasks', async () => {
      const { rows } = await this.#pool.query<{ state: TaskState; count: number }>(
        `SELECT "state", count(*)::int AS "count" FROM ${this.#t.tasks} GROUP BY "state"`,
      );
      const counts = Object.fromEntries(TASK_STATES.map((state) => [state, 0])) as Record<TaskState, number>;
      for (const row of rows) counts[row.state] = row.count;
      return counts;
    });
  }

  // ---------------------------------------------------------------- limits and roles

  async setConnectionLimits(limits: Record<string, number | null>): Promise<void> {
    this.#assertOpen();
    for (const [name, limit] of Object.entries(limits)) {
      if (limit !== null && (!Number.isInteger(limit) || limit < 1)) {
        throw new ConfigError(
          `maxConcurrency of connection "${name}" must be an integer of at least 1, or null for no limit (got ${String(limit)}).`,
        );
      }
    }
    const set = Object.entries(limits).filter((entry): entry is [string, number] => entry[1] !== null);
    const removed = Object.entries(limits)
      .filter(([, limit]) => limit === null)
      .map(([name]) => name);
    await this.#op('setting connection limits', () =>
      this.#transaction(async (client) => {
        if (set.length > 0) {
          await client.query(
            `INSERT INTO ${this.#t.limits} ("name", "max_concurrency")
             SELECT * FROM unnest($1::text[], $2::int[])
             ON CONFLICT ("name") DO UPDATE SET "max_concurrency" = EXCLUDED."max_concurrency"`,
            [set.map(([name]) => name), set.map(([, limit]) => limit)],
          );
        }
        if (removed.length > 0) {
          await client.query(`DELETE FROM ${this.#t.limits} WHERE "name" = ANY($1::text[])`, [removed]);
        }
      }),
    );
  }

  async getConnectionLimits(): Promise<Record<string, number>> {
    this.#assertOpen();
    return this.#op('reading connection limits', async () => {
      const { rows } = await this.#pool.query<{ name: string; max_concurrency: number }>(
        `SELECT "name", "max_concurrency" FROM ${this.#t.limits} ORDER BY "name"`,
      );
      return Object.fromEntries(rows.map((row) => [row.name, row.max_concurrency]));
    });
  }

  /** What an agent class could claim now, for metrics (`measureBacklog` in @honk/core; see postgres-backlog.ts). */
  async backlog(filter: BacklogFilter = {}): Promise<QueueBacklog> {
    this.#assertOpen();
    return this.#op('measuring the backlog', () => postgresBacklog(this.#pool, this.schema, filter));
  }

  async acquireRole(name: string, holder: string, ttlMs: number, options: NowOption = {}): Promise<boolean> {
    this.#assertOpen();
    assertDuration(ttlMs, 'acquireRole');
    const now = options.now ?? new Date();
    const nowIso = isoOf(now, 'acquireRole now');
    const expiresAt = new Date(now.getTime() + ttlMs).toISOString();
    return this.#op(`acquiring role "${name}"`, async () => {
      // The conflicting row is locked while the WHERE is decided, so contenders are serialised.
      const { rowCount } = await this.#pool.query(
        `INSERT INTO ${this.#t.roles} ("name", "holder", "expires_at") VALUES ($1, $2, $3::timestamptz)
         ON CONFLICT ("name") DO UPDATE SET "holder" = EXCLUDED."holder", "expires_at" = EXCLUDED."expires_at"
          WHERE ${this.#t.roles}."holder" = EXCLUDED."holder" OR ${this.#t.roles}."expires_at" <= $4::timestamptz`,
        [name, holder, expiresAt, nowIso],
      );
      return rowCount === 1;
    });
  }

  async releaseRole(name: string, holder: string): Promise<void> {
    this.#assertOpen();
    await this.#op(`releasing role "${name}"`, async () => {
      await this.#pool.query(`DELETE FROM ${this.#t.roles} WHERE "name" = $1 AND "holder" = $2`, [name, holder]);
    });
  }

  // ---------------------------------------------------------------- lifecycle

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    await Promise.allSettled([...this.#inFlight]);
    const listener = this.#listener;
    this.#listener = undefined;
    if (listener !== undefined) {
      listener.removeAllListeners('end');
      await listener.end().catch(() => {});
    }
    await this.#pool.end().catch(() => {});
  }

  // ---------------------------------------------------------------- internals

  #assertOpen(): void {
    if (this.#closed) {
      throw new HonkError(
        'CONNECTOR_MISUSE',
        `The task store "${this.name}" is closed; open a new one to keep using it.`,
      );
    }
  }

  /** Runs an operation, tracked for close(), with PostgreSQL errors mapped to Honk's taxonomy. */
  async #op<T>(operation: string, run: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    const promise = run().catch((error: unknown) => {
      throw toPostgresError(error, { connection: `task store ${this.name}`, operation });
    });
    this.#inFlight.add(promise);
    try {
      return await promise;
    } finally {
      this.#inFlight.delete(promise);
    }
  }

  /**
   * Runs `work` in a transaction on one pooled connection, again from the start on a
   * deadlock, a serialisation failure or a lost insert race. With `begin: false` the work
   * opens the transaction itself (to share a round trip); it always commits itself then.
   */
  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>, options: { begin?: boolean } = {}): Promise<T> {
    const begin = options.begin ?? true;
    for (let attempt = 1; ; attempt += 1) {
      const client = await this.#pool.connect();
      let broken = false;
      try {
        if (begin) await client.query('BEGIN');
        const result = await work(client);
        if (begin) await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        const code = (error as { code?: unknown }).code;
        const retry = error instanceof RetryTransaction || code === '40P01' || code === '40001';
        if (retry && attempt < TRANSACTION_ATTEMPTS) continue;
        if (error instanceof RetryTransaction) {
          throw new TransientError(`Task store ${this.name}: other processes kept changing the same tasks; try again.`);
        }
        throw error;
      } finally {
        client.release(broken);
      }
    }
  }

  /** Queues a notification, delivered to listeners when the transaction commits. */
  async #notify(client: pg.ClientBase, event: TaskStoreEvent): Promise<void> {
    const relayed =
      'error' in event
        ? { ...event, error: { ...event.error, message: event.error.message.slice(0, RELAYED_MESSAGE_CHARS) } }
        : event;
    await client.query('SELECT pg_notify($1, $2)', [this.channel, JSON.stringify({ o: this.#origin, e: relayed })]);
  }

  async #listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, application_name: `${this.#applicationName}-listen` });
    client.on('error', () => {});
    client.on('notification', (message) => this.#relay(message.payload));
    client.on('end', () => {
      if (this.#listener === client) this.#listener = undefined;
      this.#scheduleReconnect();
    });
    await client.connect();
    await client.query(`LISTEN ${quoteIdentifier(this.channel)}`);
    if (this.#closed) {
      client.removeAllListeners('end');
      await client.end().catch(() => {});
      return;
    }
    this.#listener = client;
    this.#reconnectDelayMs = 500;
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#reconnectTimer !== undefined) return;
    const delay = this.#reconnectDelayMs;
    this.#reconnectDelayMs = Math.min(30_000, delay * 2);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#listen().catch(() => this.#scheduleReconnect());
    }, delay);
    this.#reconnectTimer.unref();
  }

  /** Re-emits an event another store instance notified; ignores our own and malformed payloads. */
  #relay(payload: string | undefined): void {
    if (this.#closed || payload === undefined) return;
    let message: { o?: unknown; e?: unknown };
    try {
      message = JSON.parse(payload) as { o?: unknown; e?: unknown };
    } catch {
      return;
    }
    if (message.o === this.#origin) return;
    const event = message.e as TaskStoreEvent | undefined;
    if (typeof event?.type !== 'string' || typeof event.taskId !== 'string') return;
    this.events.emit([event]);
  }
}

/**
 * Opens (and creates or upgrades) the PostgreSQL task store in `schema` of the database at
 * `url`. `honk run|agent --store postgres://…` call this with `{ url }`.
 */
export async function createPostgresTaskStore(options: PostgresTaskStoreOptions): Promise<PostgresTaskStore> {
  if (typeof options?.url !== 'string' || !/^postgres(ql)?:\/\//.test(options.url)) {
    throw new ConfigError('createPostgresTaskStore() needs a url of the form postgres://user@host:5432/database.');
  }
  const store = new PostgresTaskStore(options);
  try {
    await store.open();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

// ------------------------------------------------------------------ helpers

/** The `windows` table key of a window; equal windows share one. */
function windowKey(window: TaskWindow): string {
  return `${window.start}-${window.end}@${window.timezone ?? 'UTC'}`;
}

/** A zone this runtime does not know keeps its tasks waiting rather than failing every claim. */
function safeWindowAllows(window: TaskWindow, now: Date): boolean {
  try {
    return windowAllows(window, now);
  } catch {
    return false;
  }
}

/** The events of a chunk cascade (see postgres-task-store-chunks.ts). */
function cascadeEvents(cascade: Cascade, nowIso: string): TaskStoreEvent[] {
  return [
    ...(cascade.orphaned ?? []).map((id): TaskStoreEvent => ({ type: 'task-cancelled', taskId: id, at: nowIso })),
    ...(cascade.woken ?? []).map((id): TaskStoreEvent => ({ type: 'task-chunks-ended', taskId: id, at: nowIso })),
  ];
}

function reapEvents(rows: readonly ReapedRow[], nowIso: string): TaskStoreEvent[] {
  const events: TaskStoreEvent[] = [];
  const ordered = [...rows].sort(
    (a, b) => a.lease_expires_at.getTime() - b.lease_expires_at.getTime() || (a.id < b.id ? -1 : 1),
  );
  for (const row of ordered) {
    events.push({ type: 'lease-expired', taskId: row.id, at: nowIso, agentId: row.lease_owner, attempt: row.attempts });
    events.push(
      row.state === 'dead'
        ? { type: 'task-dead', taskId: row.id, at: nowIso, attempt: row.attempts, error: row.error }
        : { type: 'task-retrying', taskId: row.id, at: nowIso, attempt: row.attempts, runAt: nowIso, error: row.error },
    );
  }
  return events;
}

/** The record after a claim, as the claim statement wrote it. */
function leased(task: TaskRecord, agentId: string, token: string, expiresAt: string, nowIso: string): TaskRecord {
  const attempt = task.attempts + 1;
  return {
    ...task,
    state: 'running',
    attempts: attempt,
    lease: { owner: agentId, token, expiresAt },
    history: [...task.history, { attempt, agentId, startedAt: nowIso }],
    updatedAt: nowIso,
  };
}

function toRecord(row: TaskRow): TaskRecord {
  const record: TaskRecord = {
    id: row.id,
    definition: row.definition,
    definitionHash: row.definition_hash,
    priority: Number(row.priority),
    runAt: row.run_at.toISOString(),
    connections: row.connections,
    state: row.state,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    history: row.history,
    enqueuedAt: row.enqueued_at.toISOString(),
    sequence: Number(row.sequence),
    updatedAt: row.updated_at.toISOString(),
    labels: row.labels,
  };
  if (row.window !== null) record.window = row.window;
  if (row.last_error !== null) record.lastError = row.last_error;
  if (row.progress !== null) record.progress = row.progress;
  if (row.snapshot_ref !== null) record.snapshotRef = row.snapshot_ref;
  if (row.report !== null) record.report = row.report;
  if (row.entity !== null) record.entity = row.entity;
  if (row.agent_labels !== null && Object.keys(row.agent_labels).length > 0) record.agentLabels = row.agent_labels;
  if (row.chunk !== null) record.chunkOf = row.chunk;
  if (row.chunked !== null) record.chunked = row.chunked;
  if (row.state === 'running' && row.lease_token !== null && row.lease_expires_at !== null) {
    record.lease = {
      owner: row.lease_owner ?? '',
      token: row.lease_token,
      expiresAt: row.lease_expires_at.toISOString(),
    };
  }
  return record;
}

/** A record as a `jsonb_to_recordset` row; lease columns are meaningful only while running. */
function toRow(record: TaskRecord): Record<string, unknown> {
  return {
    id: record.id,
    definition: record.definition,
    definition_hash: record.definitionHash,
    priority: record.priority,
    run_at: record.runAt,
    window: record.window ?? null,
    window_key: record.window === undefined ? null : windowKey(record.window),
    connections: record.connections,
    state: record.state,
    attempts: record.attempts,
    max_attempts: record.maxAttempts,
    last_error: record.lastError ?? null,
    history: record.history,
    progress: record.progress ?? null,
    snapshot_ref: record.snapshotRef ?? null,
    report: record.report ?? null,
    lease_owner: record.lease?.owner ?? null,
    lease_token: record.lease?.token ?? null,
    lease_expires_at: record.lease?.expiresAt ?? null,
    enqueued_at: record.enqueuedAt,
    updated_at: record.updatedAt,
    sequence: record.sequence,
    labels: record.labels,
    agent_labels: record.agentLabels ?? {},
    entity: record.entity ?? null,
    chunk_of: record.chunkOf?.task ?? null,
    chunk: record.chunkOf ?? null,
    chunked: record.chunked ?? null,
  };
}

/** `host:port/database` of a URL, never its user or password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `//${parsed.host}${parsed.pathname}`;
  } catch {
    return '//?';
  }
}
