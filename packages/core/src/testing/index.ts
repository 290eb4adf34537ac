/**
 * @honk/core/testing — conformance suites and fixtures for connector and store authors.
 * Requires vitest (a peer dependency of this entry point only).
 */

export * from './chunked-conformance.ts';
export * from './conformance.ts';
export * from './discover-conformance.ts';
export * from './incremental-conformance.ts';
export * from './memory-connector.ts';
export * from './memory-growth.ts';
export * from './task-store-suite.ts';
export * from './tricky-data.ts';
