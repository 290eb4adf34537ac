export * from './merge-concurrently.ts';
export * from './raw-transfer.ts';
export * from './transfer.ts';
export * from './transform.ts';
export * from './transforms/index.ts';
