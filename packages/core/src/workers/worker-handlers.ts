/**
 * The only modules a pool worker loads (by name, on first use): code comes from this list,
 * never from a task or a message, so nothing that reaches a worker can make it run other code.
 */
export const workerHandlers = {
  validation: '../validate/validation-worker',
} as const;

export type WorkerHandlerName = keyof typeof workerHandlers;
