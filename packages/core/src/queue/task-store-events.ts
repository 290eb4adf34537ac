/** The in-process event hub behind `TaskStore.events`. */
import type { TaskStoreEvent, TaskStoreEvents, TaskStoreEventType } from './task-store.ts';

type Listener = (event: TaskStoreEvent) => void;

export class TaskEventHub implements TaskStoreEvents {
  private readonly byType = new Map<TaskStoreEventType, Set<Listener>>();
  private readonly any = new Set<Listener>();

  on<T extends TaskStoreEventType>(
    type: T,
    listener: (event: Extract<TaskStoreEvent, { type: T }>) => void,
  ): () => void {
    let listeners = this.byType.get(type);
    if (listeners === undefined) {
      listeners = new Set();
      this.byType.set(type, listeners);
    }
    const stored = listener as Listener;
    listeners.add(stored);
    return () => {
      listeners.delete(stored);
    };
  }

  onAny(listener: (event: TaskStoreEvent) => void): () => void {
    this.any.add(listener);
    return () => {
      this.any.delete(listener);
    };
  }

  /**
   * Delivers events in order. A throwing listener must not undo or block a mutation that
   * is already durable, so its error becomes a process warning instead of propagating.
   */
  emit(events: readonly TaskStoreEvent[]): void {
    for (const event of events) {
      for (const listener of [...(this.byType.get(event.type) ?? []), ...this.any]) {
        try {
          listener(event);
        } catch (error) {
          process.emitWarning(
            `A TaskStore "${event.type}" listener threw: ${error instanceof Error ? error.message : String(error)}`,
            { code: 'HONK_TASK_STORE_LISTENER' },
          );
        }
      }
    }
  }
}
