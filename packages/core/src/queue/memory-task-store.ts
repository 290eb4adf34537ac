/**
 * MemoryTaskStore: the queue in process memory. For tests, examples and programs that run
 * their tasks in one process and need no resume after a crash (use JournalTaskStore for
 * that). Claims are cheap with tens of thousands of tasks: see TaskTable's indexes.
 */
import { TableTaskStore } from './table-task-store.ts';
import type { TableEntry } from './task-table.ts';

export class MemoryTaskStore extends TableTaskStore {
  readonly name = 'memory';

  protected async persist(_entries: TableEntry[]): Promise<void> {
    // Nothing to make durable.
  }

  protected async closeStore(): Promise<void> {}
}

/** A new, empty in-memory task store. */
export function createMemoryTaskStore(): MemoryTaskStore {
  return new MemoryTaskStore();
}
