/**
 * The example as a user runs it: the WebHDFS emulator stands in for the cluster, the test
 * PostgreSQL server for the warehouse, and `honk run` executes the spec unchanged. The
 * Parquet that comes back to HDFS must hold exactly the CSV rows that went out.
 */
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@honk/cli';
import { hdfsConnector } from '@honk/connectors-hdfs';
import { startWebHdfsEmulator, type WebHdfsEmulator } from '@honk/connectors-hdfs/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { uploadExampleData } from '../upload-data.ts';

const example = dirname(dirname(fileURLToPath(import.meta.url)));
let emulator: WebHdfsEmulator;

beforeAll(async () => {
  emulator = await startWebHdfsEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

async function parquetRows(): Promise<string[]> {
  const signal = new AbortController().signal;
  const context = { taskId: 'check', connectionName: 'hdfs', signal, logger: console };
  const options = hdfsConnector.optionsSchema.parse({ url: emulator.url, user: 'etl', root: '/warehouse' });
  const source = await hdfsConnector.createSource!({ options, endpoint: { path: 'curated/orders/' }, context });
  const rows: string[] = [];
  for await (const batch of source.read({ signal, batchRows: 1000 })) {
    for (const row of batch) {
      const value = row.toJSON() as Record<string, unknown>;
      rows.push(
        [value.order_id, value.customer, value.amount, new Date(Number(value.ordered_at)).toISOString()]
          .map(String)
          .join('|'),
      );
    }
  }
  return rows.sort();
}

it('honk run moves the HDFS CSV parts into PostgreSQL and back to Parquet on HDFS, validated', async () => {
  const url = process.env.HONK_TEST_POSTGRES_URL;
  expect(url, 'the test global setup starts PostgreSQL').toBeTruthy();
  const dir = mkdtempSync(join(tmpdir(), 'honk-example-hdfs-'));
  cpSync(join(example, 'honk.yaml'), join(dir, 'honk.yaml'));
  expect(await uploadExampleData(emulator.url)).toHaveLength(4);
  const env = { HDFS_URL: emulator.url, WAREHOUSE_URL: url };
  const ran = await runCli(['run', 'honk.yaml', '--agents', '1', '--json'], { cwd: dir, env });
  expect(ran.code, ran.stdout + ran.stderr).toBe(0);
  const report = JSON.parse(ran.stdout) as { tasks: { id: string; action: string }[] };
  expect(report.tasks.map((task) => [task.id, task.action])).toEqual([
    ['orders-into-postgres', 'ran'],
    ['orders-to-parquet', 'ran'],
  ]);
  // Amounts are the exact unscaled values of decimal(12,2) (cents); instants are in UTC.
  expect(await parquetRows()).toEqual([
    '2|Smith, John|5|2026-11-02T08:00:00.000Z',
    '3|null|1999|2026-11-03T23:59:59.000Z',
    '4|Quote "Q" Ltd|10000|2026-11-04T10:00:00.000Z',
    '5|Zoë 🚀|-310|2026-11-05T00:00:00.000Z',
    '6|Ng|4242|2026-11-06T12:34:56.789Z',
    '9007199254740993|Åsa Lind|123450|2026-11-02T08:15:00.000Z',
  ]);
});
