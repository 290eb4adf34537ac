/**
 * Resolving specs for running: `${env:…}` at resolve time, connector option checks mapped to
 * spec paths, defaults, control-plane fields, definition hashes, secret hygiene, custom
 * connector modules and the real file connector.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorRegistry } from '../../src/connector/connector-registry.ts';
import { fileConnector } from '../../src/connectors/file/index.ts';
import { isHonkError } from '../../src/errors/honk-error.ts';
import { redactText } from '../../src/errors/redact.ts';
import { loadConnectorModules } from '../../src/spec/load-connector-modules.ts';
import { loadSpec, parseSpec } from '../../src/spec/load-spec.ts';
import {
  DEFAULT_RETRY_POLICY,
  describeConnections,
  resolveSpec,
  resolveTaskRecord,
} from '../../src/spec/resolve-spec.ts';
import { SpecError } from '../../src/spec/spec-error.ts';
import { exampleYaml, testRegistry } from './spec-fixtures.ts';

const ref = (name: string): string => '$' + '{env:' + name + '}';
const env = { WAREHOUSE_URL: 'postgres://migrator@warehouse:5432/db' };

function resolveError(run: () => unknown): SpecError {
  try {
    run();
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error('expected a SpecError');
}

describe('resolveSpec', () => {
  it('turns each task into a TaskDefinition with the control-plane fields', () => {
    const loaded = parseSpec(exampleYaml, { sourceName: 'honk.yaml', baseDir: '/srv/migrations' });
    const { tasks, connections } = resolveSpec(loaded, { registry: testRegistry(), env });
    const [orders, customers] = tasks;
    expect(orders).toMatchObject({
      id: 'orders',
      source: {
        connector: 'files',
        connection: 'legacy',
        options: { root: './data/legacy' },
        endpoint: { path: 'orders.csv', format: 'csv' },
      },
      target: {
        connector: 'files',
        connection: 'lake',
        options: { root: './data/lake' },
        endpoint: { path: 'orders.parquet', format: 'parquet' },
        mode: 'replace',
      },
      transform: {
        select: ['id', 'customer_id', 'amount', 'created_at'],
        module: '/srv/migrations/transforms/orders.ts#maskEmails',
      },
      validate: { rowCount: true, checksum: true, sample: 100 },
      snapshot: { enabled: true, keepForMs: 7 * 86_400_000 },
      entity: 'resource:default/orders',
      meta: { entity: 'resource:default/orders' },
      priority: 10,
      notBefore: new Date('2026-11-25T00:00:00Z'),
      window: { start: '00:00', end: '06:00', timezone: 'Europe/Stockholm' },
      schedule: { cron: '0 2 * * *', timezone: 'UTC' },
      retry: { attempts: 5, backoff: { initialMs: 1000, factor: 2, maxMs: 60000, jitter: true } },
      connections: ['legacy', 'lake'],
      maxConcurrency: {},
      labels: {},
      baseDir: '/srv/migrations',
    });
    expect(orders!.definitionHash).toMatch(/^[0-9a-f]{64}$/);
    expect(customers).toMatchObject({
      priority: 0,
      source: { connector: 'sql', options: { url: env.WAREHOUSE_URL }, endpoint: { table: 'public.customers' } },
      connections: ['warehouse', 'lake'],
      maxConcurrency: { warehouse: 2 },
      labels: { team: 'billing' },
    });
    expect(customers!.window).toBeUndefined();
    expect(customers!.notBefore).toBeUndefined();
    expect(connections.warehouse).toEqual({
      name: 'warehouse',
      connector: 'sql',
      maxConcurrency: 2,
      options: { url: env.WAREHOUSE_URL },
    });
  });

  it('applies built-in retry defaults and lets a task override single fields', () => {
    const loaded = parseSpec({
      version: 1,
      connections: { a: { connector: 'files', root: '/a' } },
      defaults: { retry: { backoff: { maxMs: 5000 } }, batchRows: 1000, snapshot: false },
      tasks: [
        {
          id: 'one',
          source: { connection: 'a', path: 'x.csv', format: 'csv' },
          target: { connection: 'a', path: 'y.csv', format: 'csv' },
        },
        {
          id: 'two',
          retry: { attempts: 9, backoff: { jitter: false } },
          batchRows: 10,
          snapshot: true,
          source: { connection: 'a', path: 'x.csv', format: 'csv' },
          target: { connection: 'a', path: 'z.csv', format: 'csv', mode: 'append' },
        },
      ],
    });
    const [one, two] = resolveSpec(loaded, { registry: testRegistry(), env: {} }).tasks;
    expect(one!.retry).toEqual({
      attempts: DEFAULT_RETRY_POLICY.attempts,
      backoff: { ...DEFAULT_RETRY_POLICY.backoff, maxMs: 5000 },
    });
    expect(two!.retry).toEqual({
      attempts: 9,
      backoff: { ...DEFAULT_RETRY_POLICY.backoff, maxMs: 5000, jitter: false },
    });
    expect(one!.batchRows).toBe(1000);
    expect(two!.batchRows).toBe(10);
    expect(one!.snapshot).toEqual({ enabled: false });
    // Snapshots are never kept without a bound: `true` means the default retention.
    expect(two!.snapshot).toEqual({ enabled: true, keepForMs: 7 * 86_400_000 });
    expect(two!.target.mode).toBe('append');
    expect(one!.validate).toBeUndefined();
  });

  it('applies idleTimeout and timeout from defaults, lets a task override them, and keeps them out of the hash', () => {
    const spec = (task: Record<string, unknown>) =>
      parseSpec({
        version: 1,
        connections: { a: { connector: 'files', root: '/a' } },
        defaults: { idleTimeout: '5m', timeout: '2h', snapshot: { keepFor: '30d' } },
        tasks: [
          {
            id: 'one',
            source: { connection: 'a', path: 'x.csv', format: 'csv' },
            target: { connection: 'a', path: 'y.csv', format: 'csv' },
            ...task,
          },
        ],
      });
    const [inherited] = resolveSpec(spec({}), { registry: testRegistry(), env: {} }).tasks;
    expect(inherited).toMatchObject({ idleTimeoutMs: 300_000, timeoutMs: 7_200_000 });
    expect(inherited!.snapshot).toEqual({ enabled: true, keepForMs: 30 * 86_400_000 });
    const [own] = resolveSpec(spec({ idleTimeout: false, timeout: '90s' }), {
      registry: testRegistry(),
      env: {},
    }).tasks;
    expect(own).toMatchObject({ idleTimeoutMs: 0, timeoutMs: 90_000 });
    // Limits on how long an attempt may take do not change what it produces.
    expect(own!.definitionHash).toBe(inherited!.definitionHash);
    const invalid = resolveError(() =>
      resolveSpec(spec({ idleTimeout: 'soon' }), { registry: testRegistry(), env: {} }),
    );
    expect(invalid.message).toContain('tasks[0].idleTimeout');
  });

  it('resolves only the selected tasks, and names unknown ids', () => {
    const loaded = parseSpec(exampleYaml);
    // The warehouse connection is not used by `orders`, so its variable need not be set.
    const resolved = resolveSpec(loaded, { registry: testRegistry(), env: {}, only: ['orders'] });
    expect(resolved.tasks.map((task) => task.id)).toEqual(['orders']);
    expect(Object.keys(resolved.connections).sort()).toEqual(['lake', 'legacy']);
    expect(() => resolveSpec(loaded, { registry: testRegistry(), env, only: ['order'] })).toThrow(
      /Unknown task id\(s\) "order".*orders, customers/,
    );
  });
});

describe('env references', () => {
  it('are not resolved at parse time, so a spec validates without secrets', () => {
    const loaded = parseSpec(exampleYaml, { env: {} });
    expect(loaded.spec.connections.warehouse!.url).toBe(ref('WAREHOUSE_URL'));
  });

  it('are resolved at resolve time, inside strings and anywhere in a task', () => {
    const loaded = parseSpec({
      version: 1,
      connections: { a: { connector: 'files', root: `/data/${ref('TEAM')}/in` } },
      tasks: [
        {
          id: 'x',
          labels: { owner: ref('OWNER') },
          source: { connection: 'a', path: `${ref('DAY')}.csv`, format: 'csv' },
          target: { connection: 'a', path: 'out.csv', format: 'csv' },
        },
      ],
    });
    const [task] = resolveSpec(loaded, {
      registry: testRegistry(),
      env: { TEAM: 'billing', OWNER: 'ops-team', DAY: '2026-11-24' },
    }).tasks;
    expect(task!.source.options.root).toBe('/data/billing/in');
    expect(task!.source.endpoint.path).toBe('2026-11-24.csv');
    expect(task!.labels.owner).toBe('ops-team');
  });

  it('an unset variable is an error naming the variable and every path that uses it', () => {
    const loaded = parseSpec(exampleYaml, { sourceName: 'honk.yaml' });
    const error = resolveError(() => resolveSpec(loaded, { registry: testRegistry(), env: {} }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues).toEqual([
      {
        path: 'connections.warehouse.url',
        message:
          'environment variable WAREHOUSE_URL is not set; set it where the task runs (its value is never printed)',
        line: 6,
        column: 32,
      },
    ]);
  });

  it('never let a resolved value into an error message, a report or the hash', () => {
    const secret = 'Sup3r-Secret-Passw0rd';
    const loaded = parseSpec(
      exampleYaml.replace(
        `url: "${ref('WAREHOUSE_URL')}"`,
        `url: "mysql://migrator:${ref('WAREHOUSE_PASSWORD')}@warehouse/db"`,
      ),
    );
    // The sql test connector wants postgres:// URLs: its error must not echo the value.
    const error = resolveError(() =>
      resolveSpec(loaded, { registry: testRegistry(), env: { WAREHOUSE_PASSWORD: secret } }),
    );
    expect(error.issues.map((issue) => issue.path)).toEqual(['connections.warehouse.url']);
    expect(error.message).not.toContain(secret);
    expect(JSON.stringify(error.toJSON())).not.toContain(secret);
    expect(error.message).toContain('connections.warehouse.url');

    const valid = parseSpec(exampleYaml);
    const resolved = resolveSpec(valid, {
      registry: testRegistry(),
      env: { WAREHOUSE_URL: `postgres://migrator:${secret}@warehouse/db` },
    });
    const customers = resolved.tasks[1]!;
    expect(customers.source.options.url).toContain(secret);
    expect(JSON.stringify(describeConnections(resolved))).not.toContain(secret);
    expect(JSON.stringify(customers.portable)).not.toContain(secret);
    expect(JSON.stringify(customers.portable)).toContain(ref('WAREHOUSE_URL'));
    // Registered as a secret: free text (logs) masks it too.
    expect(redactText(`connecting with ${secret}`)).toBe('connecting with ***');
  });
});

describe('connector options', () => {
  it('are checked by the connector and errors name the spec path', () => {
    const yaml = exampleYaml
      .replace('root: ./data/legacy', 'rooot: ./data/legacy')
      .replace('format: parquet }\n    transform', 'format: parket }\n    transform');
    const error = resolveError(() =>
      resolveSpec(parseSpec(yaml, { sourceName: 'honk.yaml' }), { registry: testRegistry(), env }),
    );
    const byPath = Object.fromEntries(error.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath['connections.legacy.rooot']).toBe('unknown key "rooot"; did you mean "root"?');
    expect(byPath['connections.legacy.root']).toBe('required: expected a string');
    expect(byPath['tasks[0].target.format']).toBe('expected one of "csv", "parquet", "ndjson", got "parket"');
    expect(error.issues.find((issue) => issue.path === 'tasks[0].target.format')!.line).toBe(19);
  });

  it('an unknown connector is CONNECTOR_UNKNOWN with its path and line', () => {
    const yaml = exampleYaml.replace('connector: sql', 'connector: postgress');
    let caught: unknown;
    try {
      resolveSpec(parseSpec(yaml, { sourceName: 'honk.yaml' }), { registry: testRegistry(), env });
    } catch (error) {
      caught = error;
    }
    expect(isHonkError(caught)).toBe(true);
    expect(caught).toMatchObject({ code: 'CONNECTOR_UNKNOWN', details: { path: 'connections.warehouse.connector' } });
    expect((caught as Error).message).toMatch(
      /^connections\.warehouse\.connector \(honk\.yaml:6:16\): Unknown connector "postgress"\. Known connectors: files, sql/,
    );
  });
});

describe('definitionHash', () => {
  const hashes = (yaml: string, environment: Record<string, string> = env) =>
    resolveSpec(parseSpec(yaml), { registry: testRegistry(), env: environment }).tasks.map(
      (task) => task.definitionHash,
    );

  it('does not depend on key order, explicit defaults or scheduling fields', () => {
    const base = hashes(exampleYaml);
    const reordered = exampleYaml
      .replace(
        'source: { connection: legacy, path: orders.csv, format: csv }',
        'source: { format: csv, path: orders.csv, connection: legacy }',
      )
      .replace(
        'legacy:    { connector: files, root: ./data/legacy }',
        'legacy:    { root: ./data/legacy, connector: files }',
      );
    expect(hashes(reordered)).toEqual(base);
    const rescheduled = exampleYaml
      .replace('priority: 10', 'priority: 99')
      .replace('start: "00:00"', 'start: "01:00"')
      .replace('maxConcurrency: 2', 'maxConcurrency: 7')
      .replace('attempts: 5', 'attempts: 2')
      .replace('labels: { team: billing }', 'labels: { team: sales }');
    expect(hashes(rescheduled)).toEqual(base);
    // `mode: replace` is the default: writing it or not is the same definition.
    expect(hashes(exampleYaml.replace(', mode: replace', ''))[1]).toBe(base[1]);
  });

  it('changes when what the task produces changes', () => {
    const base = hashes(exampleYaml);
    const changes = [
      exampleYaml.replace('path: orders.parquet', 'path: orders-v2.parquet'),
      exampleYaml.replace('root: ./data/legacy', 'root: ./data/old'),
      exampleYaml.replace('amount: amount_cents', 'amount: cents'),
      exampleYaml.replace('sample: 100', 'sample: 10'),
      exampleYaml.replace('keepFor: 7d', 'keepFor: 8d'),
    ];
    for (const changed of changes) expect(hashes(changed)[0]).not.toBe(base[0]);
    expect(hashes(exampleYaml.replace('table: public.customers', 'table: public.clients'))[1]).not.toBe(base[1]);
  });

  it('is computed with env references unresolved: a rotated secret re-runs nothing', () => {
    const before = hashes(exampleYaml, { WAREHOUSE_URL: 'postgres://u:old-password@h/db' });
    const after = hashes(exampleYaml, { WAREHOUSE_URL: 'postgres://u:new-password@h/db' });
    expect(after).toEqual(before);
  });
});

describe('portable task records', () => {
  it('resolve back to the same task with the agent’s environment', () => {
    const resolved = resolveSpec(parseSpec(exampleYaml, { baseDir: '/srv' }), { registry: testRegistry(), env });
    for (const task of resolved.tasks) {
      const stored = JSON.parse(JSON.stringify(task.portable));
      const again = resolveTaskRecord(stored, { registry: testRegistry(), env, baseDir: '/srv' });
      expect(again).toEqual(task);
    }
  });
});

describe('custom connector modules', () => {
  let directory: string;
  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'honk-connectors-'));
    // Let modules in the temp directory import zod, as they would from a user's project.
    const zodDirectory = resolve(dirname(fileURLToPath(import.meta.url)), '../../node_modules/zod');
    await mkdir(join(directory, 'node_modules'));
    await symlink(zodDirectory, join(directory, 'node_modules', 'zod'), 'dir');
    await writeFile(
      join(directory, 'ftp-connector.ts'),
      `import { z } from 'zod';
interface FtpOptions { host: string }
const options: z.ZodType<FtpOptions> = z.strictObject({ host: z.string() });
const connector = {
  specificationVersion: 'v1' as const,
  name: 'ftp',
  optionsSchema: options,
  endpointSchema: z.strictObject({ path: z.string() }),
};
export default connector;
export const ftpsConnector = { ...connector, name: 'ftps' };
export const notAConnector = 42;
`,
    );
    await writeFile(join(directory, 'empty.mjs'), 'export const nothing = 1;\n');
    // The same connector in an ES module package: a different module shape after loading.
    await mkdir(join(directory, 'esm'));
    await writeFile(join(directory, 'esm', 'package.json'), '{ "type": "module" }\n');
    await writeFile(
      join(directory, 'esm', 'sftp.ts'),
      `import { z } from 'zod';
export default { specificationVersion: 'v1', name: 'sftp', optionsSchema: z.strictObject({}), endpointSchema: z.strictObject({}) };
`,
    );
  });
  afterAll(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  const specWith = (connectors: string[]) =>
    parseSpec(
      {
        version: 1,
        connectors,
        connections: {
          remote: { connector: 'ftp', host: 'ftp.example.org' },
          lake: { connector: 'files', root: '/lake' },
        },
        tasks: [
          {
            id: 'x',
            source: { connection: 'remote', path: 'a.csv' },
            target: { connection: 'lake', path: 'a.csv', format: 'csv' },
          },
        ],
      },
      { sourceName: 'honk.yaml', baseDir: directory },
    );

  it('loads default and named connector exports from a TypeScript module and resolves with them', async () => {
    const loaded = specWith(['./ftp-connector.ts']);
    const connectors = await loadConnectorModules(loaded);
    expect(connectors.map((connector) => connector.name)).toEqual(['ftp', 'ftps']);
    const registry = testRegistry();
    for (const connector of connectors) registry.register(connector);
    const [task] = resolveSpec(loaded, { registry }).tasks;
    expect(task!.source).toEqual({
      connector: 'ftp',
      connection: 'remote',
      options: { host: 'ftp.example.org' },
      endpoint: { path: 'a.csv' },
    });
  });

  it('loads a connector from an ES module package', async () => {
    const connectors = await loadConnectorModules(specWith(['./esm/sftp.ts']));
    expect(connectors.map((connector) => connector.name)).toEqual(['sftp']);
  });

  it('picks one export with #name', async () => {
    const connectors = await loadConnectorModules(specWith(['./ftp-connector.ts#ftpsConnector']));
    expect(connectors.map((connector) => connector.name)).toEqual(['ftps']);
  });

  it('names the entry when a module is missing or exports no connector', async () => {
    await expect(loadConnectorModules(specWith(['./missing.ts']))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/^connectors\[0\] in honk\.yaml: cannot load connector module "\.\/missing\.ts"/),
    });
    await expect(loadConnectorModules(specWith(['./ftp-connector.ts', './empty.mjs']))).rejects.toMatchObject({
      message: expect.stringMatching(/^connectors\[1\] in honk\.yaml: module "\.\/empty\.mjs" exports no connector/),
    });
    await expect(loadConnectorModules(specWith(['./ftp-connector.ts#notAConnector']))).rejects.toMatchObject({
      message: expect.stringContaining(
        'no connector export named "notAConnector". Connector exports: default, ftpsConnector',
      ),
    });
  });
});

describe('with the file connector', () => {
  it('resolves a `connector: file` spec and maps its option errors to spec paths', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'honk-spec-file-'));
    try {
      const path = join(directory, 'honk.yaml');
      await writeFile(
        path,
        `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: orders
    source: { connection: legacy, path: orders.csv, format: csv, csv: { delimiter: ";" } }
    target: { connection: lake, path: orders.parquet }
`,
      );
      const registry = new ConnectorRegistry([fileConnector]);
      const [task] = resolveSpec(await loadSpec(path), { registry }).tasks;
      expect(task!.source).toMatchObject({
        connector: 'file',
        options: { root: './legacy' },
        endpoint: { path: 'orders.csv', format: 'csv' },
      });
      expect(task!.target.endpoint).toMatchObject({ path: 'orders.parquet' });
      expect(task!.baseDir).toBe(directory);

      const bad = parseSpec(
        `version: 1
connections:
  lake: { connector: file, root: ./lake, region: eu }
tasks:
  - id: orders
    source: { connection: lake, path: orders.csv, format: xlsx }
    target: { connection: lake, path: orders.parquet }
`,
        { sourceName: 'bad.yaml' },
      );
      const error = resolveError(() => resolveSpec(bad, { registry }));
      expect(error.issues.map((issue) => issue.path).sort()).toEqual([
        'connections.lake.region',
        'tasks[0].source.format',
      ]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
