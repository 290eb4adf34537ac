/**
 * Parsing valid specs: YAML and JSON files, objects, `defineSpec`/`defineTask`, positions in
 * messages, and the generated JSON Schema.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defineSpec, defineTask } from '../../src/spec/define-spec.ts';
import { specJsonSchema } from '../../src/spec/json-schema.ts';
import { loadSpec, parseSpec } from '../../src/spec/load-spec.ts';
import { resolveSpec } from '../../src/spec/resolve-spec.ts';
import { SpecError } from '../../src/spec/spec-error.ts';
import { exampleYaml, testRegistry } from './spec-fixtures.ts';

const ref = (name: string): string => '$' + '{env:' + name + '}';

let directory: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'honk-spec-'));
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

function catchError(run: () => unknown): SpecError {
  try {
    run();
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error('expected a SpecError');
}

describe('parseSpec', () => {
  it('accepts the DESIGN example and keeps it exactly as written', () => {
    const loaded = parseSpec(exampleYaml, { sourceName: 'honk.yaml', baseDir: '/srv/migrations' });
    expect(loaded.spec.version).toBe(1);
    expect(Object.keys(loaded.spec.connections)).toEqual(['legacy', 'lake', 'warehouse']);
    expect(loaded.spec.connections.warehouse).toEqual({
      connector: 'sql',
      url: ref('WAREHOUSE_URL'),
      maxConcurrency: 2,
    });
    expect(loaded.spec.tasks.map((task) => task.id)).toEqual(['orders', 'customers']);
    expect(loaded.spec.tasks[0]!.window).toEqual({ start: '00:00', end: '06:00', timezone: 'Europe/Stockholm' });
    expect(loaded.spec.defaults?.snapshot).toEqual({ keepFor: '7d' });
    expect(loaded.baseDir).toBe('/srv/migrations');
    // No defaults are applied at parse time: priority stays absent on the second task.
    expect(loaded.spec.tasks[1]!.priority).toBeUndefined();
  });

  it('lists the environment variables a spec needs, with their paths, without resolving them', () => {
    const loaded = parseSpec(exampleYaml);
    expect(loaded.envReferences).toEqual([{ name: 'WAREHOUSE_URL', path: 'connections.warehouse.url' }]);
  });

  it('round trips through YAML, JSON and plain objects to the same spec', () => {
    const fromYaml = parseSpec(exampleYaml).spec;
    const fromJson = parseSpec(JSON.stringify(fromYaml, null, 2), { sourceName: 'honk.json' }).spec;
    const fromObject = parseSpec(structuredClone(fromYaml)).spec;
    const fromYamlAgain = parseSpec(stringify(fromYaml)).spec;
    expect(fromJson).toEqual(fromYaml);
    expect(fromObject).toEqual(fromYaml);
    expect(fromYamlAgain).toEqual(fromYaml);
  });

  it('reports the line and column of a bad value in YAML', () => {
    const yaml = exampleYaml.replace('priority: 10', 'priority: high');
    const error = catchError(() => parseSpec(yaml, { sourceName: 'honk.yaml' }));
    expect(error.issues).toEqual([
      { path: 'tasks[0].priority', message: 'expected an integer, got "high"', line: 14, column: 5 },
    ]);
    expect(error.message).toBe(
      'Spec honk.yaml is invalid (1 problem):\n  - tasks[0].priority: expected an integer, got "high" (line 14, column 5)',
    );
  });

  it('reads unquoted times and date-times as text (YAML 1.2)', () => {
    const loaded = parseSpec(
      `version: 1
connections: { a: { connector: files } }
tasks:
  - id: x
    notBefore: 2026-11-25T00:00:00Z
    window: { start: 00:00, end: 06:30 }
    source: { connection: a }
    target: { connection: a }
`,
    );
    expect(loaded.spec.tasks[0]!.notBefore).toBe('2026-11-25T00:00:00Z');
    expect(loaded.spec.tasks[0]!.window).toEqual({ start: '00:00', end: '06:30' });
  });

  it('reports the line and column of a JSON syntax error', () => {
    const error = catchError(() => parseSpec('{\n  "version": 1,\n  "tasks": [\n}\n', { sourceName: 'honk.json' }));
    expect(error.issues[0]!.path).toBe('');
    expect(error.issues[0]!.message).toMatch(/^JSON syntax error/);
    expect(error.issues[0]!.line).toBe(4);
  });

  it('positions issues in JSON files too', () => {
    const json = JSON.stringify({ version: 1, connections: {}, tasks: [{ id: 'x', sourc: {} }] }, null, 2);
    const error = catchError(() => parseSpec(json, { sourceName: 'honk.json' }));
    const typo = error.issues.find((issue) => issue.path === 'tasks[0].sourc')!;
    expect(typo.message).toBe('unknown key "sourc"; did you mean "source"?');
    expect(json.split('\n')[typo.line! - 1]).toContain('"sourc"');
  });

  it('accepts $schema for editors, an escaped literal env reference and 24:00 as a window end', () => {
    const loaded = parseSpec({
      $schema: './honk.schema.json',
      version: 1,
      connections: { a: { connector: 'files', root: '/a' } },
      tasks: [
        {
          id: 'x',
          window: { start: '22:00', end: '24:00' },
          source: { connection: 'a', path: 'x.csv', format: 'csv' },
          target: { connection: 'a', path: `$${ref('LITERAL')}`, format: 'csv' },
        },
      ],
    });
    expect(loaded.envReferences).toEqual([]);
    const resolved = resolveSpec(loaded, { registry: testRegistry(), env: {} });
    expect(resolved.tasks[0]!.target.endpoint.path).toBe(ref('LITERAL'));
  });
});

describe('loadSpec', () => {
  it('loads .yaml and .json files with the same result and resolves paths beside the file', async () => {
    const yamlPath = join(directory, 'honk.yaml');
    const jsonPath = join(directory, 'honk.json');
    await writeFile(yamlPath, exampleYaml);
    await writeFile(jsonPath, JSON.stringify(parseSpec(exampleYaml).spec));
    const fromYaml = await loadSpec(yamlPath);
    const fromJson = await loadSpec(jsonPath);
    expect(fromJson.spec).toEqual(fromYaml.spec);
    expect(fromYaml.baseDir).toBe(directory);
    expect(fromYaml.sourceName).toBe(yamlPath);
  });

  it('keeps the env it was given for resolution', async () => {
    const path = join(directory, 'env.yml');
    await writeFile(path, exampleYaml);
    const loaded = await loadSpec(path, { env: { WAREHOUSE_URL: 'postgres://warehouse/db' } });
    const resolved = resolveSpec(loaded, { registry: testRegistry() });
    expect(resolved.connections.warehouse!.options.url).toBe('postgres://warehouse/db');
  });

  it('names a missing file and a wrong extension', async () => {
    await expect(loadSpec(join(directory, 'missing.yaml'))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('does not exist'),
    });
    await expect(loadSpec(join(directory, 'honk.toml'))).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('.yaml, .yml or .json'),
    });
  });

  it('throws a SpecError with the file name for an invalid file', async () => {
    const path = join(directory, 'bad.yaml');
    await writeFile(path, exampleYaml.replace('mode: replace', 'mode: upsert'));
    const error = await loadSpec(path).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SpecError);
    expect((error as SpecError).sourceName).toBe(path);
    expect((error as SpecError).issues.map((issue) => issue.path)).toEqual(['tasks[1].target.mode']);
  });
});

describe('defineSpec and defineTask', () => {
  const orders = defineTask({
    id: 'orders',
    entity: 'resource:default/orders',
    priority: 10,
    notBefore: '2026-11-25T00:00:00Z',
    schedule: { cron: '0 2 * * *', timezone: 'UTC' },
    window: { start: '00:00', end: '06:00', timezone: 'Europe/Stockholm' },
    source: { connection: 'legacy', path: 'orders.csv', format: 'csv' },
    target: { connection: 'lake', path: 'orders.parquet', format: 'parquet' },
    transform: {
      select: ['id', 'customer_id', 'amount', 'created_at'],
      rename: { amount: 'amount_cents' },
      cast: { amount_cents: 'int64', created_at: 'timestamp' },
      module: './transforms/orders.ts#maskEmails',
    },
  });

  const inCode = () =>
    defineSpec({
      version: 1,
      connections: {
        legacy: { connector: 'files', root: './data/legacy' },
        lake: { connector: 'files', root: './data/lake' },
        warehouse: { connector: 'sql', url: ref('WAREHOUSE_URL'), maxConcurrency: 2 },
      },
      defaults: {
        retry: { attempts: 5, backoff: { initialMs: 1000, factor: 2, maxMs: 60000 } },
        validate: { rowCount: true, checksum: true, sample: 100 },
        snapshot: { keepFor: '7d' },
      },
      tasks: [
        orders,
        {
          id: 'customers',
          source: { connection: 'warehouse', table: 'public.customers' },
          target: { connection: 'lake', path: 'customers.parquet', format: 'parquet', mode: 'replace' },
          labels: { team: 'billing' },
        },
      ],
    });

  it('builds the same spec as the YAML file, resolving to the same tasks and hashes', () => {
    const fromYaml = parseSpec(exampleYaml, { baseDir: '/srv' });
    const fromCode = inCode();
    expect(fromCode.spec).toEqual(fromYaml.spec);
    const env = { WAREHOUSE_URL: 'postgres://warehouse/db' };
    const a = resolveSpec(fromYaml, { registry: testRegistry(), env, baseDir: '/srv' });
    const b = resolveSpec(fromCode, { registry: testRegistry(), env, baseDir: '/srv' });
    expect(b.tasks).toEqual(a.tasks);
    expect(b.tasks.map((task) => task.definitionHash)).toEqual(a.tasks.map((task) => task.definitionHash));
  });

  it('validates objects exactly like files, with the same paths', () => {
    const error = catchError(() =>
      defineSpec({
        version: 1,
        connections: { a: { connector: 'files' } },
        tasks: [
          { ...orders, source: { connection: 'a' }, target: { connection: 'a' } },
          { ...orders, source: { connection: 'a' }, target: { connection: 'nowhere' } },
        ],
      }),
    );
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['tasks[1].id', 'tasks[1].target.connection']);
    expect(error.issues.every((issue) => issue.line === undefined)).toBe(true);
    expect(error.message).toContain('defineSpec()');
  });

  it('defineTask reports paths relative to the task', () => {
    const error = catchError(() =>
      defineTask({
        id: 'x',
        // @ts-expect-error: priority must be a number; checked at run time for JavaScript callers.
        priority: 'high',
        source: { connection: 'a' },
        target: { connection: 'b', mode: 'merge' },
      }),
    );
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['priority', 'target.key']);
    expect(error.message).toContain('defineTask("x")');
  });
});

describe('specJsonSchema', () => {
  const schema = specJsonSchema() as Record<string, any>;

  it('is a draft 2020-12 schema with strict objects', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['version', 'connections', 'tasks']));
    const task = schema.properties.tasks.items;
    expect(task.additionalProperties).toBe(false);
    expect(task.required).toEqual(expect.arrayContaining(['id', 'source', 'target']));
    expect(task.properties.window.additionalProperties).toBe(false);
    expect(task.properties.transform.additionalProperties).toBe(false);
    expect(schema.properties.defaults.additionalProperties).toBe(false);
  });

  it('lets connections and endpoints carry connector-specific keys', () => {
    const connection = schema.properties.connections.additionalProperties;
    expect(connection.type).toBe('object');
    expect(connection.required).toEqual(['connector']);
    expect(connection.additionalProperties).not.toBe(false);
    const task = schema.properties.tasks.items;
    expect(task.properties.source.additionalProperties).not.toBe(false);
    expect(task.properties.target.properties.mode.enum).toEqual(['replace', 'append', 'merge']);
  });

  it('describes the main fields', () => {
    const task = schema.properties.tasks.items;
    expect(schema.title).toBe('Honk spec');
    expect(task.properties.id.description).toMatch(/idempotency key/);
    expect(task.properties.priority.description).toMatch(/Higher runs first/);
    expect(task.properties.window.title).toBe('Window');
    expect(task.properties.window.properties.start.pattern).toBeDefined();
  });

  it('accepts the structure of the example and rejects an unknown key', () => {
    const example = parseSpec(exampleYaml).spec;
    expect(structuralErrors(schema, example, '')).toEqual([]);
    const broken = structuredClone(example) as Record<string, any>;
    broken.tasks[0].transform.selct = ['id'];
    broken.tasks[1].priority = 'high';
    expect(structuralErrors(schema, broken, '')).toEqual([
      'tasks[0].transform.selct: not allowed',
      'tasks[1].priority: expected integer',
    ]);
  });
});

/**
 * A small JSON Schema walker (type, properties, additionalProperties, items, anyOf,
 * required, enum, const): enough to show the generated schema describes real specs.
 */
function structuralErrors(schema: Record<string, any>, value: unknown, path: string): string[] {
  if (schema.anyOf) {
    const options = (schema.anyOf as Record<string, any>[]).map((option) => structuralErrors(option, value, path));
    return options.some((errors) => errors.length === 0) ? [] : options.flat();
  }
  const errors: string[] = [];
  const type = schema.type as string | undefined;
  const actual = Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value;
  if (type === 'integer' && !Number.isInteger(value)) return [`${path}: expected integer`];
  if (type && type !== 'integer' && type !== actual) return [`${path}: expected ${type}`];
  if (schema.const !== undefined && schema.const !== value) return [`${path}: expected ${schema.const}`];
  if (schema.enum && !schema.enum.includes(value)) return [`${path}: not in enum`];
  if (actual === 'array' && schema.items) {
    (value as unknown[]).forEach((item, index) => {
      errors.push(...structuralErrors(schema.items, item, `${path}[${index}]`));
    });
  }
  if (actual === 'object') {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in record)) errors.push(`${path}.${key}: required`);
    for (const [key, item] of Object.entries(record)) {
      const at = path ? `${path}.${key}` : key;
      const property = schema.properties?.[key];
      if (property) errors.push(...structuralErrors(property, item, at));
      else if (schema.additionalProperties === false) errors.push(`${at}: not allowed`);
      else if (typeof schema.additionalProperties === 'object') {
        errors.push(...structuralErrors(schema.additionalProperties, item, at));
      }
    }
  }
  return errors;
}
