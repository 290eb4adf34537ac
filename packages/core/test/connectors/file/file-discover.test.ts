import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileConnector } from '../../../src/index.ts';
import { testDiscover } from '../../../src/testing/index.ts';

const root = mkdtempSync(join(tmpdir(), 'honk-file-discover-'));
let seeds = 0;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const context = { taskId: 'discover', connectionName: 'files', signal: new AbortController().signal, logger: quiet };

function write(relative: string, text: string): void {
  const path = join(root, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

testDiscover({
  name: 'file',
  connector: fileConnector,
  options: () => ({ root }),
  seed: async () => {
    const place = `seed-${++seeds}`;
    write(`${place}/customers.csv`, 'id,name\n1,Ada\n2,Grace\n');
    write(`${place}/orders/part-0.ndjson`, '{"id":1}\n');
    write(`${place}/orders/part-1.ndjson`, '{"id":2}\n');
    return {
      within: place,
      expected: [`${place}/customers.csv`, `${place}/orders/`],
      missing: `${place}/nothing-here`,
    };
  },
});

describe('file discover()', () => {
  it('reports part folders as one dataset, walks other folders, skips hidden and unknown files', async () => {
    write('tree/a.csv', 'x\n1\n');
    write('tree/notes.txt', 'not data');
    write('tree/.honk-staging-task-a/part.csv', 'x\n1\n');
    write('tree/_SUCCESS', '');
    write('tree/sales/2026/part-0.csv', 'x\n1\n');
    write('tree/sales/2026/part-1.csv', 'x\n22\n');
    write('tree/sales/2026/_SUCCESS', '');
    write('tree/mixed/one.csv', 'x\n1\n');
    write('tree/mixed/two.parquet', 'PAR1');
    mkdirSync(join(root, 'tree/loop'), { recursive: true });
    symlinkSync(join(root, 'tree'), join(root, 'tree/loop/back'));
    const found = await fileConnector.discover!({ options: { root }, scope: { within: 'tree' }, context });
    expect(found.map((dataset) => [dataset.name, dataset.kind])).toEqual([
      ['tree/a.csv', 'file'],
      ['tree/mixed/one.csv', 'file'],
      ['tree/mixed/two.parquet', 'file'],
      ['tree/sales/2026/', 'directory'],
    ]);
    const sales = found[3]!;
    expect(sales.endpoint).toEqual({ path: 'tree/sales/2026/', format: 'csv' });
    expect(sales.bytes).toBe(4 + 5);
  });

  it('resolves a relative root against the spec directory and stops at the limit', async () => {
    write('limited/a.csv', 'x\n1\n');
    write('limited/b.csv', 'x\n1\n');
    write('limited/c.csv', 'x\n1\n');
    const found = await fileConnector.discover!({
      options: { root: '.' },
      scope: { within: 'limited', limit: 2 },
      context: { ...context, baseDir: root },
    });
    expect(found.map((dataset) => dataset.name)).toEqual(['limited/a.csv', 'limited/b.csv']);
  });

  it('refuses a scope outside the root or on a file, naming the option', async () => {
    write('single.csv', 'x\n1\n');
    await expect(
      fileConnector.discover!({ options: { root }, scope: { within: '../elsewhere' }, context }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', details: { option: 'within' } });
    await expect(
      fileConnector.discover!({ options: { root }, scope: { within: 'single.csv' }, context }),
    ).rejects.toMatchObject({ code: 'CONFIG_INVALID', details: { option: 'within' } });
  });
});
