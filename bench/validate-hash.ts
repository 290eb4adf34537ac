/**
 * Row-hash throughput: hashes 10M rows of a 5-column table (int64, utf8, float64,
 * timestamp[us, UTC], bool) and sums them into a Checksum, the work validation adds to
 * every transfer on the source side and again on the staged read-back.
 *
 *   node --import tsx bench/validate-hash.ts            (BENCH_ROWS=… to change the row count)
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
  seconds: number;
  rowsPerSecond: number;
  /** Arrow buffer bytes hashed per second (values, offsets, bitmaps), in 10^6 bytes. */
  megabytesPerSecond: number;
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
  const started = process.hrtime.bigint();
  while (rows < totalRows) {
    const batch = batches[index++ % batches.length]!;
    const n = Math.min(batch.numRows, totalRows - rows);
    const part = n === batch.numRows ? batch : batch.slice(0, n);
    checksum.addHashes(hashRows(part, out), n);
    rows += n;
    bytes += (batch.data.byteLength * n) / batch.numRows;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    rows,
    seconds,
    rowsPerSecond: rows / seconds,
    megabytesPerSecond: bytes / 1e6 / seconds,
    batchRows,
    columns: batches[0]!.schema.fields.map((f) => `${f.name}: ${f.type}`),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = benchValidateHash();
  console.log(
    `validate/row-hash: ${result.rows.toLocaleString('en-US')} rows × 5 columns (${result.columns.join(', ')})`,
  );
  console.log(
    `  ${Math.round(result.rowsPerSecond).toLocaleString('en-US')} rows/s, ${result.megabytesPerSecond.toFixed(0)} MB/s, ${result.seconds.toFixed(2)} s`,
  );
}
