/**
 * File → file throughput (issue 2): CSV→Parquet, Parquet→Parquet and Parquet→Arrow IPC
 * through `runTask` with the real file connector, each next to a reference doing the same
 * conversion in the same run, every measurement in its own process (see run-isolated.ts).
 *
 *   pnpm bench file                      1M and 10M rows
 *   BENCH_ROWS=200000 pnpm bench file    one smaller size
 *   node bench/file.ts      standalone, JSON lines on stdout
 *
 * References: DuckDB (`COPY (SELECT * FROM read_csv(…, columns = same types)) TO … (FORMAT
 * parquet)`) for the Parquet targets. DuckDB has no Arrow IPC writer without a network
 * extension, so Parquet→Arrow is compared with parquet-wasm streaming the same file to IPC
 * bytes with no engine around it (the cost of the two libraries Honk uses). Also: full
 * validation (row count + checksum + sample 100 + schema) against the transfer alone, and
 * the fixed cost of one runTask on a 10-row file.
 *
 * Ratios follow the harness: ours ÷ reference in rows/s, above 1 is faster.
 */
import { closeSync, mkdirSync, openAsBlob, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadDuckdb, runDuckdb } from './duckdb.ts';
import {
  benchDir,
  dataDir,
  ensureOrdersDataset,
  type OrdersDataset,
  ordersDuckdbColumns,
  ordersHonkSchema,
  writeOrdersCsv,
} from './orders-dataset.ts';
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

const outDir = join(benchDir, 'out');
const NO_VALIDATION = { rowCount: false, checksum: false, sample: 0, schema: false };
const MIB = 1024 * 1024;

type FileJob =
  | (IsolatedJob & {
      kind: 'honk';
      source: string;
      target: string;
      rows: number;
      validate: boolean;
      /** Parquet writer settings for the target endpoint (default: the connector's). */
      parquet?: { dictionary?: boolean | string[] };
    })
  | (IsolatedJob & { kind: 'duckdb'; sql: string; threads?: number })
  | (IsolatedJob & { kind: 'parquet-wasm-to-ipc'; source: string; target: string })
  | (IsolatedJob & { kind: 'honk-tiny'; runs: number })
  | (IsolatedJob & { kind: 'duckdb-tiny'; runs: number });

interface HonkValue {
  rows: number;
  timings: Record<string, number>;
}

// ── child side ───────────────────────────────────────────────────────────────────────

function fileEndpoint(path: string): Record<string, unknown> {
  return path.endsWith('.csv') ? { path, format: 'csv', schema: ordersHonkSchema } : { path };
}

// Loaded before the clock starts (see preload), so module loading is not timed.
let core: typeof import('@honk/core');
let parquetWasm: typeof import('parquet-wasm');

async function preload(job: FileJob): Promise<void> {
  if (job.kind === 'honk' || job.kind === 'honk-tiny') core = await import('@honk/core');
  if (job.kind === 'duckdb' || job.kind === 'duckdb-tiny') await loadDuckdb();
  if (job.kind === 'parquet-wasm-to-ipc') parquetWasm = await import('parquet-wasm');
}

async function honkTransfer(job: Extract<FileJob, { kind: 'honk' }>): Promise<HonkValue> {
  const { ConnectorRegistry, fileConnector, runTask } = core;
  const report = await runTask({
    task: {
      id: job.name.replace(/[^a-zA-Z0-9-]+/g, '-'),
      source: { connector: 'file', connection: 'data', options: { root: dataDir }, endpoint: fileEndpoint(job.source) },
      target: {
        connector: 'file',
        connection: 'out',
        options: { root: outDir },
        endpoint: { path: job.target, ...(job.parquet ? { parquet: job.parquet } : {}) },
      },
      ...(job.validate ? {} : { validate: NO_VALIDATION }),
    },
    connectors: new ConnectorRegistry([fileConnector]),
  });
  if (!report.ok) throw new Error(`${job.name}: ${report.error?.code} ${report.error?.message}`);
  if (report.stats.rows !== job.rows)
    throw new Error(`${job.name}: moved ${report.stats.rows} rows, expected ${job.rows}`);
  return { rows: report.stats.rows, timings: report.timings as Record<string, number> };
}

/** parquet-wasm's stream → IPC bytes → file: what the libraries cost without Honk around them. */
async function parquetWasmToIpc(source: string, target: string): Promise<void> {
  const parquet = parquetWasm;
  const file = await parquet.ParquetFile.fromFile(await openAsBlob(source));
  const stream = (await file.stream({ batchSize: 65_536 })) as ReadableStream<{
    intoIPCStream(): Uint8Array;
  }>;
  const fd = openSync(target, 'w');
  try {
    for await (const batch of stream as unknown as AsyncIterable<{ intoIPCStream(): Uint8Array }>) {
      writeSync(fd, batch.intoIPCStream());
    }
  } finally {
    closeSync(fd);
    file.free();
  }
}

const TINY = 'orders-tiny.csv';

/** `runs` runTasks of a 10-row CSV → Parquet with default (full) validation; ms per task. */
async function honkTiny(runs: number): Promise<{ msPerTask: number }> {
  const { ConnectorRegistry, fileConnector, runTask } = core;
  const connectors = new ConnectorRegistry([fileConnector]);
  const one = async (index: number) => {
    const report = await runTask({
      task: {
        id: `tiny-${index}`,
        source: { connector: 'file', connection: 'data', options: { root: dataDir }, endpoint: fileEndpoint(TINY) },
        target: {
          connector: 'file',
          connection: 'out',
          options: { root: outDir },
          endpoint: { path: `tiny-${index}.parquet` },
        },
      },
      connectors,
    });
    if (!report.ok) throw new Error(`tiny task: ${report.error?.code} ${report.error?.message}`);
  };
  // Warm-up, as a long-lived agent would be.
  for (let index = 0; index < 10; index++) await one(-1 - index);
  const started = performance.now();
  for (let index = 0; index < runs; index++) await one(index);
  return { msPerTask: (performance.now() - started) / runs };
}

async function runJob(job: FileJob): Promise<unknown> {
  mkdirSync(outDir, { recursive: true });
  switch (job.kind) {
    case 'honk':
      return honkTransfer(job);
    case 'duckdb':
      return runDuckdb(job.sql, job.threads);
    case 'parquet-wasm-to-ipc':
      return parquetWasmToIpc(job.source, job.target);
    case 'honk-tiny':
      return honkTiny(job.runs);
    case 'duckdb-tiny': {
      const started = performance.now();
      await runDuckdb(
        `COPY (SELECT * FROM read_csv('${join(dataDir, TINY)}', header = true, columns = ${ordersDuckdbColumns})) TO '${join(outDir, 'tiny-duck-{run}.parquet')}' (FORMAT parquet)`,
        undefined,
        job.runs,
      );
      return { msPerTask: (performance.now() - started) / job.runs };
    }
  }
}

// ── main side ────────────────────────────────────────────────────────────────────────

function csvToParquetSql(csv: string, target: string): string {
  return `COPY (SELECT * FROM read_csv('${csv}', header = true, columns = ${ordersDuckdbColumns})) TO '${target}' (FORMAT parquet)`;
}

/** The fastest of BENCH_REPEAT runs of `job`, each in a fresh process with an empty output directory. */
function isolated<T>(job: FileJob): Promise<IsolatedResult<T>> {
  return bestOf(async () => {
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(outDir, { recursive: true });
    try {
      return await runIsolated<T>(import.meta.url, job);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
}

function result(
  name: string,
  rows: number,
  inputBytes: number,
  measured: IsolatedResult,
  extra: Partial<ScenarioResult> = {},
): ScenarioResult {
  return {
    suite: 'file',
    name,
    rows,
    seconds: measured.seconds,
    rowsPerSecond: rows / measured.seconds,
    megabytesPerSecond: inputBytes / MIB / measured.seconds,
    peakRssMb: measured.peakRssMb,
    baselineRssMb: measured.baselineRssMb,
    workingSetMb: measured.peakRssMb - measured.baselineRssMb,
    cpuSeconds: measured.cpuSeconds,
    ...extra,
  };
}

/** One conversion: the reference first, then Honk, with the ratio on Honk's line. */
async function compare(
  data: OrdersDataset,
  conversion: string,
  inputBytes: number,
  reference: { name: string; job: FileJob },
  honk: FileJob,
  goal?: { ratio?: number; peakRssMb?: number },
): Promise<{ reference: ScenarioResult; honk: ScenarioResult }> {
  const size = rowsLabel(data.rows);
  const referenceMeasured = await isolated(reference.job);
  const referenceResult = result(`${conversion} ${size} ${reference.name}`, data.rows, inputBytes, referenceMeasured, {
    note: `reference (cpu ${referenceMeasured.cpuSeconds.toFixed(1)} s)`,
  });
  emit(referenceResult);
  const honkMeasured = await isolated<HonkValue>(honk);
  const ratio = referenceMeasured.seconds / honkMeasured.seconds;
  const misses: string[] = [];
  if (goal?.ratio !== undefined && ratio < goal.ratio) misses.push(`ratio < ${goal.ratio}`);
  if (goal?.peakRssMb !== undefined && honkMeasured.peakRssMb > goal.peakRssMb)
    misses.push(`RSS > ${goal.peakRssMb} MB`);
  const goalText = goal
    ? [
        goal.ratio !== undefined ? `ratio ≥ ${goal.ratio}` : '',
        goal.peakRssMb !== undefined ? `RSS ≤ ${goal.peakRssMb} MB` : '',
      ]
        .filter(Boolean)
        .join(', ')
    : undefined;
  // CPU seconds do not grow when other processes take the cores: the steadier comparison on
  // a loaded machine (for a multi-threaded reference it compares total work, not latency).
  const cpuRatio = referenceMeasured.cpuSeconds / honkMeasured.cpuSeconds;
  const honkResult = result(`${conversion} ${size} honk`, data.rows, inputBytes, honkMeasured, {
    reference: reference.name,
    ratio,
    cpuRatio,
    timings: honkMeasured.value.timings,
    ...(goalText ? { goal: goalText, meetsGoal: misses.length === 0 } : {}),
    note: [
      `cpu ${honkMeasured.cpuSeconds.toFixed(1)} s (cpu ratio ${cpuRatio.toFixed(2)})`,
      goalText ? (misses.length ? `MISSES goal (${misses.join(', ')})` : `meets goal (${goalText})`) : '',
    ]
      .filter(Boolean)
      .join('; '),
  });
  emit(honkResult);
  return { reference: referenceResult, honk: honkResult };
}

async function benchSize(rows: number): Promise<void> {
  const data = await ensureOrdersDataset(rows, (csv, parquet) => runDuckdb(csvToParquetSql(csv, parquet)));
  const size = rowsLabel(rows);
  const rssGoal = rows >= 10_000_000 ? 200 : undefined;

  const csvParquet = await compare(
    data,
    'csv→parquet',
    data.csvBytes,
    {
      name: 'duckdb',
      job: {
        kind: 'duckdb',
        name: `csv-parquet-${size}-duckdb`,
        sql: csvToParquetSql(data.csv, join(outDir, 'o.parquet')),
      },
    },
    {
      kind: 'honk',
      name: `csv-parquet-${size}-honk`,
      source: `orders-${rows}.csv`,
      target: 'o.parquet',
      rows,
      validate: false,
    },
    { ratio: 0.7, ...(rssGoal ? { peakRssMb: rssGoal } : {}) },
  );

  // DuckDB with one thread: Honk's pipeline runs on one core, so this is the per-core comparison.
  const single = await isolated({
    kind: 'duckdb',
    name: `csv-parquet-${size}-duckdb-1-thread`,
    sql: csvToParquetSql(data.csv, join(outDir, 'o.parquet')),
    threads: 1,
  });
  emit(
    result(`csv→parquet ${size} duckdb threads=1`, rows, data.csvBytes, single, {
      note: `reference, one thread; honk ratio to it ${(single.seconds / (csvParquet.honk.seconds ?? 1)).toFixed(2)}×`,
      honkRatio: single.seconds / (csvParquet.honk.seconds ?? 1),
    }),
  );

  // The writer setting that matters most: dictionary encoding only where values repeat.
  // parquet-wasm spends most of its write time building dictionaries for unique-valued
  // columns (id, amount, created_at) before falling back to plain encoding.
  const dictionary = await isolated<HonkValue>({
    kind: 'honk',
    name: `csv-parquet-${size}-honk-text-dictionary`,
    source: `orders-${rows}.csv`,
    target: 'o.parquet',
    rows,
    validate: false,
    parquet: { dictionary: ['customer', 'status'] },
  });
  const duckdbSeconds = csvParquet.reference.seconds ?? 1;
  emit(
    result(`csv→parquet ${size} honk dictionary=text cols`, rows, data.csvBytes, dictionary, {
      reference: 'duckdb',
      ratio: duckdbSeconds / dictionary.seconds,
      timings: dictionary.value.timings,
      note: `target parquet.dictionary: [customer, status] instead of every column; cpu ${dictionary.cpuSeconds.toFixed(1)} s`,
    }),
  );

  // Full validation: the same transfer, plus the staged file read back and compared.
  const validated = await isolated<HonkValue>({
    kind: 'honk',
    name: `csv-parquet-${size}-honk-validated`,
    source: `orders-${rows}.csv`,
    target: 'o.parquet',
    rows,
    validate: true,
  });
  const transferSeconds = csvParquet.honk.seconds ?? 1;
  const cost = validated.seconds / transferSeconds;
  const cpuCost = validated.cpuSeconds / ((csvParquet.honk.cpuSeconds as number | undefined) ?? 1);
  emit(
    result(`csv→parquet ${size} honk + validation`, rows, data.csvBytes, validated, {
      reference: 'honk without validation',
      ratio: transferSeconds / validated.seconds,
      validationCost: cost,
      validationCpuCost: cpuCost,
      timings: validated.value.timings,
      goal: 'time ≤ 1.5× the transfer alone',
      meetsGoal: cost <= 1.5,
      note: `${cost.toFixed(2)}× the transfer time, ${cpuCost.toFixed(2)}× its CPU (row count + checksum + sample 100 + schema); ${cost <= 1.5 ? 'meets' : 'MISSES'} goal ≤ 1.5×`,
    }),
  );

  await compare(
    data,
    'parquet→parquet',
    data.parquetBytes,
    {
      name: 'duckdb',
      job: {
        kind: 'duckdb',
        name: `parquet-parquet-${size}-duckdb`,
        sql: `COPY (SELECT * FROM read_parquet('${data.parquet}')) TO '${join(outDir, 'o.parquet')}' (FORMAT parquet)`,
      },
    },
    {
      kind: 'honk',
      name: `parquet-parquet-${size}-honk`,
      source: `orders-${rows}.parquet`,
      target: 'o.parquet',
      rows,
      validate: false,
    },
    rssGoal ? { peakRssMb: rssGoal } : undefined,
  );

  await compare(
    data,
    'parquet→arrow',
    data.parquetBytes,
    {
      name: 'parquet-wasm→IPC',
      job: {
        kind: 'parquet-wasm-to-ipc',
        name: `parquet-arrow-${size}-parquet-wasm`,
        source: data.parquet,
        target: join(outDir, 'o.arrows'),
      },
    },
    {
      kind: 'honk',
      name: `parquet-arrow-${size}-honk`,
      source: `orders-${rows}.parquet`,
      target: 'o.arrows',
      rows,
      validate: false,
    },
    rssGoal ? { peakRssMb: rssGoal } : undefined,
  );
}

async function benchTiny(): Promise<void> {
  const runs = Number(process.env.BENCH_TINY_RUNS ?? 200);
  mkdirSync(dataDir, { recursive: true });
  writeOrdersCsv(join(dataDir, TINY), 10);
  const honk = await isolated<{ msPerTask: number }>({ kind: 'honk-tiny', name: 'tiny-honk', runs });
  const duck = await isolated<{ msPerTask: number }>({ kind: 'duckdb-tiny', name: 'tiny-duckdb', runs });
  emit({
    suite: 'file',
    name: 'runTask overhead (10 rows csv→parquet)',
    rows: 10,
    seconds: honk.seconds,
    msPerTask: honk.value.msPerTask,
    peakRssMb: honk.peakRssMb,
    reference: 'duckdb COPY of the same 10 rows',
    ratio: duck.value.msPerTask / honk.value.msPerTask,
    note: `${honk.value.msPerTask.toFixed(2)} ms per task over ${runs} runs, full validation (duckdb ${duck.value.msPerTask.toFixed(2)} ms per COPY)`,
  });
}

async function main(): Promise<void> {
  const sizes = process.env.BENCH_ROWS ? [Number(process.env.BENCH_ROWS)] : [1_000_000, 10_000_000];
  for (const rows of sizes) await benchSize(rows);
  await benchTiny();
}

const job = isolatedJob<FileJob>();
if (job) {
  await preload(job);
  await serveIsolatedJob(() => runJob(job));
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
