import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@honk/cli';
import { fileConnector, loadSpec } from '@honk/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RunReport, unexpectedOutcomes } from '../expected-outcome.ts';
import { generateLegacyData, type LegacyDataset } from '../generate-legacy-data.ts';

const example = dirname(dirname(fileURLToPath(import.meta.url)));
const scale = Number(process.env.HONK_QUICKSTART_SCALE ?? '0.01');

const honk = (argv: string[], cwd: string) => runCli(argv, { cwd });

/** Rows of a Parquet target, read back through the file connector. */
async function targetRows(root: string, path: string): Promise<number> {
  const signal = new AbortController().signal;
  const context = { taskId: 'check', connectionName: 'lake', signal, logger: console };
  const source = await fileConnector.createSource!({ options: { root }, endpoint: { path }, context });
  try {
    let rows = 0;
    for await (const batch of source.read({ signal, batchRows: 65_536 })) rows += batch.numRows;
    return rows;
  } finally {
    await source.close?.();
  }
}

describe(`quickstart at scale ${scale}`, () => {
  // The example's spec in a temp dir (transform module path pointed back at the example) with generated data.
  const dir = mkdtempSync(join(tmpdir(), 'honk-quickstart-'));
  let datasets: LegacyDataset[] = [];

  beforeAll(async () => {
    datasets = await generateLegacyData(join(dir, 'data', 'legacy'), { scale });
    const spec = readFileSync(join(example, 'honk.yaml'), 'utf8').replaceAll(
      './transforms/mask-emails.ts',
      relative(dir, join(example, 'transforms', 'mask-emails.ts')),
    );
    writeFileSync(join(dir, 'honk.yaml'), spec);
  });

  it('generates two dozen CSV and NDJSON datasets', () => {
    expect(datasets).toHaveLength(24);
    expect(datasets.filter((dataset) => dataset.file.endsWith('.csv')).length).toBeGreaterThan(10);
    expect(datasets.filter((dataset) => dataset.file.endsWith('.ndjson')).length).toBeGreaterThan(5);
    const orders = readFileSync(join(dir, 'data', 'legacy', 'orders.csv'), 'utf8').split('\n');
    expect(orders[0]).toBe('order_id,customer_id,amount,currency,status,created_at');
    expect(orders[1]).toMatch(
      /^9007199254740993,\d+,\d+\.\d\d,[A-Z]{3},\w+,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/,
    );
  });

  it('honk run: every task succeeds except ledger, dead-lettered with SCHEMA_MISMATCH; a second run skips', async () => {
    const first = await honk(['run', 'honk.yaml', '--agents', '4', '--json'], dir);
    expect(first.code, first.stderr).toBe(1); // one task is dead: honk says so with exit 1
    const report = JSON.parse(first.stdout) as RunReport;
    expect(unexpectedOutcomes(report)).toEqual([]);
    expect(report.tasks).toHaveLength(24);
    expect(report.tasks.filter((task) => task.state === 'succeeded')).toHaveLength(23);
    const ledger = report.tasks.find((task) => task.id === 'ledger');
    expect(ledger).toMatchObject({ state: 'dead', error: { code: 'SCHEMA_MISMATCH' } });
    expect(ledger?.error?.message).toMatch(/account_code.*ACC-17/);

    // Every target holds exactly the source's rows; the broken task published nothing.
    const loaded = await loadSpec(join(dir, 'honk.yaml'));
    const rowsByFile = new Map(datasets.map((dataset) => [dataset.file, dataset.rows]));
    const lake = join(dir, 'data', 'lake');
    for (const task of loaded.spec.tasks) {
      const expected = rowsByFile.get(String(task.source.path));
      if (task.id === 'ledger') {
        await expect(targetRows(lake, String(task.target.path))).rejects.toMatchObject({ code: 'NOT_FOUND' });
        continue;
      }
      expect(report.tasks.find((outcome) => outcome.id === task.id)?.rows, task.id).toBe(expected);
      expect(await targetRows(lake, String(task.target.path)), task.id).toBe(expected);
    }

    // The TypeScript transform masked every email's local part; NULLs and empty strings stay.
    const emails: Array<string | null> = [];
    const signal = new AbortController().signal;
    const context = { taskId: 'check', connectionName: 'lake', signal, logger: console };
    const customers = await fileConnector.createSource!({
      options: { root: lake },
      endpoint: { path: 'crm/customers.parquet' },
      context,
    });
    for await (const batch of customers.read({ signal, batchRows: 65_536 }))
      emails.push(...(batch.getChild('email')!.toArray() as Array<string | null>));
    expect(emails).toContain(null);
    expect(emails).toContain('');
    const present = emails.filter((email): email is string => Boolean(email));
    expect(present.length).toBeGreaterThan(emails.length / 2);
    for (const email of present) expect(email).toMatch(/^c\*+@example\.[a-z]{2}$/);

    // The dead-letter list shows the broken task and why.
    const deadLetters = await honk(['dead-letter', 'list', '--store', '.honk', '--json'], dir);
    expect(deadLetters.code).toBe(0);
    expect(deadLetters.stdout).toContain('ledger');
    expect(deadLetters.stdout).toContain('SCHEMA_MISMATCH');

    const second = await honk(['run', 'honk.yaml', '--agents', '4', '--json'], dir);
    expect(second.code).toBe(1);
    const again = JSON.parse(second.stdout) as RunReport;
    expect(unexpectedOutcomes(again)).toEqual([]);
    const good = again.tasks.filter((task) => task.id !== 'ledger');
    expect(good.map((task) => task.action)).toEqual(good.map(() => 'skipped'));
  });
});
