import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HONK_ANNOTATIONS } from '@honk/backstage-plugin-honk-common';
import { afterEach, describe, expect, it } from 'vitest';
import { HonkTaskBuilder, taskSpecForEntity } from '../src/index.ts';

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

  it('starts a dataset published from a spec task with that task’s transforms and settings', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'honk-task-builder-'));
    dirs.push(dir);
    writeFileSync(
      join(dir, 'honk.yaml'),
      `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: customers
    labels: { domain: crm, pii: masked }
    schedule: { cron: "0 3 * * *" }
    source: { connection: legacy, path: customers.csv }
    target: { connection: lake, path: crm/customers.parquet }
    transform: { rename: { mail: email }, module: ./mask.ts#maskEmails }
    validate: { sample: 10 }
`,
    );
    writeFileSync(join(dir, 'mask.ts'), 'export const maskEmails = (batch: unknown) => batch;\n');
    const builder = new HonkTaskBuilder({ specPath: join(dir, 'honk.yaml'), env: {} });
    const entity = (specTask: string) => ({
      kind: 'Resource',
      metadata: {
        name: 'customers',
        annotations: {
          [HONK_ANNOTATIONS.sourceConnection]: 'legacy',
          [HONK_ANNOTATIONS.sourceEndpoint]: '{"path":"customers.csv"}',
          [HONK_ANNOTATIONS.targetConnection]: 'lake',
          [HONK_ANNOTATIONS.targetEndpoint]: '{"path":"crm/customers.parquet"}',
          [HONK_ANNOTATIONS.specTask]: specTask,
        },
      },
    });
    const template = { validate: { sample: 1000 }, retry: { attempts: 7 }, labels: { team: 'data' } };
    const [specTask] = await builder.specTasksFor([entity('customers')]);
    const task = taskSpecForEntity(entity('customers'), template, { priority: 4 }, specTask);
    expect(task).toMatchObject({
      id: 'resource.default.customers',
      entity: 'resource:default/customers',
      priority: 4,
      transform: { rename: { mail: 'email' }, module: './mask.ts#maskEmails' },
      // The spec task's own validation wins; the template fills in what it leaves out.
      validate: { sample: 10 },
      retry: { attempts: 7 },
      labels: { domain: 'crm', pii: 'masked', team: 'data', entity: 'resource:default/customers' },
    });
    expect(task).not.toHaveProperty('schedule');
    const [built] = await builder.build([task]);
    expect(JSON.stringify(built?.input.definition)).toContain('maskEmails');

    const gone = await builder.specTasksFor([entity('vanished')]).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(gone?.name).toBe('InputError');
    expect(gone?.message).toContain('task "vanished"');
  });
});
