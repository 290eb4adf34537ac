export * from './agent.ts';
export * from './backoff.ts';
export * from './circuit-breaker.ts';
export * from './dead-letter.ts';
export * from './module-allow-list.ts';
export * from './scheduler.ts';
export * from './snapshot-sweep.ts';
export * from './stored-definition.ts';
