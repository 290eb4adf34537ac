/**
 * What real clusters do and a healthy emulator never does, injected by the emulator and met
 * by the real client: standby name nodes (HA failover), RetriableException and 5xx (retried),
 * data nodes cutting a read (resumed from the last byte), refused credentials (one request,
 * never retried), CSRF protection, SPNEGO-style headers, delegation tokens, NAT rewrites.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { streamHdfsFile } from '../src/hdfs-byte-input.ts';
import { startWebHdfsEmulator, type WebHdfsEmulator, type WebHdfsEmulatorOptions } from '../src/testing/index.ts';
import { createWebHdfsClient, type WebHdfsClientOptions } from '../src/webhdfs-client.ts';

let emulator: WebHdfsEmulator | undefined;
afterEach(async () => {
  await emulator?.stop();
  emulator = undefined;
});

async function start(options: WebHdfsEmulatorOptions = {}) {
  emulator = await startWebHdfsEmulator(options);
  return emulator;
}

function clientOf(server: WebHdfsEmulator, extra: Partial<WebHdfsClientOptions> = {}) {
  return createWebHdfsClient({ namenodes: server.namenodeUrls, user: 'alice', minBackoffMs: 10, ...extra });
}

async function put(server: WebHdfsEmulator, path: string, text: string) {
  const upload = await clientOf(server).create(path, { overwrite: true });
  await upload.write(Buffer.from(text));
  await upload.finish();
}

describe('HA failover', () => {
  it('a StandbyException moves to the next name node at once and the client stays there', async () => {
    const server = await start({ namenodes: 2 });
    server.activate(1);
    const client = clientOf(server);
    await client.mkdirs('/ha');
    expect(client.activeNamenode).toBe(server.namenodeUrls[1]);
    const first = server.requests.filter((request) => request.node === 'namenode');
    expect(first.map((request) => [request.namenode, request.status])).toEqual([
      [0, 403],
      [1, 200],
    ]);
    server.requests.length = 0;
    await client.getFileStatus('/ha');
    expect(server.requests.map((request) => request.namenode)).toEqual([1]);
    // The cluster fails back: the client follows on the next call.
    server.activate(0);
    await client.getFileStatus('/ha');
    expect(client.activeNamenode).toBe(server.namenodeUrls[0]);
  });

  it('a dead name node (connection refused) is skipped like a standby one', async () => {
    const server = await start();
    const closed = createServer();
    const port = await new Promise<number>((resolve) =>
      closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)),
    );
    await new Promise((resolve) => closed.close(resolve));
    const client = createWebHdfsClient({
      namenodes: [`http://127.0.0.1:${port}`, server.url],
      user: 'alice',
      minBackoffMs: 10,
    });
    await client.mkdirs('/alive');
    expect(client.activeNamenode).toBe(server.url);
  });

  it('when every name node is standby the call fails as TRANSIENT after its tries, not forever', async () => {
    const server = await start({ namenodes: 2 });
    server.faults.push({ exception: 'StandbyException', times: 100 });
    const client = clientOf(server, { retries: 3 });
    const error = await client.getFileStatus('/').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'TRANSIENT', retryable: true });
    expect(String((error as Error).message)).toMatch(/no active name node among 2/);
    expect(server.requests.length).toBe(4 + 2); // two rounds of two, then a third try on each until tries run out
  });
});

describe('retries', () => {
  it('RetriableException and 503 are retried; the call succeeds', async () => {
    const server = await start();
    server.faults.push({ op: 'MKDIRS', exception: 'RetriableException', message: 'NameNode still not started' });
    server.faults.push({ op: 'MKDIRS', status: 503 });
    await clientOf(server).mkdirs('/r');
    expect(server.requests.map((request) => request.status)).toEqual([403, 503, 200]);
  });

  it('a data node failing an OPEN is retried with a fresh redirect', async () => {
    const server = await start();
    await put(server, '/f.txt', 'hello world');
    server.faults.push({ op: 'OPEN', node: 'datanode', status: 500 });
    const bytes = await clientOf(server).read('/f.txt', 6, 5);
    expect(Buffer.from(bytes).toString()).toBe('world');
    expect(
      server.requests.filter((request) => request.op === 'OPEN').map((request) => [request.node, request.status]),
    ).toEqual([
      ['namenode', 307],
      ['datanode', 500],
      ['namenode', 307],
      ['datanode', 200],
    ]);
  });

  it('a read cut off mid-body resumes from the last byte delivered', async () => {
    const server = await start();
    const text = 'x'.repeat(200_000) + 'END';
    await put(server, '/cut.txt', text);
    server.faults.push({ op: 'OPEN', node: 'datanode', cutAfterBytes: 65_536 });
    const client = clientOf(server);
    const status = await client.getFileStatus('/cut.txt');
    const chunks: Uint8Array[] = [];
    for await (const chunk of streamHdfsFile(
      client,
      { path: '/cut.txt', length: status.length, modificationTime: status.modificationTime },
      5,
    ))
      chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe(text);
    const offsets = server.requests
      .filter((request) => request.node === 'datanode' && request.op === 'OPEN')
      .map((request) => request.query.get('offset'));
    expect(offsets[0]).toBe('0');
    expect(Number(offsets[1])).toBeGreaterThan(0);
  });
});

describe('refusals are not retried', () => {
  it('AccessControlException: AUTH_FAILED after exactly one request', async () => {
    const server = await start();
    server.faults.push({
      op: 'GETFILESTATUS',
      exception: 'AccessControlException',
      message: 'Permission denied: user=alice',
    });
    await expect(clientOf(server).getFileStatus('/')).rejects.toMatchObject({ code: 'AUTH_FAILED', retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  it('an unknown delegation token is AUTH_FAILED; a known one acts as its user, and is never in messages', async () => {
    const server = await start({ delegationTokens: { 'token-of-bob': 'bob' } });
    const bad = createWebHdfsClient({ namenodes: [server.url], delegationToken: 'wrong-token-123' });
    const error = await bad.getFileStatus('/').catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'AUTH_FAILED' });
    expect(
      JSON.stringify({ message: (error as Error).message, details: (error as { details: unknown }).details }),
    ).not.toMatch(/wrong-token-123/);
    const good = createWebHdfsClient({ namenodes: [server.url], delegationToken: 'token-of-bob' });
    await good.mkdirs('/bob');
    expect((await good.getFileStatus('/bob')).owner).toBe('bob');
  });

  it('a cluster that requires authentication headers: the header provider hook supplies them', async () => {
    const server = await start({ authorization: 'Negotiate dGVzdA==' });
    await expect(clientOf(server).getFileStatus('/')).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    const seen: string[] = [];
    const client = clientOf(server, {
      headers: ({ method }) => {
        seen.push(method);
        return { Authorization: 'Negotiate dGVzdA==' };
      },
    });
    expect((await client.getFileStatus('/')).type).toBe('DIRECTORY');
    expect(seen).toEqual(['GET']);
  });

  it('CSRF protection: without the header a write is a CONFIG_INVALID naming the option; with it, it works', async () => {
    const server = await start({ csrfHeader: 'X-XSRF-HEADER' });
    await expect(clientOf(server).mkdirs('/c')).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/csrfHeader/),
    });
    await clientOf(server, { csrfHeader: 'X-XSRF-HEADER' }).mkdirs('/c');
  });
});

it('data nodes behind NAT: the redirect is rewritten before it is followed', async () => {
  const server = await start({ datanodeHost: 'datanode.invalid' });
  const rewritten: string[] = [];
  const client = clientOf(server, {
    rewriteDatanodeUrl: (url) => {
      rewritten.push(url.hostname);
      url.hostname = '127.0.0.1';
      return url;
    },
  });
  const upload = await client.create('/nat.txt');
  await upload.write(Buffer.from('through NAT'));
  await upload.finish();
  expect(Buffer.from(await client.read('/nat.txt', 0, 100)).toString()).toBe('through NAT');
  expect(rewritten).toEqual(['datanode.invalid', 'datanode.invalid']);
});
