export * from './agent-class.ts';
export * from './chunk-split.ts';
export * from './hash-definition.ts';
export * from './journal-task-store.ts';
export * from './memory-task-store.ts';
export * from './queue-backlog.ts';
export * from './store-kit.ts';
export * from './task-store.ts';
