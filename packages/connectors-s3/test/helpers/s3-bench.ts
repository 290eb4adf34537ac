/**
 * S3 bench: 1M rows file→S3 and S3→file against s3rver on loopback (a child process), with
 * the same conversion file→file in the same run as the reference. Each scenario runs in a
 * fresh process (bench/run-isolated.ts), best of BENCH_REPEAT runs, so its peak RSS is its
 * own. Prints rows/s, MB/s (of the source file), peak RSS, working set (peak − the process's
 * RSS before the run), CPU seconds of the Honk process (s3rver's CPU is not in it), and the
 * ratios ours / file→file by time and by CPU (1 = as fast as local disk).
 *
 * Lives beside the S3 test helpers so it resolves the package's dependencies; bench/s3.ts
 * runs it under `pnpm bench s3` or standalone (`node --expose-gc bench/s3.ts`).
 * Format: Parquet (core's codec, shared with the file connector). BENCH_ROWS overrides the
 * row count.
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
import { s3Connector } from '../../src/s3-connector.ts';
import { s3ConnectionSchema } from '../../src/s3-options.ts';
import { startS3TestServer } from './s3-test-servers.ts';

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

/** One scenario, run in a child process (the module bench/s3.ts serves it). */
export interface S3BenchJob {
  name: string;
  from: Side;
  to: Side;
}

const registry = new ConnectorRegistry([fileConnector, s3Connector, generator]);

/** Child side: one task with full row-count + checksum validation, as every scenario does. */
export async function runS3BenchJob(job: S3BenchJob): Promise<{ rows: number }> {
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

const benchModule = new URL('../../../../bench/s3.ts', import.meta.url);

export async function benchS3(): Promise<ScenarioResult[]> {
  const rows = benchRows(1_000_000);
  const root = await mkdtemp(join(tmpdir(), 'honk-bench-s3-'));
  const server = await startS3TestServer('s3rver');
  const format = 'parquet';
  const ext = 'parquet';
  const results: ScenarioResult[] = [];
  try {
    const s3 = s3ConnectionSchema.parse(await server.connection('bench')) as unknown as Record<string, unknown>;
    const side = (connector: string, options: Record<string, unknown>, endpoint: Record<string, unknown>): Side => ({
      connector,
      connection: connector,
      options,
      endpoint,
    });
    const file = (path: string) => side('file', { root }, { path, format });
    await runS3BenchJob({ name: 'bench-seed', from: side('bench-generator', {}, { rows }), to: file(`input.${ext}`) });
    const inputBytes = (await stat(join(root, `input.${ext}`))).size;

    const scenario = async (name: string, from: Side, to: Side) => {
      const job: S3BenchJob = { name, from, to };
      const measured: IsolatedResult = await bestOf(() => runIsolated(benchModule.href, job));
      return {
        measured,
        result: {
          suite: 's3',
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
    const s3Prefix = { prefix: 'bench/out/', format };
    const reference = await scenario(`file→file ${format}`, file(`input.${ext}`), file(`copy.${ext}`));
    const up = await scenario(`file→S3 ${format} (s3rver)`, file(`input.${ext}`), side('s3', s3, s3Prefix));
    const down = await scenario(`S3→file ${format} (s3rver)`, side('s3', s3, s3Prefix), file(`back.${ext}`));
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
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
}
