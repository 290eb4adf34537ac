export * from './transform.ts';
export * from './transfer.ts';
export * from './transforms/index.ts';
