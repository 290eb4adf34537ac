/**
 * A loopback HTTP proxy in front of a test S3 server that injects the failures real S3
 * produces and local servers never do: `503 SlowDown`, `500 InternalError`, a connection
 * reset before the response, a response body cut off mid-way, and auth refusals. The real
 * SDK client talks to the proxy, so the whole path (SDK error parsing → `toS3Error` →
 * `withS3Retry`) is exercised. Requests pass through untouched (s3rver checks the access
 * key id, not the SigV4 signature, so the changed Host does not matter).
 */
import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does with one request. */
export type Fault =
  | { kind: 'status'; status: number; code: string }
  | { kind: 'reset' }
  /** Forward, but destroy the connection after this many bytes of the response body. */
  | { kind: 'cut'; afterBytes: number };

/** One request seen by the proxy. */
export interface ProxiedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** `performance.now()` when the request arrived. */
  at: number;
  fault?: Fault['kind'];
}

export interface FaultProxy {
  endpoint: string;
  /** Every request so far, in arrival order. */
  readonly requests: ProxiedRequest[];
  /**
   * Decides the fault for each request (undefined = forward). Replace it between tests;
   * `injectFirst` builds the usual "first N requests of a kind" rule.
   */
  rule: (request: ProxiedRequest) => Fault | undefined;
  close(): Promise<void>;
}

/** A rule that applies `fault` to the first `count` requests matching `match`. */
export function injectFirst(
  count: number,
  match: (request: ProxiedRequest) => boolean,
  fault: Fault | ((index: number) => Fault),
): (request: ProxiedRequest) => Fault | undefined {
  let seen = 0;
  return (req) => {
    if (!match(req) || seen >= count) return undefined;
    const index = seen;
    seen += 1;
    return typeof fault === 'function' ? fault(index) : fault;
  };
}

function errorXml(code: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>Injected by the test proxy.</Message><RequestId>honk-test</RequestId></Error>`;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const proxy: FaultProxy = {
    endpoint: '',
    requests,
    rule: () => undefined,
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const seen: ProxiedRequest = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers: req.headers,
      at: performance.now(),
    };
    const fault = proxy.rule(seen);
    if (fault) seen.fault = fault.kind;
    requests.push(seen);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      // Read the upload first, as S3 does, so the client is not cut off mid-body.
      req.resume();
      req.on('end', () => {
        const body = req.method === 'HEAD' ? '' : errorXml(fault.code);
        res.writeHead(fault.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    const forwarded = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (fault?.kind !== 'cut') {
          answer.pipe(res);
          return;
        }
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          if (sent >= fault.afterBytes) return;
          const part = chunk.subarray(0, fault.afterBytes - sent);
          sent += part.length;
          res.write(part);
          if (sent >= fault.afterBytes) {
            answer.destroy();
            res.socket?.destroy();
          }
        });
      },
    );
    forwarded.on('error', () => res.socket?.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
