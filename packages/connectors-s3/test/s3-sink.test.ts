import zlib from 'node:zlib';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { isHonkError } from '@honk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../src/create-s3-client.ts';
import { listPinned, type S3Location } from '../src/s3-listing.ts';
import { MANIFEST_NAME, readManifest } from '../src/s3-manifest.ts';
import { type S3ConnectionOptions, type S3EndpointOptions, s3ConnectionSchema } from '../src/s3-options.ts';
import { createS3Sink } from '../src/s3-sink.ts';
import { createS3Snapshot } from '../src/s3-snapshot.ts';
import { createS3Source } from '../src/s3-source.ts';
import { type S3ServerKind, type S3TestServer, startS3TestServer } from './helpers/s3-test-servers.ts';
import { makeTestBatch, summarise, testSchema } from './helpers/test-batches.ts';

const signal = new AbortController().signal;

describe.each<S3ServerKind>(['s3rver', 'fauxqs'])('S3 sink, publish and snapshot on %s', (kind) => {
  let server: S3TestServer;
  let options: S3ConnectionOptions;
  let location: S3Location;

  beforeAll(async () => {
    server = await startS3TestServer(kind);
    // Tiny part files, so every dataset has several and the publish protocol is exercised.
    options = s3ConnectionSchema.parse(await server.connection('sink', { partFileBytes: 20_000 }));
    location = { client: createS3Client(options), bucket: 'sink', connection: 'test', retries: 3 };
  });
  afterAll(async () => {
    location?.client.destroy();
    await server?.stop();
  });

  async function write(endpoint: S3EndpointOptions, taskId: string, batches: number, salt: number, publish = true) {
    const sink = createS3Sink({ client: location.client, options, endpoint, connection: 'test', taskId });
    const writer = await sink.open(testSchema, { signal, mode: 'replace' });
    for (let b = 0; b < batches; b += 1) await writer.write(makeTestBatch(b * 1000, 1000, salt));
    const staged = await writer.stage();
    if (publish) await writer.publish();
    return { sink, writer, staged };
  }
  const read = (endpoint: S3EndpointOptions) =>
    summarise(
      createS3Source({ client: location.client, bucket: 'sink', connection: 'test', retries: 3, endpoint }).read({
        signal,
        batchRows: 1000,
      }),
    );
  const expected = (batches: number, salt: number) =>
    summarise(
      (async function* () {
        for (let b = 0; b < batches; b += 1) yield makeTestBatch(b * 1000, 1000, salt);
      })(),
    );

  it('stages readable data, publishes part files plus a manifest, and re-running gives the same objects', async () => {
    const endpoint = { prefix: 'out/a/', format: 'arrow' as const };
    const { staged } = await write(endpoint, 'task-a', 6, 0, false);
    expect(staged.rows).toBe(6000);
    expect(await summarise(staged.reader().read({ signal, batchRows: 1000 }))).toEqual(await expected(6, 0));
    expect(await listPinned(location, 'out/a/')).toEqual([]);

    await write(endpoint, 'task-a', 6, 0);
    const first = await listPinned(location, 'out/a/');
    const manifest = (await readManifest(location, `out/a/${MANIFEST_NAME}`))?.manifest;
    expect(manifest?.rows).toBe(6000);
    expect(manifest?.files.length).toBeGreaterThan(1);
    expect(first.map((o) => o.key).sort()).toEqual(
      [...(manifest?.files.map((f) => `out/a/${f.key}`) ?? []), `out/a/${MANIFEST_NAME}`].sort(),
    );
    expect(await read(endpoint)).toEqual(await expected(6, 0));
    // Staging is gone after publish.
    expect(await listPinned(location, options.workPrefix)).toEqual([]);

    await write(endpoint, 'task-a', 6, 0);
    const second = await listPinned(location, 'out/a/');
    expect(second.map((o) => [o.key, o.size])).toEqual(first.map((o) => [o.key, o.size]));
  });

  it('a new version replaces the old one and deletes its files, leaving foreign objects alone', async () => {
    const endpoint = { prefix: 'out/b/', format: 'arrow' as const };
    await write(endpoint, 'task-b', 5, 0);
    const old = (await readManifest(location, `out/b/${MANIFEST_NAME}`))?.manifest;
    await location.client.send(new PutObjectCommand({ Bucket: 'sink', Key: 'out/b/notes.txt', Body: 'keep me' }));
    await write(endpoint, 'task-b', 3, 7);
    const current = (await readManifest(location, `out/b/${MANIFEST_NAME}`))?.manifest;
    expect(current?.version).not.toBe(old?.version);
    const keys = (await listPinned(location, 'out/b/')).map((o) => o.key.slice('out/b/'.length));
    expect(keys.sort()).toEqual([...(current?.files.map((f) => f.key) ?? []), MANIFEST_NAME, 'notes.txt'].sort());
    expect(await read(endpoint)).toEqual(await expected(3, 7));
  });

  it('abort removes the staging area and leaves the target as it was', async () => {
    const endpoint = { prefix: 'out/c/', format: 'arrow' as const };
    await write(endpoint, 'task-c', 2, 0);
    const { writer } = await write(endpoint, 'task-c', 4, 1, false);
    await writer.abort();
    expect(await listPinned(location, `${options.workPrefix}staging/task-c/`)).toEqual([]);
    expect(await read(endpoint)).toEqual(await expected(2, 0));
  });

  it('a key target is one object, replaced by one server-side copy', async () => {
    const endpoint = { key: 'single/data.arrow' };
    await write(endpoint, 'task-key', 3, 0);
    expect((await listPinned(location, 'single/')).map((o) => o.key)).toEqual(['single/data.arrow']);
    expect(await read(endpoint)).toEqual(await expected(3, 0));
  });

  it('snapshot: take, publish over, restore, discard', async () => {
    const endpoint = { prefix: 'out/snap/', format: 'arrow' as const };
    await write(endpoint, 'task-snap', 4, 0);
    const snapshot = createS3Snapshot({
      client: location.client,
      options,
      endpoint,
      connection: 'test',
      taskId: 'task-snap',
    });
    const ref = await snapshot.take();
    expect(ref).not.toBeNull();
    await write(endpoint, 'task-snap', 2, 9);
    expect(await read(endpoint)).toEqual(await expected(2, 9));
    await snapshot.restore(ref!);
    expect(await read(endpoint)).toEqual(await expected(4, 0));
    await snapshot.discard(ref!);
    expect(await listPinned(location, `${options.workPrefix}snapshots/`)).toEqual([]);
    const error = await snapshot.restore(ref!).catch((e: unknown) => e);
    expect(isHonkError(error) && error.code).toBe('NOT_FOUND');
  });

  it('a source with a glob reads matching part files without a manifest', async () => {
    const endpoint = { prefix: 'out/glob-src/', format: 'arrow' as const };
    await write(endpoint, 'task-glob', 3, 0);
    await location.client.send(
      new PutObjectCommand({ Bucket: 'sink', Key: 'out/glob-src/readme.md', Body: 'not data' }),
    );
    // The manifest wins over listing: readme.md is not read.
    expect(await read(endpoint)).toEqual(await expected(3, 0));
    expect(await read({ ...endpoint, glob: '*.arrow' })).toEqual(await expected(3, 0));
  });

  it('reads .csv.gz and .ndjson.zst objects (by key, and under a prefix with a glob), the format from the compound name', async () => {
    const csv = `id,value,label\n${Array.from({ length: 500 }, (_, i) => `${i},${i * 1.5},row-${i}-0`).join('\n')}\n`;
    const ndjson = Array.from({ length: 500 }, (_, i) =>
      JSON.stringify({ id: i + 500, value: (i + 500) * 1.5, label: 'x' }),
    );
    await location.client.send(
      new PutObjectCommand({ Bucket: 'sink', Key: 'raw/gz/a.csv.gz', Body: zlib.gzipSync(csv) }),
    );
    await location.client.send(
      new PutObjectCommand({
        Bucket: 'sink',
        Key: 'raw/zst/b.ndjson.zst',
        Body: zlib.zstdCompressSync(`${ndjson.join('\n')}\n`),
      }),
    );
    expect(await read({ key: 'raw/gz/a.csv.gz' })).toEqual({ rows: 500, ids: 124_750n, values: 187_125 });
    expect(await read({ prefix: 'raw/gz/', glob: '*.csv.gz' })).toEqual({ rows: 500, ids: 124_750n, values: 187_125 });
    expect((await read({ key: 'raw/zst/b.ndjson.zst' })).rows).toBe(500);
  });

  it('a key target named .csv.gz is written gzip-compressed and validates decompressed', async () => {
    const endpoint = { key: 'single/data.csv.gz' };
    const { staged } = await write(endpoint, 'task-gz', 3, 0, false);
    expect(await summarise(staged.reader().read({ signal, batchRows: 1000 }))).toEqual(await expected(3, 0));
    await write(endpoint, 'task-gz', 3, 0);
    const object = await location.client.send(new GetObjectCommand({ Bucket: 'sink', Key: 'single/data.csv.gz' }));
    const bytes = Buffer.from(
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    expect(bytes.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(zlib.gunzipSync(bytes).toString('utf8').split('\n')[1]).toBe('0,0,row-0-0');
    expect(await read(endpoint)).toEqual(await expected(3, 0));
  });

  it('refuses a compression extension on a Parquet key', () => {
    expect(() =>
      createS3Sink({
        client: location.client,
        options,
        endpoint: { key: 'x.parquet.gz' },
        connection: 'test',
        taskId: 't',
      }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('csv and ndjson') }));
  });
});
