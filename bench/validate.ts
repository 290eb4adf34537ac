/**
 * Validation hashing (`pnpm bench validate`): benchValidateHash() (validate-hash.ts) as
 * ScenarioResult lines: 10M rows (BENCH_ROWS) of a 5-column table hashed and summed into a
 * Checksum, the work validation adds on each side of a transfer. Three readings of the same
 * run: wall clock, rows per CPU second (steadier on a shared machine) and the fastest batch.
 */
import { pathToFileURL } from 'node:url';
import { emit, peakRssMb } from './report.ts';
import type { ScenarioResult } from './run.ts';
import { benchValidateHash } from './validate-hash.ts';

/** Runs the hash benchmark and returns its figures as harness results. */
export function benchValidate(): ScenarioResult[] {
  const result = benchValidateHash();
  const base = { suite: 'validate', rows: result.rows, batchRows: result.batchRows, columns: result.columns };
  return [
    {
      ...base,
      name: 'row-hash + checksum (wall clock)',
      seconds: result.seconds,
      rowsPerSecond: result.rowsPerSecond,
      megabytesPerSecond: result.megabytesPerSecond,
      peakRssMb: peakRssMb(),
      note: `${result.columns.length} columns, MB/s of Arrow buffers hashed (10^6 bytes)`,
    },
    {
      ...base,
      name: 'row-hash + checksum (per CPU second)',
      rowsPerSecond: result.rowsPerCpuSecond,
      note: 'rows per CPU second of this process: less sensitive to other load',
    },
    {
      ...base,
      name: 'row-hash + checksum (fastest batch)',
      rowsPerSecond: result.bestBatchRowsPerSecond,
      note: `best single ${result.batchRows}-row batch: the least-disturbed figure`,
    },
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const result of benchValidate()) emit(result);
}
