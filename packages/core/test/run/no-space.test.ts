/**
 * A full file system during a real migration: the file connector writes onto a 1 MiB tmpfs
 * until the kernel answers ENOSPC. The run fails with NO_SPACE naming the directory, its
 * free and total space; staging is removed and the previous target is intact. Mounting a
 * tmpfs needs root (CI runs as root); elsewhere the same run writes to /dev/full through a
 * connector of the test, which produces the same kernel error without a mount
 * (`HONK_TEST_NO_MOUNT=1` takes that path as root too).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Int32, type RecordBatch, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Connector,
  ConnectorRegistry,
  defineConnector,
  fileConnector,
  NO_SPACE_RETRY_AFTER_MS,
  runTask,
  type TaskDefinition,
} from '../../src/index.ts';

const MIB = 1024 * 1024;

function batch(offset: number, rows: number): RecordBatch {
  const ids = Array.from({ length: rows }, (_, index) => offset + index);
  const text = ids.map((id) => `customer ${id} ${'x'.repeat(40)}`);
  return new Table({ id: vectorFromArray(ids, new Int32()), note: vectorFromArray(text, new Utf8()) }).batches[0]!;
}

/** A source of `batches` batches of 10,000 rows (about 0.6 MiB of CSV each). */
function generated(batches: number): Connector {
  return defineConnector({
    specificationVersion: 'v1',
    name: 'generated',
    optionsSchema: z.object({}).strict(),
    endpointSchema: z.object({}).strict(),
    createSource: () => ({
      schema: async () => batch(0, 1).schema,
      async *read() {
        for (let index = 0; index < batches; index++) yield batch(index * 10_000, 10_000);
      },
    }),
  });
}

/** A sink writing every batch to /dev/full (the fallback where no tmpfs can be mounted). */
const devFull = defineConnector({
  specificationVersion: 'v1',
  name: 'devfull',
  optionsSchema: z.object({}).strict(),
  endpointSchema: z.object({}).strict(),
  createSink: () => ({
    describe: async () => ({ exists: false }),
    open: async () => ({
      write: async (written) => {
        await fs.appendFile('/dev/full', Buffer.alloc(written.numRows * 50));
      },
      stage: async () => {
        throw new Error('unreachable: every write fails');
      },
      publish: async () => ({ ref: null }),
      abort: async () => {},
    }),
  }),
});

const mounts: string[] = [];
afterAll(() => {
  for (const mount of mounts) execFileSync('umount', [mount]);
});

/** A 1 MiB tmpfs, or undefined when this process may not mount. */
function smallFileSystem(): string | undefined {
  const directory = mkdtempSync(join(tmpdir(), 'honk-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', directory], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  mounts.push(directory);
  return directory;
}

describe('a full file system', () => {
  it('fails the run with NO_SPACE naming where and how much, removes staging and keeps the old target', async () => {
    const root = process.env.HONK_TEST_NO_MOUNT ? undefined : smallFileSystem();
    const registry = new ConnectorRegistry([fileConnector, generated(8), devFull]);
    const task = (target: TaskDefinition['target']): TaskDefinition => ({
      id: 'orders',
      source: { connector: 'generated', connection: 'origin', options: {}, endpoint: {} },
      target,
      batchRows: 10_000,
      snapshot: { enabled: false },
    });

    if (root === undefined) {
      const report = await runTask({
        task: task({ connector: 'devfull', connection: 'full', options: {}, endpoint: {} }),
        connectors: registry,
      });
      expect(report.error).toMatchObject({ code: 'NO_SPACE', retryable: true, retryAfterMs: NO_SPACE_RETRY_AFTER_MS });
      expect(report.error?.message).toContain('No space left on device (ENOSPC) in connector "devfull" write()');
      expect(report.error?.details).toMatchObject({ systemCode: 'ENOSPC', neededBytes: expect.any(Number) });
      return;
    }

    // A small target first: it fits, and must survive the failed replacement.
    const small = new ConnectorRegistry([fileConnector, generated(1)]);
    const target = { connector: 'file', connection: 'lake', options: { root }, endpoint: { path: 'orders.csv' } };
    const first = await runTask({ task: task(target), connectors: small });
    expect(first.ok, JSON.stringify(first.error)).toBe(true);
    const before = readFileSync(join(root, 'orders.csv'));

    const report = await runTask({ task: task(target), connectors: registry });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'NO_SPACE', retryable: true, retryAfterMs: NO_SPACE_RETRY_AFTER_MS });
    const details = report.error?.details as {
      path: string;
      freeBytes: number;
      totalBytes: number;
      systemCode: string;
    };
    expect(details.path).toBe(root);
    expect(details.systemCode).toBe('ENOSPC');
    expect(details.totalBytes).toBe(MIB);
    expect(details.freeBytes).toBeLessThan(MIB / 4);
    expect(report.error?.message).toContain(`while writing ${root}`);
    expect(report.error?.message).toContain('of 1.0 MiB');
    expect(report.error?.message).toContain('connector "file"');
    // Nothing half-written stays, and the old target is as it was.
    expect(readdirSync(root)).toEqual(['orders.csv']);
    expect(readFileSync(join(root, 'orders.csv'))).toEqual(before);
  });
});
