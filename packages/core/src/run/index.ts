export * from './task-definition.ts';
