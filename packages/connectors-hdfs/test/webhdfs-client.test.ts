/**
 * The typed client against the emulator, and the emulator against an independent client
 * (the npm `webhdfs` package, callback style on `request`), so the emulator is not merely
 * agreeing with our own client.
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebHdfsEmulator, type WebHdfsEmulator } from '../src/testing/index.ts';
import { createWebHdfsClient, type WebHdfsClient } from '../src/webhdfs-client.ts';

const require = createRequire(import.meta.url);

interface IndependentClient {
  writeFile(path: string, data: string | Buffer, callback: (error: Error | null) => void): void;
  readFile(path: string, callback: (error: Error | null, data: Buffer) => void): void;
  readdir(path: string, callback: (error: Error | null, files: { pathSuffix: string; length: number }[]) => void): void;
  stat(path: string, callback: (error: Error | null, status: { type: string; length: number }) => void): void;
  mkdir(path: string, callback: (error: Error | null) => void): void;
  rename(from: string, to: string, callback: (error: Error | null) => void): void;
  unlink(path: string, recursive: boolean, callback: (error: Error | null) => void): void;
}
const WebHDFS = require('webhdfs') as { createClient(options: object): IndependentClient };

function independent(emulator: WebHdfsEmulator, user = 'alice'): IndependentClient {
  const url = new URL(emulator.url);
  return WebHDFS.createClient({ user, host: url.hostname, port: url.port, path: '/webhdfs/v1' });
}

function call<T>(run: (callback: (error: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value as T))));
}

async function writeAll(client: WebHdfsClient, path: string, chunks: (string | Uint8Array)[], overwrite = false) {
  const upload = await client.create(path, { overwrite });
  for (const chunk of chunks) await upload.write(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  await upload.finish();
}

async function readAll(client: WebHdfsClient, path: string): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const chunk of await client.open(path)) parts.push(chunk);
  return Buffer.concat(parts).toString();
}

describe('WebHDFS client on the emulator', () => {
  let emulator: WebHdfsEmulator;
  let client: WebHdfsClient;

  beforeAll(async () => {
    emulator = await startWebHdfsEmulator({ listPageSize: 2 });
    client = createWebHdfsClient({ namenodes: [emulator.url], user: 'alice', connection: 'test' });
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('writes through the data node in two steps and reads whole files and ranges', async () => {
    emulator.requests.length = 0;
    const big = new Uint8Array(5 * 1024 * 1024).map((_, index) => index % 251);
    await writeAll(client, '/data/a.bin', [big, 'tail']);
    const steps = emulator.requests.filter((request) => request.op === 'CREATE');
    expect(steps.map((request) => [request.node, request.method, request.status])).toEqual([
      ['namenode', 'PUT', 307],
      ['datanode', 'PUT', 201],
    ]);
    const status = await client.getFileStatus('/data/a.bin');
    expect(status).toMatchObject({ type: 'FILE', length: big.length + 4, owner: 'alice' });
    const range = await client.read('/data/a.bin', 1000, 10);
    expect([...range]).toEqual([...big.subarray(1000, 1010)]);
    const tail = await client.read('/data/a.bin', big.length, 100);
    expect(Buffer.from(tail).toString()).toBe('tail');
    const upload = await client.append('/data/a.bin');
    await upload.write(Buffer.from('+more'));
    await upload.finish();
    expect((await client.getFileStatus('/data/a.bin')).length).toBe(big.length + 9);
  });

  it('pages directory listings with LISTSTATUS_BATCH and keeps name order', async () => {
    for (const name of ['e', 'c', 'a', 'd', 'b']) await writeAll(client, `/list/${name}.csv`, [name]);
    emulator.requests.length = 0;
    const names: string[] = [];
    for await (const status of client.listStatus('/list')) names.push(status.pathSuffix);
    expect(names).toEqual(['a.csv', 'b.csv', 'c.csv', 'd.csv', 'e.csv']);
    const pages = emulator.requests.filter((request) => request.op === 'LISTSTATUS_BATCH');
    expect(pages.map((request) => request.query.get('startAfter'))).toEqual([null, 'b.csv', 'd.csv']);
  });

  it('mkdirs, rename (a false answer is an error), delete, content summary, checksum', async () => {
    await client.mkdirs('/tree/x/y');
    await writeAll(client, '/tree/x/y/f.txt', ['12345']);
    await client.rename('/tree/x', '/tree/z');
    expect(await client.statusIfExists('/tree/x')).toBeUndefined();
    expect(await readAll(client, '/tree/z/y/f.txt')).toBe('12345');
    await expect(client.rename('/tree/missing', '/tree/other')).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/answered false: the source does not exist/),
    });
    await writeAll(client, '/tree/new.txt', ['new']);
    await client.rename('/tree/new.txt', '/tree/z/y/f.txt', { overwrite: true });
    expect(await readAll(client, '/tree/z/y/f.txt')).toBe('new');
    expect(await client.getContentSummary('/tree')).toMatchObject({ directoryCount: 3, fileCount: 1, length: 3 });
    const checksum = await client.getFileChecksum('/tree/z/y/f.txt');
    expect(checksum.bytes).toMatch(/^[0-9a-f]{64}$/);
    expect(await client.delete('/tree', { recursive: true })).toBe(true);
    expect(await client.delete('/tree', { recursive: true })).toBe(false);
  });

  it('snapshots: create, read through .snapshot, rename, delete', async () => {
    await writeAll(client, '/snap/d/v.txt', ['one']);
    await emulator.allowSnapshot('/snap');
    const path = await client.createSnapshot('/snap', 's1');
    expect(path).toBe('/snap/.snapshot/s1');
    await writeAll(client, '/snap/d/v.txt', ['two'], true);
    expect(await readAll(client, '/snap/.snapshot/s1/d/v.txt')).toBe('one');
    await client.renameSnapshot('/snap', 's1', 's2');
    expect(await readAll(client, '/snap/.snapshot/s2/d/v.txt')).toBe('one');
    await expect(client.getFileStatus('/snap/.snapshot/s1/d/v.txt')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await client.deleteSnapshot('/snap', 's2');
    await expect(client.createSnapshot('/data')).rejects.toMatchObject({
      code: 'INTERNAL',
      details: { exception: 'SnapshotException' },
    });
  });

  it('maps RemoteExceptions: AccessControlException is AUTH_FAILED after one request, missing paths NOT_FOUND', async () => {
    await client.mkdirs('/private');
    await client.setPermission('/private', '700');
    const bob = createWebHdfsClient({ namenodes: [emulator.url], user: 'bob', connection: 'bob' });
    emulator.requests.length = 0;
    const refused = await bob.create('/private/x.csv').catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'AUTH_FAILED',
      retryable: false,
      details: { exception: 'AccessControlException' },
    });
    expect(String((refused as Error).message)).toMatch(/HDFS connection "bob": CREATE \/private\/x\.csv was refused/);
    expect(emulator.requests).toHaveLength(1);
    await expect(client.getFileStatus('/nope')).rejects.toMatchObject({ code: 'NOT_FOUND', retryable: false });
    await expect(client.open('/nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('the emulator against the independent npm webhdfs client', () => {
  let emulator: WebHdfsEmulator;
  let client: WebHdfsClient;

  beforeAll(async () => {
    emulator = await startWebHdfsEmulator();
    client = createWebHdfsClient({ namenodes: [emulator.url], user: 'alice' });
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('reads what our client wrote, and our client reads what it wrote', async () => {
    const other = independent(emulator);
    await writeAll(client, '/x/ours.csv', ['id,name\n', '1,ä\n']);
    const data = await call<Buffer>((done) => other.readFile('/x/ours.csv', done));
    expect(data.toString()).toBe('id,name\n1,ä\n');

    await call((done) => other.writeFile('/x/theirs.csv', 'id\n7\n', done));
    expect(await readAll(client, '/x/theirs.csv')).toBe('id\n7\n');
    expect(await client.getFileStatus('/x/theirs.csv')).toMatchObject({ type: 'FILE', length: 5, owner: 'alice' });
    // The independent client sends lower-case op names (`op=create`, `op=open`).
    expect(emulator.requests.some((request) => request.query.get('op') === 'create')).toBe(true);
  });

  it('agrees on listings, stat, mkdir, rename and delete', async () => {
    const other = independent(emulator);
    await call((done) => other.mkdir('/y/sub', done));
    await writeAll(client, '/y/b.txt', ['bb']);
    await writeAll(client, '/y/a.txt', ['a']);
    const listed = await call<{ pathSuffix: string; length: number }[]>((done) => other.readdir('/y', done));
    expect(listed.map((entry) => [entry.pathSuffix, entry.length])).toEqual([
      ['a.txt', 1],
      ['b.txt', 2],
      ['sub', 0],
    ]);
    await call((done) => other.rename('/y/a.txt', '/y/sub/a.txt', done));
    expect(await readAll(client, '/y/sub/a.txt')).toBe('a');
    expect(await call((done) => other.stat('/y/sub', done))).toMatchObject({ type: 'DIRECTORY' });
    await call((done) => other.unlink('/y', true, done));
    expect(await client.statusIfExists('/y')).toBeUndefined();
  });

  it('reports errors the independent client understands', async () => {
    const other = independent(emulator);
    await expect(call((done) => other.stat('/missing', done))).rejects.toThrow(/File does not exist: \/missing/);
    await client.mkdirs('/locked');
    await client.setPermission('/locked', '755');
    await expect(call((done) => independent(emulator, 'mallory').mkdir('/locked/m', done))).rejects.toThrow(
      /Permission denied: user=mallory, access=WRITE/,
    );
  });
});
