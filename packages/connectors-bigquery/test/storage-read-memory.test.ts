/**
 * `readApi: storage` reads with bounded memory: a table well beyond the budget, read as
 * four streams at once, grows this process's settled resident memory by less than the
 * budget (a batch per stream, plus the responses gRPC and the client buffer ahead). The
 * emulator runs as a child process (`honk-bigquery-emulator`), so what is measured is the
 * connector, not the emulator's store or its encoding garbage.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { settledMemoryGrowth } from '@honk/core/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  bigQueryApiFor,
  bigQueryConnectionSchema,
  createBigQueryReadClient,
  createBigQuerySource,
} from '../src/index.ts';
import { type EmulatorProcess, startBigQueryEmulatorProcess } from '../src/testing/index.ts';
import './helpers/emulator-setup.ts';

const ROWS = 450_000;
const STREAMS = 4;
const BUDGET = 128 * 1024 * 1024;

let emulator: EmulatorProcess;
beforeAll(async () => {
  emulator = await startBigQueryEmulatorProcess({ project: 'honk-memory', datasets: ['mem'] });
}, 60_000);
afterAll(async () => emulator?.stop());

it('reads a table larger than the memory budget as four streams with bounded memory', {
  timeout: 600_000,
}, async () => {
  const options = bigQueryConnectionSchema.parse({
    projectId: 'honk-memory',
    apiEndpoint: emulator.endpoint,
    storageApiEndpoint: emulator.storageEndpoint,
  });
  // Loaded by another process, so nothing of the load is in this process's baseline.
  const seed = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('./helpers/seed-wide-table.ts', import.meta.url)),
      emulator.endpoint,
      'honk-memory',
      String(ROWS),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  expect(await new Promise((resolve) => seed.once('exit', resolve))).toBe(0);

  const source = createBigQuerySource({
    api: bigQueryApiFor(options, 'bq'),
    endpoint: { table: 'mem.wide', readApi: 'storage' },
    pageRows: 1000,
    readStreams: STREAMS,
    readClient: () => createBigQueryReadClient(options),
  });
  expect(await source.partitions()).toHaveLength(STREAMS);
  let rows = 0;
  let arrowBytes = 0;
  const { growth } = await settledMemoryGrowth(async () => {
    for await (const batch of source.read({ signal: new AbortController().signal, batchRows: 10_000 })) {
      rows += batch.numRows;
      for (const child of batch.data.children) arrowBytes += child.byteLength;
    }
  });
  await source.close?.();
  console.info(
    `storage read: ${rows} rows in ${STREAMS} streams, ${(arrowBytes / 2 ** 20).toFixed(0)} MiB of Arrow, settled RSS growth ${(growth / 2 ** 20).toFixed(1)} MiB`,
  );
  expect(rows).toBe(ROWS);
  // The data read is well beyond the budget, so staying under it shows memory does not grow with the table.
  expect(arrowBytes).toBeGreaterThan(BUDGET * 1.5);
  expect(growth).toBeLessThan(BUDGET);
});
