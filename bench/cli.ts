/**
 * What users run: the `honk` command as a fresh process with its defaults (the journal store
 * beside the spec; validation = row count + checksum + sample 100 + schema; snapshot on),
 * start-up included, each line next to the physical limit or a peer measured in the same run.
 *
 *   pnpm bench cli                       3M rows (BENCH_ROWS), medians of 3 interleaved runs
 *   BENCH_CLI_RUNS=5 pnpm bench cli      more runs per line
 *   BENCH_CLI_RSS_ROWS=10000000          the size of the peak-memory line (default 10M; 0 skips it)
 *
 * Runs are interleaved (reference, honk, honk without validation, reference, …) so a change
 * in the machine's load hits every contender alike, and each figure is the median. Targets
 * are dropped before every run, so every run is a first migration (nothing to snapshot).
 *
 * Peak RSS is the honk process's own `maxRSS` (a preload reports `process.resourceUsage()`
 * at exit on fd 3), worker threads included.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startPostgres } from '../test/services/postgres.ts';
import { runDuckdb } from './duckdb.ts';
import { benchDir, ensureOrdersDataset, ordersDuckdbColumns, ordersHonkSchema } from './orders-dataset.ts';
import {
  copyToFile,
  dropTable,
  ensureTable,
  rawLoad,
  rawPipe,
  rawRead,
  type TableKind,
} from './postgres-references.ts';
import {
  baseline,
  type Contender,
  type HonkBuild,
  honk,
  interleaved,
  type Measured,
  median,
  RUNS,
  runProcess,
} from './process-runs.ts';
import { emit, rowsLabel } from './report.ts';
import type { ScenarioResult } from './run.ts';

const work = join(benchDir, 'cli');
const PG_TARGET = 'bench_cli_target';
const NO_VALIDATION = '{ rowCount: false, checksum: false, sample: 0, schema: false }';

/** Emits the reference line and one line per honk contender with its ratio and goal. */
function report(
  line: string,
  rows: number,
  measured: Map<string, Measured>,
  reference: string,
  goals: Record<string, number | undefined>,
): void {
  const ref = measured.get(reference) as Measured;
  for (const [name, result] of measured) {
    const isReference = name === reference;
    const ratio = ref.seconds / result.seconds;
    const goal = goals[name];
    emit({
      suite: 'cli',
      name: `${line} ${rowsLabel(rows)} ${name}`,
      rows,
      seconds: result.seconds,
      rowsPerSecond: rows / result.seconds,
      ...(result.peakRssMb !== undefined ? { peakRssMb: result.peakRssMb } : {}),
      ...(result.cpuSeconds !== undefined ? { cpuSeconds: result.cpuSeconds } : {}),
      runs: result.all,
      ...(isReference
        ? { note: 'reference = 1.0' }
        : {
            reference,
            ratio,
            ...(goal !== undefined ? { goal: `ratio ≥ ${goal}`, meetsGoal: ratio >= goal } : {}),
            note: goal !== undefined ? `${ratio >= goal ? 'meets' : 'MISSES'} goal ≥ ${goal}×` : '',
          }),
    });
  }
}

/** A spec directory with `honk.yaml`; the store (`.honk/`) and outputs are cleared by `reset`. */
function specDir(name: string, yaml: string): { dir: string; reset: () => void } {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'honk.yaml'), yaml);
  return {
    dir,
    reset: () => {
      rmSync(join(dir, '.honk'), { recursive: true, force: true });
      rmSync(join(dir, 'out'), { recursive: true, force: true });
    },
  };
}

type SpecDir = ReturnType<typeof specDir>;

/**
 * `honk run honk.yaml` in `spec`'s directory, its store and outputs cleared (and `before` run)
 * ahead of every run; with a baseline build, the same run of that build too (`<name> before`).
 */
function honkRun(name: string, spec: SpecDir, env?: NodeJS.ProcessEnv, before?: () => Promise<void>): Contender[] {
  const contender = (label: string, build?: HonkBuild): Contender => ({
    name: label,
    reset: async () => {
      spec.reset();
      await before?.();
    },
    run: () => honk(['run', 'honk.yaml'], spec.dir, env, build),
  });
  return baseline ? [contender(name), contender(name.replace(/^honk/, 'honk before'), baseline)] : [contender(name)];
}

function oneTaskSpec(options: { source: string; target: string; validate: boolean; connections: string }): string {
  return `version: 1
connections:
${options.connections}
${options.validate ? '' : `defaults:\n  validate: ${NO_VALIDATION}\n`}tasks:
  - id: bench
    source: ${options.source}
    target: ${options.target}
`;
}

const FILE_CONNECTIONS = `  data: { connector: file, root: ${JSON.stringify(join(benchDir, 'data'))} }
  out: { connector: file, root: ./out }`;
const PG_CONNECTIONS = `  db: { connector: postgres, url: "\${env:BENCH_PG_URL}" }`;
const CSV_SOURCE = (file: string) =>
  `{ connection: data, path: ${file}, format: csv, schema: ${JSON.stringify(ordersHonkSchema)} }`;

// ── lines ────────────────────────────────────────────────────────────────────────────

async function startup(): Promise<void> {
  const tiny = specDir(
    'startup',
    oneTaskSpec({
      connections: `  data: { connector: file, root: ./data }\n  out: { connector: file, root: ./out }`,
      source: '{ connection: data, path: tiny.csv, format: csv }',
      target: '{ connection: out, path: tiny.parquet }',
      validate: true,
    }),
  );
  mkdirSync(join(tiny.dir, 'data'), { recursive: true });
  const rows = Array.from(
    { length: 10 },
    (_, i) => `${i + 1},customer-${i},${(i * 1.25).toFixed(2)},2026-01-0${(i % 9) + 1}T10:00:00Z`,
  );
  writeFileSync(join(tiny.dir, 'data', 'tiny.csv'), `id,name,amount,created_at\n${rows.join('\n')}\n`);
  // One unmeasured start fills Node's compile cache, as any earlier use of honk would have.
  await honk(['--version'], tiny.dir);
  const rounds = Math.max(RUNS, 5);
  const commands = [
    ['honk --version', ['--version']],
    ['honk plan', ['plan', 'honk.yaml']],
    ['honk run (10 rows)', ['run', 'honk.yaml']],
  ] as const;
  const builds: Array<[string, HonkBuild | undefined]> = [
    ['', undefined],
    ...(baseline ? [[' before', baseline] as [string, HonkBuild]] : []),
  ];
  const runs: Record<string, number[]> = { 'node -e 0': [] };
  const peaks: Record<string, number> = {};
  if (baseline) await honk(['--version'], tiny.dir, process.env, baseline);
  for (let round = 0; round < rounds; round++) {
    runs['node -e 0']?.push((await runProcess(process.execPath, ['-e', '0'])).seconds);
    for (const [suffix, build] of builds) {
      for (const [command, args] of commands) {
        const name = command.replace(/^honk/, `honk${suffix}`);
        tiny.reset();
        const run = await honk([...args], tiny.dir, process.env, build);
        runs[name] = [...(runs[name] ?? []), run.seconds];
        peaks[name] = Math.max(peaks[name] ?? 0, run.peakRssMb ?? 0);
      }
    }
  }
  const node = median(runs['node -e 0'] as number[]);
  for (const [name, list] of Object.entries(runs)) {
    const seconds = median(list);
    emit({
      suite: 'cli',
      name: `start-up ${name}`,
      seconds,
      ...(peaks[name] ? { peakRssMb: peaks[name] } : {}),
      runs: list,
      note:
        name === 'node -e 0'
          ? 'reference: Node alone'
          : `${Math.round((seconds - node) * 1000)} ms over Node's own start`,
    });
  }
}

async function postgresLines(url: string, rows: number): Promise<void> {
  const env = { ...process.env, BENCH_PG_URL: url };
  const dropTarget = () => dropTable(url, PG_TARGET);
  for (const kind of ['narrow', 'wide'] as TableKind[]) {
    const { table } = await ensureTable(url, kind, rows);
    const spec = (validate: boolean) =>
      specDir(
        `pg-${kind}-${validate ? 'default' : 'no-validation'}`,
        oneTaskSpec({
          connections: PG_CONNECTIONS,
          source: `{ connection: db, table: ${table} }`,
          target: `{ connection: db, table: ${PG_TARGET} }`,
          validate,
        }),
      );
    const validated = spec(true);
    const plain = spec(false);
    const measured = await interleaved([
      { name: 'psql binary pipe', run: async () => ({ seconds: await rawPipe(url, table, PG_TARGET) }) },
      ...honkRun('honk', validated, env, dropTarget),
      ...honkRun('honk validation off', plain, env, dropTarget),
    ]);
    await dropTarget();
    report(`PG→PG ${kind}`, rows, measured, 'psql binary pipe', {
      honk: kind === 'narrow' ? 0.6 : 0.55,
      'honk validation off': kind === 'narrow' ? 0.95 : undefined,
    });
  }

  // PG → Parquet (narrow), against the read side alone.
  const { table: narrow } = await ensureTable(url, 'narrow', rows);
  const toParquet = (validate: boolean) =>
    specDir(
      `pg-parquet-${validate ? 'default' : 'no-validation'}`,
      oneTaskSpec({
        connections: `${PG_CONNECTIONS}\n  out: { connector: file, root: ./out }`,
        source: `{ connection: db, table: ${narrow} }`,
        target: '{ connection: out, path: narrow.parquet }',
        validate,
      }),
    );
  const parquetValidated = toParquet(true);
  const parquetPlain = toParquet(false);
  report(
    'PG→Parquet narrow',
    rows,
    await interleaved([
      { name: 'psql COPY TO /dev/null', run: async () => ({ seconds: await rawRead(url, narrow) }) },
      ...honkRun('honk', parquetValidated, env),
      ...honkRun('honk validation off', parquetPlain, env),
    ]),
    'psql COPY TO /dev/null',
    { honk: 0.5 },
  );

  // Parquet → PG, against loading a binary COPY file of the same rows.
  const parquetFile = join(benchDir, 'data', `narrow-${rows}.parquet`);
  if (!existsSync(parquetFile)) {
    parquetPlain.reset();
    await honk(['run', 'honk.yaml'], parquetPlain.dir, env);
    writeFileSync(parquetFile, readFileSync(join(parquetPlain.dir, 'out', 'narrow.parquet')));
  }
  const binaryFile = join(benchDir, 'data', `narrow-${rows}.pgcopy`);
  if (!existsSync(binaryFile)) await copyToFile(url, narrow, binaryFile);
  const fromParquet = (validate: boolean) =>
    specDir(
      `parquet-pg-${validate ? 'default' : 'no-validation'}`,
      oneTaskSpec({
        connections: `${PG_CONNECTIONS}\n${FILE_CONNECTIONS}`,
        source: `{ connection: data, path: narrow-${rows}.parquet }`,
        target: `{ connection: db, table: ${PG_TARGET} }`,
        validate,
      }),
    );
  const loadValidated = fromParquet(true);
  const loadPlain = fromParquet(false);
  report(
    'Parquet→PG narrow',
    rows,
    await interleaved([
      {
        name: 'psql COPY FROM binary file',
        run: async () => ({ seconds: await rawLoad(url, binaryFile, narrow, PG_TARGET) }),
      },
      ...honkRun('honk', loadValidated, env, dropTarget),
      ...honkRun('honk validation off', loadPlain, env, dropTarget),
    ]),
    'psql COPY FROM binary file',
    { honk: 0.5 },
  );
  await dropTarget();
}

function csvToParquetSql(csv: string, target: string): string {
  return `COPY (SELECT * FROM read_csv('${csv}', header = true, columns = ${ordersDuckdbColumns})) TO '${target}' (FORMAT parquet)`;
}

async function csvLines(rows: number): Promise<void> {
  const data = await ensureOrdersDataset(rows, (csv, parquet) => runDuckdb(csvToParquetSql(csv, parquet)));
  const csvName = `orders-${rows}.csv`;
  const spec = (validate: boolean) =>
    specDir(
      `csv-parquet-${validate ? 'default' : 'no-validation'}`,
      oneTaskSpec({
        connections: FILE_CONNECTIONS,
        source: CSV_SOURCE(csvName),
        target: '{ connection: out, path: orders.parquet }',
        validate,
      }),
    );
  const validated = spec(true);
  const plain = spec(false);
  const duckOut = join(work, 'duckdb-out.parquet');
  const duckdb = (threads: number) => async () => {
    const started = performance.now();
    await runDuckdb(csvToParquetSql(data.csv, duckOut), threads);
    return { seconds: (performance.now() - started) / 1000 };
  };
  report(
    'CSV→Parquet',
    rows,
    await interleaved([
      { name: 'duckdb 2 threads', run: duckdb(2) },
      { name: 'duckdb 1 thread', run: duckdb(1) },
      ...honkRun('honk', validated),
      ...honkRun('honk validation off', plain),
    ]),
    'duckdb 2 threads',
    { honk: 0.5, 'honk validation off': 0.7 },
  );
  rmSync(duckOut, { force: true });
}

/** 500 datasets of 1k rows, 4 agents: the fixed cost per dataset, validation on. */
async function manySmall(): Promise<void> {
  const datasets = Number(process.env.BENCH_CLI_DATASETS ?? 500);
  const spec = specDir(
    'many',
    `version: 1
connections:
  data: { connector: file, root: ./data }
  out: { connector: file, root: ./out }
tasks:
${Array.from({ length: datasets }, (_, i) => `  - id: d${i}\n    source: { connection: data, path: d${i}.csv, format: csv }\n    target: { connection: out, path: d${i}.parquet }`).join('\n')}
`,
  );
  const dataDir = join(spec.dir, 'data');
  if (!existsSync(join(dataDir, `d${datasets - 1}.csv`))) {
    mkdirSync(dataDir, { recursive: true });
    for (let d = 0; d < datasets; d++) {
      const lines = ['id,name,amount,created_at'];
      for (let i = 0; i < 1000; i++)
        lines.push(`${i},customer-${(i * 7919) % 1000},${(i * 1.25).toFixed(2)},2026-01-0${(i % 9) + 1}T10:00:00Z`);
      writeFileSync(join(dataDir, `d${d}.csv`), `${lines.join('\n')}\n`);
    }
  }
  const measured = await interleaved(
    [['honk', undefined] as const, ...(baseline ? [['honk before', baseline] as const] : [])].map(([name, build]) => ({
      name: `${name} --agents 4`,
      reset: spec.reset,
      run: () => honk(['run', 'honk.yaml', '--agents', '4'], spec.dir, process.env, build),
    })),
  );
  for (const [name, result] of measured) {
    const msPerDataset = (result.seconds * 1000) / datasets;
    emit({
      suite: 'cli',
      name: `${datasets} datasets of 1k rows, ${name.replace(/^honk/, 'honk run').replace('honk run before', 'honk before run')}`,
      rows: datasets * 1000,
      seconds: result.seconds,
      ...(result.peakRssMb !== undefined ? { peakRssMb: result.peakRssMb } : {}),
      msPerDataset,
      runs: result.all,
      goal: 'ms per dataset ≤ 10',
      meetsGoal: msPerDataset <= 10,
      note: `${msPerDataset.toFixed(1)} ms per dataset (start-up included); ${msPerDataset <= 10 ? 'meets' : 'MISSES'} goal ≤ 10 ms`,
    });
  }
}

/** Peak RSS of one CSV→Parquet run at a large size (validation on). */
async function peakMemory(rows: number): Promise<void> {
  const data = await ensureOrdersDataset(rows, (csv, parquet) => runDuckdb(csvToParquetSql(csv, parquet)));
  const spec = specDir(
    'rss',
    oneTaskSpec({
      connections: FILE_CONNECTIONS,
      source: CSV_SOURCE(`orders-${rows}.csv`),
      target: '{ connection: out, path: orders.parquet }',
      validate: true,
    }),
  );
  // As users start it, and with the allocator setting threads.md recommends (glibc).
  for (const [variant, env] of [
    ['', process.env],
    [' (MALLOC_MMAP_THRESHOLD_=131072)', { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' }],
  ] as const) {
    spec.reset();
    const run = await honk(['run', 'honk.yaml'], spec.dir, env);
    spec.reset();
    emit({
      suite: 'cli',
      name: `peak RSS CSV→Parquet ${rowsLabel(rows)} honk${variant}`,
      rows,
      seconds: run.seconds,
      rowsPerSecond: rows / run.seconds,
      peakRssMb: run.peakRssMb,
      megabytesPerSecond: data.csvBytes / 1024 / 1024 / run.seconds,
      goal: 'peak RSS ≤ 200 MB',
      meetsGoal: (run.peakRssMb ?? Number.POSITIVE_INFINITY) <= 200,
      note: `${(run.peakRssMb ?? 0) <= 200 ? 'meets' : 'MISSES'} goal ≤ 200 MB`,
    } satisfies ScenarioResult);
  }
}

async function main(): Promise<void> {
  mkdirSync(work, { recursive: true });
  const rows = Number(process.env.BENCH_ROWS ?? 3_000_000);
  await startup();
  await csvLines(rows);
  await manySmall();
  const server = process.env.HONK_TEST_POSTGRES_URL ? undefined : await startPostgres();
  const url = process.env.HONK_TEST_POSTGRES_URL ?? (server?.url as string);
  try {
    await postgresLines(url, rows);
  } finally {
    await server?.stop();
  }
  const rssRows = Number(process.env.BENCH_CLI_RSS_ROWS ?? 10_000_000);
  if (rssRows > 0) await peakMemory(rssRows);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
