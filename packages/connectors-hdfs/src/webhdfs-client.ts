/**
 * A small typed WebHDFS client on `fetch`: the operations Honk needs, HA name-node failover,
 * retries of transient failures, and the authentication hooks of a secured cluster.
 *
 * - Two-step operations (CREATE, APPEND, OPEN, GETFILECHECKSUM) ask the name node with
 *   `redirect: 'manual'` and follow its 307 to the data node themselves, so the body goes
 *   only to the data node and the data-node URL can be rewritten (`rewriteDatanodeUrl`,
 *   for clusters behind NAT whose data nodes advertise internal host names).
 * - HA: `namenodes` lists every name node; a StandbyException (or no answer at all: refused,
 *   reset, unreachable) moves to the next one at once, and the client remembers the active one.
 * - Transient failures (RetriableException, SafeModeException, 5xx, 429, resets) are retried
 *   with exponential backoff (200 ms, doubling, at most 10 s) up to `retries` tries.
 * - Authentication: `user` (`user.name`, simple auth), `delegationToken` (`delegation=`), or
 *   `headers`, called before every name-node request, for Kerberos/SPNEGO
 *   (`Authorization: Negotiate …` from a library such as `kerberos`) or a gateway's token.
 *   `csrfHeader` sends the header Hadoop's REST CSRF filter requires on PUT/POST/DELETE.
 *
 * Errors are HonkErrors (see webhdfs-errors.ts); tokens and headers never appear in them.
 */
import { AbortedError, HonkError, TransientError, throwIfAborted } from '@honk/core';
import type { HdfsContentSummary, HdfsFileChecksum, HdfsFileStatus } from './hdfs-file-status.ts';
import type { WebHdfsClientOptions } from './webhdfs-client-options.ts';
import {
  isStandby,
  networkError,
  parseRemoteException,
  remoteError,
  type WebHdfsCallContext,
} from './webhdfs-errors.ts';
import { startUpload, type WebHdfsUpload } from './webhdfs-upload.ts';

export type { HdfsContentSummary, HdfsFileChecksum, HdfsFileStatus } from './hdfs-file-status.ts';
export type { WebHdfsClientOptions, WebHdfsHeaderProvider } from './webhdfs-client-options.ts';

export interface WebHdfsClient {
  readonly connection: string;
  /** The name node currently believed active. */
  readonly activeNamenode: string;
  getFileStatus(path: string, signal?: AbortSignal): Promise<HdfsFileStatus>;
  /** GETFILESTATUS that answers `undefined` for a missing path. */
  statusIfExists(path: string, signal?: AbortSignal): Promise<HdfsFileStatus | undefined>;
  /** A directory's entries in name order (LISTSTATUS_BATCH pages; LISTSTATUS where unsupported). A file lists itself. */
  listStatus(path: string, signal?: AbortSignal): AsyncGenerator<HdfsFileStatus>;
  mkdirs(path: string, options?: { permission?: string; signal?: AbortSignal }): Promise<void>;
  /** RENAME; a `false` answer is an error. `overwrite` replaces a file or an empty directory. */
  rename(from: string, to: string, options?: { overwrite?: boolean; signal?: AbortSignal }): Promise<void>;
  /** DELETE; `false` when there was nothing to delete. */
  delete(path: string, options?: { recursive?: boolean; signal?: AbortSignal }): Promise<boolean>;
  create(
    path: string,
    options?: { overwrite?: boolean; permission?: string; signal?: AbortSignal },
  ): Promise<WebHdfsUpload>;
  append(path: string, options?: { signal?: AbortSignal }): Promise<WebHdfsUpload>;
  /** OPEN as a stream of chunks, from `offset`, at most `length` bytes. */
  open(
    path: string,
    options?: { offset?: number; length?: number; signal?: AbortSignal },
  ): Promise<AsyncIterable<Uint8Array>>;
  /** Exactly the bytes `[offset, offset + length)` (fewer only at the end of the file), retried as a whole. */
  read(path: string, offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array>;
  createSnapshot(path: string, name?: string): Promise<string>;
  renameSnapshot(path: string, from: string, to: string): Promise<void>;
  deleteSnapshot(path: string, name: string): Promise<void>;
  getFileChecksum(path: string): Promise<HdfsFileChecksum>;
  getContentSummary(path: string, signal?: AbortSignal): Promise<HdfsContentSummary>;
  setPermission(path: string, permission: string): Promise<void>;
}

interface CallOptions {
  method?: 'GET' | 'PUT' | 'POST' | 'DELETE';
  params?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new AbortedError(undefined, { cause: signal.reason }));
      },
      { once: true },
    );
  });
}

/** Creates a client. Options are checked here; nothing is contacted until the first call. */
export function createWebHdfsClient(options: WebHdfsClientOptions): WebHdfsClient {
  if (options.namenodes.length === 0) throw new HonkError('CONFIG_INVALID', 'WebHDFS client: `namenodes` is empty.');
  const namenodes = options.namenodes.map((url) => url.replace(/\/+$/, ''));
  const connection = options.connection ?? 'webhdfs';
  const retries = options.retries ?? 5;
  const minBackoff = options.minBackoffMs ?? 200;
  const timeout = options.requestTimeoutMs ?? 120_000;
  let active = 0;

  const urlOf = (base: string, path: string, op: string, params: CallOptions['params'] = {}) => {
    const url = new URL(`${base}/webhdfs/v1${encodeURI(path.startsWith('/') ? path : `/${path}`)}`);
    url.searchParams.set('op', op);
    if (options.delegationToken) url.searchParams.set('delegation', options.delegationToken);
    else if (options.user) url.searchParams.set('user.name', options.user);
    for (const [key, value] of Object.entries(params))
      if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  };

  const headersFor = async (method: string, url: URL): Promise<Record<string, string>> => ({
    ...(options.csrfHeader && method !== 'GET' ? { [options.csrfHeader]: 'true' } : {}),
    ...((await options.headers?.({ method, url })) ?? {}),
  });

  const failed = async (response: Response, context: WebHdfsCallContext) => {
    const text = await response.text().catch(() => '');
    const remote = parseRemoteException(text);
    return { error: remoteError(response.status, remote, text, context), standby: isStandby(remote) };
  };

  /**
   * Runs `attempt` against the active name node with failover and retries. `attempt` gets the
   * name node's base URL and throws a HonkError, or `{ error, failover }` where `failover`
   * marks a standby answer or no answer at all (the next name node is tried).
   */
  async function withRetries<T>(
    context: WebHdfsCallContext,
    signal: AbortSignal | undefined,
    attempt: (base: string) => Promise<T>,
  ): Promise<T> {
    let tries = 0;
    let standbyInRound = 0;
    for (;;) {
      throwIfAborted(signal);
      const base = namenodes[active] as string;
      try {
        return await attempt(base);
      } catch (caught) {
        const failover = (caught as { failover?: boolean }).failover === true;
        const error = networkError((caught as { error?: unknown }).error ?? caught, context, signal);
        if (failover && namenodes.length > 1) {
          active = (active + 1) % namenodes.length;
          standbyInRound += 1;
          // Try every name node once before backing off: one of them is active.
          if (standbyInRound < namenodes.length) continue;
          standbyInRound = 0;
        }
        tries += 1;
        if (error.code !== 'TRANSIENT' || tries >= retries) {
          if (failover && namenodes.length > 1 && error.code === 'TRANSIENT') {
            throw new TransientError(
              `HDFS connection "${connection}": ${context.operation} ${context.path}: no active name node among ${namenodes.length} (each answered StandbyException or did not answer, ${tries} times). A failover may be in progress; the attempt is retried.`,
              { cause: error, details: error.details },
            );
          }
          throw error;
        }
        await sleep(Math.min(10_000, minBackoff * 2 ** (tries - 1)) * (0.75 + Math.random() * 0.5), signal);
      }
    }
  }

  /** One name-node request; answers the Response of a success (2xx or, with `manual`, a redirect). */
  async function namenodeRequest(base: string, op: string, path: string, call: CallOptions, redirect: boolean) {
    const method = call.method ?? 'GET';
    const url = urlOf(base, path, op, call.params);
    const context = { connection, operation: op, path };
    const timer = AbortSignal.timeout(timeout);
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        redirect: 'manual',
        headers: await headersFor(method, url),
        signal: call.signal ? AbortSignal.any([call.signal, timer]) : timer,
      });
    } catch (error) {
      // No answer at all (refused, reset, unreachable): with HA, another name node may answer.
      throw { error: networkError(error, context, call.signal), failover: !call.signal?.aborted };
    }
    if (redirect && (response.status === 307 || response.status === 302)) return response;
    if (response.ok) return response;
    const { error, standby } = await failed(response, context);
    throw { error, failover: standby };
  }

  /** A simple name-node operation answering JSON. */
  async function json<T>(op: string, path: string, call: CallOptions = {}): Promise<T> {
    return withRetries({ connection, operation: op, path }, call.signal, async (base) => {
      const response = await namenodeRequest(base, op, path, call, false);
      const text = await response.text();
      return (text ? JSON.parse(text) : {}) as T;
    });
  }

  /** The data-node location of a two-step operation. */
  async function locate(op: string, path: string, call: CallOptions): Promise<string> {
    return withRetries({ connection, operation: op, path }, call.signal, async (base) => {
      const response = await namenodeRequest(base, op, path, call, true);
      await response.body?.cancel();
      const location = response.headers.get('location');
      if (!location) {
        throw {
          error: new HonkError(
            'INTERNAL',
            `HDFS connection "${connection}": ${op} ${path}: the name node answered ${response.status} without a data-node Location.`,
          ),
        };
      }
      const rewritten = options.rewriteDatanodeUrl?.(new URL(location));
      return rewritten === undefined ? location : String(rewritten);
    });
  }

  async function openOnce(path: string, offset: number, length: number | undefined, signal?: AbortSignal) {
    const location = await locate('OPEN', path, { params: { offset, length }, signal });
    const context = { connection, operation: 'OPEN', path };
    let response: Response;
    try {
      response = await fetch(location, { signal: signal ?? null });
    } catch (error) {
      throw networkError(error, context, signal);
    }
    if (!response.ok) throw (await failed(response, context)).error;
    return response;
  }

  async function* chunksOf(
    response: Response,
    context: WebHdfsCallContext,
    signal?: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    const reader = response.body?.getReader();
    if (!reader) return;
    try {
      for (;;) {
        let next: { done: boolean; value?: Uint8Array };
        try {
          next = await reader.read();
        } catch (error) {
          throw networkError(error, context, signal);
        }
        if (next.done) return;
        if (next.value) yield next.value;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  const client: WebHdfsClient = {
    connection,
    get activeNamenode() {
      return namenodes[active] as string;
    },
    async getFileStatus(path, signal) {
      return (await json<{ FileStatus: HdfsFileStatus }>('GETFILESTATUS', path, { signal: signal })).FileStatus;
    },
    async statusIfExists(path, signal) {
      try {
        return await client.getFileStatus(path, signal);
      } catch (error) {
        if ((error as HonkError).code === 'NOT_FOUND') return undefined;
        throw error;
      }
    },
    async *listStatus(path, signal) {
      let after: string | undefined;
      for (;;) {
        let page: {
          DirectoryListing: {
            partialListing: { FileStatuses: { FileStatus: HdfsFileStatus[] } };
            remainingEntries: number;
          };
        };
        try {
          page = await json('LISTSTATUS_BATCH', path, { params: { startAfter: after }, signal });
        } catch (error) {
          // Hadoop before 2.8 has no LISTSTATUS_BATCH: one unpaged listing instead.
          if ((error as HonkError).details?.exception === 'IllegalArgumentException' && after === undefined) {
            const all = await json<{ FileStatuses: { FileStatus: HdfsFileStatus[] } }>('LISTSTATUS', path, { signal });
            yield* all.FileStatuses.FileStatus;
            return;
          }
          throw error;
        }
        const statuses = page.DirectoryListing.partialListing.FileStatuses.FileStatus;
        yield* statuses;
        if (page.DirectoryListing.remainingEntries <= 0 || statuses.length === 0) return;
        after = statuses.at(-1)?.pathSuffix;
      }
    },
    async mkdirs(path, call = {}) {
      const answer = await json<{ boolean: boolean }>('MKDIRS', path, {
        method: 'PUT',
        params: { permission: call.permission },
        signal: call.signal,
      });
      if (!answer.boolean) {
        throw new HonkError('INTERNAL', `HDFS connection "${connection}": MKDIRS ${path} answered false.`, {
          details: { path },
        });
      }
    },
    async rename(from, to, call = {}) {
      const answer = await json<{ boolean: boolean }>('RENAME', from, {
        method: 'PUT',
        params: { destination: to, renameoptions: call.overwrite ? 'OVERWRITE' : undefined },
        signal: call.signal,
      });
      if (answer.boolean) return;
      // A retried RENAME whose first try was applied answers false: the source is gone and
      // the destination is there.
      const [source, destination] = await Promise.all([client.statusIfExists(from), client.statusIfExists(to)]);
      if (!source && destination) return;
      throw new HonkError(
        'INTERNAL',
        `HDFS connection "${connection}": RENAME ${from} → ${to} answered false: ${!source ? 'the source does not exist' : destination ? 'the destination exists' : "the destination's parent does not exist"}.`,
        { details: { operation: 'RENAME', path: from, destination: to } },
      );
    },
    async delete(path, call = {}) {
      const answer = await json<{ boolean: boolean }>('DELETE', path, {
        method: 'DELETE',
        params: { recursive: call.recursive ?? false },
        signal: call.signal,
      });
      return answer.boolean;
    },
    async create(path, call = {}) {
      const location = await locate('CREATE', path, {
        method: 'PUT',
        params: { overwrite: call.overwrite ?? false, permission: call.permission },
        signal: call.signal,
      });
      return startUpload(location, 'PUT', { connection, operation: 'CREATE', path }, call.signal);
    },
    async append(path, call = {}) {
      const location = await locate('APPEND', path, { method: 'POST', signal: call.signal });
      return startUpload(location, 'POST', { connection, operation: 'APPEND', path }, call.signal);
    },
    async open(path, call = {}) {
      const context = { connection, operation: 'OPEN', path };
      const response = await openOnce(path, call.offset ?? 0, call.length, call.signal);
      return chunksOf(response, context, call.signal);
    },
    async read(path, offset, length, signal) {
      const context = { connection, operation: 'OPEN', path };
      return withRetries(context, signal, async () => {
        const response = await openOnce(path, offset, length, signal);
        let bytes: Uint8Array;
        try {
          bytes = new Uint8Array(await response.arrayBuffer());
        } catch (error) {
          throw networkError(error, context, signal);
        }
        if (bytes.byteLength > length) bytes = bytes.subarray(0, length);
        return bytes;
      });
    },
    async createSnapshot(path, name) {
      return (await json<{ Path: string }>('CREATESNAPSHOT', path, { method: 'PUT', params: { snapshotname: name } }))
        .Path;
    },
    async renameSnapshot(path, from, to) {
      await json('RENAMESNAPSHOT', path, { method: 'PUT', params: { oldsnapshotname: from, snapshotname: to } });
    },
    async deleteSnapshot(path, name) {
      await json('DELETESNAPSHOT', path, { method: 'DELETE', params: { snapshotname: name } });
    },
    async getFileChecksum(path) {
      const context = { connection, operation: 'GETFILECHECKSUM', path };
      return withRetries(context, undefined, async () => {
        const location = await locate('GETFILECHECKSUM', path, {});
        const response = await fetch(location).catch((error: unknown) => {
          throw networkError(error, context);
        });
        if (!response.ok) throw (await failed(response, context)).error;
        return ((await response.json()) as { FileChecksum: HdfsFileChecksum }).FileChecksum;
      });
    },
    async getContentSummary(path, signal) {
      return (await json<{ ContentSummary: HdfsContentSummary }>('GETCONTENTSUMMARY', path, { signal })).ContentSummary;
    },
    async setPermission(path, permission) {
      await json('SETPERMISSION', path, { method: 'PUT', params: { permission } });
    },
  };
  return client;
}
