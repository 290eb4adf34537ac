/**
 * The BigQuery Storage Read API client: the minimal interface the connector uses, and a
 * factory building the official `BigQueryReadClient` (`@google-cloud/bigquery-storage`) from
 * connection options. The official client is loaded on first use only, so REST reads never
 * load gRPC.
 *
 * With an `http://` `storageApiEndpoint` (an emulator) the channel is plaintext
 * (`grpc.credentials.createInsecure()`) and carries no credentials: google-gax then never
 * asks the Google auth library for any, so nothing probes the cloud metadata server.
 */
import { ConfigError } from '@honk/core';
import type { BigQueryConnectionOptions } from './bigquery-options.ts';

/** A protobuf `int64` as the official client decodes it (a number, a decimal string or a Long). */
export type Int64Like = number | string | { toString(): string };

/** What the connector reads of a `ReadSession`. */
export interface ReadSessionLike {
  name?: string | null;
  arrowSchema?: { serializedSchema?: Uint8Array | null } | null;
  streams?: { name?: string | null }[] | null;
  estimatedRowCount?: Int64Like | null;
  /** When the session's streams stop being readable (about 6 hours after its creation). */
  expireTime?: { seconds?: Int64Like | null; nanos?: number | null } | null;
}

/** What the connector reads of a `ReadRowsResponse`. */
export interface ReadRowsResponseLike {
  arrowRecordBatch?: { serializedRecordBatch?: Uint8Array | null } | null;
  rowCount?: Int64Like | null;
}

/** `CreateReadSessionRequest`, as far as the connector fills it. */
export interface CreateReadSessionRequestLike {
  parent: string;
  readSession: {
    table: string;
    dataFormat: 'ARROW';
    tableModifiers?: { snapshotTime: { seconds: number; nanos: number } };
    readOptions?: { selectedFields?: string[]; rowRestriction?: string };
  };
  maxStreamCount: number;
}

/** A server stream of `ReadRows` responses; `cancel()` ends it early. */
export interface ReadRowsStreamLike extends AsyncIterable<ReadRowsResponseLike> {
  cancel(): void;
}

/**
 * The calls the connector makes, structurally those of the official `BigQueryReadClient`:
 * inject any object with them (a client with its own credentials or interceptors, or a
 * wrapper for tests).
 */
export interface BigQueryReadClientLike {
  createReadSession(
    request: CreateReadSessionRequestLike,
    options?: object,
  ): Promise<readonly [ReadSessionLike, ...unknown[]]>;
  readRows(request: { readStream: string; offset: number }, options?: object): ReadRowsStreamLike;
  close(): Promise<void>;
}

/** The official Storage Read API client for a connection. */
export async function createBigQueryReadClient(
  options: Pick<BigQueryConnectionOptions, 'projectId' | 'keyFilename' | 'storageApiEndpoint' | 'apiEndpoint'>,
): Promise<BigQueryReadClientLike> {
  if (options.apiEndpoint && !options.storageApiEndpoint) {
    // Else reads meant for an emulator would go to Google's endpoint, with whatever
    // Application Default Credentials the machine has.
    throw new ConfigError(
      'BigQuery: `readApi: storage` with `apiEndpoint` set needs `storageApiEndpoint` too: the Storage Read API has its own (gRPC) endpoint, e.g. the one honk-bigquery-emulator prints, or https://bigquerystorage.googleapis.com for the service.',
    );
  }
  const [{ BigQueryReadClient }, grpc] = await Promise.all([
    import('@google-cloud/bigquery-storage'),
    import('@grpc/grpc-js'),
  ]);
  const endpoint = options.storageApiEndpoint ? new URL(options.storageApiEndpoint) : undefined;
  const plaintext = endpoint?.protocol === 'http:';
  const client = new BigQueryReadClient({
    projectId: options.projectId,
    ...(endpoint
      ? {
          apiEndpoint: endpoint.hostname.replace(/^\[|\]$/g, ''),
          port: Number(endpoint.port || (plaintext ? 80 : 443)),
        }
      : {}),
    ...(plaintext ? { sslCreds: grpc.credentials.createInsecure() } : {}),
    ...(options.keyFilename ? { keyFilename: options.keyFilename } : {}),
  });
  return client as unknown as BigQueryReadClientLike;
}
