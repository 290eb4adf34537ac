/**
 * The Agent: claims tasks from a TaskStore and runs them, under a lease.
 *
 * - Claims while it has a free slot (`concurrency`, enforced with p-limit), ordered by the
 *   store. When nothing is claimable it sleeps until the store reports a change (enqueue,
 *   release, retry, lease expiry), one of its own retries falls due, a circuit cool-down
 *   ends, or `pollMs` passes (stores shared across processes do not notify).
 * - Heartbeats every `heartbeatMs`, extending the lease and storing the latest progress. A
 *   heartbeat refused with LEASE_LOST aborts the run through its AbortSignal, and runTask's
 *   `beforePublish` heartbeats once more, so an agent that lost its lease never publishes.
 * - Success → `store.complete`. Failure → `store.fail` with a `retryAt` computed from the
 *   backoff policy; the store decides between retrying and dead-lettering from the error's
 *   `retryable` flag and the attempts left.
 * - A per-connection circuit breaker stops claiming a connection's tasks after repeated
 *   AUTH_FAILED errors (see `circuit-breaker.ts`).
 * - `stop({ drain })` stops claiming, lets in-flight runs finish within a grace period,
 *   then aborts them and releases their leases so another agent takes over at once.
 *
 * Store mutations inside one attempt (complete, fail, release) are retried a few times with
 * p-retry so a momentary store hiccup does not waste a finished transfer.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import pLimit, { type LimitFunction } from 'p-limit';
import pRetry from 'p-retry';
import type { Json, Logger, SnapshotRef } from '../connector/connector.ts';
import type { ConnectorRegistry } from '../connector/connector-registry.ts';
import { AbortedError, ConfigError, isHonkError, TransientError, toHonkError } from '../errors/honk-error.ts';
import { redactText } from '../errors/redact.ts';
import type { ReleaseReason } from '../observe/events.ts';
import { HonkEvents } from '../observe/events.ts';
import { silentLogger } from '../observe/logger.ts';
import { type AttachTracingOptions, attachTracing } from '../observe/tracing.ts';
import { type AgentClassFilter, agentClassAllows } from '../queue/agent-class.ts';
import { chunkTaskId, isWaitingForChunks } from '../queue/chunk-split.ts';
import type { Claim, SplitResult, TaskError, TaskRecord, TaskState, TaskStore } from '../queue/task-store.ts';
import { LeaseLostError } from '../queue/task-store.ts';
import { runChunk } from '../run/chunks/run-chunk.ts';
import { runChunkedStep } from '../run/chunks/run-chunked-task.ts';
import { runTask as defaultRunTask, type RunTaskOptions } from '../run/run-task.ts';
import type { RunEvent, RunPhase, TaskReport, TransferStats } from '../run/task-report.ts';
import { windowAllows } from '../spec/task-window.ts';
import { type BackoffPolicy, computeBackoff, DEFAULT_BACKOFF } from './backoff.ts';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.ts';
import { ModuleAllowList } from './module-allow-list.ts';
import { Scheduler, type SchedulerOptions } from './scheduler.ts';
import { discardSupersededSnapshots } from './snapshot-sweep.ts';
import { type AgentTaskDefinition, type LoadedDefinition, loadStoredDefinition } from './stored-definition.ts';

export interface AgentOptions {
  store: TaskStore;
  connectors: ConnectorRegistry;
  /** Unique per agent; appears in leases and events. Default `<hostname>:<pid>:<random>`. */
  id?: string;
  /** The agent class's name (`honk agent --class`), for logs and metrics. */
  className?: string;
  /**
   * The agent's labels (`--label region=eu`): it claims only tasks whose required
   * `agentLabels` are all among them. Absent: unrestricted, it claims any task (the
   * in-process agents of `honk run`). `{}`: only tasks that require no label.
   */
  labels?: Record<string, string>;
  /** Only tasks whose connections are all in this list (`--connections`). Absent: any. */
  connections?: readonly string[];
  /** Tasks run at the same time. Default 2. */
  concurrency?: number;
  /** Lease length in ms; a dead agent's tasks are taken over after this. Default 30,000. */
  leaseMs?: number;
  /** Heartbeat interval in ms. Default `leaseMs / 3`, so two heartbeats may fail before the lease expires. */
  heartbeatMs?: number;
  /** Longest sleep when idle, in ms (stores in other processes do not notify). Default 1,000. */
  pollMs?: number;
  /** Where the agent reports. Default: a new emitter (see `agent.events`). */
  events?: HonkEvents;
  logger?: Logger;
  /** Backoff for tasks whose definition sets none. Default {@link DEFAULT_BACKOFF}. */
  retry?: Partial<BackoffPolicy>;
  /** Pause a connection after repeated auth failures. `false` disables. */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** Default drain grace for `stop()`, in ms. Default 30,000. */
  drainTimeoutMs?: number;
  /**
   * After aborting runs (drain timeout, forced stop), how long to wait for them to wind down
   * before releasing their leases regardless, in ms. Default 5,000.
   */
  abortGraceMs?: number;
  /** Also run the cron scheduler and snapshot sweep (one agent per store leads). Default false. */
  scheduler?:
    | boolean
    | Omit<SchedulerOptions, 'store' | 'connectors' | 'agentId' | 'events' | 'logger' | 'env' | 'baseDir'>;
  /** Environment for `${env:…}` in stored spec tasks. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * Directory relative paths in stored spec tasks resolve against, when the record does not
   * carry its spec's directory, and where package names of modules resolve. Default `process.cwd()`.
   */
  baseDir?: string;
  /**
   * The connector and transform modules this agent may load (see `module-allow-list.ts`):
   * package names and absolute paths. A task that needs another module is dead-lettered
   * with MODULE_NOT_ALLOWED before anything is imported. Default: no check (an agent inside
   * a program that runs its own tasks); `honk agent` always sets it.
   */
  allowModules?: readonly string[] | ModuleAllowList;
  /** Replaces runTask. For tests of the agent's own mechanics; production uses the default. */
  runTask?: (options: RunTaskOptions) => Promise<TaskReport>;
  /** Minimum ms between runTask progress events. Default 1,000. */
  progressIntervalMs?: number;
  /**
   * No progress for this long aborts an attempt (TIMED_OUT, retried), for tasks whose
   * definition sets no `idleTimeoutMs`. Default runTask's (10 minutes); 0 disables.
   */
  idleTimeoutMs?: number;
  /**
   * OpenTelemetry spans per attempt and phase (`observe/tracing.ts`); they cost nothing until
   * an SDK is registered. Default: the global tracer, the store's name as the queue. `false` disables.
   */
  tracing?: AttachTracingOptions | false;
}

export interface StopOptions {
  /** Let in-flight tasks finish (within `timeoutMs`). Default true. `false` releases them at once. */
  drain?: boolean;
  /** Drain grace in ms. Default the agent's `drainTimeoutMs`. */
  timeoutMs?: number;
  /** Why, for the `agent-stopping` event. Default `stop()`. */
  reason?: string;
}

/**
 * Why a pending or retrying task is not awaited by {@link Agent.runUntilIdle}. `chunks`: a
 * chunked task waiting for chunks that are themselves waiting.
 */
export type WaitingReason = 'not-before' | 'window' | 'connection-paused' | 'agent-class' | 'chunks';

export interface WaitingTask {
  id: string;
  state: TaskState;
  runAt: string;
  reason: WaitingReason;
}

/** What {@link Agent.runUntilIdle} found when it returned. */
export interface IdleReport {
  counts: Record<TaskState, number>;
  /** Tasks that could still run later but were not waited for. */
  waiting: WaitingTask[];
  /** True when the agent was stopped before the store went idle. */
  stopped: boolean;
}

export interface RunUntilIdleOptions {
  /**
   * Wait for pending tasks whose `notBefore` is at most this far ahead, in ms. Default 0:
   * only tasks due now are waited for. Retries are always waited for (their backoff is
   * bounded by `retry.backoff.maxMs`).
   */
  waitForMs?: number;
}

type AgentState = 'created' | 'running' | 'stopping' | 'stopped';

interface InFlight {
  claim: Claim;
  controller: AbortController;
  phase: RunPhase | 'unknown';
  progress?: TransferStats;
  lastBeat: number;
  beat?: Promise<void>;
  leaseLost: boolean;
  /** The phase the run was in when the lease was found lost. */
  lostInPhase?: RunPhase | 'unknown';
  /** Set when the agent itself aborted the run (drain timeout, forced stop). */
  stopReason?: ReleaseReason;
  /** The lease was handed back while the run was still winding down; ignore its result. */
  handedOff: boolean;
  /** The task's own backoff policy, once its definition is resolved. */
  backoff?: Partial<BackoffPolicy> | undefined;
  /** The snapshot ref this attempt put on the record, replacing the record's older ones. */
  handedOver?: Json;
  /** The attempt planned a chunked task and handed its chunks to the store (which ended the attempt). */
  split?: SplitResult;
  done: Promise<void>;
}

const ZERO_STATS: TransferStats = { rows: 0, bytes: 0, batches: 0, elapsedMs: 0, rowsPerSecond: 0 };
const WAKING_STORE_EVENTS = new Set([
  'task-enqueued',
  'task-released',
  'task-retrying',
  'task-succeeded',
  'task-dead',
  'task-cancelled',
  'lease-expired',
  'task-chunks-ended',
]);

function isLeaseLost(error: unknown): boolean {
  return isHonkError(error) && error.code === 'LEASE_LOST';
}

/** Claims and runs tasks from a store. See the module documentation. */
export class Agent {
  readonly id: string;
  readonly events: HonkEvents;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly pollMs: number;
  readonly drainTimeoutMs: number;
  /** The agent class's name, when it has one. */
  readonly className: string | undefined;
  /** What restricts this agent's claims (its labels and connection list); empty when unrestricted. */
  readonly agentClass: AgentClassFilter;
  /** The scheduler, when enabled. */
  readonly scheduler: Scheduler | undefined;

  readonly #store: TaskStore;
  readonly #connectors: ConnectorRegistry;
  readonly #logger: Logger;
  readonly #backoff: Partial<BackoffPolicy>;
  readonly #breaker: CircuitBreaker | undefined;
  readonly #abortGraceMs: number;
  readonly #runTask: (options: RunTaskOptions) => Promise<TaskReport>;
  readonly #progressIntervalMs: number;
  readonly #idleTimeoutMs: number | undefined;
  readonly #env: Record<string, string | undefined> | undefined;
  readonly #baseDir: string | undefined;
  readonly #allowList: ModuleAllowList | undefined;
  readonly #limit: LimitFunction;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #state: AgentState = 'created';
  #loopDone: Promise<void> = Promise.resolve();
  #stopping: Promise<void> | undefined;
  #wakePending = false;
  #wakeResolve: (() => void) | undefined;
  #lastClaimEmpty = false;
  #idleWaiters = new Set<() => void>();
  #unsubscribeStore: (() => void) | undefined;
  #released = 0;
  #resolveForced: (() => void) | undefined;

  constructor(options: AgentOptions) {
    this.#store = options.store;
    this.#connectors = options.connectors;
    this.id = options.id ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.events = options.events ?? new HonkEvents();
    this.#logger = options.logger ?? silentLogger;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 2));
    this.leaseMs = options.leaseMs ?? 30_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(1, Math.floor(this.leaseMs / 3));
    this.pollMs = options.pollMs ?? 1000;
    this.drainTimeoutMs = options.drainTimeoutMs ?? 30_000;
    this.#abortGraceMs = options.abortGraceMs ?? 5000;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.retry };
    this.#breaker = options.circuitBreaker === false ? undefined : new CircuitBreaker(options.circuitBreaker);
    this.#runTask = options.runTask ?? defaultRunTask;
    this.#progressIntervalMs = options.progressIntervalMs ?? 1000;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    this.#limit = pLimit(this.concurrency);
    this.#env = options.env;
    this.#baseDir = options.baseDir;
    this.className = options.className;
    if (options.tracing !== false) {
      attachTracing(this.events, {
        queueName: this.#store.name,
        ...(options.className !== undefined ? { agentClass: options.className } : {}),
        ...options.tracing,
      });
    }
    this.agentClass = {
      ...(options.labels !== undefined ? { labels: { ...options.labels } } : {}),
      ...(options.connections !== undefined ? { connections: [...options.connections] } : {}),
    };
    this.#allowList =
      options.allowModules === undefined || options.allowModules instanceof ModuleAllowList
        ? options.allowModules
        : new ModuleAllowList(options.allowModules);
    if (this.heartbeatMs >= this.leaseMs) {
      throw new ConfigError(
        `Agent heartbeatMs (${this.heartbeatMs}) must be shorter than leaseMs (${this.leaseMs}), or leases expire under running tasks. Leave heartbeatMs unset for leaseMs / 3.`,
      );
    }
    this.scheduler = options.scheduler
      ? new Scheduler({
          ...(typeof options.scheduler === 'object' ? options.scheduler : {}),
          store: this.#store,
          connectors: this.#connectors,
          agentId: this.id,
          events: this.events,
          logger: this.#logger,
          ...(options.env ? { env: options.env } : {}),
          ...(options.baseDir ? { baseDir: options.baseDir } : {}),
        })
      : undefined;
  }

  /** Whether the agent is claiming (started and not stopping). */
  get running(): boolean {
    return this.#state === 'running';
  }

  /** Ids of the tasks this agent is running now. */
  inFlight(): string[] {
    return [...this.#inFlight.keys()];
  }

  /** Connections the circuit breaker has paused now. */
  pausedConnections(): string[] {
    return this.#breaker?.paused(Date.now()) ?? [];
  }

  /** Starts claiming. Idempotent; an agent cannot be restarted after `stop()`. */
  start(): void {
    if (this.#state !== 'created') return;
    this.#state = 'running';
    this.#unsubscribeStore = this.#store.events.onAny((event) => {
      if (WAKING_STORE_EVENTS.has(event.type)) this.#wake();
    });
    this.events.emit('agent-started', {
      ...this.#base(),
      concurrency: this.concurrency,
      leaseMs: this.leaseMs,
    });
    this.scheduler?.start();
    this.#loopDone = this.#loop().catch((error: unknown) => {
      this.#logger.error({ agentId: this.id, err: error }, 'agent claim loop crashed');
    });
  }

  /**
   * Stops claiming. With `drain` (default) in-flight runs may finish within `timeoutMs`;
   * then, or at once without `drain`, they are aborted (nothing publishes) and their leases
   * released so another agent takes them at once, without using up an attempt. Resolves
   * when the agent holds no lease. A second call with `drain: false` hurries a drain along.
   */
  stop(options: StopOptions = {}): Promise<void> {
    const drain = options.drain ?? true;
    if (this.#stopping) {
      if (!drain) this.#resolveForced?.();
      return this.#stopping;
    }
    if (this.#state === 'created' || this.#state === 'stopped') {
      this.#state = 'stopped';
      return Promise.resolve();
    }
    this.#state = 'stopping';
    const timeoutMs = options.timeoutMs ?? this.drainTimeoutMs;
    this.events.emit('agent-stopping', {
      ...this.#base(),
      drain,
      inFlight: this.#inFlight.size,
      reason: options.reason ?? 'stop()',
    });
    this.#wake();
    const forced = new Promise<void>((resolve) => {
      this.#resolveForced = resolve;
    });
    this.#stopping = (async () => {
      await this.#loopDone;
      await this.scheduler?.stop();
      const settled = () => Promise.allSettled([...this.#inFlight.values()].map((entry) => entry.done));
      if (drain && this.#inFlight.size > 0) {
        const timeout = this.#delay(timeoutMs);
        await Promise.race([settled(), timeout.promise, forced]);
        timeout.cancel();
      }
      if (this.#inFlight.size > 0) {
        this.#abortAll(drain ? 'drain-timeout' : 'stopped');
        const grace = this.#delay(this.#abortGraceMs);
        await Promise.race([settled(), grace.promise]);
        grace.cancel();
        await this.#handOffRemaining();
      }
      this.#unsubscribeStore?.();
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      this.#state = 'stopped';
      this.events.emit('agent-stopped', { ...this.#base(), released: this.#released });
      this.#notifyIdle();
    })();
    return this.#stopping;
  }

  /**
   * Installs SIGTERM and SIGINT handlers: the first signal drains (`stop({ drain: true })`),
   * a second one stops at once (releasing leases). The handlers remove themselves once the
   * agent has stopped or after the second signal, so a further signal gets Node's default
   * behaviour (exit). Returns a function that removes them.
   */
  onSignals(signals: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): () => void {
    let received = 0;
    const uninstall = () => {
      for (const signal of signals) process.off(signal, handler);
    };
    const handler = (signal: NodeJS.Signals) => {
      received += 1;
      if (received === 1) {
        this.#logger.info({ agentId: this.id, signal }, 'signal received: draining (send it again to stop at once)');
        void this.stop({ drain: true, reason: signal }).finally(uninstall);
      } else {
        uninstall();
        void this.stop({ drain: false, reason: signal });
      }
    };
    for (const signal of signals) process.on(signal, handler);
    return uninstall;
  }

  /**
   * Starts the agent if needed and resolves once the store is idle for it: this agent runs
   * nothing, its last claim found nothing, no task of the store is running (in any agent),
   * and every pending or retrying task left is *waiting*: due later than `waitForMs` from
   * now, outside its time window, or using a connection this agent's circuit breaker has
   * paused. Those are listed in the report rather than waited for, so `honk run` ends and
   * says what will run later. Retries are always waited for. Does not stop the agent.
   */
  async runUntilIdle(options: RunUntilIdleOptions = {}): Promise<IdleReport> {
    const waitForMs = options.waitForMs ?? 0;
    this.start();
    for (;;) {
      if (this.#state !== 'running') {
        await this.#stopping;
        return { counts: await this.#store.counts(), waiting: [], stopped: true };
      }
      if (this.#inFlight.size === 0 && this.#lastClaimEmpty) {
        const report = await this.#idleReport(waitForMs);
        if (report) return report;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.pollMs);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#idleWaiters.add(done);
      });
    }
  }

  // ── claiming ────────────────────────────────────────────────────────────────

  async #loop(): Promise<void> {
    while (this.#state === 'running') {
      this.#resumeConnections();
      this.#wakePending = false;
      if (this.#limit.activeCount + this.#limit.pendingCount >= this.concurrency) {
        await this.#nap(this.pollMs);
        continue;
      }
      let claim: Claim | null;
      try {
        const paused = this.pausedConnections();
        claim = await this.#store.claim(this.id, {
          leaseMs: this.leaseMs,
          ...this.agentClass,
          ...(paused.length > 0 ? { excludeConnections: paused } : {}),
        });
      } catch (error) {
        this.#logger.error({ agentId: this.id, err: error }, 'claim failed; retrying after pollMs');
        await this.#nap(this.pollMs);
        continue;
      }
      if (this.#state !== 'running') {
        // Claimed while stop() began: give it straight back, unannounced (it never ran).
        if (claim) await this.#store.release(claim.task.id, claim.token).catch(() => {});
        break;
      }
      if (!claim) {
        this.#lastClaimEmpty = true;
        this.#notifyIdle();
        await this.#nap(this.#napMs());
        continue;
      }
      this.#lastClaimEmpty = false;
      this.#launch(claim);
    }
  }

  #launch(claim: Claim): void {
    const entry: InFlight = {
      claim,
      controller: new AbortController(),
      phase: 'unknown',
      lastBeat: Date.now(),
      leaseLost: false,
      handedOff: false,
      done: Promise.resolve(),
    };
    this.#inFlight.set(claim.task.id, entry);
    entry.done = this.#limit(() => this.#execute(entry))
      .catch((error: unknown) => {
        this.#logger.error({ agentId: this.id, taskId: claim.task.id, err: error }, 'agent failed to settle a task');
      })
      .finally(() => {
        if (this.#inFlight.get(claim.task.id) === entry) this.#inFlight.delete(claim.task.id);
        this.#wake();
        this.#notifyIdle();
      });
  }

  /** Sleep until woken or `ms` passed. Returns at once if a wake-up came in meanwhile. */
  async #nap(ms: number): Promise<void> {
    if (this.#wakePending || this.#state !== 'running') return;
    const timer = this.#delay(ms);
    await Promise.race([
      timer.promise,
      new Promise<void>((resolve) => {
        this.#wakeResolve = resolve;
      }),
    ]);
    timer.cancel();
    this.#wakeResolve = undefined;
  }

  #wake(): void {
    this.#wakePending = true;
    this.#wakeResolve?.();
  }

  /** Wake at a given time (a retry falling due, a cool-down ending). */
  #wakeAt(epochMs: number): void {
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer);
        this.#wake();
        this.#notifyIdle();
      },
      Math.max(0, epochMs - Date.now()),
    );
    timer.unref();
    this.#timers.add(timer);
  }

  #napMs(): number {
    const resumeAt = this.#breaker?.nextResumeAt();
    return resumeAt === undefined ? this.pollMs : Math.max(0, Math.min(this.pollMs, resumeAt - Date.now()));
  }

  #delay(ms: number): { promise: Promise<void>; cancel: () => void } {
    let timer: NodeJS.Timeout | undefined;
    const promise = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    return { promise, cancel: () => clearTimeout(timer) };
  }

  #notifyIdle(): void {
    const waiters = [...this.#idleWaiters];
    this.#idleWaiters.clear();
    for (const waiter of waiters) waiter();
  }

  #resumeConnections(): void {
    if (!this.#breaker) return;
    for (const connection of this.#breaker.resumeDue(Date.now())) {
      this.events.emit('connection-resumed', { ...this.#base(), connection });
    }
  }

  // ── running one task ────────────────────────────────────────────────────────

  async #execute(entry: InFlight): Promise<void> {
    const { task, token } = entry.claim;
    const started = performance.now();
    this.events.emit('task-claimed', {
      ...this.#taskBase(task),
      maxAttempts: task.maxAttempts,
      connections: [...task.connections],
      ...(task.chunkOf ? { chunkOf: { task: task.chunkOf.task, index: task.chunkOf.index } } : {}),
    });
    if (entry.controller.signal.aborted) {
      // Aborted while queued behind p-limit (a stop arrived before it started).
      await this.#settle(entry, this.#failureReport(task.id, entry.controller.signal.reason), started);
      return;
    }

    const heartbeat = setInterval(() => {
      this.#heartbeat(entry).catch(() => {});
    }, this.heartbeatMs);
    let report: TaskReport;
    let definition: AgentTaskDefinition | undefined;
    let connectors = this.#connectors;
    try {
      ({ definition, connectors } = await this.#definitionOf(task));
      entry.backoff = definition.retry?.backoff;
      // The fencing point: a fresh heartbeat proves the lease holds.
      const fence = async () => {
        await entry.beat?.catch(() => {});
        await this.#heartbeat(entry);
      };
      const run = {
        task: definition,
        connectors,
        signal: entry.controller.signal,
        logger: this.#logger,
        progressIntervalMs: this.#progressIntervalMs,
        ...(this.#idleTimeoutMs !== undefined ? { idleTimeoutMs: this.#idleTimeoutMs } : {}),
        onEvent: (event: RunEvent) => {
          if (event.type === 'task-phase') {
            entry.phase = event.phase;
            this.events.emit('task-phase', { ...this.#taskBase(task), phase: event.phase });
          } else if (event.type === 'task-progress') {
            const { type: _type, taskId: _taskId, ...stats } = event;
            entry.progress = stats;
            this.events.emit('task-progress', { ...this.#taskBase(task), ...stats });
          }
        },
        onSnapshot: async (ref: SnapshotRef) => {
          try {
            await this.#store.setSnapshotRef(task.id, token, ref as Json);
            entry.handedOver = ref as Json;
          } catch (error) {
            if (isLeaseLost(error)) this.#loseLease(entry);
            throw error;
          }
        },
        beforePublish: fence,
      };
      const split = this.#store.split?.bind(this.#store);
      if (task.chunkOf) {
        // A chunk of a chunked task: the task's id names its staging, not the chunk record's.
        const { task: parent, index, plan, ref } = task.chunkOf;
        report = await runChunk({ ...run, task: { ...definition, id: parent }, chunk: { index, plan, ref } });
      } else if (definition.chunks && split) {
        const chunked = task.chunked;
        const step = await runChunkedStep({
          ...run,
          record: task,
          beforeDiscard: fence,
          queue: {
            chunks: () =>
              chunked === undefined
                ? Promise.resolve([])
                : this.#store.list({
                    ids: Array.from({ length: chunked.chunks }, (_, index) => chunkTaskId(task.id, index)),
                  }),
            split: (input) => split(task.id, token, input),
          },
        });
        if (step.kind === 'split') {
          entry.split = step.result;
          const now = new Date().toISOString();
          report = { taskId: task.id, ok: true, stats: { ...ZERO_STATS }, timings: {}, startedAt: now, endedAt: now };
        } else report = step.report;
      } else {
        report = await this.#runTask(run);
      }
    } catch (error) {
      // runTask resolves with a report even on failure; this covers a definition that
      // cannot be read and a replaced runTask that throws.
      report = this.#failureReport(task.id, error);
    } finally {
      clearInterval(heartbeat);
    }
    await this.#settle(entry, report, started);
    if (definition && entry.handedOver !== undefined) {
      // After the outcome is recorded, so it costs no lease time (see snapshot-sweep.ts).
      await discardSupersededSnapshots({
        record: entry.claim.task,
        current: entry.handedOver,
        definition,
        connectors,
        logger: this.#logger,
        events: this.events,
        agentId: this.id,
      });
    }
  }

  /** The runnable definition of a record and its connectors (see `stored-definition.ts`). */
  #definitionOf(task: TaskRecord): Promise<LoadedDefinition> {
    return loadStoredDefinition(
      task,
      {
        connectors: this.#connectors,
        ...(this.#allowList ? { allowList: this.#allowList } : {}),
        ...(this.#env ? { env: this.#env } : {}),
        ...(this.#baseDir ? { baseDir: this.#baseDir } : {}),
      },
      `store "${this.#store.name}"`,
    );
  }

  #failureReport(taskId: string, error: unknown): TaskReport {
    const now = new Date().toISOString();
    return {
      taskId,
      ok: false,
      stats: { ...ZERO_STATS },
      timings: {},
      error: toHonkError(error).toJSON(),
      startedAt: now,
      endedAt: now,
    };
  }

  /** One heartbeat; concurrent callers share it. Marks the lease lost when the store says so. */
  #heartbeat(entry: InFlight): Promise<void> {
    if (entry.beat) return entry.beat;
    const { task, token } = entry.claim;
    entry.beat = (async () => {
      try {
        const progress = { phase: entry.phase, ...(entry.progress ?? ZERO_STATS) };
        await this.#store.heartbeat(task.id, token, { leaseMs: this.leaseMs, progress });
        entry.lastBeat = Date.now();
      } catch (error) {
        if (isLeaseLost(error)) {
          this.#loseLease(entry);
          throw error;
        }
        if (Date.now() - entry.lastBeat >= this.leaseMs) {
          // The store has been unreachable for a whole lease: assume someone else took over.
          const lost = new LeaseLostError(task.id, 'no heartbeat reached the store within the lease', { cause: error });
          this.#loseLease(entry);
          throw lost;
        }
        this.#logger.warn({ agentId: this.id, taskId: task.id, err: error }, 'heartbeat failed; will retry');
        throw error;
      } finally {
        entry.beat = undefined;
      }
    })();
    return entry.beat;
  }

  #loseLease(entry: InFlight): void {
    if (entry.leaseLost) return;
    entry.leaseLost = true;
    entry.lostInPhase = entry.phase;
    entry.controller.abort(
      new TransientError(
        `Task "${entry.claim.task.id}" lost its lease (expired, cancelled or taken by another agent); the run stops without publishing.`,
        { code: 'LEASE_LOST' },
      ),
    );
  }

  /** Store mutations retried briefly (p-retry), never across a lost lease. */
  #storeCall<T>(operation: () => Promise<T>): Promise<T> {
    return pRetry(operation, {
      retries: 3,
      minTimeout: 100,
      maxTimeout: 1000,
      shouldRetry: ({ error }) => !isLeaseLost(error) && (!isHonkError(error) || error.retryable),
    });
  }

  async #settle(entry: InFlight, report: TaskReport, started: number): Promise<void> {
    if (entry.handedOff) return;
    const { task, token } = entry.claim;
    const durationMs = performance.now() - started;
    const base = this.#taskBase(task);
    const stats = report.stats ?? ZERO_STATS;
    try {
      if (entry.split) {
        // The store ended the attempt when it took the chunks: nothing left to record.
        this.events.emit('task-released', { ...base, reason: 'chunked', chunks: entry.split.chunks });
        return;
      }
      if (entry.leaseLost) {
        this.events.emit('task-lease-lost', { ...base, phase: entry.lostInPhase ?? entry.phase });
        return;
      }
      if (report.ok) {
        await this.#storeCall(() => this.#store.complete(task.id, token, report as unknown as Json));
        this.#breaker?.recordSuccess(task.connections, Date.now());
        this.events.emit('task-succeeded', { ...base, durationMs, stats, report });
        return;
      }
      if (entry.stopReason) {
        await this.#release(entry, entry.stopReason);
        return;
      }
      const error = report.error ?? toHonkError(new Error('runTask reported failure without an error')).toJSON();
      const taskError: TaskError = { code: error.code, message: redactText(error.message), retryable: error.retryable };

      if (this.#breaker?.counts(error.code)) {
        const now = Date.now();
        const blamed = this.#breaker.blame(task.connections, error.details);
        if (blamed.some((connection) => this.#breaker?.isPaused(connection, now))) {
          // Started before the breaker opened: give the task back rather than burn it.
          await this.#release(entry, 'connection-paused');
          return;
        }
        for (const trip of this.#breaker.recordFailure(blamed, now)) {
          this.events.emit('connection-paused', {
            ...this.#base(),
            connection: trip.connection,
            failures: trip.failures,
            code: error.code,
            until: trip.until.toISOString(),
          });
          this.#wakeAt(trip.until.getTime());
        }
      }

      const policy = this.#backoffFor(entry);
      // An error may ask for a minimum pause (a full disk, NO_SPACE): honoured up to maxMs.
      const floorMs = Math.min(error.retryAfterMs ?? 0, policy.maxMs ?? DEFAULT_BACKOFF.maxMs);
      const delayMs = Math.max(computeBackoff(task.attempts, policy), floorMs);
      const retryAt = new Date(Date.now() + delayMs);
      const outcome = await this.#storeCall(() => this.#store.fail(task.id, token, taskError, { retryAt }));
      if (outcome === 'retrying') {
        this.events.emit('task-retrying', {
          ...base,
          durationMs,
          stats,
          error,
          maxAttempts: task.maxAttempts,
          delayMs,
          retryAt: retryAt.toISOString(),
        });
        this.#wakeAt(retryAt.getTime());
      } else {
        this.events.emit('task-dead', {
          ...base,
          durationMs,
          stats,
          error,
          maxAttempts: task.maxAttempts,
          reason: taskError.retryable ? 'attempts-exhausted' : 'non-retryable',
        });
      }
    } catch (error) {
      // The store refused (lease gone) or stayed unreachable: the lease runs out and the
      // task is taken over; re-running is safe because publishing is idempotent.
      this.#logger.warn(
        { agentId: this.id, taskId: task.id, err: error },
        'could not record the task outcome; its lease will expire and another agent takes it over',
      );
      this.events.emit('task-lease-lost', { ...base, phase: entry.phase });
    }
  }

  #backoffFor(entry: InFlight): Partial<BackoffPolicy> {
    return { ...this.#backoff, ...(entry.backoff ?? {}) };
  }

  async #release(entry: InFlight, reason: ReleaseReason): Promise<void> {
    const { task, token } = entry.claim;
    await this.#storeCall(() => this.#store.release(task.id, token));
    this.#released += 1;
    this.events.emit('task-released', { ...this.#taskBase(task), reason });
  }

  #abortAll(reason: ReleaseReason): void {
    for (const entry of this.#inFlight.values()) {
      if (entry.stopReason || entry.leaseLost) continue;
      entry.stopReason = reason;
      entry.controller.abort(
        new AbortedError(`Agent "${this.id}" is stopping (${reason}); the task is released for another agent.`),
      );
    }
  }

  /** Releases the leases of runs that did not wind down within the abort grace. */
  async #handOffRemaining(): Promise<void> {
    await Promise.all(
      [...this.#inFlight.values()].map(async (entry) => {
        if (entry.handedOff || entry.leaseLost) return;
        entry.handedOff = true;
        try {
          await this.#release(entry, entry.stopReason ?? 'stopped');
        } catch (error) {
          this.#logger.warn(
            { agentId: this.id, taskId: entry.claim.task.id, err: error },
            'could not release the lease; it will expire',
          );
        }
      }),
    );
  }

  // ── idleness ────────────────────────────────────────────────────────────────

  async #idleReport(waitForMs: number): Promise<IdleReport | undefined> {
    const counts = await this.#store.counts();
    if (counts.running > 0) return undefined;
    const now = new Date();
    const horizon = now.getTime() + waitForMs;
    const paused = new Set(this.pausedConnections());
    const waiting: WaitingTask[] = [];
    for (const task of await this.#store.list({ states: ['pending', 'retrying'] })) {
      let reason: WaitingReason | undefined;
      if (isWaitingForChunks(task)) reason = 'chunks';
      else if (!agentClassAllows(this.agentClass, task)) reason = 'agent-class';
      else if (task.connections.some((connection) => paused.has(connection))) reason = 'connection-paused';
      else if (task.window && !windowAllows(task.window, now)) reason = 'window';
      else if (task.state === 'pending' && Date.parse(task.runAt) > horizon) reason = 'not-before';
      if (!reason) return undefined;
      waiting.push({ id: task.id, state: task.state, runAt: task.runAt, reason });
    }
    return { counts, waiting, stopped: false };
  }

  #base(): { agentId: string; at: string } {
    return { agentId: this.id, at: new Date().toISOString() };
  }

  #taskBase(task: TaskRecord): { agentId: string; at: string; taskId: string; attempt: number } {
    return { ...this.#base(), taskId: task.id, attempt: task.attempts };
  }
}
