/**
 * Making a staging table the target, one job each, so BigQuery applies it atomically:
 * - replace: a copy job staging → target, `WRITE_TRUNCATE`.
 * - append: a copy job staging → target, `WRITE_APPEND`, whose job id is the idempotency
 *   marker: derived from the task, the target, the target's `honk-generation` label and the
 *   sha256 of the load files. BigQuery refuses a second job with the same id, so re-running
 *   the same task with the same data appends nothing; a restore from a snapshot sets a new
 *   generation, so the same data applies again after it.
 * - merge: one `MERGE` query on the key columns.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '@honk/core';
import type { BigQueryApi, JobResource } from './bigquery-api.ts';
import { describeTable, quoteIdentifier, quoteTable, type TableReference } from './table-reference.ts';

/** The label a restore renews so an append's marker no longer matches. */
export const GENERATION_LABEL = 'honk-generation';

export interface PublishArgs {
  api: BigQueryApi;
  staging: TableReference;
  target: TableReference;
  taskId: string;
  signal?: AbortSignal;
}

export async function publishReplace(args: PublishArgs): Promise<void> {
  await args.api.runJob(
    {
      copy: {
        sourceTables: [args.staging],
        destinationTable: args.target,
        writeDisposition: 'WRITE_TRUNCATE',
        createDisposition: 'CREATE_IF_NEEDED',
      },
    },
    {
      operation: 'publish (copy job)',
      table: describeTable(args.target),
      ...(args.signal ? { signal: args.signal } : {}),
    },
  );
}

/** The job id an append of these load files into this generation of the target uses. */
export function appendMarker(args: PublishArgs, generation: string, fileHashes: readonly string[]): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([args.taskId, args.target, generation, fileHashes]))
    .digest('hex')
    .slice(0, 40);
  return `honk_append_${digest}`;
}

/** Appends unless this marker's job already ran. Returns whether rows were appended now. */
export async function publishAppend(args: PublishArgs, fileHashes: readonly string[]): Promise<boolean> {
  const target = await args.api.getTable(args.target, args.signal);
  const generation = target?.labels?.[GENERATION_LABEL] ?? '0';
  const marker = appendMarker(args, generation, fileHashes);
  // A failed job keeps its id for good: later attempts take the next suffix.
  for (let suffix = 0; suffix < 20; suffix++) {
    const jobId = suffix === 0 ? marker : `${marker}_${suffix}`;
    const { job, existed } = await args.api.insertJob(
      {
        copy: {
          sourceTables: [args.staging],
          destinationTable: args.target,
          writeDisposition: 'WRITE_APPEND',
          createDisposition: 'CREATE_IF_NEEDED',
        },
      },
      {
        jobId,
        operation: 'publish (append copy job)',
        table: describeTable(args.target),
        ...(args.signal ? { signal: args.signal } : {}),
      },
    );
    if (!existed) {
      await args.api.waitForJob(
        job,
        { operation: 'publish (append copy job)', table: describeTable(args.target) },
        args.signal,
      );
      return true;
    }
    const settled: JobResource =
      job.status?.state === 'DONE'
        ? job
        : await args.api.waitForJob(job, { operation: 'publish (append copy job)' }, args.signal).catch(() => job);
    if (settled.status?.state === 'DONE' && !settled.status.errorResult) return false;
  }
  throw new ConfigError(
    `BigQuery connection "${args.api.connection}": 20 earlier append jobs of task "${args.taskId}" into ${describeTable(args.target)} failed; look at their errors in the BigQuery console (job ids starting with honk_append_).`,
  );
}

/** The MERGE statement of a staged table into the target on `key`. */
export function mergeStatement(args: PublishArgs, columns: readonly string[], key: readonly string[]): string {
  const on = key.map((column) => `T.${quoteIdentifier(column)} = S.${quoteIdentifier(column)}`).join(' AND ');
  const others = columns.filter((column) => !key.includes(column));
  const update = others.map((column) => `${quoteIdentifier(column)} = S.${quoteIdentifier(column)}`).join(', ');
  const list = columns.map(quoteIdentifier).join(', ');
  const values = columns.map((column) => `S.${quoteIdentifier(column)}`).join(', ');
  return [
    `MERGE ${quoteTable(args.target)} T USING ${quoteTable(args.staging)} S ON ${on}`,
    ...(others.length > 0 ? [`WHEN MATCHED THEN UPDATE SET ${update}`] : []),
    `WHEN NOT MATCHED THEN INSERT (${list}) VALUES (${values})`,
  ].join('\n');
}

export async function publishMerge(
  args: PublishArgs,
  columns: readonly string[],
  key: readonly string[],
): Promise<void> {
  await args.api.runJob(
    { query: { query: mergeStatement(args, columns, key), useLegacySql: false } },
    {
      operation: 'publish (MERGE)',
      table: describeTable(args.target),
      ...(args.signal ? { signal: args.signal } : {}),
    },
  );
}
