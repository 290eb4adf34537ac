import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Field, Float64, Int64, makeData, Schema, Timestamp, TimeUnit, Utf8 } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeRecordBatch } from '../../../src/arrow/column-data.ts';
import { createFileSink, createFileSource } from '../../../src/connectors/file/index.ts';
import { context, signal, tempRoot } from './fixtures.ts';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
});
afterEach(async () => {
  await cleanup();
});

const ROWS = 1_000_000;
const BATCH = 10_000;
const schema = new Schema([
  new Field('id', new Int64(), false),
  new Field('amount', new Float64(), true),
  new Field('name', new Utf8(), true),
  new Field('at', new Timestamp(TimeUnit.MICROSECOND, 'UTC'), true),
]);

function batchAt(offset: number, rows: number) {
  const ids = new BigInt64Array(rows);
  const amounts = new Float64Array(rows);
  const at = new BigInt64Array(rows);
  const text = Buffer.alloc(rows * 24, 'x');
  const offsets = new Int32Array(rows + 1);
  for (let row = 0; row < rows; row++) {
    ids[row] = BigInt(offset + row);
    amounts[row] = (offset + row) / 100;
    at[row] = BigInt(1_700_000_000_000_000 + offset + row);
    text.write(String(offset + row).padStart(24, 'n'), row * 24, 'latin1');
    offsets[row + 1] = (row + 1) * 24;
  }
  return makeRecordBatch(
    schema,
    [
      makeData({ type: new Int64(), length: rows, data: ids }),
      makeData({ type: new Float64(), length: rows, data: amounts }),
      makeData({ type: new Utf8(), length: rows, valueOffsets: offsets, data: new Uint8Array(text) }),
      makeData({ type: new Timestamp(TimeUnit.MICROSECOND, 'UTC'), length: rows, data: at }),
    ],
    rows,
  );
}

/** Bytes of the whole dataset in Arrow form: 8 + 8 + (24 + 4) + 8 per row. */
const DATASET_BYTES = ROWS * 52;

// A real GC before each sample measures what is retained, not garbage awaiting collection.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

function used(): number {
  collect();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

describe('large files', () => {
  it('round-trips 1M rows through Parquet with memory bounded by the batch, not the dataset', async () => {
    const baseline = used();
    let peak = 0;
    const sink = createFileSink({ options: { root }, endpoint: { path: 'big.parquet' }, context: context() });
    const writer = await sink.open(schema, { signal: signal(), mode: 'replace' });
    for (let offset = 0; offset < ROWS; offset += BATCH) {
      await writer.write(batchAt(offset, BATCH));
      peak = Math.max(peak, used() - baseline);
    }
    const staged = await writer.stage();
    await writer.publish();
    expect(staged.rows).toBe(ROWS);
    const writePeak = peak;
    peak = 0;

    const source = createFileSource({ options: { root }, endpoint: { path: 'big.parquet' } });
    expect(await source.count?.()).toBe(ROWS);
    let rows = 0;
    let expectedId = 0n;
    for await (const batch of source.read({ signal: signal(), batchRows: BATCH })) {
      const ids = batch.getChild('id')?.data[0]?.values as BigInt64Array;
      expect(ids[0]).toBe(expectedId);
      expectedId += BigInt(batch.numRows);
      rows += batch.numRows;
      peak = Math.max(peak, used() - baseline);
    }
    expect(rows).toBe(ROWS);
    console.info(
      `parquet 1M round trip: peak heap+arrayBuffers growth write ${(writePeak / 2 ** 20).toFixed(1)} MiB, read ${(peak / 2 ** 20).toFixed(1)} MiB of a ${(DATASET_BYTES / 2 ** 20).toFixed(1)} MiB dataset`,
    );
    // Live memory follows the row group (131072 rows) and batch, not the 1M rows.
    expect(Math.max(peak, writePeak)).toBeLessThan(DATASET_BYTES / 2);
  });

  it('converts a 1M-row CSV to Parquet (throughput is printed, not asserted)', async () => {
    const lines: string[] = ['id,amount,name,day'];
    for (let row = 0; row < ROWS; row++)
      lines.push(`${row},${(row / 100).toFixed(2)},"name ${row}",2024-01-${String((row % 28) + 1).padStart(2, '0')}`);
    await writeFile(path.join(root, 'big.csv'), `${lines.join('\n')}\n`);
    const started = performance.now();
    const source = createFileSource({
      options: { root },
      endpoint: { path: 'big.csv', schema: { amount: 'decimal(12,2)' } },
    });
    const sink = createFileSink({ options: { root }, endpoint: { path: 'from-csv.parquet' }, context: context() });
    const writer = await sink.open(await source.schema(), { signal: signal(), mode: 'replace' });
    let rows = 0;
    for await (const batch of source.read({ signal: signal(), batchRows: BATCH })) {
      await writer.write(batch);
      rows += batch.numRows;
    }
    await writer.stage();
    await writer.publish();
    const seconds = (performance.now() - started) / 1000;
    console.info(
      `csv→parquet: ${ROWS} rows in ${seconds.toFixed(2)} s = ${Math.round(ROWS / seconds)} rows/s (${Math.round((ROWS * 4) / seconds)} cells/s)`,
    );
    expect(rows).toBe(ROWS);
    const check = createFileSource({ options: { root }, endpoint: { path: 'from-csv.parquet' } });
    expect(await check.count?.()).toBe(ROWS);
  });
});
