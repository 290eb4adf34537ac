/**
 * Global test setup. Services that tests need (PostgreSQL, Prometheus …) are started here once per
 * run and stopped at the end, also when tests fail. Each service module exports
 * `setup()` returning a teardown; they publish connection details via environment
 * variables that test files read.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setup as setupPostgres } from './services/postgres.ts';
import { setup as setupPrometheus } from './services/prometheus.ts';

const teardowns: Array<() => Promise<void>> = [];

/** The runtime the repository pins (the `node` dev dependency): tests on another one prove nothing about it. */
const PINNED_MAJOR = 24;

export async function setup(): Promise<void> {
  const major = Number(process.versions.node.split('.')[0]);
  console.log(`Tests run on Node ${process.version} (${process.execPath})`);
  if (major < PINNED_MAJOR) {
    throw new Error(
      `Tests run on Node ${process.version}, but the repository pins Node ${PINNED_MAJOR} (devDependency "node"). Run them through pnpm (pnpm test), which puts the pinned runtime first on PATH.`,
    );
  }
  // Every temporary directory of the run (test files, servers, spawned processes: they all
  // inherit TMPDIR) lives under one root, removed when the run ends: a run leaves no files
  // behind (the large-data tests write gigabytes).
  const root = mkdtempSync(join(tmpdir(), 'honk-test-run-'));
  // The PostgreSQL cluster runs as its own user and must reach its directory inside.
  chmodSync(root, 0o755);
  process.env.TMPDIR = root;
  teardowns.push(async () => rmSync(root, { recursive: true, force: true }));
  // Service modules register here (e.g. PostgreSQL in test/services/postgres.ts).
  teardowns.push(await setupPostgres());
  // promtool (alert rule tests) and prometheus (a real scrape of `honk agent`).
  teardowns.push(await setupPrometheus());
}

export async function teardown(): Promise<void> {
  for (const stop of teardowns.reverse()) await stop();
}
