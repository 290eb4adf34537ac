/**
 * Transient S3 failures are retried inside the attempt, with backoff; auth refusals are not
 * retried at all. Local servers never throttle or fail, so the real SDK client talks to a
 * loopback proxy (helpers/fault-proxy.ts) that injects SlowDown, 5xx, connection resets,
 * cut-off bodies and auth errors in front of a real server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ConnectorRegistry, type HonkError, isHonkError, runTask } from '@honk/core';
import { createMemoryConnector, MemoryStorage } from '@honk/core/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Client } from '../src/create-s3-client.ts';
import { s3Connector } from '../src/index.ts';
import { headPinned, listPinned, type S3Location } from '../src/s3-listing.ts';
import { createS3RangeReader, streamS3Object } from '../src/s3-object-reader.ts';
import { createS3ObjectWriter } from '../src/s3-object-writer.ts';
import { type S3ConnectionInput, type S3ConnectionOptions, s3ConnectionSchema } from '../src/s3-options.ts';
import { createS3Source } from '../src/s3-source.ts';
import { type FaultProxy, injectFirst, type ProxiedRequest, startFaultProxy } from './helpers/fault-proxy.ts';
import { type S3ServerKind, type S3TestServer, startS3TestServer } from './helpers/s3-test-servers.ts';
import { makeTestBatch, summarise, testSchema } from './helpers/test-batches.ts';

const MiB = 1024 * 1024;
const BUCKET = 'faults';
const signal = new AbortController().signal;
const slowDown = { kind: 'status', status: 503, code: 'SlowDown' } as const;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const isPart = (r: ProxiedRequest) => r.method === 'PUT' && r.url.includes('partNumber=');
const isRangedGet = (r: ProxiedRequest) => r.method === 'GET' && r.headers.range !== undefined;
const isPlainGet = (r: ProxiedRequest) =>
  r.method === 'GET' && r.headers.range === undefined && !r.url.includes('list-type');

/** Milliseconds between consecutive requests: after a failure, that is the backoff. */
const gaps = (requests: ProxiedRequest[]) => requests.slice(1).map((r, i) => r.at - (requests[i] as ProxiedRequest).at);

describe.each<S3ServerKind>(['s3rver', 'fauxqs'])('S3 retries through a fault-injecting proxy on %s', (kind) => {
  let server: S3TestServer;
  let proxy: FaultProxy;
  let viaProxyInput: S3ConnectionInput;
  let viaProxy: S3Location;
  let direct: S3Location;

  beforeAll(async () => {
    server = await startS3TestServer(kind);
    const input = await server.connection(BUCKET);
    proxy = await startFaultProxy(server.endpoint);
    viaProxyInput = { ...input, endpoint: proxy.endpoint };
    const proxied = s3ConnectionSchema.parse(viaProxyInput);
    viaProxy = { client: createS3Client(proxied), bucket: BUCKET, connection: 'flaky', retries: 5 };
    direct = {
      client: createS3Client(s3ConnectionSchema.parse(input)),
      bucket: BUCKET,
      connection: 'direct',
      retries: 1,
    };
  });
  beforeEach(() => {
    proxy.rule = () => undefined;
    proxy.requests.length = 0;
  });
  afterAll(async () => {
    viaProxy?.client.destroy();
    direct?.client.destroy();
    await proxy?.close();
    await server?.stop();
  });

  it('SlowDown on UploadPart is retried inside the write, with backoff', async () => {
    const data = randomBytes(11 * MiB + 777);
    proxy.rule = injectFirst(2, isPart, slowDown);
    const writer = createS3ObjectWriter(viaProxy, 'up/object.bin', { partSizeBytes: 5 * MiB, uploadConcurrency: 2 });
    for (let offset = 0; offset < data.length; offset += 900_000)
      await writer.write(data.subarray(offset, offset + 900_000));
    const written = await writer.finish();
    expect(written.sha256).toBe(sha256(data));

    const parts = proxy.requests.filter(isPart);
    expect(parts.filter((r) => r.fault === 'status')).toHaveLength(2);
    // Three parts, two of them sent twice.
    expect(parts).toHaveLength(5);
    for (const failed of parts.filter((r) => r.fault)) {
      const number = /partNumber=(\d+)/.exec(failed.url)?.[1];
      const retry = parts.find((r) => r !== failed && !r.fault && r.url.includes(`partNumber=${number}&`));
      expect(retry).toBeDefined();
      // The first backoff is at least 200 ms (p-retry's minTimeout; jitter only adds).
      expect((retry as ProxiedRequest).at - failed.at).toBeGreaterThanOrEqual(180);
    }

    const stored = await headPinned(direct, 'up/object.bin');
    const back = createHash('sha256');
    for await (const chunk of streamS3Object(direct, stored)) back.update(chunk);
    expect(back.digest('hex')).toBe(sha256(data));
  });

  it('a ranged GET survives SlowDown, InternalError and a reset, backing off longer each time', async () => {
    const data = randomBytes(256 * 1024);
    await direct.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'ranged.bin', Body: data }));
    const pinned = await headPinned(direct, 'ranged.bin');
    const faults = [
      slowDown,
      { kind: 'status', status: 500, code: 'InternalError' } as const,
      { kind: 'reset' } as const,
    ];
    proxy.rule = injectFirst(3, isRangedGet, (index) => faults[index] as (typeof faults)[number]);
    const bytes = await createS3RangeReader(viaProxy, pinned).read(1000, 5000);
    expect(Buffer.from(bytes).equals(data.subarray(1000, 6000))).toBe(true);

    const tries = proxy.requests.filter(isRangedGet);
    expect(tries.map((r) => r.fault ?? 'ok')).toEqual(['status', 'status', 'reset', 'ok']);
    // Exponential: at least 200, 400 and 800 ms before the 2nd, 3rd and 4th try.
    const waited = gaps(tries);
    expect(waited[0]).toBeGreaterThanOrEqual(180);
    expect(waited[1]).toBeGreaterThanOrEqual(380);
    expect(waited[2]).toBeGreaterThanOrEqual(780);
  });

  it('a streamed GET cut off mid-body resumes with Range from the last byte delivered', async () => {
    const data = randomBytes(6 * MiB);
    await direct.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'streamed.bin', Body: data }));
    const pinned = await headPinned(direct, 'streamed.bin');
    let plain = 0;
    let ranged = 0;
    proxy.rule = (r) => {
      if (isPlainGet(r) && plain++ === 0) return { kind: 'cut', afterBytes: 2 * MiB };
      if (isRangedGet(r) && ranged++ === 0) return slowDown;
      return undefined;
    };
    const back = createHash('sha256');
    let size = 0;
    for await (const chunk of streamS3Object(viaProxy, pinned)) {
      back.update(chunk);
      size += chunk.byteLength;
    }
    expect(size).toBe(data.length);
    expect(back.digest('hex')).toBe(sha256(data));

    const gets = proxy.requests.filter((r) => r.method === 'GET');
    expect(gets.map((r) => r.fault ?? 'ok')).toEqual(['cut', 'status', 'ok']);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(String(gets[2]?.headers.range))?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(2 * MiB);
    expect(gets[1]?.headers.range).toBe(gets[2]?.headers.range);
  });

  it('listing and HEAD retry SlowDown and 503 without a body', async () => {
    await direct.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'list/a.txt', Body: 'a' }));
    proxy.rule = injectFirst(2, (r) => r.url.includes('list-type') || r.method === 'HEAD', slowDown);
    expect((await listPinned(viaProxy, 'list/')).map((o) => o.key)).toEqual(['list/a.txt']);
    expect((await headPinned(viaProxy, 'list/a.txt')).size).toBe(1);
    proxy.rule = injectFirst(1, (r) => r.method === 'HEAD', slowDown);
    expect((await headPinned(viaProxy, 'list/a.txt')).size).toBe(1);
    expect(proxy.requests.filter((r) => r.fault)).toHaveLength(3);
  });

  it.each(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch'])(
    '%s is AUTH_FAILED on the first try, never retried',
    async (code) => {
      await direct.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'auth.bin', Body: 'secret data' }));
      const pinned = await headPinned(direct, 'auth.bin');
      proxy.rule = () => ({ kind: 'status', status: 403, code });
      for (const call of [() => listPinned(viaProxy, ''), () => createS3RangeReader(viaProxy, pinned).read(0, 4)]) {
        proxy.requests.length = 0;
        const error = await call().catch((e: unknown) => e);
        expect(isHonkError(error) && error.code).toBe('AUTH_FAILED');
        expect((error as HonkError).retryable).toBe(false);
        expect((error as HonkError).details?.s3Code).toBe(code);
        expect(proxy.requests).toHaveLength(1);
      }
    },
  );

  it('a whole task (memory → S3 → memory) absorbs SlowDown on every kind of request in one attempt', async () => {
    const storage = new MemoryStorage();
    const batches = Array.from({ length: 8 }, (_, b) => makeTestBatch(b * 1000, 1000, 3));
    storage.set('input', testSchema, batches);
    const registry = new ConnectorRegistry([s3Connector, createMemoryConnector({ default: storage })]);
    const options = s3ConnectionSchema.parse({ ...viaProxyInput, partFileBytes: 40_000 }) as S3ConnectionOptions;
    const side = (connector: string, endpoint: Record<string, unknown>) => ({
      connector,
      connection: connector,
      options: (connector === 's3' ? options : {}) as Record<string, unknown>,
      endpoint,
    });
    // Every third request fails with SlowDown, ten times: listings, puts, copies, deletes, GETs.
    let count = 0;
    let injected = 0;
    proxy.rule = () => {
      if (count++ % 3 !== 1 || injected >= 10) return undefined;
      injected += 1;
      return slowDown;
    };
    const validate = { rowCount: true, checksum: true, sample: 10, schema: false };
    const up = await runTask({
      task: {
        id: 'flaky-up',
        source: side('memory', { name: 'input' }),
        target: side('s3', { prefix: 'task/out/', format: 'arrow' }),
        validate,
      },
      connectors: registry,
    });
    expect(up.error).toBeUndefined();
    expect(up.ok).toBe(true);
    expect(injected).toBe(10);
    const published = createS3Source({
      client: direct.client,
      bucket: BUCKET,
      connection: 'direct',
      retries: 1,
      endpoint: { prefix: 'task/out/' },
    });
    const expected = await summarise(
      (async function* () {
        yield* batches;
      })(),
    );
    expect(await summarise(published.read({ signal, batchRows: 1000 }))).toEqual(expected);

    count = 0;
    injected = 0;
    const down = await runTask({
      task: {
        id: 'flaky-down',
        source: side('s3', { prefix: 'task/out/', format: 'arrow' }),
        target: side('memory', { name: 'output' }),
        validate,
      },
      connectors: registry,
    });
    expect(down.error).toBeUndefined();
    expect(down.ok).toBe(true);
    expect(injected).toBeGreaterThan(0);
    expect(
      await summarise(
        (async function* () {
          yield* storage.get('output')?.batches ?? [];
        })(),
      ),
    ).toEqual(expected);
  });
});
