export * from './finish-chunks.ts';
export * from './plan-chunks.ts';
export * from './run-chunk.ts';
export * from './run-chunked-task.ts';
