/**
 * A WebHDFS emulator for tests and local development: one or more name nodes and one data
 * node, each an HTTP server on its own loopback port, over a local directory. It follows the
 * public WebHDFS REST documentation closely enough that an independent client (the npm
 * `webhdfs` package) works against it as against Hadoop:
 *
 * - `/webhdfs/v1/<path>?op=…`, the `op` value case-insensitive, `user.name` (or a
 *   `delegation` token the emulator was given) naming the user;
 * - CREATE, APPEND, OPEN and GETFILECHECKSUM answer the name-node request with a 307
 *   redirect to the data node (`noredirect=true`: a 200 with `{"Location": …}` instead);
 * - errors as `{"RemoteException": {exception, javaClassName, message}}` with WebHDFS's
 *   status codes (see emulator-namespace.ts);
 * - snapshots (ALLOWSNAPSHOT, CREATESNAPSHOT, RENAMESNAPSHOT, DELETESNAPSHOT) and
 *   permissions (SETPERMISSION, SETOWNER) enough for AccessControlException;
 * - HA: every name node but the active one answers StandbyException ({@link WebHdfsEmulator.activate});
 * - faults ({@link EmulatorFault}) that real clusters produce and a healthy emulator never does.
 *
 * It is an emulator, not Hadoop: no blocks, replication, leases, quotas, groups, Kerberos.
 */
import { promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatanodeHandler } from './emulator-datanode.ts';
import {
  type EmulatorFault,
  type EmulatorRequest,
  FaultBook,
  type RequestRecorder,
  sendError,
  sendJson,
} from './emulator-http.ts';
import { EmulatedRemoteException, EmulatorNamespace, normaliseHdfsPath } from './emulator-namespace.ts';

export type { EmulatorFault, EmulatorRequest } from './emulator-http.ts';

export interface WebHdfsEmulatorOptions {
  /** The directory holding the namespace. Default: a fresh temporary directory, removed on `stop()`. */
  root?: string;
  /** Port of the first name node. Default: a free port. */
  port?: number;
  /** Name nodes (HA). Default 1; the first one is active. */
  namenodes?: number;
  /** The user that bypasses permissions. Default `hdfs`. */
  superuser?: string;
  /** Entries per LISTSTATUS_BATCH page (`dfs.ls.limit`). Default 1000. */
  listPageSize?: number;
  /** Delegation tokens the emulator accepts, each standing for a user. */
  delegationTokens?: Record<string, string>;
  /** Refuse requests that name no user and no token (401), as a cluster without anonymous access does. */
  requireUser?: boolean;
  /** Require this exact `Authorization` header on name-node requests (a stand-in for SPNEGO). */
  authorization?: string;
  /** Require this header on PUT/POST/DELETE, as Hadoop's REST CSRF filter does (usually `X-XSRF-HEADER`). */
  csrfHeader?: string;
  /** Host name put into data-node redirects. Default `127.0.0.1`. */
  datanodeHost?: string;
}

export interface WebHdfsEmulator {
  /** Base URL of the first name node, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Base URLs of every name node. */
  readonly namenodeUrls: readonly string[];
  readonly datanodeUrl: string;
  /** The local directory holding the namespace. */
  readonly root: string;
  /** Faults still to happen, in order of matching; push to add. */
  readonly faults: EmulatorFault[];
  /** Every request answered so far (cleared with `requests.length = 0`). */
  readonly requests: EmulatorRequest[];
  /** Makes name node `index` the active one; the others answer StandbyException. */
  activate(index: number): void;
  /** Marks a directory snapshottable (what `hdfs dfsadmin -allowSnapshot` does). */
  allowSnapshot(path: string): Promise<void>;
  /** Calls `listener` after each answered request. */
  onRequest(listener: (request: EmulatorRequest) => void): () => void;
  stop(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

const READ_OPS = new Set([
  'OPEN',
  'GETFILESTATUS',
  'LISTSTATUS',
  'LISTSTATUS_BATCH',
  'GETFILECHECKSUM',
  'GETCONTENTSUMMARY',
  'GETHOMEDIRECTORY',
]);

/** Starts the emulator. */
export async function startWebHdfsEmulator(options: WebHdfsEmulatorOptions = {}): Promise<WebHdfsEmulator> {
  const ownsRoot = options.root === undefined;
  const root = options.root ?? (await fs.mkdtemp(join(tmpdir(), 'honk-webhdfs-root-')));
  await fs.mkdir(root, { recursive: true });
  const stateDirectory = await fs.mkdtemp(join(tmpdir(), 'honk-webhdfs-state-'));
  await fs.mkdir(join(stateDirectory, 'uploads'), { recursive: true });
  const namespace = new EmulatorNamespace({ root, stateDirectory, superuser: options.superuser ?? 'hdfs' });
  const pageSize = options.listPageSize ?? 1000;
  const book = new FaultBook();
  const faults = book.faults;
  const requests: EmulatorRequest[] = [];
  const listeners = new Set<(request: EmulatorRequest) => void>();
  const sockets = new Set<Socket>();
  let active = 0;
  const datanodeHost = options.datanodeHost ?? '127.0.0.1';
  let datanodePort = 0;

  const record: RequestRecorder = (request, response) => {
    // `close`, not `finish`: a request whose connection was cut is recorded too.
    response.once('close', () => {
      const done = { ...request, status: response.statusCode };
      requests.push(done);
      for (const listener of listeners) listener(done);
    });
  };

  const userOf = (query: URLSearchParams): string | undefined => {
    const token = query.get('delegation');
    if (token !== null) {
      const user = options.delegationTokens?.[token];
      if (user === undefined) {
        throw new EmulatedRemoteException('SecretManager$InvalidToken', "token is expired or doesn't exist", 403);
      }
      return user;
    }
    return query.get('user.name') ?? undefined;
  };

  const datanodeLocation = (path: string, query: URLSearchParams, user: string) => {
    const forward = new URLSearchParams(query);
    forward.set('user.name', user);
    forward.delete('delegation');
    forward.set('namenoderpcaddress', `127.0.0.1:${active}`);
    return `http://${datanodeHost}:${datanodePort}/webhdfs/v1${encodeURI(path)}?${forward.toString()}`;
  };

  async function namenode(index: number, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://emulator');
    const op = (url.searchParams.get('op') ?? '').toUpperCase();
    const path = normaliseHdfsPath(url.pathname.replace(/^\/webhdfs\/v1/, '') || '/');
    const method = request.method ?? 'GET';
    let user = url.searchParams.get('user.name') ?? 'dr.who';
    try {
      if (!url.pathname.startsWith('/webhdfs/v1')) {
        throw new EmulatedRemoteException('IllegalArgumentException', `Not a WebHDFS path: ${url.pathname}`);
      }
      user = userOf(url.searchParams) ?? (options.requireUser ? '' : 'dr.who');
      record(
        {
          node: 'namenode',
          namenode: index,
          method,
          op,
          path,
          user,
          query: url.searchParams,
          headers: request.headers,
        },
        response,
      );
      if (options.authorization !== undefined && request.headers.authorization !== options.authorization) {
        response.writeHead(401, { 'WWW-Authenticate': 'Negotiate', 'Content-Type': 'text/html' });
        response.end('<html><body>HTTP ERROR 401 Authentication required</body></html>');
        return;
      }
      if (!user)
        throw new EmulatedRemoteException(
          'SecurityException',
          'Failed to obtain user group information: no user.name and no delegation token',
        );
      if (index !== active) {
        throw new EmulatedRemoteException(
          'StandbyException',
          `Operation category ${READ_OPS.has(op) ? 'READ' : 'WRITE'} is not supported in state standby. Visit https://s.apache.org/sbnn-error`,
        );
      }
      if (options.csrfHeader && method !== 'GET' && request.headers[options.csrfHeader.toLowerCase()] === undefined) {
        response.writeHead(400, { 'Content-Type': 'text/html' });
        response.end(
          '<html><body>HTTP ERROR 400 Missing Required Header for CSRF Vulnerability Protection</body></html>',
        );
        return;
      }
      if (book.answer(book.take('namenode', op), request, response)) return;
      const query = url.searchParams;
      const bool = (name: string, fallback: boolean) => (query.get(name) ?? String(fallback)).toLowerCase() === 'true';
      const redirect = async (location: string) => {
        request.resume();
        if (bool('noredirect', false)) sendJson(response, 200, { Location: location });
        else {
          response.writeHead(307, { Location: location, 'Content-Length': 0 });
          response.end();
        }
      };
      const expect = (wanted: string) => {
        if (method !== wanted) {
          throw new EmulatedRemoteException(
            'IllegalArgumentException',
            `Invalid operation ${method} ${op}: use ${wanted}`,
          );
        }
      };
      switch (op) {
        case 'GETFILESTATUS':
          expect('GET');
          return sendJson(response, 200, { FileStatus: await namespace.status(path) });
        case 'LISTSTATUS':
          expect('GET');
          return sendJson(response, 200, { FileStatuses: { FileStatus: await namespace.list(path, user) } });
        case 'LISTSTATUS_BATCH': {
          expect('GET');
          const all = await namespace.list(path, user);
          const after = query.get('startAfter');
          const from = after === null ? 0 : all.findIndex((status) => status.pathSuffix > after);
          const rest = from < 0 ? [] : all.slice(from);
          const page = rest.slice(0, pageSize);
          return sendJson(response, 200, {
            DirectoryListing: {
              partialListing: { FileStatuses: { FileStatus: page } },
              remainingEntries: rest.length - page.length,
            },
          });
        }
        case 'GETCONTENTSUMMARY':
          expect('GET');
          return sendJson(response, 200, { ContentSummary: await namespace.contentSummary(path, user) });
        case 'GETHOMEDIRECTORY':
          return sendJson(response, 200, { Path: `/user/${user}` });
        case 'OPEN':
          expect('GET');
          await namespace.openFile(path, user);
          return redirect(datanodeLocation(path, query, user));
        case 'GETFILECHECKSUM':
          expect('GET');
          await namespace.openFile(path, user);
          return redirect(datanodeLocation(path, query, user));
        case 'CREATE':
          expect('PUT');
          await namespace.checkCreate(path, user, bool('overwrite', false));
          return redirect(datanodeLocation(path, query, user));
        case 'APPEND':
          expect('POST');
          await namespace.checkAppend(path, user);
          return redirect(datanodeLocation(path, query, user));
        case 'MKDIRS':
          expect('PUT');
          return sendJson(response, 200, {
            boolean: await namespace.mkdirs(path, user, query.get('permission') ?? '755'),
          });
        case 'RENAME': {
          expect('PUT');
          const destination = query.get('destination');
          if (!destination)
            throw new EmulatedRemoteException(
              'IllegalArgumentException',
              'Required param destination for op: RENAME is null or empty',
            );
          const overwrite = (query.get('renameoptions') ?? '').toUpperCase().includes('OVERWRITE');
          return sendJson(response, 200, { boolean: await namespace.rename(path, destination, user, overwrite) });
        }
        case 'DELETE':
          expect('DELETE');
          return sendJson(response, 200, { boolean: await namespace.delete(path, user, bool('recursive', false)) });
        case 'SETPERMISSION':
          expect('PUT');
          await namespace.setPermission(path, user, query.get('permission') ?? '755');
          return sendJson(response, 200, undefined);
        case 'SETOWNER':
          expect('PUT');
          await namespace.setOwner(path, user, query.get('owner') ?? user);
          return sendJson(response, 200, undefined);
        case 'ALLOWSNAPSHOT':
          expect('PUT');
          await namespace.snapshots.allowSnapshot(path, user);
          return sendJson(response, 200, undefined);
        case 'CREATESNAPSHOT':
          expect('PUT');
          return sendJson(response, 200, {
            Path: await namespace.snapshots.createSnapshot(path, user, query.get('snapshotname') ?? undefined),
          });
        case 'RENAMESNAPSHOT':
          expect('PUT');
          await namespace.snapshots.renameSnapshot(
            path,
            user,
            query.get('oldsnapshotname') ?? '',
            query.get('snapshotname') ?? '',
          );
          return sendJson(response, 200, undefined);
        case 'DELETESNAPSHOT':
          expect('DELETE');
          await namespace.snapshots.deleteSnapshot(path, user, query.get('snapshotname') ?? '');
          return sendJson(response, 200, undefined);
        default:
          throw new EmulatedRemoteException(
            'IllegalArgumentException',
            `Invalid value for webhdfs parameter "op": No enum constant ${op}`,
          );
      }
    } catch (error) {
      sendError(request, response, error);
    }
  }

  const track = (server: Server) => {
    // Idle connections stay open a minute, as Hadoop's servers keep them, not Node's 5 s: a
    // client reusing a pooled connection at the moment the server drops it sees a reset, and
    // a streamed upload cannot be replayed (see webhdfs-upload.ts).
    server.keepAliveTimeout = 60_000;
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    return server;
  };
  const datanode = createDatanodeHandler(namespace, book, record);
  const datanodeServer = track(createServer((request, response) => void datanode(request, response)));
  datanodePort = await listen(datanodeServer, 0);
  const namenodeServers: Server[] = [];
  const namenodeUrls: string[] = [];
  for (let index = 0; index < (options.namenodes ?? 1); index += 1) {
    const server = track(createServer((request, response) => void namenode(index, request, response)));
    const port = await listen(server, index === 0 ? (options.port ?? 0) : 0);
    namenodeServers.push(server);
    namenodeUrls.push(`http://127.0.0.1:${port}`);
  }

  return {
    url: namenodeUrls[0] as string,
    namenodeUrls,
    datanodeUrl: `http://${datanodeHost}:${datanodePort}`,
    root,
    faults,
    requests,
    activate(index) {
      if (index < 0 || index >= namenodeUrls.length) throw new RangeError(`No name node ${index}`);
      active = index;
    },
    allowSnapshot: (path) => namespace.snapshots.allowSnapshot(path, namespace.superuser),
    onRequest(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async stop() {
      for (const response of book.hung) response.destroy();
      for (const socket of sockets) socket.destroy();
      await Promise.all(
        [datanodeServer, ...namenodeServers].map((server) => new Promise((resolve) => server.close(resolve))),
      );
      await fs.rm(stateDirectory, { recursive: true, force: true });
      if (ownsRoot) await fs.rm(root, { recursive: true, force: true });
    },
  };
}
