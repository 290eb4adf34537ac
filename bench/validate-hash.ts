/**
 * Row-hash throughput: hashes 10M rows of a 5-column table (int64, utf8, float64,
 * timestamp[us, UTC], bool) and sums them into a Checksum, the work validation adds to
 * every transfer on the source side and again on the staged read-back.
 *
 *   node bench/validate-hash.ts            (BENCH_ROWS=… to change the row count)
 *
 * A few distinct batches are built once and cycled, so memory stays at one batch set and
 * the figure measures hashing, not data generation.
 */
import { pathToFileURL } from 'node:url';
import { Checksum, hashRows, type RowHashes } from '../packages/core/src/validate/row-hash.ts';
// apache-arrow is a dependency of @honk/core, not of the workspace root: the batch builder
// lives beside the validation tests, where it resolves.
import { makeBenchBatch } from '../packages/core/test/validate/arrow-fixtures.ts';

export interface ValidateHashBenchResult {
  rows: number;
  /** Wall-clock seconds for all rows (hash + checksum sum). */
  seconds: number;
  rowsPerSecond: number;
  /** Arrow buffer bytes hashed per second (values, offsets, bitmaps), in 10^6 bytes. */
  megabytesPerSecond: number;
  /** Rows per second of this process's CPU time: steadier than wall clock on a shared machine. */
  rowsPerCpuSecond: number;
  /** The fastest single batch, as rows per second: the figure with the least interference from other processes. */
  bestBatchRowsPerSecond: number;
  batchRows: number;
  columns: string[];
}

/** Runs the benchmark and returns its figures (also used by the lead's `pnpm bench`). */
export function benchValidateHash(options: { rows?: number; batchRows?: number } = {}): ValidateHashBenchResult {
  const totalRows = options.rows ?? Number(process.env.BENCH_ROWS ?? 10_000_000);
  const batchRows = options.batchRows ?? 65_536;
  const batches = Array.from({ length: 8 }, (_, i) => makeBenchBatch(i + 1, batchRows));
  const out: RowHashes = { hi: new Uint32Array(batchRows), lo: new Uint32Array(batchRows) };
  // Warm up so the figure reflects optimised code, as in a long transfer.
  for (const batch of batches) hashRows(batch, out);

  const checksum = new Checksum();
  let rows = 0;
  let bytes = 0;
  let index = 0;
  let bestBatch = Number.POSITIVE_INFINITY;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  while (rows < totalRows) {
    const batch = batches[index++ % batches.length]!;
    const n = Math.min(batch.numRows, totalRows - rows);
    const part = n === batch.numRows ? batch : batch.slice(0, n);
    const batchStarted = process.hrtime.bigint();
    checksum.addHashes(hashRows(part, out), n);
    bestBatch = Math.min(bestBatch, Number(process.hrtime.bigint() - batchStarted) / 1e9 / n);
    rows += n;
    bytes += (batch.data.byteLength * n) / batch.numRows;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return {
    rows,
    seconds,
    rowsPerSecond: rows / seconds,
    megabytesPerSecond: bytes / 1e6 / seconds,
    rowsPerCpuSecond: rows / cpuSeconds,
    bestBatchRowsPerSecond: 1 / bestBatch,
    batchRows,
    columns: batches[0]!.schema.fields.map((f) => `${f.name}: ${f.type}`),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = benchValidateHash();
  console.log(
    `validate/row-hash: ${result.rows.toLocaleString('en-US')} rows × 5 columns (${result.columns.join(', ')})`,
  );
  const format = (value: number) => Math.round(value).toLocaleString('en-US');
  console.log(
    `  ${format(result.rowsPerSecond)} rows/s, ${result.megabytesPerSecond.toFixed(0)} MB/s, ${result.seconds.toFixed(2)} s wall clock`,
  );
  console.log(
    `  ${format(result.rowsPerCpuSecond)} rows per CPU second; fastest batch ${format(result.bestBatchRowsPerSecond)} rows/s`,
  );
}
