/**
 * Prometheus metrics for agents, with prom-client.
 *
 * Names follow Prometheus conventions: a `honk_` prefix, base units (seconds, bytes), a
 * `_total` suffix on counters. Labels have low, bounded cardinality: task states, error
 * codes, phases. Task ids are never labels; they belong in logs and events.
 *
 * An agent of a class (`honk agent --class eu`) carries its class as a `class` label on every
 * series (a default label of the registry), so dashboards and alerts split by class without
 * per-task cardinality. The process's CPU, memory, event-loop lag and GC series are
 * prom-client's default metrics (`process_*`, `nodejs_*`), collected when `defaultMetrics` is set.
 *
 * | metric                                    | type      | labels  | meaning |
 * |-------------------------------------------|-----------|---------|---------|
 * | `honk_tasks_total`                | counter   | `state` | attempts ended, by outcome: succeeded, retrying, dead, released, lease_lost |
 * | `honk_task_duration_seconds`      | histogram | `state` | wall time of one attempt, by outcome |
 * | `honk_rows_transferred_total`     | counter   |         | rows streamed to staging (all attempts) |
 * | `honk_bytes_transferred_total`    | counter   |         | Arrow bytes streamed to staging (all attempts) |
 * | `honk_task_failures_total`        | counter   | `code`  | failed attempts by error code (AUTH_FAILED, SCHEMA_MISMATCH …) |
 * | `honk_tasks_in_flight`            | gauge     |         | tasks this process is running now |
 * | `honk_connections_paused`         | gauge     |         | connections paused by the circuit breaker now |
 * | `honk_schedule_runs_total`        | counter   |         | runs enqueued by the scheduler |
 * | `honk_snapshots_discarded_total`  | counter   |         | snapshots removed by the sweep |
 * | `honk_queue_tasks`                | gauge     | `state` | tasks in the store by state, read from `store.counts()` at scrape |
 * | `honk_queue_claimable_tasks`      | gauge     |         | tasks this agent's class could claim now, read at scrape |
 * | `honk_queue_oldest_claimable_age_seconds` | gauge |     | how long the longest-waiting claimable task has been due (0 when none) |
 * | `honk_lease_losses_total`         | counter   |         | attempts aborted because their lease was lost (expired, cancelled, redefined) |
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type BacklogFilter, measureBacklog } from '../queue/queue-backlog.ts';
import type { TaskStore } from '../queue/task-store.ts';
import type { HonkEvents } from './events.ts';

/** Buckets for one attempt's duration: a second to eight hours. */
export const TASK_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400, 28_800,
]);

/** Anything with `counts()` like a TaskStore: task counts by state. */
export interface QueueCountsSource {
  counts(): Promise<Partial<Record<string, number>>> | Partial<Record<string, number>>;
}

export interface CreateMetricsOptions {
  /** Register here. Default: a new Registry (not prom-client's global one, so tests and embedders stay isolated). */
  registry?: Registry;
  /** Metric name prefix. Default `honk_`. */
  prefix?: string;
  /**
   * The agent class (`honk agent --class`): added as the `class` label to every series of the
   * registry. Keep it to the few names of a fleet's classes; it is a label, not an id.
   */
  agentClass?: string;
  /** Also collect prom-client's process and Node.js metrics (CPU, memory, event loop, GC). Default false. */
  defaultMetrics?: boolean;
}

/** What {@link HonkMetrics.trackQueue} reads at each scrape. */
export interface TrackQueueOptions {
  /**
   * Also report the backlog this agent's class could claim (`honk_queue_claimable_tasks`,
   * `honk_queue_oldest_claimable_age_seconds`). Needs a whole TaskStore; see `measureBacklog`.
   */
  backlog?: BacklogFilter | true;
}

/** The metric objects; see the table in this module's documentation. */
export interface HonkMetrics {
  registry: Registry;
  tasksTotal: Counter<'state'>;
  taskDuration: Histogram<'state'>;
  rowsTransferred: Counter;
  bytesTransferred: Counter;
  taskFailures: Counter<'code'>;
  tasksInFlight: Gauge;
  connectionsPaused: Gauge;
  scheduleRuns: Counter;
  snapshotsDiscarded: Counter;
  queueTasks: Gauge<'state'>;
  queueClaimable: Gauge;
  queueOldestClaimableAge: Gauge;
  leaseLosses: Counter;
  /**
   * Report the queue depth of this store at each scrape (`honk_queue_tasks{state}`), and with
   * `backlog` what this agent's class could claim. Returns a function that stops tracking
   * it. Only the latest store is read.
   */
  trackQueue(store: QueueCountsSource | TaskStore, options?: TrackQueueOptions): () => void;
}

/** Creates Honk's metrics in a registry. Call once per registry. */
export function createMetrics(options: CreateMetricsOptions = {}): HonkMetrics {
  const registry = options.registry ?? new Registry();
  const prefix = options.prefix ?? 'honk_';
  const registers = [registry];
  if (options.agentClass !== undefined) registry.setDefaultLabels({ class: options.agentClass });
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  let queue: QueueCountsSource | undefined;
  let backlog: { store: TaskStore; filter: BacklogFilter } | undefined;
  // Both backlog gauges come from one measurement per scrape, taken by whichever collects first.
  let pendingBacklog: ReturnType<typeof measureBacklog> | undefined;
  const measure = () => {
    if (!backlog) return undefined;
    if (!pendingBacklog) {
      const { store, filter } = backlog;
      pendingBacklog = measureBacklog(store, filter).finally(() => {
        setImmediate(() => {
          pendingBacklog = undefined;
        });
      });
    }
    return pendingBacklog;
  };

  const queueTasks = new Gauge({
    name: `${prefix}queue_tasks`,
    help: 'Tasks in the store by state, read at scrape time.',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      if (!queue) return;
      const counts = await queue.counts();
      this.reset();
      for (const [state, count] of Object.entries(counts)) {
        if (typeof count === 'number') this.set({ state }, count);
      }
    },
  });

  const queueClaimable = new Gauge({
    name: `${prefix}queue_claimable_tasks`,
    help: "Tasks this agent's class could claim now (state, runAt, window and connection limits respected), read at scrape time.",
    registers,
    async collect() {
      const measured = await measure();
      if (measured) this.set(measured.claimable);
    },
  });
  const queueOldestClaimableAge = new Gauge({
    name: `${prefix}queue_oldest_claimable_age_seconds`,
    help: "Seconds the longest-waiting task this agent's class could claim has been due; 0 when none is claimable.",
    registers,
    async collect() {
      const measured = await measure();
      if (!measured) return;
      const at = measured.oldestClaimableAt;
      this.set(at === undefined ? 0 : Math.max(0, (Date.now() - Date.parse(at)) / 1000));
    },
  });
  return {
    registry,
    tasksTotal: new Counter({
      name: `${prefix}tasks_total`,
      help: 'Task attempts ended, by outcome (succeeded, retrying, dead, released, lease_lost).',
      labelNames: ['state'] as const,
      registers,
    }),
    taskDuration: new Histogram({
      name: `${prefix}task_duration_seconds`,
      help: 'Wall time of one task attempt in seconds, by outcome.',
      labelNames: ['state'] as const,
      buckets: [...TASK_DURATION_BUCKETS],
      registers,
    }),
    rowsTransferred: new Counter({
      name: `${prefix}rows_transferred_total`,
      help: 'Rows streamed from sources to staging, all attempts included.',
      registers,
    }),
    bytesTransferred: new Counter({
      name: `${prefix}bytes_transferred_total`,
      help: 'Arrow bytes streamed from sources to staging, all attempts included.',
      registers,
    }),
    taskFailures: new Counter({
      name: `${prefix}task_failures_total`,
      help: 'Failed task attempts by error code (AUTH_FAILED, NOT_FOUND, SCHEMA_MISMATCH, VALIDATION_FAILED, TRANSIENT …).',
      labelNames: ['code'] as const,
      registers,
    }),
    tasksInFlight: new Gauge({
      name: `${prefix}tasks_in_flight`,
      help: 'Tasks this process is running now.',
      registers,
    }),
    connectionsPaused: new Gauge({
      name: `${prefix}connections_paused`,
      help: 'Connections the circuit breaker has paused after repeated auth failures.',
      registers,
    }),
    scheduleRuns: new Counter({
      name: `${prefix}schedule_runs_total`,
      help: 'Runs of scheduled tasks enqueued by the scheduler.',
      registers,
    }),
    snapshotsDiscarded: new Counter({
      name: `${prefix}snapshots_discarded_total`,
      help: 'Snapshots discarded by the sweep after their keepFor elapsed.',
      registers,
    }),
    queueTasks,
    queueClaimable,
    queueOldestClaimableAge,
    leaseLosses: new Counter({
      name: `${prefix}lease_losses_total`,
      help: 'Attempts aborted because their lease was lost (expired while the agent stalled, cancelled or redefined).',
      registers,
    }),
    trackQueue(store, trackOptions = {}) {
      queue = store;
      const tracked =
        trackOptions.backlog === undefined
          ? undefined
          : { store: store as TaskStore, filter: trackOptions.backlog === true ? {} : trackOptions.backlog };
      backlog = tracked;
      return () => {
        if (queue === store) queue = undefined;
        if (backlog === tracked) backlog = undefined;
      };
    },
  };
}

/**
 * Feeds metrics from events. Rows and bytes are counted from progress deltas, so long
 * transfers show throughput while they run, then topped up from the closing event's stats.
 * Returns a function that detaches every listener.
 */
export function attachMetrics(events: HonkEvents, metrics: HonkMetrics): () => void {
  /** Rows and bytes already counted per running attempt (key: agent + task). */
  const counted = new Map<string, { rows: number; bytes: number }>();
  const key = (payload: { agentId: string; taskId: string }) => `${payload.agentId}\u0000${payload.taskId}`;
  const addTransfer = (payload: { agentId: string; taskId: string }, rows: number, bytes: number) => {
    const seen = counted.get(key(payload)) ?? { rows: 0, bytes: 0 };
    if (rows > seen.rows) metrics.rowsTransferred.inc(rows - seen.rows);
    if (bytes > seen.bytes) metrics.bytesTransferred.inc(bytes - seen.bytes);
    counted.set(key(payload), { rows: Math.max(rows, seen.rows), bytes: Math.max(bytes, seen.bytes) });
  };
  const end = (payload: { agentId: string; taskId: string }, state: string, durationMs?: number) => {
    counted.delete(key(payload));
    metrics.tasksTotal.inc({ state });
    metrics.tasksInFlight.dec();
    if (durationMs !== undefined) metrics.taskDuration.observe({ state }, durationMs / 1000);
  };

  const offs = [
    events.on('task-claimed', (payload) => {
      counted.set(key(payload), { rows: 0, bytes: 0 });
      metrics.tasksInFlight.inc();
    }),
    events.on('task-progress', (payload) => addTransfer(payload, payload.rows, payload.bytes)),
    events.on('task-succeeded', (payload) => {
      // A chunked task's stats sum its chunks, which counted their rows as they moved them.
      if (payload.report.chunks === undefined) addTransfer(payload, payload.stats.rows, payload.stats.bytes);
      end(payload, 'succeeded', payload.durationMs);
    }),
    events.on('task-retrying', (payload) => {
      addTransfer(payload, payload.stats.rows, payload.stats.bytes);
      metrics.taskFailures.inc({ code: payload.error.code });
      end(payload, 'retrying', payload.durationMs);
    }),
    events.on('task-dead', (payload) => {
      addTransfer(payload, payload.stats.rows, payload.stats.bytes);
      metrics.taskFailures.inc({ code: payload.error.code });
      end(payload, 'dead', payload.durationMs);
    }),
    events.on('task-released', (payload) => end(payload, 'released')),
    events.on('task-lease-lost', (payload) => {
      metrics.taskFailures.inc({ code: 'LEASE_LOST' });
      metrics.leaseLosses.inc();
      end(payload, 'lease_lost');
    }),
    events.on('connection-paused', () => metrics.connectionsPaused.inc()),
    events.on('connection-resumed', () => metrics.connectionsPaused.dec()),
    events.on('schedule-enqueued', (payload) => {
      if (payload.created) metrics.scheduleRuns.inc();
    }),
    events.on('snapshot-discarded', () => metrics.snapshotsDiscarded.inc()),
  ];
  return () => {
    for (const off of offs) off();
  };
}
