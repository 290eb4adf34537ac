import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ConnectorRegistry, defineConnector, fileConnector, runTask, sharedWorkerPool } from '../src/index.ts';
import { makeTrickyBatches, trickySchema } from '../src/testing/tricky-data.ts';

const mode = process.argv[2] ?? 'workers';
const validate = process.argv[3] === 'off' ? { rowCount: false, checksum: false, sample: 0, schema: false } : undefined;
const gen = defineConnector({
  specificationVersion: 'v1',
  name: 'gen',
  optionsSchema: z.object({}),
  endpointSchema: z.object({ rows: z.number() }),
  createSource: ({ endpoint }) => {
    const o = { rows: endpoint.rows, batchRows: 16384, lists: true, binary: true, padding: 384 };
    return {
      schema: async () => trickySchema(o),
      async *read() {
        yield* makeTrickyBatches(o);
      },
    };
  },
});
const root = mkdtempSync(join(tmpdir(), 'mem-'));
const registry = new ConnectorRegistry([gen, fileConnector]);
const run = (rows: number, name: string) =>
  runTask({
    task: {
      id: name,
      source: { connector: 'gen', connection: 'g', options: {}, endpoint: { rows } },
      target: { connector: 'file', connection: 'f', options: { root }, endpoint: { path: `${name}.parquet` } },
      ...(validate ? { validate } : {}),
    } as any,
    connectors: registry,
    workers: mode === 'inline' ? false : undefined,
    progressIntervalMs: 0,
  });
if (mode !== 'inline') await sharedWorkerPool().prewarm(['validation', 'parquet']);
await run(70_000, 'warm');
globalThis.gc?.();
const base = process.memoryUsage();
let peak = base.rss;
let peakAb = base.arrayBuffers;
let peakHeap = base.heapUsed;
const timer = setInterval(() => {
  const m = process.memoryUsage();
  peak = Math.max(peak, m.rss);
  peakAb = Math.max(peakAb, m.arrayBuffers);
  peakHeap = Math.max(peakHeap, m.heapUsed);
}, 5);
const t = performance.now();
const r = await run(700_000, 'big');
clearInterval(timer);
const mb = (x: number) => (x / 1048576).toFixed(0);
console.log(
  mode,
  r.ok,
  r.error?.message ?? '',
  `${((performance.now() - t) / 1000).toFixed(1)}s`,
  'rss growth',
  mb(peak - base.rss),
  'ab growth',
  mb(peakAb - base.arrayBuffers),
  'heap growth',
  mb(peakHeap - base.heapUsed),
  'base rss',
  mb(base.rss),
);
await sharedWorkerPool().close();
