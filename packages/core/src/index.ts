/**
 * @honk/core — contracts and engine for verified, resumable dataset migrations.
 * See README.md for a tour; every export is documented where it is defined.
 */

export * from './agent/index.ts';
export * from './connector/index.ts';
export * from './connectors/file/index.ts';
export * from './errors/index.ts';
export * from './formats/index.ts';
export * from './observe/index.ts';
export * from './queue/index.ts';
export * from './run/index.ts';
export * from './spec/index.ts';
export * from './transfer/index.ts';
export * from './validate/index.ts';
export * from './workers/index.ts';
