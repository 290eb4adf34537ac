/**
 * Follows migration status as it changes, within seconds, without re-reading every task:
 *
 * - store events (mutations through this process's store, and those other processes notify
 *   through PostgreSQL LISTEN/NOTIFY) refresh the task they name at once;
 * - a poll every `pollMs` reads only the active tasks (pending, running, retrying) and
 *   refreshes those whose state changed or that left the active set (they ended: a success
 *   on an unlimited connection is not notified by the store, so the poll is what sees it);
 * - the same poll reads the ledger after its last sequence (sign-offs, rollbacks from any
 *   Backstage replica).
 *
 * Listeners get a summary whenever a task's status (or its sign-off/rollback) changes.
 */
import type { LoggerService } from '@backstage/backend-plugin-api';
import type { MigrationSummary } from '@honk/backstage-plugin-honk-common';
import type { TaskRecord, TaskState, TaskStore } from '@honk/core';
import type { MigrationLedger } from './migration-ledger.ts';
import { toSummary } from './migration-status.ts';

const ACTIVE: TaskState[] = ['pending', 'running', 'retrying'];

function signature(summary: MigrationSummary): string {
  return `${summary.status}|${summary.signedOff?.at ?? ''}|${summary.rolledBack?.at ?? ''}|${summary.attempts}`;
}

export class MigrationStatusWatcher {
  readonly #store: TaskStore;
  readonly #ledger: MigrationLedger;
  readonly #pollMs: number;
  readonly #logger: LoggerService;
  readonly #listeners = new Set<(summary: MigrationSummary) => void>();
  /** Last signature sent per task. */
  readonly #sent = new Map<string, string>();
  /** Active tasks at the last poll: id → state and update time. */
  #active = new Map<string, string>();
  #ledgerHead = 0;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;

  constructor(options: { store: TaskStore; ledger: MigrationLedger; pollMs: number; logger: LoggerService }) {
    this.#store = options.store;
    this.#ledger = options.ledger;
    this.#pollMs = options.pollMs;
    this.#logger = options.logger;
  }

  /** Subscribe to status changes; returns the unsubscribe function. */
  onChange(listener: (summary: MigrationSummary) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Starts following: the ledger from its current head, active tasks from now. */
  async start(): Promise<void> {
    this.#ledgerHead = await this.#ledger.head();
    this.#unsubscribe = this.#store.events.onAny((event) => {
      void this.refresh([event.taskId]);
    });
    await this.poll();
    const tick = () => {
      if (this.#stopped) return;
      this.#timer = setTimeout(async () => {
        await this.poll();
        tick();
      }, this.#pollMs);
      this.#timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    if (this.#timer) clearTimeout(this.#timer);
    await this.#polling;
  }

  /** One poll round (also what tests call to not wait for the timer). */
  poll(): Promise<void> {
    this.#polling ??= this.#pollOnce().finally(() => {
      this.#polling = undefined;
    });
    return this.#polling;
  }

  async #pollOnce(): Promise<void> {
    try {
      // Chunk records are parts of their task, not migrations of their own.
      const active = (await this.#store.list({ states: ACTIVE })).filter((record) => record.chunkOf === undefined);
      const next = new Map(active.map((record) => [record.id, `${record.state}|${record.attempts}`]));
      const changed: TaskRecord[] = active.filter((record) => this.#active.get(record.id) !== next.get(record.id));
      const ended = [...this.#active.keys()].filter((id) => !next.has(id));
      this.#active = next;
      const entries = await this.#ledger.since(this.#ledgerHead);
      if (entries.length > 0) this.#ledgerHead = entries[entries.length - 1]!.sequence;
      await this.#emitRecords(changed);
      await this.refresh([...ended, ...entries.map((entry) => entry.taskId)]);
    } catch (error) {
      this.#logger.warn(`Honk status poll failed; retrying in ${this.#pollMs} ms: ${(error as Error).message}`);
    }
  }

  /** Re-reads these tasks and tells listeners about the ones whose status changed. */
  async refresh(taskIds: readonly string[]): Promise<void> {
    const unique = [...new Set(taskIds)];
    if (unique.length === 0 || this.#stopped) return;
    try {
      const records = await this.#store.list({ ids: unique });
      // A task an event showed active is followed by the poll from now on, so its end is seen
      // even when it started and ended between two polls (a success on an unlimited
      // connection is not notified).
      for (const record of records) {
        if (ACTIVE.includes(record.state) && !this.#active.has(record.id)) {
          this.#active.set(record.id, `${record.state}|${record.attempts}`);
        }
      }
      await this.#emitRecords(records);
    } catch (error) {
      this.#logger.warn(`Honk status refresh failed: ${(error as Error).message}`);
    }
  }

  async #emitRecords(records: readonly TaskRecord[]): Promise<void> {
    if (records.length === 0) return;
    const ledger = await this.#ledger.forTasks(records.map((record) => record.id));
    for (const record of records) {
      const summary = toSummary(record, ledger.get(record.id) ?? []);
      const mark = signature(summary);
      if (this.#sent.get(record.id) === mark) continue;
      this.#sent.set(record.id, mark);
      for (const listener of this.#listeners) {
        try {
          listener(summary);
        } catch (error) {
          this.#logger.warn(`A Honk status listener threw: ${(error as Error).message}`);
        }
      }
    }
  }
}
