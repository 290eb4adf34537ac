/**
 * BigQuery bench: the connector's own CPU cost per row, where the emulator's speed would
 * be meaningless. In one process, on the same rows (an orders-like table: INT64, STRING,
 * NUMERIC, TIMESTAMP, BOOL, DATE):
 * - `decode tabledata pages`: JSON.parse of `tabledata.list` pages (20 000 rows, rendered
 *   as BigQuery prints them) + tabledata-decoder.ts into Arrow, next to the file
 *   connector's decode of the same rows from a Parquet file (its source path).
 * - `decode storage read responses` (`readApi: storage`): the same rows as Storage Read API
 *   `ReadRows` responses (Arrow IPC record batches of 20 000 rows, encoded beforehand as the
 *   emulator sends them), read with apache-arrow against the session's schema and converted
 *   to the REST path's types (storage-arrow.ts), next to the same file decode.
 * - `encode load files`: the sink's per-row checks + core's Parquet writer into the upload,
 *   next to the file connector writing the same batches to a Parquet file.
 * CPU is process CPU (all threads: the Parquet writer runs on workers), per row in µs;
 * ratio = file CPU ÷ BigQuery CPU (above 1: BigQuery's path is cheaper).
 * Standalone: `node --expose-gc bench/bigquery.ts` (BENCH_ROWS, default 1 000 000).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetCodec } from '@honk/core';
import type { RecordBatch } from 'apache-arrow';
import { checkBatch } from '../packages/connectors-bigquery/src/bigquery-row-checks.ts';
import {
  arrowSchemaOf,
  type BigQueryField,
  conformBatch,
  decodeRows,
  decodeStorageBatches,
  type TableRow,
} from '../packages/connectors-bigquery/src/index.ts';
import {
  StorageIpc,
  storageBatchOf,
  storageSchemaOf,
} from '../packages/connectors-bigquery/src/testing/emulator-arrow.ts';
import { type Cell, cellFromJson, renderCell } from '../packages/connectors-bigquery/src/testing/emulator-values.ts';
import { benchRows, emit, peakRssMb } from './report.ts';

const PAGE_ROWS = 20_000;
const fields: BigQueryField[] = [
  { name: 'id', type: 'INT64', mode: 'REQUIRED' },
  { name: 'customer', type: 'STRING' },
  { name: 'amount', type: 'NUMERIC' },
  { name: 'created_at', type: 'TIMESTAMP' },
  { name: 'active', type: 'BOOL' },
  { name: 'order_date', type: 'DATE' },
];

/** The table's rows as the emulator stores them, a page at a time. */
function* cellPages(rows: number): Generator<Cell[][]> {
  for (let start = 0; start < rows; start += PAGE_ROWS) {
    const page: Cell[][] = [];
    for (let row = start; row < Math.min(rows, start + PAGE_ROWS); row++) {
      const values = [
        String(row),
        `customer ${row % 250_000}`,
        row % 50 === 0 ? null : `${(row * 37) % 100_000}.${String(row % 100).padStart(2, '0')}`,
        `${new Date(1_700_000_000_000 + row * 1_003).toISOString().slice(0, -1)}${String(row % 1000).padStart(3, '0')}Z`,
        row % 3 === 0 ? 'false' : 'true',
        `20${String(10 + (row % 15))}-0${1 + (row % 9)}-1${row % 10}`,
      ];
      page.push(fields.map((field, index) => cellFromJson(field, values[index])));
    }
    yield page;
  }
}

/** The JSON text of every page, as the API sends it (TIMESTAMPs as integer microseconds). */
function pages(rows: number): string[] {
  const texts: string[] = [];
  for (const cells of cellPages(rows)) {
    const page: TableRow[] = cells.map((row) => ({
      f: fields.map((field, index) => ({ v: renderCell(field, row[index], true) })),
    }));
    texts.push(JSON.stringify({ kind: 'bigquery#tableDataList', totalRows: String(rows), rows: page }));
  }
  return texts;
}

/** The session's serialized schema and every `ReadRows` response's serialized record batch. */
function storageResponses(rows: number): { serializedSchema: Uint8Array; batches: Uint8Array[] } {
  const ipc = new StorageIpc(storageSchemaOf(fields));
  const batches = [...cellPages(rows)].map((cells) =>
    ipc.serializeBatch(storageBatchOf(ipc.schema, fields, cells)).slice(),
  );
  return { serializedSchema: ipc.serializedSchema, batches };
}

function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; cpu: number; seconds: number }> {
  globalThis.gc?.();
  const cpu = cpuSeconds();
  const started = performance.now();
  const value = await run();
  return { value, cpu: cpuSeconds() - cpu, seconds: (performance.now() - started) / 1000 };
}

async function writeParquet(
  batches: RecordBatch[],
  sink: { write(chunk: Uint8Array): Promise<void> },
  checks: boolean,
) {
  const writer = parquetCodec.createWriter(sink, (batches[0] as RecordBatch).schema);
  let rows = 0;
  for (const batch of batches) {
    if (checks) checkBatch(batch, rows + 1, []);
    rows += batch.numRows;
    await writer.write(batch);
  }
  return writer.finish();
}

export async function benchBigQuery(): Promise<void> {
  const rows = benchRows(1_000_000);
  const texts = pages(rows);
  const schema = arrowSchemaOf(fields);
  const dir = mkdtempSync(join(tmpdir(), 'honk-bench-bigquery-'));
  try {
    const decode = await timed(async () => {
      const batches: RecordBatch[] = [];
      let first = 1;
      for (const text of texts) {
        const page = JSON.parse(text) as { rows: TableRow[] };
        batches.push(decodeRows(schema, page.rows, first));
        first += page.rows.length;
      }
      return batches;
    });
    const batches = decode.value;
    const responses = storageResponses(rows);
    const storageDecode = await timed(async () => {
      const out: RecordBatch[] = [];
      let first = 1;
      for (const bytes of responses.batches) {
        for (const batch of decodeStorageBatches(responses.serializedSchema, bytes)) {
          out.push(conformBatch(schema, batch, 'bench', first));
          first += batch.numRows;
        }
      }
      return out;
    });
    if (storageDecode.value.reduce((sum, batch) => sum + batch.numRows, 0) !== rows) {
      throw new Error('bigquery bench: the storage responses decoded to another row count');
    }
    // Starts the Parquet worker threads before either encode is measured.
    await writeParquet([(batches[0] as RecordBatch).slice(0, 100)], { write: async () => {} }, false);
    const encode = await timed(() => writeParquet(batches, { write: async () => {} }, true));

    const path = join(dir, 'orders.parquet');
    const fileEncode = await timed(async () => {
      const fd = openSync(path, 'w');
      try {
        return await writeParquet(batches, { write: async (chunk) => void writeSync(fd, chunk) }, false);
      } finally {
        closeSync(fd);
      }
    });
    const bytes = readFileSync(path);
    const fileDecode = await timed(async () => {
      let read = 0;
      const input = {
        name: path,
        size: bytes.byteLength,
        blob: () => new Blob([bytes]),
        stream: async function* () {
          yield bytes;
        },
      };
      for await (const batch of parquetCodec.read(input, { batchRows: PAGE_ROWS })) read += batch.numRows;
      return read;
    });
    const perRow = (cpu: number) => (cpu / rows) * 1e6;
    emit({
      suite: 'bigquery',
      name: `decode tabledata pages ${rows}`,
      rows,
      seconds: decode.seconds,
      rowsPerSecond: rows / decode.seconds,
      cpuMicrosPerRow: perRow(decode.cpu),
      fileCpuMicrosPerRow: perRow(fileDecode.cpu),
      reference: 'file connector Parquet decode (CPU)',
      ratio: fileDecode.cpu / decode.cpu,
      peakRssMb: peakRssMb(),
      note: `${perRow(decode.cpu).toFixed(2)} µs/row vs file ${perRow(fileDecode.cpu).toFixed(2)} µs/row`,
    });
    emit({
      suite: 'bigquery',
      name: `decode storage read responses ${rows}`,
      rows,
      seconds: storageDecode.seconds,
      rowsPerSecond: rows / storageDecode.seconds,
      cpuMicrosPerRow: perRow(storageDecode.cpu),
      fileCpuMicrosPerRow: perRow(fileDecode.cpu),
      reference: 'file connector Parquet decode (CPU)',
      ratio: fileDecode.cpu / storageDecode.cpu,
      peakRssMb: peakRssMb(),
      note: `${perRow(storageDecode.cpu).toFixed(2)} µs/row vs file ${perRow(fileDecode.cpu).toFixed(2)} µs/row (tabledata ${perRow(decode.cpu).toFixed(2)})`,
    });
    emit({
      suite: 'bigquery',
      name: `encode load files ${rows}`,
      rows,
      seconds: encode.seconds,
      rowsPerSecond: rows / encode.seconds,
      cpuMicrosPerRow: perRow(encode.cpu),
      fileCpuMicrosPerRow: perRow(fileEncode.cpu),
      reference: 'file connector Parquet encode (CPU)',
      ratio: fileEncode.cpu / encode.cpu,
      peakRssMb: peakRssMb(),
      note: `${perRow(encode.cpu).toFixed(2)} µs/row vs file ${perRow(fileEncode.cpu).toFixed(2)} µs/row`,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('bigquery.ts')) await benchBigQuery();
