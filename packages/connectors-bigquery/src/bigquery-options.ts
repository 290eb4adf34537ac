/**
 * Options of the BigQuery connector: the connection (`connections.<name>` in a spec) and the
 * endpoint (a task's `source:`/`target:` besides `connection`).
 *
 * Credentials are Application Default Credentials unless `keyFilename` names a service
 * account key file. Neither is ever logged or put into a message.
 */
import { z } from 'zod';

/** Connection options. */
export const bigQueryConnectionSchema = z
  .object({
    /** The Google Cloud project that owns the datasets and runs the jobs. */
    projectId: z.string().min(1),
    /** Where jobs run and new datasets live (`EU`, `US`, `europe-north1` …). Default: BigQuery's default (US). */
    location: z.string().min(1).optional(),
    /**
     * Another API endpoint, e.g. an emulator (`http://127.0.0.1:9050`). With it, and no
     * `keyFilename`, requests carry no credentials: an emulator needs none, and nothing probes
     * the cloud metadata server.
     */
    apiEndpoint: z.string().url().optional(),
    /** A service account key file. Default: Application Default Credentials. */
    keyFilename: z.string().min(1).optional(),
    /**
     * The Storage Read API's endpoint, for `readApi: storage`: `https://HOST[:PORT]`, or
     * `http://HOST:PORT` for an emulator (plaintext gRPC, and then no credentials are sent).
     * Default: the service's own (`bigquerystorage.googleapis.com:443`).
     */
    storageApiEndpoint: z
      .string()
      .url()
      .refine((value) => /^https?:\/\//.test(value), {
        message: 'Write it as https://HOST[:PORT] (http:// for an emulator).',
      })
      .optional(),
    /**
     * `readApi: storage`: the most streams a read session is split into (the service may
     * give fewer); all of them are read at once, one batch in memory each. Default 4.
     */
    readStreams: z.number().int().min(1).max(100).default(4),
    /** Rows asked for per `tabledata.list` / `getQueryResults` page. Default 20 000 (BigQuery also caps a page at about 10 MB). */
    pageRows: z.number().int().min(1).max(100_000).default(20_000),
    /** The sink starts another load job after a load file reaches this many bytes. Default 1 GiB. */
    loadFileBytes: z
      .number()
      .int()
      .min(1)
      .default(1024 * 1024 * 1024),
    /** Attempts per API call for transient failures (rate limits, 5xx, resets). Default 5. */
    retries: z.number().int().min(1).max(20).default(5),
    /** How long staging tables and snapshots of a crashed run live before BigQuery drops them. Default 7 days. */
    leftoverExpirationHours: z
      .number()
      .int()
      .min(1)
      .default(24 * 7),
    /** How long to wait for one job (load, copy, query) before failing the attempt as transient. Default 6 hours. */
    jobTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .default(6 * 60 * 60 * 1000),
  })
  .strict();

export type BigQueryConnectionInput = z.input<typeof bigQueryConnectionSchema>;
export type BigQueryConnectionOptions = z.output<typeof bigQueryConnectionSchema>;

/**
 * Where the data is: a table (`dataset.table`, source or target) or a GoogleSQL query
 * (source only).
 */
export const bigQueryEndpointSchema = z
  .object({
    /** `dataset.table` in the connection's project. */
    table: z.string().min(1).optional(),
    /** A GoogleSQL query; its result is the source. */
    query: z.string().min(1).optional(),
    /**
     * Table sources: read the table as it was at this instant (ISO 8601), through a query
     * with `FOR SYSTEM_TIME AS OF`. Default: read the table as it is, and fail the attempt as
     * `SOURCE_CHANGED` when it is modified during the read.
     */
    snapshotTime: z.string().datetime({ offset: true }).optional(),
    /** Snapshots of this target: a table snapshot (cheap, default) or a full table copy. */
    snapshotMethod: z.enum(['snapshot', 'copy']).default('snapshot'),
    /**
     * How a `table` source is read: `rest` (default) pages `tabledata.list`; `storage`
     * reads a BigQuery Storage Read API session (Arrow record batches over gRPC, several
     * streams at once). README.md, "Choosing the read API", weighs them.
     */
    readApi: z.enum(['rest', 'storage']).default('rest'),
    /** Table sources: read only these top-level columns, in this order. Default: all. */
    columns: z.array(z.string().min(1)).min(1).optional(),
    /**
     * `readApi: storage`: a filter the Storage Read API applies before sending rows (its
     * `row_restriction`, a GoogleSQL condition such as `amount > 100 AND region = "EU"`).
     */
    rowRestriction: z.string().min(1).optional(),
  })
  .strict()
  .refine((value) => (value.table === undefined) !== (value.query === undefined), {
    message: 'Set exactly one of `table` (dataset.table) or `query` (a GoogleSQL query).',
  })
  .refine((value) => value.snapshotTime === undefined || value.table !== undefined, {
    message: '`snapshotTime` applies to `table` sources; put `FOR SYSTEM_TIME AS OF` into the query instead.',
    path: ['snapshotTime'],
  })
  .refine((value) => value.readApi === 'rest' || value.table !== undefined, {
    message:
      "`readApi: storage` reads tables; a `query:` source is read from its job's result pages (leave `readApi` out).",
    path: ['readApi'],
  })
  .refine((value) => value.columns === undefined || value.table !== undefined, {
    message: '`columns` applies to `table` sources; list the columns in the query instead.',
    path: ['columns'],
  })
  .refine((value) => value.rowRestriction === undefined || value.readApi === 'storage', {
    message:
      '`rowRestriction` needs `readApi: storage`; with the REST API, filter with a `query:` source (… WHERE …) instead.',
    path: ['rowRestriction'],
  });

export type BigQueryEndpointOptions = z.output<typeof bigQueryEndpointSchema>;
