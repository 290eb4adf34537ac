/**
 * The REST calls the connector makes, over the official client's authenticated transport
 * (`BigQuery.request`, which carries credentials, user agent and endpoint). Raw JSON rather
 * than the client's row helpers: pages are decoded straight into Arrow (tabledata-decoder.ts)
 * instead of into one JavaScript object per row, and 64-bit integers stay exact.
 *
 * Every call is retried on transient failures and throws HonkErrors (bigquery-errors.ts).
 */
import { randomUUID } from 'node:crypto';
import type { BigQuery } from '@google-cloud/bigquery';
import { TimedOutError, throwIfAborted } from '@honk/core';
import { type BigQueryCallContext, bigQueryReason, toBigQueryError, withBigQueryRetry } from './bigquery-errors.ts';
import type { BigQueryField } from './bigquery-types.ts';
import { describeTable, type TableReference } from './table-reference.ts';
import type { TableRow } from './tabledata-decoder.ts';

/** What a table resource tells (the fields the connector reads). */
export interface TableResource {
  tableReference: TableReference;
  type?: 'TABLE' | 'VIEW' | 'SNAPSHOT' | 'MATERIALIZED_VIEW' | 'EXTERNAL' | 'CLONE' | string;
  schema?: { fields?: BigQueryField[] };
  numRows?: string;
  numBytes?: string;
  lastModifiedTime?: string;
  creationTime?: string;
  etag?: string;
  labels?: Record<string, string>;
  timePartitioning?: Record<string, unknown>;
  rangePartitioning?: Record<string, unknown>;
  clustering?: { fields: string[] };
  requirePartitionFilter?: boolean;
  streamingBuffer?: { estimatedRows?: string };
  expirationTime?: string;
}

/** A job resource, as far as the connector reads it. */
export interface JobResource {
  jobReference: { projectId: string; jobId: string; location?: string };
  status?: {
    state?: 'PENDING' | 'RUNNING' | 'DONE';
    errorResult?: { reason?: string; message?: string; location?: string };
    errors?: { reason?: string; message?: string }[];
  };
  statistics?: { query?: { schema?: { fields?: BigQueryField[] }; numDmlAffectedRows?: string } };
  configuration?: Record<string, unknown>;
}

/** One page of rows. */
export interface RowsPage {
  rows: TableRow[];
  pageToken?: string;
  totalRows?: string;
  schema?: { fields?: BigQueryField[] };
  jobComplete?: boolean;
}

export interface BigQueryApiOptions {
  client: BigQuery;
  connection: string;
  retries: number;
  location?: string;
  /** How long one job may take. */
  jobTimeoutMs: number;
  /** First poll delay of a running job; doubles up to 5 s. Default 200 ms. */
  pollMs?: number;
}

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  uri: string;
  qs?: Record<string, unknown>;
  json?: unknown;
}

/**
 * An HTTP error of the auth client's transport in the shape the official client gives
 * (`code`, `errors`, `message` of the API's error body), so toBigQueryError maps both alike.
 */
function apiErrorOf(error: unknown): unknown {
  const response = (error as { response?: { status?: number; data?: unknown } }).response;
  const body = (response?.data as { error?: { code?: number; message?: string; errors?: unknown[] } } | undefined)
    ?.error;
  if (!response?.status) return error;
  return Object.assign(new Error(body?.message ?? `HTTP ${response.status}`), {
    code: body?.code ?? response.status,
    errors: body?.errors ?? [],
  });
}

function tablePath(table: TableReference): string {
  return `/datasets/${table.datasetId}/tables/${table.tableId}`;
}

export class BigQueryApi {
  readonly client: BigQuery;
  readonly connection: string;
  readonly #options: BigQueryApiOptions;

  constructor(options: BigQueryApiOptions) {
    this.client = options.client;
    this.connection = options.connection;
    this.#options = options;
  }

  get projectId(): string {
    return this.client.projectId;
  }

  /** One REST call, without retry (the caller decides). */
  raw<T>(options: RequestOptions & { projectId?: string }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.client.request(options as never, (error: unknown, body: unknown) => {
        if (error) reject(error);
        else resolve(body as T);
      });
    });
  }

  /** A REST call retried on transient failures; everything thrown is a HonkError. */
  call<T>(
    context: Omit<BigQueryCallContext, 'connection'>,
    options: RequestOptions & { projectId?: string },
    signal?: AbortSignal,
  ): Promise<T> {
    return withBigQueryRetry(
      { connection: this.connection, ...context },
      { retries: this.#options.retries, ...(signal ? { signal } : {}) },
      () => this.raw<T>(options),
    );
  }

  /**
   * A page of rows (a GET), retried like `call`. Pages are by far the largest answers, and
   * the client's `request` deep-copies every parsed body (measured: as long as the JSON
   * parse itself, and as much garbage again), so pages go through the client's own auth
   * client and base URL instead: the same credentials and endpoint, one parse, no copy.
   */
  callPage(
    context: Omit<BigQueryCallContext, 'connection'>,
    options: { uri: string; projectId: string; qs: Record<string, string | number | boolean> },
    signal?: AbortSignal,
  ): Promise<RowsPage> {
    const url = new URL(`${this.client.baseUrl}/projects/${options.projectId}${options.uri}`);
    for (const [key, value] of Object.entries(options.qs)) url.searchParams.set(key, String(value));
    return withBigQueryRetry(
      { connection: this.connection, ...context },
      { retries: this.#options.retries, ...(signal ? { signal } : {}) },
      async () => {
        try {
          const response = await this.client.authClient.request<RowsPage>({
            url: url.href,
            method: 'GET',
            responseType: 'json',
            retry: false,
            ...(signal ? { signal } : {}),
          });
          return response.data;
        } catch (error) {
          throw apiErrorOf(error);
        }
      },
    );
  }

  /** The table's resource, or null when it does not exist. */
  async getTable(table: TableReference, signal?: AbortSignal): Promise<TableResource | null> {
    try {
      return await this.call<TableResource>(
        { operation: 'tables.get', table: describeTable(table) },
        { uri: tablePath(table), projectId: table.projectId },
        signal,
      );
    } catch (error) {
      if ((error as { code?: string }).code === 'NOT_FOUND') return null;
      throw error;
    }
  }

  insertTable(table: TableReference, resource: Omit<Partial<TableResource>, 'tableReference'>): Promise<TableResource> {
    return this.call(
      { operation: 'tables.insert', table: describeTable(table) },
      {
        method: 'POST',
        uri: `/datasets/${table.datasetId}/tables`,
        projectId: table.projectId,
        json: { ...resource, tableReference: table },
      },
    );
  }

  patchTable(table: TableReference, resource: Omit<Partial<TableResource>, 'tableReference'>): Promise<TableResource> {
    return this.call(
      { operation: 'tables.patch', table: describeTable(table) },
      { method: 'PATCH', uri: tablePath(table), projectId: table.projectId, json: resource },
    );
  }

  /** Deletes a table; a table that is already gone is fine. */
  async deleteTable(table: TableReference): Promise<void> {
    try {
      await this.call(
        { operation: 'tables.delete', table: describeTable(table) },
        { method: 'DELETE', uri: tablePath(table), projectId: table.projectId },
      );
    } catch (error) {
      if ((error as { code?: string }).code !== 'NOT_FOUND') throw error;
    }
  }

  /**
   * One page of a table's rows (`tabledata.list`), TIMESTAMPs as integer microseconds;
   * `selectedFields` pages hold only those columns, in the table's order.
   */
  tablePage(
    table: TableReference,
    page: { maxResults: number; pageToken?: string; selectedFields?: readonly string[] },
    signal?: AbortSignal,
  ) {
    return this.callPage(
      { operation: 'tabledata.list', table: describeTable(table) },
      {
        uri: `${tablePath(table)}/data`,
        projectId: table.projectId,
        qs: {
          maxResults: page.maxResults,
          ...(page.pageToken ? { pageToken: page.pageToken } : {}),
          ...(page.selectedFields ? { selectedFields: page.selectedFields.join(',') } : {}),
          'formatOptions.useInt64Timestamp': true,
        },
      },
      signal,
    );
  }

  /** One page of a finished query job's results (`getQueryResults`), TIMESTAMPs as integer microseconds. */
  queryPage(
    job: JobResource['jobReference'],
    page: { maxResults: number; pageToken?: string; timeoutMs?: number },
    signal?: AbortSignal,
  ) {
    return this.callPage(
      { operation: 'jobs.getQueryResults' },
      {
        uri: `/queries/${job.jobId}`,
        projectId: job.projectId,
        qs: {
          maxResults: page.maxResults,
          ...(page.pageToken ? { pageToken: page.pageToken } : {}),
          ...(job.location ? { location: job.location } : {}),
          ...(page.timeoutMs !== undefined ? { timeoutMs: page.timeoutMs } : {}),
          'formatOptions.useInt64Timestamp': true,
        },
      },
      signal,
    );
  }

  getJob(job: JobResource['jobReference'], signal?: AbortSignal): Promise<JobResource> {
    return this.call(
      { operation: 'jobs.get' },
      { uri: `/jobs/${job.jobId}`, projectId: job.projectId, qs: job.location ? { location: job.location } : {} },
      signal,
    );
  }

  /**
   * Inserts a job. A job id makes the insert idempotent: a retried insert whose first try
   * reached BigQuery answers 409 and the existing job is used. `existed` tells that the id
   * had been used before this call (a deterministic id as an idempotency marker).
   */
  async insertJob(
    configuration: Record<string, unknown>,
    options: { jobId?: string; operation: string; table?: string; signal?: AbortSignal },
  ): Promise<{ job: JobResource; existed: boolean }> {
    const jobReference = {
      projectId: this.projectId,
      jobId: options.jobId ?? `honk_${randomUUID().replace(/-/g, '')}`,
      ...(this.#options.location ? { location: this.#options.location } : {}),
    };
    const context = { operation: options.operation, ...(options.table ? { table: options.table } : {}) };
    let tries = 0;
    for (;;) {
      tries++;
      try {
        const job = await this.raw<JobResource>({
          method: 'POST',
          uri: '/jobs',
          json: { jobReference, configuration },
        });
        return { job, existed: false };
      } catch (error) {
        const status = (error as { code?: unknown }).code;
        if (status === 409 || bigQueryReason(error) === 'duplicate') {
          // On the first try the id was used before (an idempotency marker: the caller
          // decides); on a later one it is this insert whose earlier try reached BigQuery.
          return { job: await this.getJob(jobReference, options.signal), existed: tries === 1 };
        }
        const mapped = toBigQueryError(error, { connection: this.connection, ...context });
        if (!mapped.retryable || mapped.retryAfterMs !== undefined || tries >= this.#options.retries) throw mapped;
        throwIfAborted(options.signal);
        await new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** (tries - 1))));
      }
    }
  }

  /** Polls a job until it is DONE; throws its errorResult as a HonkError. */
  async waitForJob(
    job: JobResource,
    context: { operation: string; table?: string },
    signal?: AbortSignal,
  ): Promise<JobResource> {
    let current = job;
    let delay = this.#options.pollMs ?? 200;
    const started = Date.now();
    while (current.status?.state !== 'DONE') {
      throwIfAborted(signal);
      const elapsed = Date.now() - started;
      if (elapsed > this.#options.jobTimeoutMs) {
        throw new TimedOutError(
          `BigQuery connection "${this.connection}": ${context.operation} job ${current.jobReference.jobId} did not finish within ${this.#options.jobTimeoutMs} ms (jobTimeoutMs). It may still finish in BigQuery; the attempt is retried.`,
          { phase: context.operation, limit: 'total', limitMs: this.#options.jobTimeoutMs, elapsedMs: elapsed },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(5_000, delay * 2);
      current = await this.getJob(current.jobReference, signal);
    }
    const failure = current.status?.errorResult;
    if (failure) {
      throw toBigQueryError(
        { message: failure.message, errors: current.status?.errors?.length ? current.status.errors : [failure] },
        {
          connection: this.connection,
          operation: `${context.operation} job ${current.jobReference.jobId}`,
          ...(context.table ? { table: context.table } : {}),
        },
      );
    }
    return current;
  }

  /** Inserts a job and waits for it. */
  async runJob(
    configuration: Record<string, unknown>,
    options: { jobId?: string; operation: string; table?: string; signal?: AbortSignal },
  ): Promise<JobResource> {
    const { job } = await this.insertJob(configuration, options);
    return this.waitForJob(job, options, options.signal);
  }
}
