/**
 * The scheduler: re-runs tasks that have a `schedule` and discards expired snapshots.
 *
 * One scheduler per store leads at a time: it holds the store role `scheduler`
 * (`store.acquireRole`, renewed every `roleTtlMs / 3`). The others stand by and take over
 * when the leader's role expires. Only the leader keeps cron timers.
 *
 * Runs. A *scheduled task* is a record whose definition has `schedule: { cron, timezone }`
 * and that is not cancelled (cancelling it turns the schedule off). At each cron tick the
 * leader enqueues a new task with id {@link scheduledRunId} `<taskId>@<tick, ISO 8601 basic, UTC>`,
 * e.g. `orders@20261125T020000Z`: the definition without `schedule` and `notBefore`, and the
 * task's priority, window, connections and attempts; the agent runs it under the run id, so
 * each run stages apart.
 * Every run has its own record, history and report; the id is deterministic per tick, so a
 * leader that took over mid-tick cannot enqueue a tick twice (`onConflict: 'keep'`).
 * A tick is skipped while the task's previous run (or the task itself) is still running or
 * waiting to run, so slow runs never pile up. Ticks that pass while no scheduler leads are
 * not caught up: the next tick runs.
 *
 * Snapshots. Every `sweepMs` the leader discards target snapshots older than their task's
 * `snapshot.keepFor` (default 7 days) with `sweepSnapshots` of snapshot-sweep.ts, the same
 * code `honk run` runs when it ends. Discarding is idempotent; the scheduler remembers what
 * it discarded so it reports each once.
 */
import { Cron } from 'croner';
import type { Logger } from '../connector/connector.ts';
import type { ConnectorRegistry } from '../connector/connector-registry.ts';
import type { HonkEvents } from '../observe/events.ts';
import { silentLogger } from '../observe/logger.ts';
import type { TaskRecord, TaskStore } from '../queue/task-store.ts';
import { sweepSnapshots } from './snapshot-sweep.ts';
import { type DefinitionResolveOptions, definitionForRun, scheduleOfDefinition } from './stored-definition.ts';

/** The store role name the leading scheduler holds. */
export const SCHEDULER_ROLE = 'scheduler';

/** The id of the run of `taskId` for the cron tick at `tick`. */
export function scheduledRunId(taskId: string, tick: Date): string {
  // ISO 8601 basic format: no ':' so the id is safe in staging file and object names.
  return `${taskId}@${tick
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z')}`;
}

export interface SchedulerOptions {
  store: TaskStore;
  /** For the snapshot sweep (the target connector discards the snapshot). */
  connectors: ConnectorRegistry;
  /** Holder name for the role; the agent's id. */
  agentId: string;
  events?: HonkEvents;
  logger?: Logger;
  /** Environment for `${env:…}` when the sweep resolves stored spec tasks. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Base directory for stored spec tasks. Default `process.cwd()`. */
  baseDir?: string;
  /** Role lease in ms; a dead leader is replaced after this. Default 30,000. */
  roleTtlMs?: number;
  /** How often the leader re-reads scheduled tasks from the store, in ms. Default 60,000. */
  refreshMs?: number;
  /** How often the leader sweeps snapshots, in ms. Default 600,000 (10 minutes). */
  sweepMs?: number;
}

interface ScheduledTask {
  key: string;
  cron: Cron;
  next: Date | null;
  record: TaskRecord;
}

/** Largest delay setTimeout accepts. */
const MAX_TIMEOUT = 2_147_483_647;
/** States in which a run still occupies its schedule. */
const BUSY_STATES = new Set(['pending', 'running', 'retrying']);

/** Leads cron re-runs and the snapshot sweep for one store. See the module documentation. */
export class Scheduler {
  readonly agentId: string;
  readonly roleTtlMs: number;
  readonly refreshMs: number;
  readonly sweepMs: number;
  readonly #store: TaskStore;
  readonly #connectors: ConnectorRegistry;
  readonly #events: HonkEvents | undefined;
  readonly #logger: Logger;
  readonly #resolve: DefinitionResolveOptions;
  readonly #tasks = new Map<string, ScheduledTask>();
  /** Latest run enqueued per scheduled task (for the overlap check). */
  readonly #lastRun = new Map<string, string>();
  readonly #discarded = new Set<string>();
  /** Run ids this scheduler enqueued recently, so their enqueue events do not trigger a refresh. */
  readonly #ownRuns = new Set<string>();
  #leaderUntil = 0;
  #running = false;
  #roleTimer: NodeJS.Timeout | undefined;
  #tickTimer: NodeJS.Timeout | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #work: Promise<unknown> = Promise.resolve();

  constructor(options: SchedulerOptions) {
    this.#store = options.store;
    this.#connectors = options.connectors;
    this.agentId = options.agentId;
    this.#events = options.events;
    this.#logger = options.logger ?? silentLogger;
    this.#resolve = {
      connectors: options.connectors,
      ...(options.env ? { env: options.env } : {}),
      ...(options.baseDir ? { baseDir: options.baseDir } : {}),
    };
    this.roleTtlMs = options.roleTtlMs ?? 30_000;
    this.refreshMs = options.refreshMs ?? 60_000;
    this.sweepMs = options.sweepMs ?? 600_000;
  }

  /** Whether this scheduler holds the role now. */
  isLeader(now = Date.now()): boolean {
    return this.#running && now < this.#leaderUntil;
  }

  /** Ids of the scheduled tasks the leader keeps timers for. */
  scheduledTasks(): string[] {
    return [...this.#tasks.keys()].sort();
  }

  /** Starts competing for the role. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#unsubscribe = this.#store.events.on('task-enqueued', (event) => {
      // A new or changed task may carry a schedule; the runs this scheduler enqueues do not.
      if (this.isLeader() && !this.#ownRuns.has(event.taskId)) this.#serial(() => this.refresh());
    });
    const renew = () => {
      this.#serial(() => this.#renewRole());
      this.#roleTimer = setTimeout(renew, Math.max(1, Math.floor(this.roleTtlMs / 3)));
      this.#roleTimer.unref();
    };
    renew();
  }

  /** Stops timers and gives the role up so another scheduler leads at once. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#unsubscribe?.();
    for (const timer of [this.#roleTimer, this.#tickTimer, this.#refreshTimer, this.#sweepTimer]) clearTimeout(timer);
    await this.#work;
    this.#dropTasks();
    if (this.#leaderUntil > 0) {
      this.#leaderUntil = 0;
      await this.#store.releaseRole(SCHEDULER_ROLE, this.agentId).catch((error: unknown) => {
        this.#logger.warn({ agentId: this.agentId, err: error }, 'could not release the scheduler role');
      });
    }
  }

  /** Re-reads scheduled tasks from the store and re-arms the timers. Leader only. */
  async refresh(now = new Date()): Promise<void> {
    if (!this.isLeader()) return;
    const seen = new Set<string>();
    for (const record of await this.#store.list()) {
      const schedule = scheduleOfDefinition(record.definition);
      // A chunk record carries its task's definition, schedule included: only the task is scheduled.
      if (!schedule || record.state === 'cancelled' || record.chunkOf !== undefined) continue;
      seen.add(record.id);
      const key = `${schedule.cron}\u0000${schedule.timezone}`;
      const existing = this.#tasks.get(record.id);
      if (existing && existing.key === key) {
        existing.record = record;
        continue;
      }
      existing?.cron.stop();
      let cron: Cron;
      try {
        // No callback: the scheduler keeps one timer of its own and asks croner for the next tick.
        cron = new Cron(schedule.cron, { timezone: schedule.timezone, paused: true });
      } catch (error) {
        this.#logger.error(
          { agentId: this.agentId, taskId: record.id, err: error },
          `task "${record.id}" has an invalid schedule.cron "${schedule.cron}"; it is not scheduled`,
        );
        continue;
      }
      this.#tasks.set(record.id, { key, cron, next: cron.nextRun(now), record });
    }
    for (const [id, task] of this.#tasks) {
      if (!seen.has(id)) {
        task.cron.stop();
        this.#tasks.delete(id);
      }
    }
    this.#arm();
  }

  /**
   * Enqueues the run of a scheduled task for one tick (what the timer calls). Returns the
   * run id, or undefined when the tick was skipped (previous run still busy, not leader).
   */
  async enqueueRun(record: TaskRecord, tick: Date): Promise<string | undefined> {
    if (!this.isLeader()) return undefined;
    const previous = this.#lastRun.get(record.id);
    for (const id of [record.id, previous]) {
      if (!id) continue;
      const current = await this.#store.get(id);
      // The scheduled task's own pending state does not block: it may wait for a notBefore.
      if (current && BUSY_STATES.has(current.state) && !(id === record.id && current.state === 'pending')) {
        this.#logger.info(
          { agentId: this.agentId, taskId: record.id, tick: tick.toISOString(), busy: id },
          'schedule tick skipped: the previous run has not ended',
        );
        return undefined;
      }
    }
    const runId = scheduledRunId(record.id, tick);
    if (this.#ownRuns.size > 1000) this.#ownRuns.clear();
    this.#ownRuns.add(runId);
    const definition = definitionForRun(record.definition, runId, record.id, tick.toISOString());
    const [result] = await this.#store.enqueue(
      [
        {
          id: runId,
          definition,
          priority: record.priority,
          connections: [...record.connections],
          maxAttempts: record.maxAttempts,
          labels: { ...record.labels, 'honk.dev/scheduled-from': record.id },
          ...(record.window ? { window: record.window } : {}),
          ...(record.entity ? { entity: record.entity } : {}),
        },
      ],
      { onConflict: 'keep' },
    );
    this.#lastRun.set(record.id, runId);
    this.#events?.emit('schedule-enqueued', {
      agentId: this.agentId,
      at: new Date().toISOString(),
      taskId: record.id,
      runId,
      tick: tick.toISOString(),
      created: result?.outcome === 'created',
    });
    return runId;
  }

  /**
   * Discards snapshots older than their task's `snapshot.keepFor` (see `snapshot-sweep.ts`).
   * Returns how many were discarded. Leader only (unless `force`, for tools running one
   * sweep by hand).
   */
  async sweepSnapshots(options: { now?: Date; force?: boolean } = {}): Promise<number> {
    if (!options.force && !this.isLeader()) return 0;
    return sweepSnapshots({
      ...this.#resolve,
      store: this.#store,
      agentId: this.agentId,
      events: this.#events,
      logger: this.#logger,
      discarded: this.#discarded,
      ...(options.now ? { now: options.now } : {}),
    });
  }

  async #renewRole(): Promise<void> {
    if (!this.#running) return;
    const wasLeader = this.isLeader();
    const asked = Date.now();
    let held = false;
    try {
      held = await this.#store.acquireRole(SCHEDULER_ROLE, this.agentId, this.roleTtlMs);
    } catch (error) {
      this.#logger.warn({ agentId: this.agentId, err: error }, 'could not renew the scheduler role');
    }
    if (!this.#running) return;
    // Counted from before the call, minus a margin, so two schedulers never both believe they lead.
    this.#leaderUntil = held ? asked + Math.floor((this.roleTtlMs * 2) / 3) : 0;
    if (held && !wasLeader) {
      this.#logger.info({ agentId: this.agentId }, 'scheduler role taken');
      await this.refresh();
      this.#startLeaderTimers();
    } else if (!held && wasLeader) {
      this.#logger.info({ agentId: this.agentId }, 'scheduler role lost');
      this.#dropTasks();
    }
  }

  #startLeaderTimers(): void {
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#sweepTimer);
    const refresh = () => {
      if (!this.isLeader()) return;
      this.#serial(() => this.refresh());
      this.#refreshTimer = setTimeout(refresh, this.refreshMs);
      this.#refreshTimer.unref();
    };
    const sweep = () => {
      if (!this.isLeader()) return;
      this.#serial(() => this.sweepSnapshots());
      this.#sweepTimer = setTimeout(sweep, this.sweepMs);
      this.#sweepTimer.unref();
    };
    this.#refreshTimer = setTimeout(refresh, this.refreshMs);
    this.#refreshTimer.unref();
    sweep();
  }

  #dropTasks(): void {
    clearTimeout(this.#tickTimer);
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#sweepTimer);
    for (const task of this.#tasks.values()) task.cron.stop();
    this.#tasks.clear();
  }

  /** One timer for the earliest next tick of all scheduled tasks. */
  #arm(): void {
    clearTimeout(this.#tickTimer);
    if (!this.isLeader()) return;
    let earliest: number | undefined;
    for (const task of this.#tasks.values()) {
      const at = task.next?.getTime();
      if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
    }
    if (earliest === undefined) return;
    this.#tickTimer = setTimeout(
      () => this.#serial(() => this.#fire()),
      Math.min(MAX_TIMEOUT, Math.max(0, earliest - Date.now())),
    );
    this.#tickTimer.unref();
  }

  async #fire(): Promise<void> {
    const now = new Date();
    for (const [id, task] of this.#tasks) {
      const tick = task.next;
      if (!tick || tick.getTime() > now.getTime()) continue;
      // Ticks missed while the process stalled are not caught up: the next one is after now.
      task.next = task.cron.nextRun(now);
      try {
        await this.enqueueRun(task.record, tick);
      } catch (error) {
        this.#logger.error({ agentId: this.agentId, taskId: id, err: error }, 'could not enqueue a scheduled run');
      }
    }
    this.#arm();
  }

  /** Store work of the scheduler runs one piece at a time, in order. */
  #serial(work: () => Promise<unknown>): void {
    this.#work = this.#work.then(work).catch((error: unknown) => {
      this.#logger.error({ agentId: this.agentId, err: error }, 'scheduler work failed');
    });
  }
}
