/**
 * The shared body of the stores that keep the queue in process memory (MemoryTaskStore,
 * JournalTaskStore): the TaskTable decides, a subclass persists. Each operation runs the
 * table synchronously — so in-process agents are serialised and two of them can never
 * claim one task — then awaits `persist` of the changes it made, and only then emits events
 * and answers, so nothing is acknowledged before it is durable.
 */
import type { Json } from '../connector/connector.ts';
import { HonkError } from '../errors/honk-error.ts';
import type {
  Claim,
  ClaimOptions,
  EnqueueOptions,
  EnqueueResult,
  FailOptions,
  HeartbeatOptions,
  NowOption,
  RequeueOptions,
  SplitInput,
  SplitResult,
  TaskError,
  TaskFilter,
  TaskInput,
  TaskRecord,
  TaskState,
  TaskStore,
} from './task-store.ts';
import { TaskEventHub } from './task-store-events.ts';
import { type TableEntry, TaskTable } from './task-table.ts';

export abstract class TableTaskStore implements TaskStore {
  readonly specificationVersion = 'v1' as const;
  abstract readonly name: string;
  readonly events = new TaskEventHub();
  protected readonly table = new TaskTable();
  private closed = false;

  /** Makes the entries durable; the operation answers once this resolves. */
  protected abstract persist(entries: TableEntry[]): Promise<void>;

  /** Releases the subclass's resources; runs once. */
  protected abstract closeStore(): Promise<void>;

  protected assertOpen(): void {
    if (this.closed) {
      throw new HonkError(
        'CONNECTOR_MISUSE',
        `The task store "${this.name}" is closed; open a new one to keep using it.`,
      );
    }
  }

  /** Runs a table operation, persists what it changed (also when it threw), then emits. */
  protected async mutate<R>(operation: () => R): Promise<R> {
    this.assertOpen();
    let result: R | undefined;
    let failure: { error: unknown } | undefined;
    try {
      result = operation();
    } catch (error) {
      failure = { error };
    }
    const { entries, events } = this.table.takeChanges();
    if (entries.length > 0) await this.persist(entries);
    this.events.emit(events);
    if (failure !== undefined) throw failure.error;
    return result as R;
  }

  enqueue(inputs: readonly TaskInput[], options: EnqueueOptions = {}): Promise<EnqueueResult[]> {
    return this.mutate(() => this.table.enqueue(inputs, options));
  }

  claim(agentId: string, options: ClaimOptions): Promise<Claim | null> {
    return this.mutate(() => this.table.claim(agentId, options));
  }

  heartbeat(id: string, token: string, options: HeartbeatOptions): Promise<{ expiresAt: string }> {
    return this.mutate(() =>
      this.table.heartbeat(id, token, options.leaseMs, options.progress, options.now ?? new Date()),
    );
  }

  complete(id: string, token: string, report: Json, options: NowOption = {}): Promise<void> {
    return this.mutate(() => this.table.complete(id, token, report, options.now ?? new Date()));
  }

  fail(id: string, token: string, error: TaskError, options: FailOptions = {}): Promise<'retrying' | 'dead'> {
    return this.mutate(() => this.table.fail(id, token, error, options.retryAt, options.now ?? new Date()));
  }

  release(id: string, token: string, options: NowOption = {}): Promise<void> {
    return this.mutate(() => this.table.release(id, token, options.now ?? new Date()));
  }

  requeue(id: string, options: RequeueOptions = {}): Promise<TaskRecord> {
    return this.mutate(() => this.table.requeue(id, options.resetAttempts ?? true, options.now ?? new Date()));
  }

  cancel(id: string, options: NowOption = {}): Promise<TaskRecord> {
    return this.mutate(() => this.table.cancel(id, options.now ?? new Date()));
  }

  setSnapshotRef(id: string, token: string, ref: Json, options: NowOption = {}): Promise<void> {
    return this.mutate(() => this.table.setSnapshotRef(id, token, ref, options.now ?? new Date()));
  }

  split(id: string, token: string, input: SplitInput, options: NowOption = {}): Promise<SplitResult> {
    return this.mutate(() => this.table.split(id, token, input, options.now ?? new Date()));
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    this.assertOpen();
    return this.table.get(id);
  }

  async list(filter: TaskFilter = {}): Promise<TaskRecord[]> {
    this.assertOpen();
    return this.table.list(filter);
  }

  async counts(): Promise<Record<TaskState, number>> {
    this.assertOpen();
    return this.table.counts();
  }

  setConnectionLimits(limits: Record<string, number | null>): Promise<void> {
    return this.mutate(() => this.table.setConnectionLimits(limits));
  }

  async getConnectionLimits(): Promise<Record<string, number>> {
    this.assertOpen();
    return this.table.connectionLimits();
  }

  acquireRole(name: string, holder: string, ttlMs: number, options: NowOption = {}): Promise<boolean> {
    return this.mutate(() => this.table.acquireRole(name, holder, ttlMs, options.now ?? new Date()));
  }

  releaseRole(name: string, holder: string): Promise<void> {
    return this.mutate(() => this.table.releaseRole(name, holder));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closeStore();
  }
}
