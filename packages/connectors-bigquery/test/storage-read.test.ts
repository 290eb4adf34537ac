/**
 * `readApi: storage` against the emulator's Storage Read API, through the official
 * `@google-cloud/bigquery-storage` client: the same schema and values as the REST path on
 * every type of the mapping table, several streams read at once and as partitions, a stream
 * broken mid-way resumed at its offset, the session as the point in time, columns and row
 * restrictions, and the errors.
 */
import { ConnectorRegistry, runTask } from '@honk/core';
import { createMemoryConnector, fingerprint, MemoryStorage, makeTrickyBatch } from '@honk/core/testing';
import type { Field, RecordBatch, Schema } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BigQuerySource,
  bigQueryConnector,
  createBigQueryReadClient,
  createBigQuerySource,
  createReadSession,
} from '../src/index.ts';
import { type EmulatorHarness, PROJECT, startEmulatorHarness } from './helpers/emulator-setup.ts';

const UNAVAILABLE = 14;
const PERMISSION_DENIED = 7;

let h: EmulatorHarness;
beforeAll(async () => {
  // Small responses, so streams have many of them to break between.
  h = await startEmulatorHarness(['st'], { retries: 3 }, { storageBatchRows: 256 });
});
afterAll(async () => h?.emulator.stop());

const signal = () => new AbortController().signal;

/** The types table of bigquery-types.test.ts, plus parameterised decimals the API sends at its own scale. */
const fields = [
  { name: 'i', type: 'INT64' },
  { name: 'n', type: 'NUMERIC' },
  { name: 'bn', type: 'BIGNUMERIC' },
  { name: 'np', type: 'NUMERIC', precision: '10', scale: '2' },
  { name: 'bnp', type: 'BIGNUMERIC', precision: '40', scale: '5' },
  { name: 'f', type: 'FLOAT64' },
  { name: 'b', type: 'BOOL' },
  { name: 's', type: 'STRING' },
  { name: 'by', type: 'BYTES' },
  { name: 'd', type: 'DATE' },
  { name: 'dt', type: 'DATETIME' },
  { name: 't', type: 'TIME' },
  { name: 'ts', type: 'TIMESTAMP' },
  { name: 'j', type: 'JSON' },
  { name: 'g', type: 'GEOGRAPHY' },
  { name: 'a', type: 'STRING', mode: 'REPEATED' },
  {
    name: 'r',
    type: 'RECORD',
    fields: [
      { name: 'x', type: 'INT64' },
      { name: 'y', type: 'STRING' },
    ],
  },
  { name: 'rg', type: 'RANGE', rangeElementType: { type: 'DATE' } },
  { name: 'req', type: 'INT64', mode: 'REQUIRED' },
];

const rows = [
  {
    i: '-9223372036854775808',
    n: '-99999999999999999999999999999.999999999',
    bn: '12345678901234567890123456789012345678.12345678901234567890123456789012345678',
    np: '-12345678.91',
    bnp: '12345678901234567890123456789012345.12345',
    f: -0.5,
    b: true,
    s: 'Grüße 🦆',
    by: Buffer.from([0, 255, 10]).toString('base64'),
    d: '0001-01-01',
    dt: '9999-12-31T23:59:59.999999',
    t: '23:59:59.000001',
    ts: '2024-02-29 12:00:00.123456 UTC',
    j: '{"k":[1,2]}',
    g: 'POINT(1 2)',
    a: ['x', ''],
    r: { x: '42', y: null },
    rg: '[2024-01-01, UNBOUNDED)',
    req: 1,
  },
  { i: '9007199254740993', np: '0.01', a: [], req: 2, rg: '[UNBOUNDED, 2024-12-31)', r: null },
  { f: 'NaN', dt: '0001-01-01T00:00:00', ts: '1969-12-31 23:59:59.999999 UTC', t: '00:00:00', req: 3 },
];

async function readAll(source: BigQuerySource, batchRows = 1000): Promise<{ schema: Schema; batches: RecordBatch[] }> {
  const schema = await source.schema();
  const batches: RecordBatch[] = [];
  for await (const batch of source.read({ signal: signal(), batchRows })) batches.push(batch);
  return { schema, batches };
}

function storageSource(table: string, extra: Record<string, unknown> = {}, readStreams = 4): BigQuerySource {
  return createBigQuerySource({
    api: h.api,
    endpoint: { table, readApi: 'storage', ...extra },
    pageRows: 1000,
    readStreams,
    retries: 3,
    readClient: () => createBigQueryReadClient(h.options),
  });
}

const restSource = (table: string, extra: Record<string, unknown> = {}) =>
  createBigQuerySource({ api: h.api, endpoint: { table, ...extra }, pageRows: 100 });

const describeSchema = (schema: Schema) =>
  schema.fields.map((field) => ({
    name: field.name,
    type: String(field.type),
    nullable: field.nullable,
    metadata: Object.fromEntries(field.metadata),
    children: (field.type.children ?? []).map(
      (child: Field) => `${child.name}:${String(child.type)}:${child.nullable}`,
    ),
  }));

/** Loads makeTrickyBatch rows into `table` through the connector's sink (a REST load job). */
async function loadTricky(table: string, count: number): Promise<void> {
  const storage = new MemoryStorage();
  const batch = makeTrickyBatch(0, count, { lists: false });
  storage.set('in', batch.schema, [batch]);
  const report = await runTask({
    task: {
      id: `load-${table}`,
      source: { connector: 'memory', connection: 'memory', options: {}, endpoint: { name: 'in' } },
      target: { connector: 'bigquery', connection: 'bq', options: h.options, endpoint: { table } },
    },
    connectors: new ConnectorRegistry([bigQueryConnector, createMemoryConnector({ default: storage })]),
  });
  expect(report.ok, report.error?.message).toBe(true);
}

describe('readApi: storage', () => {
  it('reads every type of the mapping table into the same schema and values as REST', async () => {
    await h.api.insertTable({ projectId: PROJECT, datasetId: 'st', tableId: 'types' }, { schema: { fields } });
    await h.api.call(
      { operation: 'insertAll' },
      { method: 'POST', uri: '/datasets/st/tables/types/insertAll', json: { rows: rows.map((json) => ({ json })) } },
    );
    const before = h.emulator.storage!.requests.length;
    const rest = await readAll(restSource('st.types'));
    const storage = await readAll(storageSource('st.types'));
    expect(describeSchema(storage.schema)).toEqual(describeSchema(rest.schema));
    expect(describeSchema(storage.schema).find((field) => field.name === 'np')?.type).toBe('Decimal[10e+2]');
    expect(await fingerprint(storage.schema, storage.batches)).toEqual(await fingerprint(rest.schema, rest.batches));
    const values = (batches: RecordBatch[]) => batches.flatMap((batch) => batch.toArray().map((row) => String(row)));
    expect(values(storage.batches)).toEqual(values(rest.batches));
    // It went over gRPC: a session and its ReadRows.
    const calls = h.emulator.storage!.requests.slice(before);
    expect(calls.map((request) => request.method)).toContain('ReadRows');
    // Billed to the connection's project.
    expect(calls.filter((request) => request.method === 'CreateReadSession').map((request) => request.parent)).toEqual([
      `projects/${PROJECT}`,
    ]);
  });

  it('agrees with REST on tricky data loaded over REST, read as several streams at once', async () => {
    await loadTricky('st.tricky', 5_000);
    const rest = await readAll(restSource('st.tricky'));
    const source = storageSource('st.tricky', {}, 4);
    const storage = await readAll(source, 700);
    expect(storage.batches.every((batch) => batch.numRows <= 700)).toBe(true);
    expect(storage.batches.reduce((sum, batch) => sum + batch.numRows, 0)).toBe(5_000);
    expect(await fingerprint(storage.schema, storage.batches)).toEqual(await fingerprint(rest.schema, rest.batches));

    // The session's streams are the partitions; each read alone, they add up to the table.
    const partitions = await source.partitions();
    expect(partitions).toHaveLength(4);
    const parts: RecordBatch[] = [];
    for (const partition of partitions) {
      for await (const batch of source.readPartition(partition, { signal: signal(), batchRows: 1000 }))
        parts.push(batch);
    }
    expect(await fingerprint(storage.schema, parts)).toEqual(await fingerprint(rest.schema, rest.batches));
    await source.close?.();
  });

  it('resumes a stream broken mid-way at the offset already received: no row lost or read twice', async () => {
    await loadTricky('st.broken', 3_000);
    const expected = await fingerprint(
      (await readAll(restSource('st.broken'))).schema,
      (await readAll(restSource('st.broken'))).batches,
    );
    const before = h.emulator.storage!.requests.length;
    h.emulator.storage!.injectFault({ method: 'ReadRows', code: UNAVAILABLE, afterRows: 1_024, times: 2 });
    const storage = await readAll(storageSource('st.broken', {}, 1));
    expect(storage.batches.reduce((sum, batch) => sum + batch.numRows, 0)).toBe(3_000);
    expect(await fingerprint(storage.schema, storage.batches)).toEqual(expected);
    const reads = h.emulator.storage!.requests.slice(before).filter((request) => request.method === 'ReadRows');
    expect(reads.map((request) => [request.offset, request.code])).toEqual([
      [0, UNAVAILABLE],
      [1_024, UNAVAILABLE],
      [2_048, 0],
    ]);
  });

  it('a stream that keeps failing fails the read as transient; a refused one is not retried', async () => {
    await loadTricky('st.failing', 600);
    let before = h.emulator.storage!.requests.length;
    h.emulator.storage!.injectFault({ method: 'ReadRows', code: UNAVAILABLE, times: 3 });
    await expect(readAll(storageSource('st.failing', {}, 1))).rejects.toMatchObject({
      code: 'TRANSIENT',
      retryable: true,
      message: expect.stringMatching(/Storage Read API ReadRows on st\.failing failed transiently/),
    });
    // Three tries (the connection's `retries`), each Honk's own: the client library retries nothing itself.
    expect(h.emulator.storage!.requests.slice(before).filter((request) => request.method === 'ReadRows')).toHaveLength(
      3,
    );
    before = h.emulator.storage!.requests.length;
    h.emulator.storage!.injectFault({
      method: 'ReadRows',
      code: PERMISSION_DENIED,
      message: 'no bigquery.readsessions.getData',
    });
    await expect(readAll(storageSource('st.failing', {}, 1))).rejects.toMatchObject({
      code: 'AUTH_FAILED',
      retryable: false,
    });
    expect(h.emulator.storage!.requests.slice(before).filter((request) => request.method === 'ReadRows')).toHaveLength(
      1,
    );
  });

  it('the read session is the point in time: rows appended after it are not read; snapshotTime reads the past', async () => {
    await loadTricky('st.moving', 500);
    const source = storageSource('st.moving');
    expect(await source.count!()).toBe(500);
    const instant = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    await h.api.call(
      { operation: 'insertAll' },
      {
        method: 'POST',
        uri: '/datasets/st/tables/moving/insertAll',
        json: { rows: [{ json: { id: 100_000 } }, { json: { id: 100_001 } }] },
      },
    );
    // Pinned before the append: the session reads 500 rows, every time.
    for (let k = 0; k < 2; k++) {
      const { batches } = await readAll(source);
      expect(batches.reduce((sum, batch) => sum + batch.numRows, 0)).toBe(500);
    }
    // REST pinned the same way notices the change instead.
    const rest = restSource('st.moving');
    expect((await readAll(rest)).batches.reduce((sum, batch) => sum + batch.numRows, 0)).toBe(502);
    const past = storageSource('st.moving', { snapshotTime: instant });
    expect(await past.count!()).toBe(500);
    const pastRows = await readAll(past);
    expect(pastRows.batches.reduce((sum, batch) => sum + batch.numRows, 0)).toBe(500);
    const restPast = await readAll(restSource('st.moving', { snapshotTime: instant }));
    expect(await fingerprint(pastRows.schema, pastRows.batches)).toEqual(
      await fingerprint(restPast.schema, restPast.batches),
    );
  });

  it('columns in the order asked for, a row restriction, and count() of what is read', async () => {
    await loadTricky('st.narrow', 400);
    const restricted = storageSource('st.narrow', { columns: ['label', 'id'], rowRestriction: 'id >= 300' });
    const { schema, batches } = await readAll(restricted);
    expect(schema.fields.map((field) => field.name)).toEqual(['label', 'id']);
    expect(batches.reduce((sum, batch) => sum + batch.numRows, 0)).toBe(100);
    expect(await restricted.count!()).toBe(100);
    const ids = batches.flatMap((batch) => [...batch.getChild('id')!].map(Number));
    expect(Math.min(...ids)).toBe(300);
    // The same columns over REST (tabledata.list selectedFields) give the same values.
    const rest = await readAll(restSource('st.narrow', { columns: ['label', 'id'] }));
    const whole = await readAll(storageSource('st.narrow', { columns: ['label', 'id'] }));
    expect(rest.schema.fields.map((field) => field.name)).toEqual(['label', 'id']);
    expect(await fingerprint(whole.schema, whole.batches)).toEqual(await fingerprint(rest.schema, rest.batches));
    await expect(storageSource('st.narrow', { columns: ['nope'] }).schema()).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/has no column "nope"/),
    });
  });

  it('a missing table is a NotFoundError, from tables.get and from CreateReadSession alike', async () => {
    await expect(storageSource('st.absent').schema()).rejects.toMatchObject({ code: 'NOT_FOUND', retryable: false });
    const client = await createBigQueryReadClient(h.options);
    try {
      await expect(
        createReadSession(
          { client, connection: 'bq', table: { projectId: PROJECT, datasetId: 'st', tableId: 'absent' }, retries: 3 },
          { maxStreams: 1 },
        ),
      ).rejects.toMatchObject({
        code: 'NOT_FOUND',
        message: expect.stringMatching(/Storage Read API CreateReadSession on st\.absent failed: not found/),
      });
    } finally {
      await client.close();
    }
  });

  it('with an emulator apiEndpoint and no storageApiEndpoint, it refuses instead of reaching Google', async () => {
    const { storageApiEndpoint: _, ...rest } = h.options;
    await expect(createBigQueryReadClient(rest)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/needs `storageApiEndpoint` too/),
    });
  });

  it('an empty table has no streams and reads as nothing, with its schema', async () => {
    await h.api.insertTable(
      { projectId: PROJECT, datasetId: 'st', tableId: 'empty' },
      { schema: { fields: [{ name: 'id', type: 'INT64' }] } },
    );
    const source = storageSource('st.empty');
    const { schema, batches } = await readAll(source);
    expect(schema.fields.map((field) => field.name)).toEqual(['id']);
    expect(batches).toEqual([]);
    expect(await source.partitions()).toEqual([]);
  });
});
