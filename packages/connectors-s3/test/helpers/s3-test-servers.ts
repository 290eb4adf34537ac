/**
 * Starts the two independent S3 implementations the tests run against, each in its own
 * child process on a free loopback port:
 * - s3rver (files in a temp directory). Its process needs `--openssl-legacy-provider`,
 *   or every paged listing (continuation tokens are encrypted with a legacy cipher)
 *   answers 500. Clients must use `checksums: 'when-required'`: with the SDK's default
 *   flexible checksums it stores streamed uploads with the aws-chunked framing inside.
 * - fauxqs (in memory), which works with the SDK defaults.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/create-s3-client.ts';
import { type S3ConnectionInput, s3ConnectionSchema } from '../../src/s3-options.ts';

export type S3ServerKind = 's3rver' | 'fauxqs';

export interface S3TestServer {
  kind: S3ServerKind;
  endpoint: string;
  /** The child's pid (for memory measurements and kill tests). */
  pid: number;
  /** Connection options for a bucket on this server (the bucket is created). */
  connection(bucket: string, extra?: Partial<S3ConnectionInput>): Promise<S3ConnectionInput>;
  stop(): Promise<void>;
}

/** s3rver checks signatures against this fixed pair; fauxqs accepts any. */
export const TEST_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

const script = fileURLToPath(new URL('./s3-server-process.mjs', import.meta.url));

export async function startS3TestServer(kind: S3ServerKind): Promise<S3TestServer> {
  const directory = kind === 's3rver' ? await mkdtemp(join(tmpdir(), 'honk-s3rver-')) : undefined;
  const child: ChildProcess = spawn(process.execPath, [script, kind, ...(directory ? [directory] : [])], {
    env: {
      ...process.env,
      NODE_OPTIONS: kind === 's3rver' ? '--openssl-legacy-provider' : '',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    child.once('exit', (code) => reject(new Error(`${kind} exited with ${code} before listening`)));
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const created = new Set<string>();
  return {
    kind,
    endpoint,
    pid: child.pid as number,
    async connection(bucket, extra = {}) {
      const input: S3ConnectionInput = {
        bucket,
        region: 'us-east-1',
        endpoint,
        forcePathStyle: true,
        credentials: { ...TEST_CREDENTIALS },
        checksums: kind === 's3rver' ? 'when-required' : 'sdk-default',
        ...extra,
      };
      if (!created.has(bucket)) {
        const client = createS3Client(s3ConnectionSchema.parse({ ...input, credentials: TEST_CREDENTIALS }));
        await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: { name?: string }) => {
          if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
        });
        client.destroy();
        created.add(bucket);
      }
      return input;
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (directory) await rm(directory, { recursive: true, force: true });
    },
  };
}
