export * from './chunked-staging.ts';
export * from './connector.ts';
export * from './connector-registry.ts';
export * from './group-by-size.ts';
export * from './guard.ts';
export * from './incremental-mark.ts';
export * from './option-marks.ts';
