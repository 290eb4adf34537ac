import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@honk/cli';
import type { RecordBatch } from 'apache-arrow';
import { expect, it } from 'vitest';
import { arrowVersionsConnector } from '../arrow-versions-connector.ts';

const example = dirname(dirname(fileURLToPath(import.meta.url)));

/** `honk …` in-process, output captured. */
const honk = (argv: string[], cwd: string) => runCli(argv, { cwd });

it('honk run uses the connector listed under connectors:, and a re-run skips the task', async () => {
  // The example's spec and data in a temp dir, pointing back at the connector module.
  const dir = mkdtempSync(join(tmpdir(), 'honk-example-connector-'));
  cpSync(join(example, 'data'), join(dir, 'data'), { recursive: true });
  const spec = readFileSync(join(example, 'honk.yaml'), 'utf8').replace(
    './arrow-versions-connector.ts',
    relative(dir, join(example, 'arrow-versions-connector.ts')),
  );
  writeFileSync(join(dir, 'honk.yaml'), spec);

  const first = await honk(['run', 'honk.yaml', '--json'], dir);
  expect(first.stderr).not.toMatch(/unexpected error/);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  const report = JSON.parse(first.stdout) as { tasks: Array<{ id: string; state: string; rows?: number }> };
  expect(report.tasks).toMatchObject([{ id: 'cities', state: 'succeeded', rows: 7 }]);

  // Read the published table back through the connector's own source.
  const source = await arrowVersionsConnector.createSource!({
    options: { root: join(dir, 'tables') },
    endpoint: { table: 'cities' },
    context: { taskId: 'read', connectionName: 'tables', signal: new AbortController().signal, logger: console },
  });
  const schema = await source.schema();
  expect(schema.fields.map((field) => `${field.name}:${field.type}`)).toEqual([
    'id:Int64',
    'name:Utf8',
    'country:Utf8',
    'population:Int64',
    'founded:Date32<DAY>',
    'capital:Bool',
  ]);
  const rows: Record<string, unknown>[] = [];
  for await (const batch of source.read({
    signal: new AbortController().signal,
    batchRows: 100,
  }) as AsyncIterable<RecordBatch>)
    rows.push(...batch.toArray().map((row) => row.toJSON()));
  expect(rows).toHaveLength(7);
  expect(rows[4]?.name).toBe('"Big" Apple 🍎');
  expect(rows[6]?.name).toBe(''); // quoted empty field: the empty string, not NULL
  expect(rows[3]?.founded).toBeNull();

  const second = await honk(['run', 'honk.yaml', '--json'], dir);
  expect(second.code).toBe(0);
  expect(JSON.parse(second.stdout).tasks).toMatchObject([{ id: 'cities', state: 'succeeded', action: 'skipped' }]);
});
