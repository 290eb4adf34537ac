/**
 * The raw byte fast path PG→PG through runTask: taken when no transform applies and the
 * staging table has exactly the source's column types, moves the data identically, still
 * validates (a byte corrupted on the way is caught and nothing is published), and is not
 * taken when a transform applies or the caller asks for the Arrow path.
 */
import {
  type Connector,
  ConnectorRegistry,
  INLINE_VALIDATION_ROWS,
  runTask,
  type SinkWriter,
  type TaskDefinition,
  WorkerPool,
} from '@honk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresConnector } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql(`CREATE TYPE mood AS ENUM ('happy', 'sad')`);
  await db.sql(`CREATE TABLE raw_src (id int8 PRIMARY KEY, name text, amount float8, created_at timestamp, active bool,
                  price numeric(12,2), doc jsonb, ref uuid, tags int4[], at timestamptz, code varchar(8), payload bytea)`);
  await db.sql(`INSERT INTO raw_src SELECT g, CASE WHEN g % 9 = 0 THEN NULL ELSE 'name-' || g || repeat('x', g % 70) END,
                  g * 0.5, timestamp '2020-01-01' + g * interval '1 minute', g % 3 = 0, g * 1.25, jsonb_build_object('g', g),
                  md5(g::text)::uuid, ARRAY[g, NULL, -g]::int4[], timestamptz '2021-06-01 00:00:00+00' + g * interval '1 second',
                  'c' || (g % 1000), decode(md5(g::text), 'hex')
                FROM generate_series(1, 25000) AS g`);
  // Above the rows validation hashes inline, so worker threads decode and hash (analysed: the estimate is known).
  await db.sql(`CREATE TABLE big_src AS SELECT * FROM raw_src, generate_series(1, 7) AS copy`);
  await db.sql('ANALYZE big_src');
  await db.sql(`CREATE TABLE enum_src (id int4, feeling mood)`);
  await db.sql(`INSERT INTO enum_src VALUES (1, 'happy'), (2, 'sad'), (3, NULL)`);
});
afterAll(async () => db.drop());

function task(id: string, source: string, target: string, extra: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    id,
    source: { connector: 'postgres', connection: 'src', options: { url: db.url }, endpoint: { table: source } },
    target: { connector: 'postgres', connection: 'dst', options: { url: db.url }, endpoint: { table: target } },
    validate: { rowCount: true, checksum: true, sample: 20, schema: true },
    batchRows: 4096,
    ...extra,
  } as TaskDefinition;
}

async function rowsText(table: string): Promise<string[]> {
  return (await db.sql<{ r: string }>(`SELECT t::text AS r FROM ${table} t ORDER BY 1`)).map((row) => row.r);
}

/** The postgres connector with a writer that flips one byte of the raw stream: a fault on the wire. */
function corruptingConnector(): Connector {
  return {
    ...postgresConnector,
    async createSink(args) {
      const sink = await postgresConnector.createSink!(args);
      return {
        describe: () => sink.describe(),
        check: (schema, options) => sink.check!(schema, options),
        open: async (schema, options) => {
          const writer = await sink.open(schema, options);
          let corrupted = false;
          const faulty: SinkWriter = {
            write: (batch) => writer.write(batch),
            stage: () => writer.stage(),
            publish: () => writer.publish(),
            abort: (reason) => writer.abort(reason),
            rawFormat: () => writer.rawFormat!(),
            writeRaw: (bytes) => {
              const copy = Buffer.from(bytes);
              // The first "name-" text value: turn its 'n' into 'N' (lengths stay valid, COPY succeeds).
              const at = copy.indexOf('name-');
              if (!corrupted && at >= 0) {
                copy[at] = 0x4e;
                corrupted = true;
              }
              return writer.writeRaw!(copy);
            },
          };
          return faulty;
        },
      };
    },
  };
}

describe('raw byte fast path', () => {
  const registry = new ConnectorRegistry([postgresConnector]);

  it('is taken PG→PG without transforms, moves the data identically and still validates', async () => {
    const report = await runTask({ task: task('raw-copy', 'raw_src', 'raw_dst'), connectors: registry });
    expect(report.error).toBeUndefined();
    expect(report.ok).toBe(true);
    expect(report.path).toBe('raw');
    expect(report.stats.rows).toBe(25_000);
    expect(Object.fromEntries(report.validation!.checks.map((check) => [check.name, check.ok]))).toEqual({
      'row-count': true,
      checksum: true,
      sample: true,
      schema: true,
    });
    expect(await rowsText('raw_dst')).toEqual(await rowsText('raw_src'));
  });

  it('also appends raw into an existing table of the same types, once', async () => {
    await db.sql('CREATE TABLE raw_append (LIKE raw_src)');
    const definition = task('raw-append', 'raw_src', 'raw_append', {
      target: { ...task('x', 'raw_src', 'raw_append').target, mode: 'append' },
    });
    for (let k = 0; k < 2; k++) {
      const report = await runTask({ task: definition, connectors: registry });
      expect(report.ok).toBe(true);
      expect(report.path).toBe('raw');
    }
    expect(await rowsText('raw_append')).toEqual(await rowsText('raw_src'));
  });

  it('a byte corrupted on the way is caught by validation and nothing is published', async () => {
    const report = await runTask({
      task: task('raw-corrupt', 'raw_src', 'raw_corrupt'),
      connectors: new ConnectorRegistry([corruptingConnector()]),
    });
    expect(report.path).toBe('raw');
    expect(report.ok).toBe(false);
    expect(report.error?.code).toBe('VALIDATION_FAILED');
    expect(report.validation?.checks.find((check) => check.name === 'checksum')?.ok).toBe(false);
    expect(await db.sql(`SELECT to_regclass('raw_corrupt') AS t`)).toEqual([{ t: null }]);
    const staging = await db.sql(`SELECT tablename FROM pg_tables WHERE tablename LIKE '_honk_stage_%'`);
    expect(staging).toEqual([]);
  });

  it('is not taken when a transform applies, when the caller asks for Arrow, or when types differ', async () => {
    const renamed = await runTask({
      task: task('raw-rename', 'raw_src', 'raw_renamed', { transform: { rename: { name: 'label' } } }),
      connectors: registry,
    });
    expect(renamed.ok).toBe(true);
    expect(renamed.path).toBe('arrow');
    const arrow = await runTask({
      task: task('raw-arrow', 'raw_src', 'raw_arrow'),
      connectors: registry,
      transferPath: 'arrow',
    });
    expect(arrow.ok).toBe(true);
    expect(arrow.path).toBe('arrow');
    expect(await rowsText('raw_arrow')).toEqual(await rowsText('raw_src'));
    // An enum column is staged as text: a different type, so its bytes go through Arrow.
    const enums = await runTask({ task: task('raw-enum', 'enum_src', 'enum_dst'), connectors: registry });
    expect(enums.ok).toBe(true);
    expect(enums.path).toBe('arrow');
    expect(await rowsText('enum_dst')).toEqual(await rowsText('enum_src'));
  });
});

describe('raw path with validation decoded on worker threads', () => {
  const registry = new ConnectorRegistry([postgresConnector]);
  const pool = new WorkerPool({ size: 2 });
  afterAll(() => pool.close());

  it('hashes the forwarded tuples as encoded rows off the main thread, agreeing with inline validation', async () => {
    expect(25_000 * 7).toBeGreaterThan(INLINE_VALIDATION_ROWS);
    const before = pool.openedSessions()['raw-validation'] ?? 0;
    const report = await runTask({
      task: task('raw-workers', 'big_src', 'big_dst'),
      connectors: registry,
      workers: pool,
    });
    expect(report.error).toBeUndefined();
    expect(report.path).toBe('raw');
    // Both sides went to worker threads as raw bytes (the source's and the staged table's), cut
    // at row boundaries and spread over every thread of the pool.
    expect((pool.openedSessions()['raw-validation'] ?? 0) - before).toBe(2 * pool.size);
    const inline = await runTask({
      task: task('raw-inline', 'big_src', 'big_inline'),
      connectors: registry,
      workers: false,
    });
    expect(inline.ok).toBe(true);
    // The same checks pass over the same rows; the checksum and sample were taken over the
    // encoded rows (byte equality) instead of decoded values, and say so.
    const checks = (validation: typeof report.validation) =>
      Object.fromEntries((validation?.checks ?? []).map((check) => [check.name, check]));
    const workers = checks(report.validation);
    const values = checks(inline.validation);
    expect(Object.keys(workers)).toEqual(['schema', 'row-count', 'checksum', 'sample']);
    expect(Object.values(workers).every((check) => check.ok)).toBe(true);
    expect(workers.schema).toEqual(values.schema);
    expect(workers['row-count']).toEqual(values['row-count']);
    expect(workers.checksum?.actual).toMatchObject({ encoding: 'postgres-binary-copy', rows: 175_000 });
    expect(values.checksum?.actual).toMatchObject({ rows: 175_000 });
    expect(values.checksum?.actual).not.toHaveProperty('encoding');
    expect(await rowsText('big_dst')).toEqual(await rowsText('big_src'));
  });

  it('still catches a byte corrupted on the way, names the row and its column, and publishes nothing', async () => {
    const report = await runTask({
      task: task('raw-workers-corrupt', 'big_src', 'big_corrupt', {
        // Every row sampled, by a unique key: the changed row must be among them.
        validate: { rowCount: true, checksum: true, sample: 200_000, schema: true, key: ['id', 'copy'] },
      }),
      connectors: new ConnectorRegistry([corruptingConnector()]),
      workers: pool,
    });
    expect(report.path).toBe('raw');
    expect(report.error?.code).toBe('VALIDATION_FAILED');
    expect(report.validation?.checks.find((check) => check.name === 'checksum')?.ok).toBe(false);
    const sample = report.validation?.checks.find((check) => check.name === 'sample');
    expect(sample?.ok).toBe(false);
    // The key values of the changed row are decoded for the message; the column is named.
    expect(sample?.message).toMatch(/row with key \{"id":"?\d+"?,"copy":"?\d+"?\} differs in column\(s\) name/);
    expect(await db.sql(`SELECT to_regclass('big_corrupt') AS t`)).toEqual([{ t: null }]);
  });
});

describe('a staging table read back in parts', () => {
  it('splits into block ranges that together hold every staged row exactly once', async () => {
    const signal = new AbortController().signal;
    const logger = { debug() {}, info() {}, warn() {}, error() {} };
    const context = { taskId: 'parts', connectionName: 'dst', signal, logger };
    const source = await postgresConnector.createSource!({
      options: { url: db.url },
      endpoint: { table: 'big_src' },
      context,
    } as never);
    const sink = await postgresConnector.createSink!({
      options: { url: db.url },
      endpoint: { table: 'big_parts' },
      context,
    } as never);
    const writer = await sink.open(await source.schema(), { signal, mode: 'replace' });
    for await (const batch of source.read({ signal, batchRows: 16_384 })) await writer.write(batch);
    const staged = await writer.stage();
    const parts = await staged.readers!(3);
    expect(parts).toHaveLength(3);
    const seen: string[] = [];
    for (const part of parts) {
      for await (const batch of part.read({ signal, batchRows: 65_536 })) {
        const ids = batch.getChild('id')!.toArray() as BigInt64Array;
        const copies = batch.getChild('copy')!.toArray() as Int32Array;
        for (let row = 0; row < batch.numRows; row++) seen.push(`${ids[row]}:${copies[row]}`);
      }
      await part.close?.();
    }
    expect(seen.length).toBe(175_000);
    expect(new Set(seen).size).toBe(175_000);
    await writer.abort();
    await source.close?.();
    await sink.close?.();
  });
});
