export * from './honk-error.ts';
export * from './redact.ts';
