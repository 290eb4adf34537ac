/**
 * The only handler modules a pool worker loads (by name, on first use). Besides these, a
 * worker imports only the raw decoder modules that connectors loaded in the main thread
 * name (`Source.rawDecoder`): code comes from the process's own trusted modules, never from
 * a task or its data.
 */
export const workerHandlers = {
  validation: '../validate/validation-worker',
  'raw-validation': '../validate/raw-validation-worker',
  parquet: '../formats/parquet-worker',
  'text-build': '../formats/text-build-worker',
} as const;

export type WorkerHandlerName = keyof typeof workerHandlers;
