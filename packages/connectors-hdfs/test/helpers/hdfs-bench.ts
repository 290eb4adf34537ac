/**
 * HDFS bench: 1M rows of Parquet file→HDFS and HDFS→file through the WebHDFS emulator on
 * loopback (name node and data node in the suite's process, so their CPU is not in Honk's
 * figure), with the same conversion file→file in the same run as the reference. Each
 * scenario runs in a fresh process (bench/run-isolated.ts), best of BENCH_REPEAT runs, with
 * full row-count + checksum validation. Prints rows/s, MB/s (of the source file), peak RSS,
 * working set, CPU seconds of the Honk process, and the ratios ours / file→file by time and
 * by CPU (1 = as fast as local disk). BENCH_ROWS overrides the row count.
 *
 * Lives beside the package's test helpers so it resolves the package's dependencies;
 * bench/hdfs.ts runs it under `pnpm bench hdfs` or standalone.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Field, Float64, Int64, makeData, RecordBatch, Schema, Struct, Utf8 } from 'apache-arrow';
import { z } from 'zod';
import { benchRows } from '../../../../bench/report.ts';
import type { ScenarioResult } from '../../../../bench/run.ts';
import { bestOf, type IsolatedResult, runIsolated } from '../../../../bench/run-isolated.ts';
import { defineConnector } from '../../../core/src/connector/connector.ts';
import { ConnectorRegistry } from '../../../core/src/connector/connector-registry.ts';
import { fileConnector } from '../../../core/src/connectors/file/file-connector.ts';
import { runTask } from '../../../core/src/run/run-task.ts';
import type { TaskReport } from '../../../core/src/run/task-report.ts';
import { hdfsConnector } from '../../src/hdfs-connector.ts';
import { startWebHdfsEmulator } from '../../src/testing/webhdfs-emulator.ts';

const schema = new Schema([
  new Field('id', new Int64(), false),
  new Field('amount', new Float64(), false),
  new Field('label', new Utf8(), false),
]);

function batchAt(start: number, rows: number): RecordBatch {
  const ids = new BigInt64Array(rows);
  const amounts = new Float64Array(rows);
  const offsets = new Int32Array(rows + 1);
  const parts: string[] = [];
  for (let i = 0; i < rows; i += 1) {
    ids[i] = BigInt(start + i);
    amounts[i] = (start + i) * 0.25;
    const label = `customer-${(start + i) % 9973}`;
    parts.push(label);
    offsets[i + 1] = (offsets[i] as number) + label.length;
  }
  const children = [
    makeData({ type: new Int64(), length: rows, data: ids }),
    makeData({ type: new Float64(), length: rows, data: amounts }),
    makeData({
      type: new Utf8(),
      length: rows,
      valueOffsets: offsets,
      data: new Uint8Array(Buffer.from(parts.join(''))),
    }),
  ];
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, children }));
}

const generator = defineConnector({
  specificationVersion: 'v1',
  name: 'bench-generator',
  optionsSchema: z.object({}).strict(),
  endpointSchema: z.object({ rows: z.number() }).strict() as z.ZodType<{ rows: number }>,
  createSource: ({ endpoint }) => ({
    schema: async () => schema,
    async *read({ batchRows }) {
      for (let start = 0; start < endpoint.rows; start += batchRows)
        yield batchAt(start, Math.min(batchRows, endpoint.rows - start));
    },
  }),
});

type Side = {
  connector: string;
  connection: string;
  options: Record<string, unknown>;
  endpoint: Record<string, unknown>;
};

/** One scenario, run in a child process (the module bench/hdfs.ts serves it). */
export interface HdfsBenchJob {
  name: string;
  from: Side;
  to: Side;
}

const registry = new ConnectorRegistry([fileConnector, hdfsConnector, generator]);

/** Child side: one task with full row-count + checksum validation, as every scenario does. */
export async function runHdfsBenchJob(job: HdfsBenchJob): Promise<{ rows: number }> {
  const report: TaskReport = await runTask({
    task: {
      id: job.name.replace(/[^a-zA-Z0-9]+/g, '-'),
      source: job.from,
      target: job.to,
      validate: { rowCount: true, checksum: true, sample: 0, schema: false },
    },
    connectors: registry,
  });
  if (!report.ok) throw new Error(`${job.name} failed: ${report.error?.code} ${report.error?.message}`);
  return { rows: report.stats.rows };
}

const benchModule = new URL('../../../../bench/hdfs.ts', import.meta.url);

export async function benchHdfs(): Promise<ScenarioResult[]> {
  const rows = benchRows(1_000_000);
  const root = await mkdtemp(join(tmpdir(), 'honk-bench-hdfs-'));
  const emulator = await startWebHdfsEmulator();
  const format = 'parquet';
  const results: ScenarioResult[] = [];
  try {
    const side = (connector: string, options: Record<string, unknown>, endpoint: Record<string, unknown>): Side => ({
      connector,
      connection: connector,
      options,
      endpoint,
    });
    const file = (path: string) => side('file', { root }, { path, format });
    const hdfs = side('hdfs', { url: emulator.url, user: 'bench', root: '/bench' }, { path: 'out/', format });
    await runHdfsBenchJob({
      name: 'bench-seed',
      from: side('bench-generator', {}, { rows }),
      to: file('input.parquet'),
    });
    const inputBytes = (await stat(join(root, 'input.parquet'))).size;

    const scenario = async (name: string, from: Side, to: Side) => {
      const job: HdfsBenchJob = { name, from, to };
      const measured: IsolatedResult = await bestOf(() => runIsolated(benchModule.href, job));
      return {
        measured,
        result: {
          suite: 'hdfs',
          name,
          rows,
          seconds: measured.seconds,
          rowsPerSecond: rows / measured.seconds,
          megabytesPerSecond: inputBytes / 1024 / 1024 / measured.seconds,
          peakRssMb: measured.peakRssMb,
          workingSetMb: measured.peakRssMb - measured.baselineRssMb,
          cpuSeconds: measured.cpuSeconds,
        } satisfies ScenarioResult,
      };
    };
    const reference = await scenario(`file→file ${format}`, file('input.parquet'), file('copy.parquet'));
    const up = await scenario(`file→HDFS ${format} (emulator)`, file('input.parquet'), hdfs);
    const down = await scenario(`HDFS→file ${format} (emulator)`, hdfs, file('back.parquet'));
    results.push({ ...reference.result, reference: 'itself', ratio: 1, cpuRatio: 1 });
    for (const { result, measured } of [up, down]) {
      results.push({
        ...result,
        reference: reference.result.name,
        ratio: reference.measured.seconds / measured.seconds,
        cpuRatio: reference.measured.cpuSeconds / measured.cpuSeconds,
        note: `input ${(inputBytes / 1024 / 1024).toFixed(1)} MiB; cpu ${measured.cpuSeconds.toFixed(2)} s (Honk's process only)`,
      });
    }
    return results;
  } finally {
    await emulator.stop();
    await rm(root, { recursive: true, force: true });
  }
}
