import type { RecordBatch } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { batchByteLength, type SinkWriter, type Source, transfer } from '../../src/index.ts';
import { makeTrickyBatch, makeTrickyBatches, trickySchema } from '../../src/testing/index.ts';

function generated(rows: number, batchRows: number, onYield?: () => void): Source {
  return {
    schema: async () => trickySchema(),
    async *read() {
      for (const batch of makeTrickyBatches({ rows, batchRows })) {
        onYield?.();
        yield batch;
      }
    },
  };
}

function collecting(onWrite?: (batch: RecordBatch) => Promise<void>): SinkWriter & { batches: RecordBatch[] } {
  const batches: RecordBatch[] = [];
  return {
    batches,
    write: async (batch) => {
      await onWrite?.(batch);
      batches.push(batch);
    },
    stage: async () => {
      throw new Error('not used');
    },
    publish: async () => {
      throw new Error('not used');
    },
    abort: async () => {},
  };
}

describe('transfer', () => {
  it('applies backpressure: the reader never runs more than the pipeline depth ahead of a slow writer', async () => {
    let produced = 0;
    let written = 0;
    let maxAhead = 0;
    const writer = collecting(async () => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      written++;
    });
    const stats = await transfer({
      source: generated(50_000, 1_000, () => {
        produced++;
        maxAhead = Math.max(maxAhead, produced - written);
      }),
      writer,
      depth: 2,
      signal: new AbortController().signal,
    });
    expect(stats.rows).toBe(50_000);
    expect(stats.batches).toBe(50);
    expect(writer.batches).toHaveLength(50);
    // depth queued + one being written + one being produced.
    expect(maxAhead).toBeLessThanOrEqual(4);
  });

  it('counts bytes from the Arrow buffers and reports final progress', async () => {
    const progress: number[] = [];
    const stats = await transfer({
      source: generated(3_000, 1_000),
      writer: collecting(),
      signal: new AbortController().signal,
      onProgress: (p) => progress.push(p.rows),
    });
    const expected = [...makeTrickyBatches({ rows: 3_000, batchRows: 1_000 })].reduce(
      (sum, b) => sum + batchByteLength(b),
      0,
    );
    expect(stats.bytes).toBe(expected);
    expect(progress.at(-1)).toBe(3_000);
  });

  it('a failing writer stops the reader and surfaces the writer error', async () => {
    let produced = 0;
    const writer = collecting(async () => {
      throw new Error('disk full');
    });
    await expect(
      transfer({ source: generated(100_000, 1_000, () => produced++), writer, signal: new AbortController().signal }),
    ).rejects.toThrow('disk full');
    expect(produced).toBeLessThan(10);
  });

  it('aborting the signal stops the transfer with ABORTED', async () => {
    const controller = new AbortController();
    let writes = 0;
    const writer = collecting(async () => {
      if (++writes === 3) controller.abort();
    });
    await expect(
      transfer({ source: generated(100_000, 1_000), writer, signal: controller.signal }),
    ).rejects.toMatchObject({
      code: 'ABORTED',
    });
    expect(writes).toBeLessThan(10);
  });

  it('skips empty batches and passes observed batches in order', async () => {
    const seen: number[] = [];
    const source: Source = {
      schema: async () => trickySchema(),
      async *read() {
        yield makeTrickyBatch(0, 0);
        yield makeTrickyBatch(0, 5);
        yield makeTrickyBatch(5, 0);
        yield makeTrickyBatch(5, 7);
      },
    };
    const writer = collecting();
    const stats = await transfer({
      source,
      writer,
      signal: new AbortController().signal,
      observe: (b) => {
        seen.push(b.numRows);
      },
    });
    expect(seen).toEqual([5, 7]);
    expect(stats).toMatchObject({ rows: 12, batches: 2 });
  });
});
