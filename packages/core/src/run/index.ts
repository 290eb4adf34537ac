export * from './run-task.ts';
export * from './task-definition.ts';
export * from './task-report.ts';
