/**
 * The frame a chunk run and a chunked task's finish run in, as `runTask` frames its own: an
 * AbortController joined to the caller's signal, the watchdog (idle and total timeouts),
 * phases with their timings and events, steps that never outlive the run's abort, and
 * bounded cleanup.
 */
import type { Logger } from '../../connector/connector.ts';
import { silentLogger } from '../../observe/logger.ts';
import { DEFAULT_IDLE_TIMEOUT_MS, RunWatchdog, settlesWithin, untilAborted } from '../run-watchdog.ts';
import type { RunEvent, RunPhase } from '../task-report.ts';

export interface RunHarnessOptions {
  taskId: string;
  signal?: AbortSignal | undefined;
  onEvent?: ((event: RunEvent) => void) | undefined;
  logger?: Logger | undefined;
  idleTimeoutMs?: number | undefined;
  timeoutMs?: number | undefined;
}

/** After an abort, how long the running step may wind down (see run-task.ts). */
export const SETTLE_AFTER_ABORT_MS = 5000;

export class RunHarness {
  readonly taskId: string;
  readonly controller = new AbortController();
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly watchdog: RunWatchdog;
  readonly timings: Partial<Record<RunPhase, number>> = {};
  readonly startedAt = new Date();
  phase: RunPhase = 'preflight';
  #phaseStarted = performance.now();
  #current: Promise<unknown> | undefined;
  readonly #onEvent: RunHarnessOptions['onEvent'];

  constructor(options: RunHarnessOptions) {
    this.taskId = options.taskId;
    this.signal = options.signal ? AbortSignal.any([options.signal, this.controller.signal]) : this.controller.signal;
    this.logger = options.logger ?? silentLogger;
    this.#onEvent = options.onEvent;
    this.watchdog = new RunWatchdog({
      taskId: options.taskId,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      timeoutMs: options.timeoutMs,
      controller: this.controller,
      phase: () => this.phase,
    });
  }

  start(): void {
    this.watchdog.start();
    this.emit({ type: 'task-phase', taskId: this.taskId, phase: 'preflight' });
  }

  emit(event: RunEvent): void {
    try {
      this.#onEvent?.(event);
    } catch (error) {
      this.logger.warn({ taskId: this.taskId, err: String(error) }, 'event listener threw');
    }
  }

  enter(next: RunPhase): void {
    const now = performance.now();
    this.timings[this.phase] = (this.timings[this.phase] ?? 0) + (now - this.#phaseStarted);
    this.phase = next;
    this.#phaseStarted = now;
    this.watchdog.touch();
    this.emit({ type: 'task-phase', taskId: this.taskId, phase: next });
  }

  /** Awaits a step of the run, but never past the run's abort; `late` cleans up a result that arrives after it. */
  step<T>(promise: Promise<T>, late?: (value: T) => unknown): Promise<T> {
    this.#current = promise;
    return untilAborted(promise, this.signal, late);
  }

  /** The step running when the run failed. */
  get current(): Promise<unknown> | undefined {
    return this.#current;
  }

  /** A cleanup step: bounded by the idle timeout, logged when it fails or hangs, never throws. */
  async cleanup(what: string, run: () => Promise<unknown>): Promise<boolean> {
    let failed = false;
    const done = run().catch((error: unknown) => {
      failed = true;
      this.logger.error({ taskId: this.taskId, err: String(error) }, `${what} failed`);
    });
    if (!(await settlesWithin(done, this.watchdog.idleTimeoutMs))) {
      this.logger.error(
        { taskId: this.taskId, waitedMs: this.watchdog.idleTimeoutMs },
        `${what} did not finish in time; left running`,
      );
      return false;
    }
    return !failed;
  }

  /** The run failed: stop the watchdog and abort what still runs. */
  fail(error: unknown): void {
    this.watchdog.stop();
    this.controller.abort(error);
  }

  /** Lets the step cut short by a failure wind down before things are closed under it. */
  async settle(except?: Promise<unknown>): Promise<void> {
    if (this.#current && this.#current !== except) await settlesWithin(this.#current, SETTLE_AFTER_ABORT_MS);
  }

  /** Closes the last phase (`done`). */
  done(): void {
    this.enter('done');
    this.watchdog.stop();
  }
}
