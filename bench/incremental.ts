/**
 * Incremental re-runs (issue 13): what a re-run of an incremental PG→PG task costs once the
 * target holds the table, with the real postgres connector through `runTask`, every run in
 * its own process (see run-isolated.ts), default validation on.
 *
 *   pnpm bench incremental                      10M rows
 *   BENCH_ROWS=200000 pnpm bench incremental    another size
 *
 * Source (generated server-side once per size): `bench_incremental_<rows>`, the postgres
 * suite's narrow table (id int8, name text, amount float8, created_at timestamp, active bool)
 * with a btree index on the cursor `created_at`, which is what makes a re-run cheap.
 *
 * Lines:
 *   initial run       the first run: every row (the full copy an ordinary task repeats each time)
 *   no-change re-run  nothing changed at the source: the goal line (seconds, not minutes)
 *   re-run after 0.1 % updated  `BENCH_CHANGED` rows (default rows / 1000) moved past the mark first
 * The ratio of a re-run is the initial run's seconds ÷ the re-run's: how much cheaper than
 * copying the table again.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startPostgres } from '../test/services/postgres.ts';
import { dropTable, TABLES, withClient } from './postgres-references.ts';
import { honk } from './process-runs.ts';
import { emit, rowsLabel } from './report.ts';
import type { ScenarioResult } from './run.ts';
import {
  bestOf,
  type IsolatedJob,
  type IsolatedResult,
  isolatedJob,
  runIsolated,
  serveIsolatedJob,
} from './run-isolated.ts';

const TARGET = 'bench_incremental_target';
const TASK_ID = 'bench-incremental';

interface IncrementalJob extends IsolatedJob {
  url: string;
  table: string;
}

interface IncrementalValue {
  rowsRead: number;
  rowsWritten: number | undefined;
  range: string;
  timings: Record<string, number>;
}

// ── child side ───────────────────────────────────────────────────────────────────────

let core: typeof import('@honk/core');
let postgresConnector: typeof import('@honk/connectors-postgres')['postgresConnector'];

async function honkIncremental(job: IncrementalJob): Promise<IncrementalValue> {
  const { ConnectorRegistry, runTask } = core;
  const postgres = { connector: 'postgres', connection: 'db', options: { url: job.url } };
  const report = await runTask({
    task: {
      id: TASK_ID,
      source: { ...postgres, endpoint: { table: job.table } },
      target: { ...postgres, endpoint: { table: TARGET }, mode: 'merge', key: ['id'] },
      incremental: { cursor: 'created_at' },
    },
    connectors: new ConnectorRegistry([postgresConnector]),
  });
  if (!report.ok || !report.incremental) throw new Error(`${job.name}: ${report.error?.code} ${report.error?.message}`);
  return {
    rowsRead: report.incremental.rowsRead,
    rowsWritten: report.incremental.rowsWritten,
    range: report.incremental.range,
    timings: report.timings as Record<string, number>,
  };
}

// ── main side ────────────────────────────────────────────────────────────────────────

/** The source table with an index on the cursor, created once per size. */
async function ensureSource(url: string, rows: number): Promise<string> {
  const table = `bench_incremental_${rows}`;
  await withClient(url, async (client) => {
    const exists = await client.query<{ n: string | null }>('SELECT to_regclass($1)::text AS n', [table]);
    if (exists.rows[0]?.n !== null) return;
    await client.query(TABLES.narrow(table, rows));
    await client.query(`ALTER TABLE ${table} ADD PRIMARY KEY (id)`);
    await client.query(`CREATE INDEX ON ${table} (created_at)`);
    await client.query(`VACUUM ANALYZE ${table}`);
  });
  return table;
}

/** Forgets the target and its mark, so the next run is an initial one. */
async function resetTarget(url: string): Promise<void> {
  await dropTable(url, TARGET);
  await withClient(url, (client) =>
    client.query(`DELETE FROM public._honk_incremental WHERE task_id = $1`, [TASK_ID]).catch(() => undefined),
  );
}

async function benchIncremental(url: string, rows: number): Promise<void> {
  const table = await ensureSource(url, rows);
  const size = rowsLabel(rows);
  const job = (name: string): IncrementalJob => ({ name: `incremental-${size}-${name}`, url, table });
  const line = (name: string, measured: IsolatedResult<IncrementalValue>, extra: Partial<ScenarioResult>) => ({
    suite: 'incremental',
    name: `${size} ${name}`,
    rows: measured.value.rowsRead,
    seconds: measured.seconds,
    peakRssMb: measured.peakRssMb,
    baselineRssMb: measured.baselineRssMb,
    cpuSeconds: measured.cpuSeconds,
    timings: measured.value.timings,
    rowsWritten: measured.value.rowsWritten,
    range: measured.value.range,
    ...extra,
  });

  await resetTarget(url);
  try {
    const initial = await runIsolated<IncrementalValue>(import.meta.url, job('initial'));
    if (initial.value.rowsRead !== rows)
      throw new Error(`initial run read ${initial.value.rowsRead} rows, expected ${rows}`);
    emit({
      ...line('initial run (every row)', initial, {}),
      rowsPerSecond: rows / initial.seconds,
      note: `cpu ${initial.cpuSeconds.toFixed(1)} s; what an ordinary task repeats on every run`,
    });

    const unchanged = await bestOf(() => runIsolated<IncrementalValue>(import.meta.url, job('no-change')));
    if (unchanged.value.rowsRead !== 0) throw new Error(`no-change re-run read ${unchanged.value.rowsRead} rows`);
    emit(
      line('no-change re-run', unchanged, {
        reference: 'initial run',
        ratio: initial.seconds / unchanged.seconds,
        goal: 'seconds, not minutes (≤ 10 s)',
        meetsGoal: unchanged.seconds <= 10,
        note: `${unchanged.seconds.toFixed(2)} s (${unchanged.seconds <= 10 ? 'meets' : 'MISSES'} the goal); cpu ${unchanged.cpuSeconds.toFixed(2)} s`,
      }),
    );

    // The same no-change re-run as users start it: `honk run` of a spec (a fresh process,
    // start-up, spec loading and the embedded store included; default validation on).
    const dir = await mkdtemp(join(tmpdir(), 'honk-bench-incremental-'));
    try {
      writeFileSync(
        join(dir, 'honk.yaml'),
        `version: 1
connections:
  db: { connector: postgres, url: "\${env:BENCH_PG_URL}" }
tasks:
  - id: ${TASK_ID}
    source: { connection: db, table: ${table} }
    target: { connection: db, table: ${TARGET}, mode: merge, key: [id] }
    incremental: { cursor: created_at }
`,
      );
      const reportFile = join(dir, 'report.json');
      const cli = await bestOf(() =>
        honk(['run', 'honk.yaml', '--report', reportFile], dir, { ...process.env, BENCH_PG_URL: url }),
      );
      const moved = JSON.stringify(JSON.parse(readFileSync(reportFile, 'utf8'))).match(/"rowsRead":(\d+)/)?.[1];
      if (moved !== '0') throw new Error(`honk run no-change re-run read ${moved ?? 'an unknown number of'} rows`);
      emit({
        suite: 'incremental',
        name: `${size} no-change re-run, honk run (CLI)`,
        seconds: cli.seconds,
        ...(cli.peakRssMb !== undefined ? { peakRssMb: cli.peakRssMb } : {}),
        reference: 'in-process no-change re-run',
        ratio: unchanged.seconds / cli.seconds,
        note: `${cli.seconds.toFixed(2)} s from process start to exit, start-up included; cpu ${cli.cpuSeconds?.toFixed(2)} s`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    const changed = Number(process.env.BENCH_CHANGED ?? Math.max(1, Math.round(rows / 1000)));
    let round = 0;
    const small = await bestOf(async () => {
      round += 1;
      // Move `changed` rows past the mark (a later created_at each round), then re-run.
      await withClient(url, (client) =>
        client.query(
          `UPDATE ${table} SET amount = amount + 1, created_at = created_at + interval '100 years' * $2
             WHERE id IN (SELECT id FROM ${table} ORDER BY id LIMIT $1)`,
          [changed, round],
        ),
      );
      return runIsolated<IncrementalValue>(import.meta.url, job(`changed-${round}`));
    });
    if (small.value.rowsRead !== changed)
      throw new Error(`re-run read ${small.value.rowsRead} rows, expected ${changed}`);
    emit(
      line(`re-run after ${changed.toLocaleString('en-US')} rows changed`, small, {
        reference: 'initial run',
        ratio: initial.seconds / small.seconds,
        rowsPerSecond: changed / small.seconds,
        note: `cpu ${small.cpuSeconds.toFixed(2)} s`,
      }),
    );
  } finally {
    // The source is kept for the next bench run: its changed rows only ever move forward,
    // past any mark, so the next run's rounds find exactly `changed` rows again.
    await resetTarget(url);
  }
}

async function main(): Promise<void> {
  const rows = process.env.BENCH_ROWS ? Number(process.env.BENCH_ROWS) : 10_000_000;
  const server = process.env.HONK_TEST_POSTGRES_URL ? undefined : await startPostgres();
  const url = process.env.HONK_TEST_POSTGRES_URL ?? (server?.url as string);
  try {
    await benchIncremental(url, rows);
  } finally {
    await server?.stop();
  }
}

const job = isolatedJob<IncrementalJob>();
if (job) {
  // Loaded before the clock starts, so module loading is not timed.
  core = await import('@honk/core');
  ({ postgresConnector } = await import('@honk/connectors-postgres'));
  await serveIsolatedJob(() => honkIncremental(job));
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
