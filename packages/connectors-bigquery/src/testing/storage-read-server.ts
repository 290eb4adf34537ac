/**
 * The emulator's BigQuery Storage Read API: a gRPC server for
 * `google.cloud.bigquery.storage.v1.BigQueryRead` over the same in-process store as the
 * REST routes, so a table loaded over REST reads back over the Storage API.
 *
 * The service definition is loaded from the `.proto` files that ship inside
 * `@google-cloud/bigquery-storage` (and the `google/api` ones inside its `google-gax`),
 * so the wire format is the one the official client speaks.
 *
 * - `CreateReadSession`: `ARROW` sessions only (AVRO answers UNIMPLEMENTED);
 *   `table_modifiers.snapshot_time` (time travel over the store's versions),
 *   `read_options.selected_fields` (top-level columns), `read_options.row_restriction`
 *   (the emulator's SQL conditions, emulator-sql.ts); the rows are split into
 *   `max_stream_count` contiguous streams (default one; none for an empty table, as the
 *   service does).
 * - `ReadRows`: the stream's rows from `offset`, `batchRows` rows per response, the Arrow
 *   schema in the first response, and flow control (a response waits for the client).
 * - `SplitReadStream`: UNIMPLEMENTED.
 * - Sessions expire 6 hours after their creation, as the service's: `ReadRows` then answers
 *   FAILED_PRECONDITION "session expired at …". `expireSessions()` expires every session
 *   created so far at once (a chunk re-run hours after its plan).
 *
 * `injectFault()` ends chosen calls with a status, e.g. a ReadRows stream broken with
 * UNAVAILABLE after some rows, to test resumption at an offset.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { BigQueryField } from '../bigquery-types.ts';
import { StorageIpc, StorageTypeError, storageBatchOf, storageSchemaOf } from './emulator-arrow.ts';
import { evaluate, parseSql, UnsupportedSqlError } from './emulator-sql.ts';
import { EmulatorError, type EmulatorStore } from './emulator-store.ts';
import type { Cell } from './emulator-values.ts';

/** Rows per ReadRows response unless the server is told otherwise. */
const DEFAULT_BATCH_ROWS = 1024;

/** How long a session lives, as the service's (6 hours). */
const SESSION_LIFETIME_MS = 6 * 60 * 60 * 1000;

/** The BigQueryRead service definition, from the protos shipped in the npm packages. */
export function loadBigQueryReadProto(): grpc.GrpcObject {
  const require = createRequire(import.meta.url);
  const storagePackage = dirname(require.resolve('@google-cloud/bigquery-storage/package.json'));
  // google/api/*.proto (annotations, field behaviour) ship with the client's google-gax.
  const gax = join(dirname(createRequire(join(storagePackage, 'package.json')).resolve('google-gax')), '..', 'protos');
  const definition = protoLoader.loadSync('google/cloud/bigquery/storage/v1/storage.proto', {
    includeDirs: [join(storagePackage, 'build', 'protos'), gax],
    keepCase: false,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition);
}

/** The `BigQueryRead` service constructor of a loaded definition (for servers and raw clients). */
export function bigQueryReadService(proto: grpc.GrpcObject): grpc.ServiceClientConstructor {
  const v1 = (proto.google as any).cloud.bigquery.storage.v1;
  return v1.BigQueryRead as grpc.ServiceClientConstructor;
}

/** A fault: the next `times` matching calls end with `code` (after `afterRows` rows, for ReadRows). */
export interface StorageFault {
  method: 'CreateReadSession' | 'ReadRows';
  /** gRPC status code, e.g. `grpc.status.UNAVAILABLE` (14). */
  code: number;
  message?: string;
  /** ReadRows: break the stream once at least this many rows were sent in this call. Default 0. */
  afterRows?: number;
  /** How many calls fail. Default 1. */
  times?: number;
}

/** One call the server served. */
export interface StorageRequest {
  method: string;
  /** The peer as gRPC reports it, e.g. `ipv4:127.0.0.1:53412`. */
  peer: string;
  /** CreateReadSession: the project the session is billed to (`projects/P`). */
  parent?: string;
  /** ReadRows: the stream and the offset asked for. */
  readStream?: string;
  offset?: number;
  /** gRPC status the call ended with (0: OK). */
  code?: number;
}

export interface StorageReadServer {
  /** `http://HOST:PORT` (plaintext gRPC). */
  readonly endpoint: string;
  readonly port: number;
  readonly requests: StorageRequest[];
  injectFault(fault: StorageFault): void;
  /** Expires every session created so far: their streams answer FAILED_PRECONDITION from now on. */
  expireSessions(): void;
  stop(): Promise<void>;
}

export interface StorageReadServerOptions {
  host?: string;
  port?: number;
  /** Rows per ReadRows response. Default 1024. */
  batchRows?: number;
}

interface Session {
  ipc: StorageIpc;
  fields: BigQueryField[];
  rows: Cell[][];
  streams: { name: string; start: number; end: number }[];
  /** ms since the epoch. */
  expires: number;
}

class StatusError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

function statusOf(error: unknown): { code: number; details: string } {
  if (error instanceof StatusError) return { code: error.code, details: error.message };
  if (error instanceof EmulatorError) {
    const code =
      error.status === 404
        ? grpc.status.NOT_FOUND
        : error.status === 403
          ? grpc.status.PERMISSION_DENIED
          : error.status >= 500
            ? grpc.status.INTERNAL
            : grpc.status.INVALID_ARGUMENT;
    return { code, details: error.message };
  }
  if (error instanceof UnsupportedSqlError) return { code: grpc.status.INVALID_ARGUMENT, details: error.message };
  if (error instanceof StorageTypeError) return { code: grpc.status.UNIMPLEMENTED, details: error.message };
  return { code: grpc.status.INTERNAL, details: `Emulator failure: ${(error as Error)?.message ?? String(error)}` };
}

function millisOf(timestamp: { seconds?: string | number; nanos?: number } | null | undefined): number | undefined {
  if (!timestamp || (Number(timestamp.seconds ?? 0) === 0 && Number(timestamp.nanos ?? 0) === 0)) return undefined;
  return Number(timestamp.seconds ?? 0) * 1000 + Math.floor(Number(timestamp.nanos ?? 0) / 1e6);
}

/** Starts the Storage Read API server over `store`. */
export async function startStorageReadServer(
  store: EmulatorStore,
  options: StorageReadServerOptions = {},
): Promise<StorageReadServer> {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const sessions = new Map<string, Session>();
  const streams = new Map<string, { session: Session; start: number; end: number }>();
  const requests: StorageRequest[] = [];
  const faults: (StorageFault & { left: number })[] = [];
  const takeFault = (method: StorageFault['method']) => {
    const fault = faults.find((item) => item.left > 0 && item.method === method);
    if (fault) fault.left--;
    return fault;
  };

  const createReadSession = (request: any) => {
    const fault = takeFault('CreateReadSession');
    if (fault) throw new StatusError(fault.code, fault.message ?? 'Injected fault');
    const requested = request.readSession ?? {};
    const path = /^projects\/([^/]+)\/datasets\/([^/]+)\/tables\/([^/]+)$/.exec(requested.table ?? '');
    if (!path) {
      throw new StatusError(
        grpc.status.INVALID_ARGUMENT,
        `Invalid table name "${requested.table}": expected projects/{project}/datasets/{dataset}/tables/{table}.`,
      );
    }
    const [, projectId, datasetId, tableId] = path as unknown as [string, string, string, string];
    if (requested.dataFormat !== 'ARROW') {
      throw new StatusError(grpc.status.UNIMPLEMENTED, 'The emulator serves ARROW read sessions only.');
    }
    const table = store.requireTable(projectId, datasetId, tableId);
    const at = millisOf(requested.tableModifiers?.snapshotTime);
    if (at !== undefined && at > Date.now()) {
      throw new StatusError(
        grpc.status.INVALID_ARGUMENT,
        `Invalid snapshot time ${new Date(at).toISOString()}: it is in the future.`,
      );
    }
    const version = store.versionAt(table, at ?? Date.now());
    let rows = version.rows.slice(0, version.count);
    let fields = version.fields;
    const restriction: string = requested.readOptions?.rowRestriction ?? '';
    if (restriction) {
      const statement = parseSql(`SELECT * FROM \`${projectId}.${datasetId}.${tableId}\` WHERE ${restriction}`);
      if (statement.kind !== 'select' || !statement.where) {
        throw new StatusError(grpc.status.INVALID_ARGUMENT, `Invalid row restriction: ${restriction}`);
      }
      const where = statement.where;
      const columnIndex = (name: string): [number, BigQueryField] => {
        const index = fields.findIndex((field) => field.name.toLowerCase() === name.toLowerCase());
        if (index < 0) throw new StatusError(grpc.status.INVALID_ARGUMENT, `Unrecognized name: ${name}`);
        return [index, fields[index] as BigQueryField];
      };
      rows = rows.filter((row) => evaluate(where, row, columnIndex));
    }
    const selected: string[] = requested.readOptions?.selectedFields ?? [];
    if (selected.length > 0) {
      const wanted = new Set(selected.map((name) => name.toLowerCase()));
      for (const name of selected) {
        if (!fields.some((field) => field.name.toLowerCase() === name.toLowerCase())) {
          throw new StatusError(grpc.status.INVALID_ARGUMENT, `Field ${name} not found in table ${tableId}.`);
        }
      }
      // Columns come in the table's order, whatever the order asked for.
      const keep = fields.flatMap((field, index) => (wanted.has(field.name.toLowerCase()) ? [index] : []));
      fields = keep.map((index) => fields[index] as BigQueryField);
      rows = rows.map((row) => keep.map((index) => row[index]));
    }
    const ipc = new StorageIpc(storageSchemaOf(fields));
    const id = randomUUID().replace(/-/g, '');
    const name = `projects/${projectId}/locations/us/sessions/${id}`;
    const count =
      rows.length === 0 ? 0 : Math.max(1, Math.min(Number(request.maxStreamCount ?? 0) || 1, rows.length, 1000));
    const expire = Date.now() + SESSION_LIFETIME_MS;
    const session: Session = { ipc, fields, rows, streams: [], expires: expire };
    for (let k = 0; k < count; k++) {
      const stream = {
        name: `${name}/streams/${k}`,
        start: Math.floor((rows.length * k) / count),
        end: Math.floor((rows.length * (k + 1)) / count),
      };
      session.streams.push(stream);
      streams.set(stream.name, { session, start: stream.start, end: stream.end });
    }
    sessions.set(name, session);
    return {
      name,
      expireTime: { seconds: String(Math.floor(expire / 1000)), nanos: 0 },
      dataFormat: 'ARROW',
      arrowSchema: { serializedSchema: Buffer.from(ipc.serializedSchema) },
      table: requested.table,
      tableModifiers: requested.tableModifiers ?? null,
      readOptions: requested.readOptions ?? null,
      streams: session.streams.map((stream) => ({ name: stream.name })),
      estimatedRowCount: String(rows.length),
      estimatedTotalBytesScanned: String(rows.length * fields.length * 8),
    };
  };

  const readRows = async (call: grpc.ServerWritableStream<any, any>, entry: StorageRequest) => {
    const name: string = call.request.readStream ?? '';
    const offset = Number(call.request.offset ?? 0);
    const stream = streams.get(name);
    if (!stream) throw new StatusError(grpc.status.NOT_FOUND, `Not found: read stream ${name}`);
    const { session, start, end } = stream;
    if (Date.now() >= session.expires) {
      throw new StatusError(
        grpc.status.FAILED_PRECONDITION,
        `there was an error operating on '${name}': session expired at ${new Date(session.expires).toISOString()}`,
      );
    }
    if (offset < 0 || offset > end - start) {
      throw new StatusError(
        grpc.status.OUT_OF_RANGE,
        `Offset ${offset} is beyond the ${end - start} rows of stream ${name}.`,
      );
    }
    const fault = takeFault('ReadRows');
    let cancelled = false;
    call.on('cancelled', () => {
      cancelled = true;
    });
    let sent = 0;
    for (let from = start + offset; from < end && !cancelled; from += batchRows) {
      if (fault && sent >= (fault.afterRows ?? 0)) break;
      const to = Math.min(end, from + batchRows);
      const batch = storageBatchOf(session.ipc.schema, session.fields, session.rows.slice(from, to));
      const response = {
        arrowRecordBatch: { serializedRecordBatch: Buffer.from(session.ipc.serializeBatch(batch)), rowCount: 0 },
        rowCount: String(to - from),
        stats: {
          progress: { atResponseStart: (from - start) / (end - start), atResponseEnd: (to - start) / (end - start) },
        },
        ...(from === start + offset
          ? { arrowSchema: { serializedSchema: Buffer.from(session.ipc.serializedSchema) } }
          : {}),
      };
      sent += to - from;
      if (!call.write(response)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            call.off('drain', done);
            call.off('cancelled', done);
            resolve();
          };
          call.on('drain', done);
          call.on('cancelled', done);
        });
      }
    }
    if (fault) throw new StatusError(fault.code, fault.message ?? `Injected fault after ${sent} rows`);
    entry.code = grpc.status.OK;
    if (!cancelled) call.end();
  };

  const server = new grpc.Server();
  server.addService(bigQueryReadService(loadBigQueryReadProto()).service, {
    CreateReadSession: (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
      const entry: StorageRequest = { method: 'CreateReadSession', peer: call.getPeer(), parent: call.request.parent };
      requests.push(entry);
      try {
        const session = createReadSession(call.request);
        entry.code = grpc.status.OK;
        callback(null, session);
      } catch (error) {
        const status = statusOf(error);
        entry.code = status.code;
        callback(status);
      }
    },
    ReadRows: (call: grpc.ServerWritableStream<any, any>) => {
      const entry: StorageRequest = {
        method: 'ReadRows',
        peer: call.getPeer(),
        readStream: call.request.readStream,
        offset: Number(call.request.offset ?? 0),
      };
      requests.push(entry);
      readRows(call, entry).catch((error: unknown) => {
        const status = statusOf(error);
        entry.code = status.code;
        call.emit('error', status);
      });
    },
    SplitReadStream: (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
      requests.push({ method: 'SplitReadStream', peer: call.getPeer(), code: grpc.status.UNIMPLEMENTED });
      callback({ code: grpc.status.UNIMPLEMENTED, details: 'SplitReadStream is not implemented by the emulator.' });
    },
  });
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${host.includes(':') ? `[${host}]` : host}:${options.port ?? 0}`,
      grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    );
  });
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    requests,
    injectFault: (fault) => faults.push({ ...fault, left: fault.times ?? 1 }),
    expireSessions: () => {
      const now = Date.now();
      for (const session of sessions.values()) session.expires = Math.min(session.expires, now);
    },
    stop: async () => {
      // Like the REST server's stop: streams a client left open are cut, not waited for.
      server.forceShutdown();
    },
  };
}
