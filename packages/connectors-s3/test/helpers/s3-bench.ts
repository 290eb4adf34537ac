/**
 * S3 bench: 1M rows file→S3 and S3→file against s3rver on loopback (a child process), with
 * the same conversion file→file in the same run as the reference. Prints rows/s, MB/s (of
 * the source file) and peak RSS; the ratio is ours / file→file (1 = as fast as local disk).
 *
 * Lives beside the S3 test helpers so it resolves the package's dependencies; bench/s3.ts
 * runs it under `pnpm bench s3` or standalone (`node --expose-gc --import tsx bench/s3.ts`).
 * Format: Parquet (core's codec, shared with the file connector). BENCH_ROWS overrides the
 * row count.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Field, Float64, Int64, makeData, RecordBatch, Schema, Struct, Utf8 } from 'apache-arrow';
import { z } from 'zod';
import { benchRows, measure } from '../../../../bench/report.ts';
import type { ScenarioResult } from '../../../../bench/run.ts';
import { defineConnector } from '../../../core/src/connector/connector.ts';
import { ConnectorRegistry } from '../../../core/src/connector/connector-registry.ts';
import { fileConnector } from '../../../core/src/connectors/file/file-connector.ts';
import { runTask } from '../../../core/src/run/run-task.ts';
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

export async function benchS3(): Promise<ScenarioResult[]> {
  const rows = benchRows(1_000_000);
  const root = await mkdtemp(join(tmpdir(), 'honk-bench-s3-'));
  const server = await startS3TestServer('s3rver');
  const format = 'parquet';
  const ext = 'parquet';
  const results: ScenarioResult[] = [];
  try {
    const s3 = s3ConnectionSchema.parse(await server.connection('bench'));
    const registry = new ConnectorRegistry([fileConnector, s3Connector, generator]);
    const side = (connector: string, options: Record<string, unknown>, endpoint: Record<string, unknown>) => ({
      connector,
      connection: connector,
      options,
      endpoint,
    });
    const run = async (id: string, from: ReturnType<typeof side>, to: ReturnType<typeof side>) => {
      const report = await runTask({
        task: { id, source: from, target: to, validate: { rowCount: true, checksum: true, sample: 0, schema: false } },
        connectors: registry,
      });
      if (!report.ok) throw new Error(`${id} failed: ${report.error?.code} ${report.error?.message}`);
      return report;
    };
    const file = (path: string) => side('file', { root }, { path, format });
    await run('bench-seed', side('bench-generator', {}, { rows }), file(`input.${ext}`));
    const inputBytes = (await stat(join(root, `input.${ext}`))).size;

    const scenario = async (name: string, from: ReturnType<typeof side>, to: ReturnType<typeof side>) => {
      const measured = await measure(() => run(name, from, to));
      return {
        suite: 's3',
        name,
        rows,
        seconds: measured.seconds,
        rowsPerSecond: rows / measured.seconds,
        megabytesPerSecond: inputBytes / 1024 / 1024 / measured.seconds,
        peakRssMb: measured.peakRssMb,
      } satisfies ScenarioResult;
    };
    const reference = await scenario(`file→file ${format}`, file(`input.${ext}`), file(`copy.${ext}`));
    const up = await scenario(
      `file→S3 ${format} (s3rver)`,
      file(`input.${ext}`),
      side('s3', s3 as unknown as Record<string, unknown>, { prefix: 'bench/out/', format }),
    );
    const down = await scenario(
      `S3→file ${format} (s3rver)`,
      side('s3', s3 as unknown as Record<string, unknown>, { prefix: 'bench/out/', format }),
      file(`back.${ext}`),
    );
    results.push({ ...reference, reference: 'itself', ratio: 1 });
    for (const result of [up, down]) {
      results.push({
        ...result,
        reference: reference.name,
        ratio: reference.seconds / result.seconds,
      });
    }
    return results;
  } finally {
    await server.stop();
    await rm(root, { recursive: true, force: true });
  }
}
