/**
 * The shape shared by the object-store benches (s3, hdfs): generate a Parquet file of
 * BENCH_ROWS rows (default 1M), then measure file→remote and remote→file next to file→file in
 * the same run. Each scenario is one `runTask` with row-count + checksum validation in a
 * fresh child process (run-isolated.ts), best of BENCH_REPEAT runs; it reports rows/s, MB/s of
 * the source file, peak RSS, working set, CPU seconds of the Honk process (the server's CPU is
 * not in it) and the ratios ours ÷ file→file by time and by CPU (1 = as fast as local disk).
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Connector, ConnectorRegistry, defineConnector, fileConnector, runTask } from '@honk/core';
import { Field, Float64, Int64, makeData, RecordBatch, Schema, Struct, Utf8 } from 'apache-arrow';
import { z } from 'zod';
import { benchRows } from './report.ts';
import type { ScenarioResult } from './run.ts';
import { bestOf, type IsolatedResult, runIsolated } from './run-isolated.ts';

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

/** A source of `rows` generated rows (id, amount, label) that seeds the input file. */
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

/** One side of a task: a connection (named after its connector) and an endpoint. */
export interface BenchSide {
  connector: string;
  connection: string;
  options: Record<string, unknown>;
  endpoint: Record<string, unknown>;
}

/** One scenario, run in a child process by the suite's module. */
export interface RoundTripJob {
  name: string;
  from: BenchSide;
  to: BenchSide;
}

export function benchSide(
  connector: string,
  options: Record<string, unknown>,
  endpoint: Record<string, unknown>,
): BenchSide {
  return { connector, connection: connector, options, endpoint };
}

/** Child side: one task with full row-count + checksum validation, as every scenario does. */
export async function runRoundTripJob(job: RoundTripJob, remote: Connector): Promise<{ rows: number }> {
  const report = await runTask({
    task: {
      id: job.name.replace(/[^a-zA-Z0-9]+/g, '-'),
      source: job.from,
      target: job.to,
      validate: { rowCount: true, checksum: true, sample: 0, schema: false },
    },
    connectors: new ConnectorRegistry([fileConnector, remote, generator]),
  });
  if (!report.ok) throw new Error(`${job.name} failed: ${report.error?.code} ${report.error?.message}`);
  return { rows: report.stats.rows };
}

export interface RoundTripOptions {
  /** The suite's name (`s3`, `hdfs`). */
  suite: string;
  /** How scenario names call the remote side (`S3`, `HDFS`) and its server (`s3rver`, `emulator`). */
  remoteName: string;
  serverName: string;
  /** The remote connector, for the seed task run in this process. */
  remote: Connector;
  /** The suite's module: children are started on it and serve `runRoundTripJob`. */
  benchModule: URL;
  /** Starts the server and returns the remote side of both scenarios, and how to stop it. */
  start(): Promise<{ side: BenchSide; stop(): Promise<void> }>;
}

/** Seeds the input, then measures file→file, file→remote and remote→file (Parquet). */
export async function benchRoundTrip(options: RoundTripOptions): Promise<ScenarioResult[]> {
  const rows = benchRows(1_000_000);
  const root = await mkdtemp(join(tmpdir(), `honk-bench-${options.suite}-`));
  const server = await options.start();
  const format = 'parquet';
  try {
    const file = (path: string) => benchSide('file', { root }, { path, format });
    await runRoundTripJob(
      { name: 'bench-seed', from: benchSide('bench-generator', {}, { rows }), to: file('input.parquet') },
      options.remote,
    );
    const inputBytes = (await stat(join(root, 'input.parquet'))).size;

    const scenario = async (name: string, from: BenchSide, to: BenchSide) => {
      const job: RoundTripJob = { name, from, to };
      const measured: IsolatedResult = await bestOf(() => runIsolated(options.benchModule.href, job));
      const result: ScenarioResult = {
        suite: options.suite,
        name,
        rows,
        seconds: measured.seconds,
        rowsPerSecond: rows / measured.seconds,
        megabytesPerSecond: inputBytes / 1024 / 1024 / measured.seconds,
        peakRssMb: measured.peakRssMb,
        workingSetMb: measured.peakRssMb - measured.baselineRssMb,
        cpuSeconds: measured.cpuSeconds,
      };
      return { measured, result };
    };
    const where = `${format} (${options.serverName})`;
    const reference = await scenario(`file→file ${format}`, file('input.parquet'), file('copy.parquet'));
    const up = await scenario(`file→${options.remoteName} ${where}`, file('input.parquet'), server.side);
    const down = await scenario(`${options.remoteName}→file ${where}`, server.side, file('back.parquet'));
    const results: ScenarioResult[] = [{ ...reference.result, reference: 'itself', ratio: 1, cpuRatio: 1 }];
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
