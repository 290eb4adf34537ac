export * from './chunks/index.ts';
export * from './incremental-run.ts';
export * from './prepare-task.ts';
export * from './run-task.ts';
export * from './run-watchdog.ts';
export * from './task-definition.ts';
export * from './task-report.ts';
