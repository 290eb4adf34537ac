export * from './honk-error.ts';
export * from './no-space.ts';
export * from './redact.ts';
export * from './system-error-codes.ts';
