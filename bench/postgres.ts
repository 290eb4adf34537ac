/**
 * PostgreSQL throughput (issue 4): PG→PG and PG→Parquet through `runTask` with the real
 * postgres connector, each next to the physical limit measured in the same run, every Honk
 * measurement in its own process (see run-isolated.ts).
 *
 *   pnpm bench postgres                      1M and 10M rows
 *   BENCH_ROWS=200000 pnpm bench postgres    one smaller size
 *
 * Tables (generated server-side with generate_series, once per size):
 *   narrow  id int8, name text, amount float8, created_at timestamp, active bool
 *   wide    id int8, amount numeric(38,10), at timestamptz, doc jsonb, payload bytea,
 *           tags int8[], ref uuid, note text (10 % NULL)
 *
 * References, measured right before the Honk runs they are compared with:
 *   pipe   psql -c "\copy src TO STDOUT (FORMAT binary)" | psql -c "\copy dst FROM STDIN (FORMAT binary)"
 *          (two psql processes, piped by the kernel: what moving the rows costs the server)
 *   read   psql -c "\copy src TO STDOUT (FORMAT binary)" > /dev/null (the read side alone), for PG→Parquet
 *
 * MB/s is the source table's heap size (pg_table_size) per second, the same bytes for
 * every contender. PostgreSQL: HONK_TEST_POSTGRES_URL, else a throwaway server started
 * here (test/services/postgres.ts) and stopped at the end.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startPostgres } from '../test/services/postgres.ts';
import { benchDir } from './orders-dataset.ts';
import { dropTable, ensureTable, rawPipe, rawRead, type TableKind } from './postgres-references.ts';
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

const outDir = join(benchDir, 'out-postgres');
const NO_VALIDATION = { rowCount: false, checksum: false, sample: 0, schema: false };
const MIB = 1024 * 1024;
const TARGET = 'bench_target';

interface HonkJob extends IsolatedJob {
  url: string;
  table: string;
  target: 'postgres' | 'parquet';
  rows: number;
  validate: boolean;
  /** `arrow` forces decoding to Arrow; `auto` lets runTask forward raw COPY bytes when it can. */
  transferPath: 'auto' | 'arrow';
}

interface HonkValue {
  rows: number;
  timings: Record<string, number>;
  /** The path runTask took: `raw` (COPY bytes forwarded) or `arrow`. */
  path?: string;
}

// ── child side ───────────────────────────────────────────────────────────────────────

let core: typeof import('@honk/core');
let postgresConnector: typeof import('@honk/connectors-postgres')['postgresConnector'];

async function honkTransfer(job: HonkJob): Promise<HonkValue> {
  const { ConnectorRegistry, fileConnector, runTask } = core;
  const postgres = { connector: 'postgres', connection: 'db', options: { url: job.url } };
  const report = await runTask({
    task: {
      id: job.name,
      source: { ...postgres, endpoint: { table: job.table } },
      target:
        job.target === 'postgres'
          ? { ...postgres, endpoint: { table: TARGET } }
          : { connector: 'file', connection: 'out', options: { root: outDir }, endpoint: { path: 'o.parquet' } },
      ...(job.validate ? {} : { validate: NO_VALIDATION }),
    },
    connectors: new ConnectorRegistry([postgresConnector, fileConnector]),
    transferPath: job.transferPath,
  });
  if (!report.ok) throw new Error(`${job.name}: ${report.error?.code} ${report.error?.message}`);
  if (report.stats.rows !== job.rows)
    throw new Error(`${job.name}: moved ${report.stats.rows} rows, expected ${job.rows}`);
  return {
    rows: report.stats.rows,
    timings: report.timings as Record<string, number>,
    ...(report.path ? { path: report.path } : {}),
  };
}

// ── main side ────────────────────────────────────────────────────────────────────────

/** The fastest of BENCH_REPEAT runs of `job`, each in a fresh process against an absent target. */
function honk(job: HonkJob): Promise<IsolatedResult<HonkValue>> {
  return bestOf(async () => {
    await dropTable(job.url, TARGET);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    try {
      return await runIsolated<HonkValue>(import.meta.url, job);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
      await dropTable(job.url, TARGET);
    }
  });
}

async function benchTable(url: string, kind: TableKind, rows: number): Promise<void> {
  const { table, bytes } = await ensureTable(url, kind, rows);
  const size = rowsLabel(rows);
  const base = (name: string, seconds: number): ScenarioResult => ({
    suite: 'postgres',
    name: `${kind} ${size} ${name}`,
    rows,
    seconds,
    rowsPerSecond: rows / seconds,
    megabytesPerSecond: bytes / MIB / seconds,
  });
  const fromHonk = (name: string, measured: IsolatedResult<HonkValue>, extra: Partial<ScenarioResult>) => ({
    ...base(name, measured.seconds),
    peakRssMb: measured.peakRssMb,
    baselineRssMb: measured.baselineRssMb,
    workingSetMb: measured.peakRssMb - measured.baselineRssMb,
    cpuSeconds: measured.cpuSeconds,
    timings: measured.value.timings,
    path: measured.value.path,
    ...extra,
  });
  const job = (
    name: string,
    target: HonkJob['target'],
    validate: boolean,
    transferPath: HonkJob['transferPath'] = 'auto',
  ): HonkJob => ({ name: `pg-${kind}-${size}-${name}`, url, table, target, rows, validate, transferPath });

  const { seconds: pipeSeconds } = await bestOf(async () => ({ seconds: await rawPipe(url, table, TARGET) }));
  emit({ ...base('psql binary COPY pipe', pipeSeconds), note: 'reference: two psql processes, kernel pipe' });

  // The Arrow path (decode to Arrow, encode again): what every transform or cross-system
  // migration goes through, and the path the 0.85 goal is about.
  const arrow = await honk(job('pg-arrow', 'postgres', false, 'arrow'));
  const arrowRatio = pipeSeconds / arrow.seconds;
  emit(
    fromHonk('honk PG→PG arrow path', arrow, {
      reference: 'psql pipe',
      ratio: arrowRatio,
      goal: 'ratio ≥ 0.85',
      meetsGoal: arrowRatio >= 0.85,
      note: `cpu ${arrow.cpuSeconds.toFixed(1)} s; ${arrowRatio >= 0.85 ? 'meets' : 'MISSES'} goal ≥ 0.85×`,
    }),
  );

  // The default: runTask forwards COPY bytes untouched when no transform applies.
  const transfer = await honk(job('pg', 'postgres', false));
  emit(
    fromHonk(`honk PG→PG default (${transfer.value.path ?? '?'} path)`, transfer, {
      reference: 'psql pipe',
      ratio: pipeSeconds / transfer.seconds,
      note: `cpu ${transfer.cpuSeconds.toFixed(1)} s`,
    }),
  );

  const validated = await honk(job('pg-validated', 'postgres', true));
  const cost = validated.seconds / transfer.seconds;
  const cpuCost = validated.cpuSeconds / transfer.cpuSeconds;
  emit(
    fromHonk(`honk PG→PG default + validation`, validated, {
      reference: 'honk PG→PG default without validation',
      ratio: transfer.seconds / validated.seconds,
      validationCost: cost,
      validationCpuCost: cpuCost,
      note: `${cost.toFixed(2)}× the transfer time, ${cpuCost.toFixed(2)}× its CPU (row count + checksum + sample 100 + schema; the source side decodes what it forwards)`,
    }),
  );

  const { seconds: readSeconds } = await bestOf(async () => ({ seconds: await rawRead(url, table) }));
  emit({ ...base('psql binary COPY TO /dev/null', readSeconds), note: 'reference: the read side alone' });
  const parquet = await honk(job('parquet', 'parquet', false));
  emit(
    fromHonk('honk PG→Parquet file', parquet, {
      reference: 'psql COPY TO /dev/null',
      ratio: readSeconds / parquet.seconds,
      note: `cpu ${parquet.cpuSeconds.toFixed(1)} s`,
    }),
  );
}

async function main(): Promise<void> {
  const sizes = process.env.BENCH_ROWS ? [Number(process.env.BENCH_ROWS)] : [1_000_000, 10_000_000];
  const server = process.env.HONK_TEST_POSTGRES_URL ? undefined : await startPostgres();
  const url = process.env.HONK_TEST_POSTGRES_URL ?? (server?.url as string);
  try {
    for (const rows of sizes) {
      for (const kind of ['narrow', 'wide'] as const) await benchTable(url, kind, rows);
    }
  } finally {
    await server?.stop();
  }
}

const job = isolatedJob<HonkJob>();
if (job) {
  // Loaded before the clock starts, so module loading is not timed.
  core = await import('@honk/core');
  ({ postgresConnector } = await import('@honk/connectors-postgres'));
  await serveIsolatedJob(() => honkTransfer(job));
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
