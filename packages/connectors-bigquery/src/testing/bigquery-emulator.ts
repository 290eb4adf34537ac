/**
 * A BigQuery emulator: an HTTP server answering the REST subset the official client and
 * Honk use, over an in-process store (emulator-store.ts), following the public REST
 * reference. For tests and local development; it is not BigQuery (no SQL engine: see
 * emulator-sql.ts for the statements it runs).
 *
 * Routes, with or without the `/bigquery/v2` prefix (the client drops it when
 * `BIGQUERY_EMULATOR_HOST` is set), as goccy/bigquery-emulator serves them:
 * - datasets: list, insert, get, patch, delete (`deleteContents`)
 * - tables: list, insert, get, patch, update, delete; `tabledata.list` (paging, `selectedFields`,
 *   `formatOptions.useInt64Timestamp`, pages of at most about 10 MB, emulator-render.ts); `insertAll`
 * - jobs: insert (query, copy, load; PENDING → RUNNING → DONE over `jobLatencyMs`), the multipart upload
 *   `POST /upload/bigquery/v2/projects/{p}/jobs?uploadType=multipart`, get, list, cancel;
 *   `jobs.query` and `getQueryResults` (paging, `jobComplete: false` while a job runs)
 * Errors are `{ error: { code, message, errors: [{ reason, message }], status } }`.
 *
 * `injectFault()` makes chosen requests fail, for tests of retries and error mapping.
 *
 * The Storage Read API (gRPC) is served beside it on its own port (`storageEndpoint`),
 * over the same store: see storage-read-server.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RowsPageBody, writeRowsPage } from './emulator-render.ts';
import { EmulatorError, EmulatorStore, type StoredTable } from './emulator-store.ts';
import { cellFromJson, EmulatorValueError } from './emulator-values.ts';
import { type StorageReadServer, startStorageReadServer } from './storage-read-server.ts';

export interface BigQueryEmulatorOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Host to listen on. Default 127.0.0.1 (never another interface unless asked). */
  host?: string;
  /** Datasets to create at start, as `project.dataset` or `dataset` (in `project`). */
  datasets?: string[];
  /** Default project for `datasets`. Default `honk-emulator`. */
  project?: string;
  /** How long a job takes, in ms: PENDING its first half, RUNNING its second, then DONE. Default 0. */
  jobLatencyMs?: number;
  /**
   * Also serve the Storage Read API (gRPC, storage-read-server.ts) on `storagePort`.
   * Default true.
   */
  storageApi?: boolean;
  /** Port of the Storage Read API on `host`; 0 (default) picks a free one. */
  storagePort?: number;
  /** Rows per Storage Read API `ReadRows` response. Default 1024. */
  storageBatchRows?: number;
}

/** A fault to answer instead of serving a request. */
export interface EmulatorFault {
  /** HTTP method to match; any when absent. */
  method?: string;
  /** Matched against the path without the `/bigquery/v2` prefix, e.g. `/tables/orders/data`. */
  path: RegExp;
  status: number;
  reason: string;
  message?: string;
  /** How many matching requests fail. Default 1. */
  times?: number;
}

/** One request the emulator served. */
export interface EmulatorRequest {
  method: string;
  path: string;
  /** The remote address of the socket (always loopback unless `host` was changed). */
  remoteAddress: string;
  status: number;
}

export interface BigQueryEmulator {
  /** `http://127.0.0.1:PORT`: the client's `apiEndpoint`. */
  readonly endpoint: string;
  readonly port: number;
  readonly project: string;
  readonly store: EmulatorStore;
  /**
   * `http://127.0.0.1:PORT` of the Storage Read API (plaintext gRPC): the connection's
   * `storageApiEndpoint`. Undefined with `storageApi: false`.
   */
  readonly storageEndpoint: string | undefined;
  /** The Storage Read API server (its requests and fault injection), when started. */
  readonly storage: StorageReadServer | undefined;
  /** Every request served, in order. */
  readonly requests: EmulatorRequest[];
  injectFault(fault: EmulatorFault): void;
  /** Creates a dataset (idempotent). */
  createDataset(datasetId: string, projectId?: string): void;
  stop(): Promise<void>;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

function send(response: ServerResponse, status: number, body: unknown): void {
  const text =
    body === undefined
      ? ''
      : JSON.stringify(body, (_key, value) => (typeof value === 'bigint' ? String(value) : value));
  response.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
  response.end(text);
}

function sendError(response: ServerResponse, status: number, reason: string, message: string): void {
  send(response, status, {
    error: {
      code: status,
      message,
      errors: [{ message, domain: 'global', reason }],
      status: STATUS_NAMES[status] ?? 'UNKNOWN',
    },
  });
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function json(body: Buffer): Record<string, any> {
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as Record<string, any>;
  } catch {
    throw new EmulatorError(400, 'parseError', 'Parse Error: the request body is not JSON.');
  }
}

/** Splits a multipart/related body into its parts' bodies. */
function multipartParts(body: Buffer, contentType: string): Buffer[] {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw new EmulatorError(400, 'invalid', 'A multipart upload needs a boundary.');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body[start] === 45 && body[start + 1] === 45) break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    let content = part.subarray(headerEnd + 4);
    if (content.at(-2) === 13 && content.at(-1) === 10) content = content.subarray(0, content.length - 2);
    parts.push(content);
    at = next;
  }
  return parts;
}

/** Starts an emulator. Stop it with `stop()`. */
export async function startBigQueryEmulator(options: BigQueryEmulatorOptions = {}): Promise<BigQueryEmulator> {
  const project = options.project ?? 'honk-emulator';
  const store = new EmulatorStore({
    ...(options.jobLatencyMs !== undefined ? { jobLatencyMs: options.jobLatencyMs } : {}),
  });
  const faults: (EmulatorFault & { left: number })[] = [];
  const requests: EmulatorRequest[] = [];

  const createDataset = (datasetId: string, projectId = project) => {
    const key = store.datasetKey(projectId, datasetId);
    if (!store.datasets.has(key))
      store.datasets.set(key, { projectId, datasetId, location: 'US', created: store.now(), labels: {} });
  };
  for (const name of options.datasets ?? []) {
    const [first, second] = name.split('.');
    if (second) createDataset(second, first);
    else createDataset(first as string);
  }

  const queryResults = async (
    projectId: string,
    jobId: string,
    query: URLSearchParams,
    kind = 'bigquery#getQueryResultsResponse',
  ) => {
    const job = store.requireJob(projectId, jobId);
    const wait = Math.min(Number(query.get('timeoutMs') ?? 10_000), Math.max(0, job.doneAt - Date.now()));
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    if (Date.now() < job.doneAt) {
      return { kind, jobReference: job.resource.jobReference, jobComplete: false };
    }
    if (job.error) throw job.error;
    const result = job.result ?? { fields: [], rows: [] };
    return new RowsPageBody(
      {
        kind,
        jobReference: job.resource.jobReference,
        jobComplete: true,
        schema: { fields: result.fields },
        ...(job.resource.statistics.query?.statementType !== 'SELECT' ? { numDmlAffectedRows: '0' } : {}),
      },
      result.fields,
      result.rows,
      query,
    );
  };

  const route = async (
    method: string,
    path: string,
    query: URLSearchParams,
    request: IncomingMessage,
  ): Promise<[number, unknown]> => {
    const upload = path.startsWith('/upload/');
    const parts = path
      .replace(/^\/upload/, '')
      .replace(/^\/bigquery\/v2/, '')
      .split('/')
      .filter(Boolean)
      .map(decodeURIComponent);
    if (parts[0] !== 'projects' || !parts[1]) throw new EmulatorError(404, 'notFound', `Not found: ${path}`);
    const projectId = parts[1];
    const [collection, id, sub, subId, leaf] = parts.slice(2);
    const body = await readBody(request);

    if (collection === 'jobs') {
      if (upload) {
        const [metadata, data] = multipartParts(body, request.headers['content-type'] ?? '');
        const job = await store.insertJob(projectId, json(metadata ?? Buffer.alloc(0)), data ?? new Uint8Array(0));
        return [200, store.jobResource(job)];
      }
      if (!id && method === 'POST') {
        const job = await store.insertJob(projectId, json(body));
        return [200, job.resource.configuration.dryRun ? job.resource : store.jobResource(job)];
      }
      if (!id)
        return [
          200,
          {
            kind: 'bigquery#jobList',
            jobs: [...store.jobs.values()]
              .filter((job) => job.resource.jobReference.projectId === projectId)
              .map((job) => store.jobResource(job)),
          },
        ];
      const job = store.requireJob(projectId, id);
      if (sub === 'cancel') return [200, { kind: 'bigquery#jobCancelResponse', job: store.jobResource(job) }];
      return [200, store.jobResource(job)];
    }
    if (collection === 'queries') {
      if (id) return [200, await queryResults(projectId, id, query)];
      const request = json(body);
      const job = await store.insertJob(projectId, {
        jobReference: { jobId: request.requestId, location: request.location },
        configuration: {
          query: { query: request.query, useLegacySql: request.useLegacySql ?? true },
          dryRun: request.dryRun,
        },
      });
      const params = new URLSearchParams({
        ...(request.maxResults !== undefined ? { maxResults: String(request.maxResults) } : {}),
        timeoutMs: String(request.timeoutMs ?? 10_000),
        ...(request.formatOptions?.useInt64Timestamp ? { 'formatOptions.useInt64Timestamp': 'true' } : {}),
      });
      return [200, await queryResults(projectId, job.resource.jobReference.jobId, params, 'bigquery#queryResponse')];
    }
    if (collection !== 'datasets') throw new EmulatorError(404, 'notFound', `Not found: ${path}`);

    if (!id) {
      if (method === 'POST') {
        const resource = json(body);
        const datasetId = resource.datasetReference?.datasetId as string;
        if (store.datasets.has(store.datasetKey(projectId, datasetId))) {
          throw new EmulatorError(409, 'duplicate', `Already Exists: Dataset ${projectId}:${datasetId}`);
        }
        store.datasets.set(store.datasetKey(projectId, datasetId), {
          projectId,
          datasetId,
          location: resource.location ?? 'US',
          created: store.now(),
          labels: resource.labels ?? {},
        });
        return [200, datasetResource(projectId, datasetId)];
      }
      const datasets = [...store.datasets.values()].filter((dataset) => dataset.projectId === projectId);
      return [
        200,
        {
          kind: 'bigquery#datasetList',
          datasets: datasets.map((dataset) => datasetResource(projectId, dataset.datasetId)),
        },
      ];
    }
    if (!sub) {
      store.requireDataset(projectId, id);
      if (method === 'DELETE') {
        const tables = [...store.tables.values()].filter(
          (table) => table.projectId === projectId && table.datasetId === id,
        );
        if (tables.length > 0 && query.get('deleteContents') !== 'true') {
          throw new EmulatorError(400, 'resourceInUse', `Dataset ${projectId}:${id} is still in use`);
        }
        for (const table of tables) store.tables.delete(store.tableKey(projectId, id, table.tableId));
        store.datasets.delete(store.datasetKey(projectId, id));
        return [204, undefined];
      }
      return [200, datasetResource(projectId, id)];
    }
    if (sub !== 'tables') throw new EmulatorError(404, 'notFound', `Not found: ${path}`);
    if (!subId) {
      store.requireDataset(projectId, id);
      if (method === 'POST') {
        const resource = json(body);
        const tableId = resource.tableReference?.tableId as string;
        return [200, store.tableResource(store.createTable(projectId, id, tableId, resource))];
      }
      const tables = [...store.tables.values()].filter(
        (table) => table.projectId === projectId && table.datasetId === id,
      );
      return [
        200,
        {
          kind: 'bigquery#tableList',
          totalItems: tables.length,
          tables: tables.map((table) => ({
            kind: 'bigquery#table',
            id: `${projectId}:${id}.${table.tableId}`,
            tableReference: { projectId, datasetId: id, tableId: table.tableId },
            type: table.type,
          })),
        },
      ];
    }
    const table: StoredTable = store.requireTable(projectId, id, subId);
    if (leaf === 'data') {
      const members = { kind: 'bigquery#tableDataList', etag: `"${table.lastModifiedTime}"` };
      const selected = query.get('selectedFields');
      if (!selected) return [200, new RowsPageBody(members, table.fields, table.rows, query)];
      // Only those columns, in the table's order, as the service sends them.
      const wanted = new Set(selected.split(',').map((name) => name.trim().toLowerCase()));
      const keep = table.fields.flatMap((field, index) => (wanted.has(field.name.toLowerCase()) ? [index] : []));
      if (keep.length !== wanted.size) {
        throw new EmulatorError(400, 'invalid', `selectedFields ${selected} names a field the table does not have.`);
      }
      const fields = keep.map((index) => table.fields[index] as (typeof table.fields)[number]);
      return [
        200,
        new RowsPageBody(
          members,
          fields,
          table.rows.map((row) => keep.map((index) => row[index])),
          query,
        ),
      ];
    }
    if (leaf === 'insertAll') {
      const resource = json(body);
      const insertErrors: unknown[] = [];
      const rows: unknown[][] = [];
      (resource.rows ?? []).forEach((row: { json: Record<string, unknown> }, index: number) => {
        try {
          rows.push(table.fields.map((field) => cellFromJson(field, row.json?.[field.name])));
        } catch (error) {
          if (!(error instanceof EmulatorValueError)) throw error;
          insertErrors.push({ index, errors: [{ reason: 'invalid', message: error.message }] });
        }
      });
      if (insertErrors.length === 0 || resource.skipInvalidRows) store.setRows(table, [...table.rows, ...rows]);
      return [
        200,
        { kind: 'bigquery#tableDataInsertAllResponse', ...(insertErrors.length > 0 ? { insertErrors } : {}) },
      ];
    }
    if (method === 'DELETE') {
      store.tables.delete(store.tableKey(projectId, id, subId));
      return [204, undefined];
    }
    if (method === 'PATCH' || method === 'PUT') store.patchTable(table, json(body), method === 'PUT');
    return [200, store.tableResource(table)];

    function datasetResource(p: string, d: string) {
      const dataset = store.datasets.get(store.datasetKey(p, d));
      return {
        kind: 'bigquery#dataset',
        id: `${p}:${d}`,
        datasetReference: { projectId: p, datasetId: d },
        location: dataset?.location ?? 'US',
        creationTime: String(dataset?.created ?? 0),
        ...(dataset && Object.keys(dataset.labels).length > 0 ? { labels: dataset.labels } : {}),
      };
    }
  };

  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://emulator');
    const method = request.method ?? 'GET';
    const path = url.pathname.replace(/^\/upload\/bigquery\/v2/, '/upload').replace(/^\/bigquery\/v2/, '');
    const entry: EmulatorRequest = { method, path, remoteAddress: request.socket.remoteAddress ?? '', status: 0 };
    requests.push(entry);
    const fault = faults.find(
      (item) => item.left > 0 && (!item.method || item.method === method) && item.path.test(path),
    );
    if (fault) {
      fault.left--;
      entry.status = fault.status;
      request.resume();
      sendError(response, fault.status, fault.reason, fault.message ?? `Injected fault: ${fault.reason}`);
      return;
    }
    route(method, path, url.searchParams, request).then(
      ([status, body]) => {
        entry.status = status;
        if (status === 204) {
          response.writeHead(204);
          response.end();
        } else if (body instanceof RowsPageBody) {
          writeRowsPage(response, body).catch((error: unknown) => response.destroy(error as Error));
        } else send(response, status, body);
      },
      (error: unknown) => {
        const known =
          error instanceof EmulatorError
            ? error
            : error instanceof EmulatorValueError
              ? new EmulatorError(400, 'invalid', error.message)
              : undefined;
        const status = known?.status ?? 500;
        entry.status = status;
        sendError(
          response,
          status,
          known?.reason ?? 'internalError',
          known?.message ?? `Emulator failure: ${(error as Error)?.message ?? String(error)}`,
        );
      },
    );
  });
  // Large uploads: no request timeout.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const storage =
    options.storageApi === false
      ? undefined
      : await startStorageReadServer(store, {
          host: address.address,
          ...(options.storagePort !== undefined ? { port: options.storagePort } : {}),
          ...(options.storageBatchRows !== undefined ? { batchRows: options.storageBatchRows } : {}),
        }).catch((error: unknown) => {
          server.close();
          throw error;
        });
  return {
    endpoint: `http://${host}:${address.port}`,
    port: address.port,
    project,
    store,
    storageEndpoint: storage?.endpoint,
    storage,
    requests,
    injectFault: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    createDataset,
    stop: async () => {
      await storage?.stop();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
