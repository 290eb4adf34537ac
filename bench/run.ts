/**
 * `pnpm bench`: every scenario runs in its own child process so its peak RSS is its own,
 * and every figure is printed next to the reference measured in the same run (DuckDB for
 * file conversions, the raw COPY pipe for PostgreSQL, file→file for S3 and HDFS).
 *
 *   pnpm bench                 all suites
 *   pnpm bench file queue      only these suites
 *   BENCH_ROWS=1000000 pnpm bench file   smaller datasets
 *
 * Results are printed as a table and written to .bench/results.json.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ScenarioResult {
  suite: string;
  name: string;
  rows?: number;
  seconds?: number;
  rowsPerSecond?: number;
  megabytesPerSecond?: number;
  peakRssMb?: number;
  /** What this scenario is compared against, and the ratio (ours / reference, >1 is faster). */
  reference?: string;
  ratio?: number;
  note?: string;
  [key: string]: unknown;
}

const here = dirname(fileURLToPath(import.meta.url));
const suites: Record<string, string> = {
  file: 'file.ts',
  validate: 'validate.ts',
  queue: 'queue.ts',
  postgres: 'postgres.ts',
  incremental: 'incremental.ts',
  s3: 's3.ts',
  bigquery: 'bigquery.ts',
  hdfs: 'hdfs.ts',
  'postgres-store': 'postgres-store.ts',
  chunks: 'chunks.ts',
  cli: 'cli.ts',
};

/** Runs one bench module in a child process; it prints one JSON ScenarioResult per line. */
function runSuite(name: string, file: string): Promise<ScenarioResult[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', join(here, file)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, HONK_BENCH_CHILD: '1' },
    });
    const results: ScenarioResult[] = [];
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline = buffer.indexOf('\n');
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line.startsWith('{')) {
          const result = JSON.parse(line) as ScenarioResult;
          results.push(result);
          printRow(result);
        } else if (line) console.log(`  ${line}`);
        newline = buffer.indexOf('\n');
      }
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(results) : reject(new Error(`bench suite ${name} exited with ${code}`)),
    );
  });
}

function fmt(value: number | undefined, digits = 1): string {
  if (value === undefined) return '';
  return value >= 1000 ? Math.round(value).toLocaleString('en-US') : value.toFixed(digits);
}

function printRow(r: ScenarioResult): void {
  const parts = [
    `${r.suite}/${r.name}`.padEnd(44),
    // A name past the column still gets a space before the figure.
    r.rowsPerSecond !== undefined ? ` ${fmt(r.rowsPerSecond)} rows/s`.padStart(18) : ''.padStart(18),
    r.megabytesPerSecond !== undefined ? `${fmt(r.megabytesPerSecond)} MB/s`.padStart(12) : ''.padStart(12),
    r.peakRssMb !== undefined ? `peak ${fmt(r.peakRssMb, 0)} MB`.padStart(14) : ''.padStart(14),
    r.ratio !== undefined ? `  ${r.ratio.toFixed(2)}× ${r.reference ?? ''}` : '',
    r.note ? `  ${r.note}` : '',
  ];
  console.log(parts.join(''));
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const names = wanted.length > 0 ? wanted : Object.keys(suites);
  const all: ScenarioResult[] = [];
  for (const name of names) {
    const file = suites[name];
    if (!file) throw new Error(`Unknown bench suite "${name}". Known: ${Object.keys(suites).join(', ')}`);
    console.log(`\n## ${name}`);
    try {
      all.push(...(await runSuite(name, file)));
    } catch (error) {
      console.log(`  suite ${name} failed: ${(error as Error).message}`);
    }
  }
  mkdirSync(join(here, '..', '.bench'), { recursive: true });
  writeFileSync(join(here, '..', '.bench', 'results.json'), `${JSON.stringify(all, null, 2)}\n`);
}

if (!process.env.HONK_BENCH_CHILD) await main();
