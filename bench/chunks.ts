/**
 * Chunked tasks on a fleet (issue 13): one PG→PG task of 10M rows (the `narrow` table plus a
 * primary key, so each chunk reads its key range through the index) in 16 chunks, run by 1,
 * 2 and 4 `honk agent` processes sharing the PostgreSQL task store, each a fresh process with
 * its defaults (validation on: row count, checksum, sample 100, schema).
 *
 *   pnpm bench chunks                     10M rows
 *   BENCH_ROWS=200000 pnpm bench chunks   a smaller table
 *
 * Each line is one run: `honk enqueue`, then N agents started with `--exit-when-idle`, timed
 * from their start until the last one exits (the task published). The ratio is to the run
 * with one agent (>1: faster). CPU per row is reported for both sides: the agents' own CPU
 * (their `process.resourceUsage()`, worker threads included) and the PostgreSQL server's,
 * read from /proc for its postmaster and backends (a local server only). On a 2-core machine
 * the server is the limit, so more agents mostly show what they cost, not what they gain.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../test/services/postgres.ts';
import { dropTable, TABLES, withClient } from './postgres-references.ts';
import { honk } from './process-runs.ts';
import { emit, rowsLabel } from './report.ts';

const CHUNKS = 16;
const TARGET = 'bench_chunks_target';
const STORE_SCHEMA = 'honk';

/** The source table: `narrow` rows with a primary key (created once per size). */
async function ensureSource(url: string, rows: number): Promise<string> {
  const table = `bench_chunks_${rows}`;
  await withClient(url, async (client) => {
    const exists = await client.query<{ n: string | null }>('SELECT to_regclass($1)::text AS n', [table]);
    if (exists.rows[0]?.n !== null) return;
    await client.query(TABLES.narrow(table, rows));
    await client.query(`ALTER TABLE ${table} ADD PRIMARY KEY (id)`);
    await client.query(`VACUUM ANALYZE ${table}`);
  });
  return table;
}

/** `utime stime cutime cstime` and the parent pid of a process, from /proc (fields 14–17 and 4). */
function procTimes(pid: number): { ppid: number; own: number; reaped: number } {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After "pid (comm) ", fields start at 3 (state); the comm may hold spaces.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    ppid: Number(fields[1]),
    own: Number(fields[11]) + Number(fields[12]),
    reaped: Number(fields[13]) + Number(fields[14]),
  };
}

/** CPU seconds the server used so far: its postmaster (reaped backends included) and live backends. */
async function serverCpuSeconds(url: string): Promise<number | undefined> {
  try {
    const dataDir = await withClient(
      url,
      async (client) => (await client.query('SHOW data_directory')).rows[0]?.data_directory as string,
    );
    const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const root = procTimes(postmaster);
    let ticks = root.own + root.reaped;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const times = procTimes(Number(entry));
        if (times.ppid === postmaster) ticks += times.own;
      } catch {
        // The process ended while we looked.
      }
    }
    return ticks / 100; // USER_HZ on Linux
  } catch {
    return undefined; // a remote server
  }
}

async function runFleet(url: string, table: string, rows: number, agents: number) {
  const dir = await mkdtemp(join(tmpdir(), 'honk-bench-chunks-'));
  try {
    writeFileSync(
      join(dir, 'honk.yaml'),
      `version: 1
connections:
  warehouse: { connector: postgres, url: "${url}" }
tasks:
  - id: big
    source: { connection: warehouse, table: ${table}, partitionBy: { column: id } }
    target: { connection: warehouse, table: ${TARGET} }
    chunks: { max: ${CHUNKS} }
    snapshot: false
`,
    );
    await dropTable(url, TARGET);
    await withClient(url, (client) => client.query(`DROP SCHEMA IF EXISTS ${STORE_SCHEMA} CASCADE`));
    await withClient(url, (client) => client.query('DROP TABLE IF EXISTS public._honk_chunks'));
    await honk(['enqueue', 'honk.yaml', '--store', url], dir);
    const serverBefore = await serverCpuSeconds(url);
    const started = performance.now();
    const runs = await Promise.all(
      Array.from({ length: agents }, (_, index) =>
        honk(
          [
            'agent',
            '--store',
            url,
            '--id',
            `bench-${index}`,
            '--concurrency',
            '1',
            '--exit-when-idle',
            '--no-scheduler',
            '--port',
            '0',
            '--host',
            '127.0.0.1',
          ],
          dir,
        ),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    const serverAfter = await serverCpuSeconds(url);
    const state = await withClient(url, async (client) => {
      const parent = await client.query(`SELECT state FROM ${STORE_SCHEMA}.tasks WHERE id = 'big'`);
      const copied = await client.query(`SELECT count(*)::int8::text AS n FROM ${TARGET}`);
      return { state: parent.rows[0]?.state as string, rows: Number(copied.rows[0]?.n) };
    });
    if (state.state !== 'succeeded' || state.rows !== rows) {
      throw new Error(`${agents} agent(s): the task ended ${state.state} with ${state.rows} of ${rows} rows`);
    }
    const cpuSeconds = runs.reduce((sum, run) => sum + (run.cpuSeconds ?? 0), 0);
    return {
      seconds,
      cpuSeconds,
      serverCpuSeconds:
        serverBefore !== undefined && serverAfter !== undefined ? serverAfter - serverBefore : undefined,
      peakRssMb: Math.max(...runs.map((run) => run.peakRssMb ?? 0)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await dropTable(url, TARGET);
  }
}

async function main(): Promise<void> {
  const rows = Number(process.env.BENCH_ROWS ?? 10_000_000);
  const server = process.env.HONK_TEST_POSTGRES_URL ? undefined : await startPostgres();
  const url = process.env.HONK_TEST_POSTGRES_URL ?? (server?.url as string);
  try {
    const table = await ensureSource(url, rows);
    let single: number | undefined;
    for (const agents of [1, 2, 4]) {
      const run = await runFleet(url, table, rows, agents);
      single ??= run.seconds;
      const usPerRow = (seconds: number | undefined) => (seconds === undefined ? undefined : (seconds * 1e6) / rows);
      const client = usPerRow(run.cpuSeconds);
      const serverUs = usPerRow(run.serverCpuSeconds);
      emit({
        suite: 'chunks',
        name: `PG→PG ${rowsLabel(rows)} in ${CHUNKS} chunks, ${agents} agent${agents > 1 ? 's' : ''}`,
        rows,
        seconds: run.seconds,
        rowsPerSecond: rows / run.seconds,
        peakRssMb: run.peakRssMb,
        reference: '1 agent',
        ratio: single / run.seconds,
        agents,
        agentCpuSeconds: run.cpuSeconds,
        agentCpuMicrosPerRow: client,
        ...(run.serverCpuSeconds !== undefined
          ? { serverCpuSeconds: run.serverCpuSeconds, serverCpuMicrosPerRow: serverUs }
          : {}),
        note: `cpu/row: agents ${client?.toFixed(2)} µs${serverUs !== undefined ? `, server ${serverUs.toFixed(2)} µs` : ''} (validated; snapshot off)`,
      });
    }
  } finally {
    await server?.stop();
  }
}

await main();
