/**
 * A process killed in the middle of publish leaves the old or the new version, never a
 * mix; running the task again completes the publish and leaves only the new version.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../src/create-s3-client.ts';
import { listPinned, type S3Location } from '../src/s3-listing.ts';
import { MANIFEST_NAME, readManifest } from '../src/s3-manifest.ts';
import { type S3ConnectionInput, s3ConnectionSchema } from '../src/s3-options.ts';
import { createS3Source } from '../src/s3-source.ts';
import { type S3ServerKind, type S3TestServer, startS3TestServer } from './helpers/s3-test-servers.ts';
import { makeTestBatch, summarise } from './helpers/test-batches.ts';

const child = fileURLToPath(new URL('./helpers/publish-child.ts', import.meta.url));
const signal = new AbortController().signal;

/** Runs the child; with `killWhen`, SIGKILLs it as soon as the predicate holds during publish. */
async function runChild(args: object, killWhen?: () => Promise<boolean>): Promise<'published' | 'killed'> {
  const process_ = spawn(process.execPath, [child, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => process_.once('exit', resolve));
  let published = false;
  const lines = createInterface({ input: process_.stdout });
  const staged = new Promise<void>((resolve) =>
    lines.on('line', (line) => {
      if (line === 'staged') resolve();
      if (line === 'published') published = true;
    }),
  );
  await Promise.race([staged, exited]);
  if (killWhen) {
    // Bounded: the child's publish ends by itself if the predicate never holds.
    while (process_.exitCode === null && !published) {
      if (await killWhen()) {
        process_.kill('SIGKILL');
        break;
      }
    }
  }
  const code = await exited;
  if (published) return 'published';
  if (code === null) return 'killed';
  throw new Error(`publish child exited with ${code} before publishing`);
}

describe.each<S3ServerKind>(['s3rver', 'fauxqs'])('kill during publish on %s', (kind) => {
  let server: S3TestServer;
  let input: S3ConnectionInput;
  let location: S3Location;

  beforeAll(async () => {
    server = await startS3TestServer(kind);
    input = await server.connection('kill', { partFileBytes: 1, uploadConcurrency: 1 });
    location = {
      client: createS3Client(s3ConnectionSchema.parse(input)),
      bucket: 'kill',
      connection: 'test',
      retries: 3,
    };
  });
  afterAll(async () => {
    location?.client.destroy();
    await server?.stop();
  });

  const expected = (batches: number, salt: number) =>
    summarise(
      (async function* () {
        for (let b = 0; b < batches; b += 1) yield makeTestBatch(b * 100, 100, salt);
      })(),
    );
  const readTarget = () =>
    summarise(
      createS3Source({
        client: location.client,
        bucket: 'kill',
        connection: 'test',
        retries: 3,
        endpoint: { prefix: 'ds/' },
      }).read({
        signal,
        batchRows: 100,
      }),
    );

  it('leaves either the old or the new manifest, and a re-run completes the publish', async () => {
    const old = { connection: input, prefix: 'ds/', batches: 8, salt: 0, taskId: 'kill-old' };
    expect(await runChild(old)).toBe('published');
    const oldManifest = (await readManifest(location, `ds/${MANIFEST_NAME}`))?.manifest;
    const oldKeys = (await listPinned(location, 'ds/')).length;
    expect(oldManifest?.files).toHaveLength(8);

    const next = { connection: input, prefix: 'ds/', batches: 40, salt: 3, taskId: 'kill-new' };
    // Kill as soon as the first file of the new version has been copied into place.
    const outcome = await runChild(next, async () => (await listPinned(location, 'ds/')).length > oldKeys);
    const manifest = (await readManifest(location, `ds/${MANIFEST_NAME}`))?.manifest;
    const [oldData, newData] = [await expected(8, 0), await expected(40, 3)];
    const seen = await readTarget();
    if (manifest?.version === oldManifest?.version) expect(seen).toEqual(oldData);
    else expect(seen).toEqual(newData);
    // A kill before the commit point leaves the old version readable and complete.
    if (outcome === 'killed' && manifest?.version === oldManifest?.version) {
      expect((await listPinned(location, 'ds/')).length).toBeGreaterThan(oldKeys);
    }

    expect(await runChild(next)).toBe('published');
    const final = (await readManifest(location, `ds/${MANIFEST_NAME}`))?.manifest;
    expect(final?.files).toHaveLength(40);
    expect(await readTarget()).toEqual(newData);
    const keys = (await listPinned(location, 'ds/')).map((object) => object.key.slice(3)).sort();
    expect(keys).toEqual([...(final?.files.map((file) => file.key) ?? []), MANIFEST_NAME].sort());
  });
});
