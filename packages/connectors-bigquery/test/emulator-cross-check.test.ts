/**
 * The emulator against an independent client: googleapis' BigQuery v2 client, generated
 * from the API's public discovery document (a different code base from
 * `@google-cloud/bigquery`, which the connector uses), so the emulator is held to the
 * published REST shapes and not only to what our own client happens to accept. Raw shapes
 * (paths with and without `/bigquery/v2`, error bodies, page sizes) are checked with fetch.
 */
import { bigquery_v2 } from 'googleapis/build/src/apis/bigquery/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BigQueryEmulator, startBigQueryEmulator } from '../src/testing/index.ts';

const PROJECT = 'cross-check';
let emulator: BigQueryEmulator;
let slow: BigQueryEmulator;
let bigquery: bigquery_v2.Bigquery;

/** A client for an emulator: no credentials (none are sent without `auth`), no retries. */
function clientFor(server: BigQueryEmulator): bigquery_v2.Bigquery {
  return new bigquery_v2.Bigquery({ rootUrl: `${server.endpoint}/`, retry: false });
}

beforeAll(async () => {
  emulator = await startBigQueryEmulator({ project: PROJECT });
  slow = await startBigQueryEmulator({ project: PROJECT, datasets: ['waits'], jobLatencyMs: 1_600 });
  bigquery = clientFor(emulator);
});
afterAll(async () => {
  await emulator?.stop();
  await slow?.stop();
});

/** The API error body of a failed googleapis call. */
function apiError(error: unknown): { status: number; body: Record<string, any> } {
  const response = (error as { response?: { status: number; data: Record<string, any> } }).response;
  if (!response) throw error;
  return { status: response.status, body: response.data };
}

async function failure(call: Promise<unknown>): Promise<{ status: number; body: Record<string, any> }> {
  try {
    await call;
  } catch (error) {
    return apiError(error);
  }
  throw new Error('the call succeeded');
}

const schema = {
  fields: [
    { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
    { name: 'name', type: 'STRING' },
    { name: 'amount', type: 'NUMERIC' },
    { name: 'at', type: 'TIMESTAMP' },
    { name: 'tags', type: 'STRING', mode: 'REPEATED' },
  ],
};

describe('googleapis client against the emulator', () => {
  it('creates a dataset and a table, inserts rows, pages tabledata.list and runs a query job', async () => {
    const dataset = await bigquery.datasets.insert({
      projectId: PROJECT,
      requestBody: { datasetReference: { projectId: PROJECT, datasetId: 'shop' } },
    });
    expect(dataset.data).toMatchObject({ kind: 'bigquery#dataset', datasetReference: { datasetId: 'shop' } });
    const table = await bigquery.tables.insert({
      projectId: PROJECT,
      datasetId: 'shop',
      requestBody: { tableReference: { projectId: PROJECT, datasetId: 'shop', tableId: 'orders' }, schema },
    });
    expect(table.data.schema?.fields?.map((field) => field.name)).toEqual(['id', 'name', 'amount', 'at', 'tags']);

    const rows = Array.from({ length: 25 }, (_, id) => ({
      insertId: `row-${id}`,
      json: {
        id,
        name: id % 5 === 0 ? null : `name ${id}`,
        amount: `${id}.25`,
        at: `2024-03-01T12:00:${String(id).padStart(2, '0')}.000123Z`,
        tags: id % 2 === 0 ? ['even', `t${id}`] : [],
      },
    }));
    const inserted = await bigquery.tabledata.insertAll({
      projectId: PROJECT,
      datasetId: 'shop',
      tableId: 'orders',
      requestBody: { rows },
    });
    expect(inserted.data.kind).toBe('bigquery#tableDataInsertAllResponse');
    expect(inserted.data.insertErrors).toBeUndefined();
    const refused = await bigquery.tabledata.insertAll({
      projectId: PROJECT,
      datasetId: 'shop',
      tableId: 'orders',
      requestBody: { rows: [{ json: { id: 'not a number' } }] },
    });
    expect(refused.data.insertErrors?.[0]).toMatchObject({ index: 0, errors: [{ reason: 'invalid' }] });

    // Pages of 10: 10, 10, 5 rows, each page but the last with a pageToken.
    const pageSizes: number[] = [];
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const page = await bigquery.tabledata.list({
        projectId: PROJECT,
        datasetId: 'shop',
        tableId: 'orders',
        maxResults: 10,
        'formatOptions.useInt64Timestamp': true,
        ...(pageToken ? { pageToken } : {}),
      });
      expect(page.data.totalRows).toBe('25');
      pageSizes.push(page.data.rows?.length ?? 0);
      for (const row of page.data.rows ?? []) ids.push(row.f?.[0]?.v as string);
      pageToken = page.data.pageToken ?? undefined;
    } while (pageToken);
    expect(pageSizes).toEqual([10, 10, 5]);
    expect(ids).toEqual(Array.from({ length: 25 }, (_, id) => String(id)));

    const one = await bigquery.tabledata.list({
      projectId: PROJECT,
      datasetId: 'shop',
      tableId: 'orders',
      startIndex: '10',
      maxResults: 1,
      'formatOptions.useInt64Timestamp': true,
    });
    expect(one.data.rows).toEqual([
      {
        f: [
          { v: '10' },
          { v: null },
          { v: '10.25' },
          { v: String(Date.UTC(2024, 2, 1, 12, 0, 10) * 1000 + 123) },
          { v: [{ v: 'even' }, { v: 't10' }] },
        ],
      },
    ]);

    const job = await bigquery.jobs.insert({
      projectId: PROJECT,
      requestBody: {
        jobReference: { projectId: PROJECT, jobId: 'cross_query_1' },
        configuration: {
          query: { query: 'SELECT id, name AS label FROM `shop.orders` WHERE id >= 20', useLegacySql: false },
        },
      },
    });
    expect(job.data.jobReference?.jobId).toBe('cross_query_1');
    const status = await bigquery.jobs.get({ projectId: PROJECT, jobId: 'cross_query_1' });
    expect(status.data.status).toEqual({ state: 'DONE' });
    const results: string[][] = [];
    let resultToken: string | undefined;
    do {
      const page = await bigquery.jobs.getQueryResults({
        projectId: PROJECT,
        jobId: 'cross_query_1',
        maxResults: 2,
        ...(resultToken ? { pageToken: resultToken } : {}),
      });
      expect(page.data.jobComplete).toBe(true);
      expect(page.data.schema?.fields?.map((field) => field.name)).toEqual(['id', 'label']);
      for (const row of page.data.rows ?? []) results.push(row.f?.map((cell) => cell.v as string) ?? []);
      resultToken = page.data.pageToken ?? undefined;
    } while (resultToken);
    expect(results).toEqual([20, 21, 22, 23, 24].map((id) => [String(id), id === 20 ? null : `name ${id}`]));
  });

  it('reads job status and errors: a failed job has errorResult, failed calls the API error body', async () => {
    await bigquery.datasets.insert({
      projectId: PROJECT,
      requestBody: { datasetReference: { projectId: PROJECT, datasetId: 'errors' } },
    });
    const job = await bigquery.jobs.insert({
      projectId: PROJECT,
      requestBody: {
        jobReference: { projectId: PROJECT, jobId: 'cross_missing_table' },
        configuration: { query: { query: 'SELECT id FROM `errors.nowhere`', useLegacySql: false } },
      },
    });
    expect(job.data.status?.state).toBe('DONE');
    const status = (await bigquery.jobs.get({ projectId: PROJECT, jobId: 'cross_missing_table' })).data.status;
    expect(status?.errorResult).toEqual({ reason: 'notFound', message: `Not found: Table ${PROJECT}:errors.nowhere` });
    expect(status?.errors).toEqual([status?.errorResult]);

    const missing = await failure(bigquery.tables.get({ projectId: PROJECT, datasetId: 'errors', tableId: 'nowhere' }));
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      error: {
        code: 404,
        message: `Not found: Table ${PROJECT}:errors.nowhere`,
        errors: [{ message: `Not found: Table ${PROJECT}:errors.nowhere`, domain: 'global', reason: 'notFound' }],
        status: 'NOT_FOUND',
      },
    });
    const duplicate = await failure(
      bigquery.datasets.insert({
        projectId: PROJECT,
        requestBody: { datasetReference: { projectId: PROJECT, datasetId: 'errors' } },
      }),
    );
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error).toMatchObject({
      code: 409,
      status: 'ALREADY_EXISTS',
      errors: [{ reason: 'duplicate' }],
    });
    const unknownJob = await failure(bigquery.jobs.get({ projectId: PROJECT, jobId: 'never_inserted' }));
    expect(unknownJob.status).toBe(404);
    expect(unknownJob.body.error).toMatchObject({ errors: [{ reason: 'notFound' }], status: 'NOT_FOUND' });
  });

  it('loads an NDJSON file through the multipart upload path', async () => {
    await bigquery.datasets.insert({
      projectId: PROJECT,
      requestBody: { datasetReference: { projectId: PROJECT, datasetId: 'loads' } },
    });
    const lines = [0, 1, 2].map((id) => JSON.stringify({ id, name: `loaded ${id}`, tags: [] })).join('\n');
    const job = await bigquery.jobs.insert(
      {
        projectId: PROJECT,
        requestBody: {
          configuration: {
            load: {
              destinationTable: { projectId: PROJECT, datasetId: 'loads', tableId: 'people' },
              sourceFormat: 'NEWLINE_DELIMITED_JSON',
              schema,
              writeDisposition: 'WRITE_TRUNCATE',
            },
          },
        },
        media: { mimeType: 'application/octet-stream', body: lines },
      },
      // The upload address is built from the call's rootUrl, not the client's.
      { rootUrl: `${emulator.endpoint}/` },
    );
    expect(job.data.status?.state).toBe('DONE');
    expect(job.data.status?.errorResult).toBeUndefined();
    const table = await bigquery.tables.get({ projectId: PROJECT, datasetId: 'loads', tableId: 'people' });
    expect(table.data.numRows).toBe('3');
    expect(emulator.requests.some((request) => request.path === `/upload/projects/${PROJECT}/jobs`)).toBe(true);
  });

  it('a job goes PENDING → RUNNING → DONE, as jobs.get shows', async () => {
    const client = clientFor(slow);
    const inserted = await client.jobs.insert({
      projectId: PROJECT,
      requestBody: {
        jobReference: { projectId: PROJECT, jobId: 'cross_slow' },
        configuration: { query: { query: 'SELECT COUNT(*) AS n FROM `waits.none`', useLegacySql: false } },
      },
    });
    const states = [inserted.data.status?.state];
    while (states.at(-1) !== 'DONE') {
      await new Promise((resolve) => setTimeout(resolve, 25));
      states.push((await client.jobs.get({ projectId: PROJECT, jobId: 'cross_slow' })).data.status?.state);
    }
    // Each state seen, in order, none after a later one.
    expect(states.filter((state, index) => state !== states[index - 1])).toEqual(['PENDING', 'RUNNING', 'DONE']);
    const done = (await client.jobs.get({ projectId: PROJECT, jobId: 'cross_slow' })).data;
    expect(Number(done.statistics?.endTime)).toBeGreaterThan(Number(done.statistics?.startTime));
    expect(Number(done.statistics?.startTime)).toBeGreaterThan(Number(done.statistics?.creationTime));
  });
});

describe('raw REST shapes', () => {
  it('answers the same with and without the /bigquery/v2 prefix, and errors in the API shape', async () => {
    const base = `${emulator.endpoint}/projects/${PROJECT}/datasets/shop/tables/orders`;
    const prefixed = `${emulator.endpoint}/bigquery/v2/projects/${PROJECT}/datasets/shop/tables/orders`;
    for (const suffix of ['', '/data?maxResults=3']) {
      const [without, withPrefix] = await Promise.all([fetch(base + suffix), fetch(prefixed + suffix)]);
      expect(without.status).toBe(200);
      expect(without.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await withPrefix.json()).toEqual(await without.json());
    }
    const bad = await fetch(`${emulator.endpoint}/bigquery/v2/projects/${PROJECT}/queries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'SELEC 1', useLegacySql: false }),
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'errors', 'message', 'status']);
    expect(body.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT', errors: [{ reason: 'invalidQuery' }] });
  });

  it('a tabledata.list page stops at about 10 MB whatever maxResults asks, with a pageToken', async () => {
    await bigquery.datasets.insert({
      projectId: PROJECT,
      requestBody: { datasetReference: { projectId: PROJECT, datasetId: 'wide' } },
    });
    await bigquery.tables.insert({
      projectId: PROJECT,
      datasetId: 'wide',
      requestBody: {
        tableReference: { projectId: PROJECT, datasetId: 'wide', tableId: 'blobs' },
        schema: {
          fields: [
            { name: 'id', type: 'INTEGER' },
            { name: 'text', type: 'STRING' },
          ],
        },
      },
    });
    const megabyte = 'x'.repeat(1024 * 1024);
    for (let batch = 0; batch < 3; batch++) {
      await bigquery.tabledata.insertAll({
        projectId: PROJECT,
        datasetId: 'wide',
        tableId: 'blobs',
        requestBody: { rows: Array.from({ length: 8 }, (_, i) => ({ json: { id: batch * 8 + i, text: megabyte } })) },
      });
    }
    const url = `${emulator.endpoint}/bigquery/v2/projects/${PROJECT}/datasets/wide/tables/blobs/data?maxResults=1000`;
    const pages: number[] = [];
    let token: string | undefined;
    do {
      const response = await fetch(token ? `${url}&pageToken=${encodeURIComponent(token)}` : url);
      const text = await response.text();
      expect(Buffer.byteLength(text)).toBeLessThanOrEqual(10 * 1024 * 1024 + 1024);
      const page = JSON.parse(text) as { rows?: unknown[]; pageToken?: string; totalRows: string };
      expect(page.totalRows).toBe('24');
      pages.push(page.rows?.length ?? 0);
      token = page.pageToken;
    } while (token);
    expect(pages.length).toBeGreaterThan(2);
    expect(pages.reduce((sum, rows) => sum + rows, 0)).toBe(24);
  });
});
