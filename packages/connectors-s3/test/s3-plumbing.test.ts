import { createHash, randomBytes } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { isHonkError, RandomAccessBlob } from '@honk/core';
import { makeVector, Table, tableFromIPC, tableToIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../src/create-s3-client.ts';
import { globToRegExp, headPinned, listPinned, type S3Location } from '../src/s3-listing.ts';
import { createS3RangeReader, streamS3Object } from '../src/s3-object-reader.ts';
import { createS3ObjectWriter } from '../src/s3-object-writer.ts';
import { s3ConnectionSchema } from '../src/s3-options.ts';
import { type S3ServerKind, type S3TestServer, startS3TestServer } from './helpers/s3-test-servers.ts';

const MiB = 1024 * 1024;

describe.each<S3ServerKind>(['s3rver', 'fauxqs'])('S3 plumbing on %s', (kind) => {
  let server: S3TestServer;
  let location: S3Location;

  beforeAll(async () => {
    server = await startS3TestServer(kind);
    const options = s3ConnectionSchema.parse(await server.connection('plumbing'));
    location = { client: createS3Client(options), bucket: 'plumbing', connection: 'test', retries: 3 };
  });
  afterAll(async () => {
    location?.client.destroy();
    await server?.stop();
  });

  it('lists every page of a prefix and filters by glob', async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `many/part-${String(i).padStart(5, '0')}.csv`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(
        keys
          .slice(i, i + 50)
          .map((Key) => location.client.send(new PutObjectCommand({ Bucket: 'plumbing', Key, Body: 'x' }))),
      );
    }
    await location.client.send(new PutObjectCommand({ Bucket: 'plumbing', Key: 'many/readme.txt', Body: 'hi' }));
    const all = await listPinned(location, 'many/');
    expect(all).toHaveLength(1006);
    const glob = globToRegExp('*.csv');
    const csv = await listPinned(location, 'many/', (relative) => glob.test(relative));
    expect(csv.map((o) => o.key)).toEqual(keys);
    expect(csv.every((o) => o.size === 1 && o.etag.length > 2)).toBe(true);
  });

  it('uploads multipart streams and reads them back by range and as a stream', async () => {
    const data = randomBytes(12 * MiB + 12345);
    const writer = createS3ObjectWriter(location, 'big/object.bin', { partSizeBytes: 5 * MiB, uploadConcurrency: 2 });
    for (let offset = 0; offset < data.length; offset += 700_000)
      await writer.write(data.subarray(offset, offset + 700_000));
    const written = await writer.finish();
    expect(written.size).toBe(data.length);
    expect(written.sha256).toBe(createHash('sha256').update(data).digest('hex'));

    const pinned = await headPinned(location, 'big/object.bin');
    expect(pinned.size).toBe(data.length);
    const reader = createS3RangeReader(location, pinned);
    const tail = await reader.read(data.length - 8, 8);
    expect(Buffer.from(tail).equals(data.subarray(data.length - 8))).toBe(true);
    const middle = await reader.read(5 * MiB - 10, 20);
    expect(Buffer.from(middle).equals(data.subarray(5 * MiB - 10, 5 * MiB + 10))).toBe(true);

    const streamed = createHash('sha256');
    for await (const chunk of streamS3Object(location, pinned)) streamed.update(chunk);
    expect(streamed.digest('hex')).toBe(written.sha256);
  });

  it('Parquet reads through ranged GETs: footer first, then one range per row group', async () => {
    const rows = 200_000;
    const ids = new BigInt64Array(rows).map((_, i) => BigInt(i));
    const props = new parquet.WriterPropertiesBuilder().setMaxRowGroupSize(50_000).build();
    const bytes = parquet.writeParquet(
      parquet.Table.fromIPCStream(tableToIPC(new Table({ id: makeVector(ids) }), 'stream')),
      props,
    );
    await location.client.send(new PutObjectCommand({ Bucket: 'plumbing', Key: 'pq/data.parquet', Body: bytes }));
    const ranges: string[] = [];
    location.client.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers?.range) ranges.push(request.headers.range);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordRanges' },
    );
    try {
      const pinned = await headPinned(location, 'pq/data.parquet');
      const file = await parquet.ParquetFile.fromFile(new RandomAccessBlob(createS3RangeReader(location, pinned)));
      const opened = ranges.length;
      expect(file.metadata().numRowGroups()).toBe(4);
      // Opening touches only the tail of the object.
      expect(
        ranges.slice(0, opened).every((range) => Number(/bytes=(\d+)/.exec(range)?.[1]) > bytes.length - 64 * 1024),
      ).toBe(true);
      let seen = 0n;
      for await (const batch of (await file.stream({ batchSize: 10_000 })) as AsyncIterable<parquet.RecordBatch>) {
        for (const value of tableFromIPC(batch.intoIPCStream()).getChild('id') ?? []) seen += value as bigint;
      }
      file.free();
      expect(seen).toBe(BigInt((rows * (rows - 1)) / 2));
      expect(ranges.length - opened).toBe(4);
    } finally {
      location.client.middlewareStack.remove('recordRanges');
    }
  });

  it('range reads with read-ahead return exact bytes in any order and never read ahead into the tail', async () => {
    const data = randomBytes(3 * MiB);
    await location.client.send(new PutObjectCommand({ Bucket: 'plumbing', Key: 'ahead.bin', Body: data }));
    const pinned = await headPinned(location, 'ahead.bin');
    const ranges: string[] = [];
    location.client.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (request.headers?.range) ranges.push(request.headers.range);
        return next(args);
      },
      { step: 'finalizeRequest', name: 'recordAheadRanges' },
    );
    try {
      const reader = createS3RangeReader(location, pinned);
      const tail = 3 * MiB - 100_000;
      // Footer-like reads at the end first, then sequential data reads, then jumps.
      const reads: [number, number][] = [
        [3 * MiB - 8, 8],
        [tail, 100_000 - 8],
        [0, 400_000],
        [400_000, 420_000],
        [820_000, 300_000],
        [10, 20],
        [2_000_000, 400_000],
        [2_400_000, tail - 2_400_000],
      ];
      for (const [offset, length] of reads) {
        const bytes = await reader.read(offset, length);
        expect(Buffer.from(bytes).equals(data.subarray(offset, offset + length))).toBe(true);
      }
      // [400_000, 820_000) came from the read-ahead started after [0, 400_000) (plus one GET
      // for the part beyond it); no range ever crossed into the tail read first.
      const ends = ranges.map((range) => Number(/-(\d+)$/.exec(range)?.[1]));
      expect(ends.slice(2).every((end) => end < tail)).toBe(true);
      expect(ranges).toContain('bytes=400000-849999');
    } finally {
      location.client.middlewareStack.remove('recordAheadRanges');
    }
  });

  it('a small object goes up in one PutObject', async () => {
    const writer = createS3ObjectWriter(location, 'small.txt', { partSizeBytes: 5 * MiB, uploadConcurrency: 2 });
    await writer.write(new TextEncoder().encode('hello '));
    await writer.write(new TextEncoder().encode('world'));
    const written = await writer.finish();
    const chunks: Buffer[] = [];
    for await (const chunk of streamS3Object(location, await headPinned(location, 'small.txt')))
      chunks.push(Buffer.from(chunk));
    expect(Buffer.concat(chunks).toString()).toBe('hello world');
    expect(written.size).toBe(11);
  });

  it('a replaced object fails the read as SOURCE_CHANGED', async () => {
    await location.client.send(new PutObjectCommand({ Bucket: 'plumbing', Key: 'changing.txt', Body: 'version one' }));
    const pinned = await headPinned(location, 'changing.txt');
    await location.client.send(new PutObjectCommand({ Bucket: 'plumbing', Key: 'changing.txt', Body: 'version two!' }));
    const error = await createS3RangeReader(location, pinned)
      .read(0, 4)
      .catch((e: unknown) => e);
    expect(isHonkError(error) && error.code).toBe('SOURCE_CHANGED');
  });

  it('maps missing objects and buckets to NOT_FOUND and bad credentials to AUTH_FAILED', async () => {
    const missing = await headPinned(location, 'nope').catch((e: unknown) => e);
    expect(isHonkError(missing) && missing.code).toBe('NOT_FOUND');
    const noBucket = await listPinned({ ...location, bucket: 'no-such-bucket' }, '').catch((e: unknown) => e);
    expect(isHonkError(noBucket) && noBucket.code).toBe('NOT_FOUND');
    if (kind === 's3rver') {
      // s3rver checks the access key id (it does not verify SigV4 signatures); fauxqs accepts any.
      const bad = s3ConnectionSchema.parse(
        await server.connection('plumbing', {
          credentials: { accessKeyId: 'NOT-A-KEY', secretAccessKey: 'wrong-secret' },
        }),
      );
      const badLocation = { ...location, client: createS3Client(bad), retries: 5 };
      let requests = 0;
      badLocation.client.middlewareStack.add(
        (next) => (args) => {
          requests += 1;
          return next(args);
        },
        { step: 'finalizeRequest' },
      );
      const auth = await listPinned(badLocation, '').catch((e: unknown) => e);
      expect(isHonkError(auth) && auth.code).toBe('AUTH_FAILED');
      expect(isHonkError(auth) && auth.retryable).toBe(false);
      expect(requests).toBe(1);
      expect(String((auth as Error).message)).not.toContain('wrong-secret');
      badLocation.client.destroy();
    }
  });
});
