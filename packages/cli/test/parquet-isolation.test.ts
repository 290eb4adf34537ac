/**
 * A Parquet file that crashes the decoder (a WebAssembly trap: `RuntimeError: unreachable`)
 * ends only its own task: `honk run` reports it as DATA_CORRUPT, not retried, keeps the
 * previous target, leaves no staging, and every other task of the run succeeds. Before the
 * codec ran on worker threads, such a file killed the whole process, every task with it.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ByteInput, isHonkError, parquetCodec } from '@honk/core';
import { Table, Utf8, vectorFromArray } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFiles } from './cli-helpers.ts';

const bin = fileURLToPath(new URL('../bin/honk.js', import.meta.url));

/** A valid Parquet file (snappy, a dictionary-encoded text column) of `rows` rows. */
async function parquetBytes(rows: number, offset = 0): Promise<Buffer> {
  const table = new Table({
    id: vectorFromArray(Int32Array.from({ length: rows }, (_, i) => offset + i)),
    label: vectorFromArray(
      Array.from({ length: rows }, (_, i) => `value-${(offset + i) % 50}`),
      new Utf8(),
    ),
  });
  const chunks: Uint8Array[] = [];
  const writer = parquetCodec.createWriter({ write: async (chunk) => void chunks.push(chunk) }, table.schema, {
    parquet: { compression: 'snappy' },
  });
  for (const batch of table.batches) await writer.write(batch);
  await writer.finish();
  return Buffer.concat(chunks);
}

function inputOf(name: string, bytes: Uint8Array): ByteInput {
  return {
    name,
    size: bytes.byteLength,
    blob: () => new Blob([bytes]),
    stream: async function* () {
      yield bytes;
    },
  };
}

/** What reading `bytes` in this process ends with: rows, or the error. */
async function readOutcome(bytes: Uint8Array): Promise<number | unknown> {
  try {
    let rows = 0;
    for await (const batch of parquetCodec.read(inputOf('candidate.parquet', bytes), { batchRows: 65_536 })) {
      rows += batch.numRows;
    }
    return rows;
  } catch (error) {
    return error;
  }
}

/**
 * A copy of `good` with bytes of the text column's dictionary page changed so that the
 * decoder traps (found by trying a few single-byte changes: most of them trap, the search
 * keeps the test independent of exact offsets). Asserts the trap is what it found.
 */
async function trappingCopy(good: Buffer): Promise<Buffer> {
  const dictionary = good.indexOf('value-');
  expect(dictionary).toBeGreaterThan(0);
  for (let delta = 0; delta < 400; delta += 13) {
    for (const value of [13, 110, 0x7f]) {
      const bad = Buffer.from(good);
      const at = dictionary + delta;
      if (at >= bad.length - 8) continue;
      bad[at] = value;
      const outcome = await readOutcome(bad);
      if (isHonkError(outcome) && /ended the Parquet codec's thread/.test(outcome.message)) {
        expect(outcome.code).toBe('DATA_CORRUPT');
        expect(outcome.retryable).toBe(false);
        return bad;
      }
    }
  }
  throw new Error('no single-byte change of the dictionary page trapped the decoder');
}

function honkRun(cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'run', 'honk.yaml', '--json', '--agents', '2'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a Parquet file that traps the decoder', () => {
  it('fails only its own task, as DATA_CORRUPT on the first attempt; the run and its other tasks carry on', {
    timeout: 180_000,
  }, async () => {
    const dir = tempDir('parquet-trap');
    const good = await parquetBytes(20_000);
    const trap = await trappingCopy(good);
    await writeFiles(dir, {
      'honk.yaml': `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
defaults:
  retry: { attempts: 3, backoff: { initialMs: 10, factor: 1, maxMs: 10 } }
tasks:
  - id: first
    source: { connection: legacy, path: first.parquet }
    target: { connection: lake, path: first.ndjson }
  - id: broken
    source: { connection: legacy, path: broken.parquet }
    target: { connection: lake, path: broken.ndjson }
  - id: last
    source: { connection: legacy, path: last.parquet }
    target: { connection: lake, path: last.ndjson }
`,
      'lake/broken.ndjson': '{"kept":"the previous target"}\n',
    });
    mkdirSync(join(dir, 'legacy'));
    writeFileSync(join(dir, 'legacy', 'first.parquet'), good);
    writeFileSync(join(dir, 'legacy', 'broken.parquet'), trap);
    writeFileSync(join(dir, 'legacy', 'last.parquet'), await parquetBytes(5_000, 7));

    const result = await honkRun(dir);
    expect(result.code, result.stderr).toBe(1);
    const summary = JSON.parse(result.stdout) as {
      tasks: Array<{ id: string; state: string; attempts: number; error?: { code: string; message: string } }>;
    };
    const byId = Object.fromEntries(summary.tasks.map((task) => [task.id, task]));
    expect(byId.first?.state).toBe('succeeded');
    expect(byId.last?.state).toBe('succeeded');
    expect(byId.broken?.state).toBe('dead');
    expect(byId.broken?.attempts).toBe(1);
    expect(byId.broken?.error?.code).toBe('DATA_CORRUPT');
    expect(byId.broken?.error?.message).toContain('broken.parquet');
    // The other tasks' data is complete; the broken task's target is untouched; no staging left.
    expect(
      readFileSync(join(dir, 'lake', 'first.ndjson'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(20_000);
    expect(
      readFileSync(join(dir, 'lake', 'last.ndjson'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(5_000);
    expect(readFileSync(join(dir, 'lake', 'broken.ndjson'), 'utf8')).toBe('{"kept":"the previous target"}\n');
    expect(readdirSync(join(dir, 'lake')).sort()).toEqual(['broken.ndjson', 'first.ndjson', 'last.ndjson']);

    // The next run does not crash either: the finished tasks are skipped, the broken one stays dead.
    const again = await honkRun(dir);
    expect(again.code, again.stderr).toBe(1);
    const second = JSON.parse(again.stdout) as { tasks: Array<{ id: string; state: string; action: string }> };
    expect(second.tasks.map((task) => [task.id, task.state]).sort()).toEqual([
      ['broken', 'dead'],
      ['first', 'succeeded'],
      ['last', 'succeeded'],
    ]);
  });
});
