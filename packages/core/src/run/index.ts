export * from './task-definition.ts';
export * from './task-report.ts';
