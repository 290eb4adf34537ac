/**
 * Global test setup. Services that tests need (PostgreSQL …) are started here once per
 * run and stopped at the end, also when tests fail. Each service module exports
 * `setup()` returning a teardown; they publish connection details via environment
 * variables that test files read.
 */
import { setup as setupPostgres } from './services/postgres.ts';

const teardowns: Array<() => Promise<void>> = [];

export async function setup(): Promise<void> {
  // Service modules register here (e.g. PostgreSQL in test/services/postgres.ts).
  teardowns.push(await setupPostgres());
}

export async function teardown(): Promise<void> {
  for (const stop of teardowns.reverse()) await stop();
}
