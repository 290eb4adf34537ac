import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HonkTaskBuilder } from '../src/index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function specWith(warehouseUrl: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'honk-task-builder-'));
  dirs.push(dir);
  writeFileSync(
    join(dir, 'honk.yaml'),
    `version: 1
connections:
  warehouse: { connector: postgres, url: "${warehouseUrl}" }
  lake: { connector: file, root: ./lake }
tasks: []
`,
  );
  return join(dir, 'honk.yaml');
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: a spec env reference, not a template
const WAREHOUSE_REFERENCE = '${env:WAREHOUSE_URL}';

const orders = {
  id: 'resource.default.orders',
  source: { connection: 'warehouse', table: 'shop.orders' },
  target: { connection: 'lake', path: 'orders.parquet' },
};

describe('HonkTaskBuilder (tasks Backstage enqueues)', () => {
  it('refuses a credential written literally in the spec, naming where and never the value', async () => {
    const builder = new HonkTaskBuilder({ specPath: specWith('postgres://honk:s3cret-pw@db.internal/shop'), env: {} });
    const failure = await builder.build([orders]).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(failure?.name).toBe('InputError');
    expect(failure?.message).toContain('connections.warehouse.url');
    expect(failure?.message).not.toContain('s3cret-pw');
  });

  it('needs none of the agents’ secrets: an unset env reference stays a reference in the task record', async () => {
    const builder = new HonkTaskBuilder({ specPath: specWith(WAREHOUSE_REFERENCE), env: {} });
    const [built] = await builder.build([orders]);
    const record = JSON.stringify(built?.input);
    expect(record).toContain(WAREHOUSE_REFERENCE);
    expect(built?.input.id).toBe('resource.default.orders');
  });
});
