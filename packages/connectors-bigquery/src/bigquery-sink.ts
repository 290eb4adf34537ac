/**
 * The BigQuery sink. Batches are encoded to Parquet by core's writer and loaded (load jobs,
 * one per `loadFileBytes`) into a staging table in the target's dataset,
 * `_honk_staging_<task>`; validation reads that table back; publishing is one job (see
 * bigquery-publish.ts); the staging table is then dropped.
 *
 * The staging table takes the existing target's partitioning and clustering, so a replace
 * keeps them, and for append and merge the target's own column types. Its name derives
 * from the task id, so a new attempt's `open()` drops a crashed attempt's leftovers; it
 * also expires by itself after `leftoverExpirationHours`.
 */
import { createHash } from 'node:crypto';
import {
  ConfigError,
  type PublishMode,
  SchemaMismatchError,
  type Sink,
  type SinkWriter,
  type StagedTarget,
  type TargetDescription,
  type WriteOptions,
} from '@honk/core';
import type { RecordBatch, Schema } from 'apache-arrow';
import type { BigQueryApi, TableResource } from './bigquery-api.ts';
import { type LoadFile, startLoadFile } from './bigquery-load-file.ts';
import type { BigQueryConnectionOptions, BigQueryEndpointOptions } from './bigquery-options.ts';
import { publishAppend, publishMerge, publishReplace } from './bigquery-publish.ts';
import { checkBatch, hasRepeated } from './bigquery-row-checks.ts';
import { createBigQuerySource } from './bigquery-source.ts';
import {
  arrowSchemaOf,
  type BigQueryField,
  bigQuerySchemaOf,
  canonicalType,
  describeBigQueryType,
} from './bigquery-types.ts';
import { describeTable, parseTableName, type TableReference } from './table-reference.ts';

export interface BigQuerySinkArgs {
  api: BigQueryApi;
  options: Pick<BigQueryConnectionOptions, 'pageRows' | 'loadFileBytes' | 'leftoverExpirationHours' | 'location'>;
  endpoint: Pick<BigQueryEndpointOptions, 'table' | 'query'>;
  taskId: string;
  onClose?: () => Promise<void> | void;
}

/** The staging table of a task: deterministic, so a later attempt finds and drops leftovers. */
export function stagingTableOf(target: TableReference, taskId: string): TableReference {
  const readable = taskId.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 60);
  const digest = createHash('sha256').update(taskId).digest('hex').slice(0, 12);
  return { ...target, tableId: `_honk_staging_${readable}_${digest}` };
}

/** Keeps what a replace must not lose from an existing target. */
function layoutOf(target: TableResource | null): Partial<TableResource> {
  if (!target) return {};
  return {
    ...(target.timePartitioning ? { timePartitioning: target.timePartitioning } : {}),
    ...(target.rangePartitioning ? { rangePartitioning: target.rangePartitioning } : {}),
    ...(target.clustering ? { clustering: target.clustering } : {}),
  };
}

function sameType(a: BigQueryField, b: BigQueryField): boolean {
  return describeBigQueryType(a) === describeBigQueryType(b);
}

/**
 * For append and merge: the incoming columns must be the target's columns with the same
 * types (BigQuery's copy and MERGE would otherwise fail or coerce).
 */
function compatibleColumns(
  connection: string,
  table: string,
  incoming: BigQueryField[],
  existing: BigQueryField[],
): BigQueryField[] {
  const byName = new Map(existing.map((field) => [field.name.toLowerCase(), field]));
  for (const field of incoming) {
    const target = byName.get(field.name.toLowerCase());
    if (!target) {
      throw new SchemaMismatchError(
        `BigQuery connection "${connection}": column "${field.name}" does not exist in ${table}. Add it to the table (ALTER TABLE … ADD COLUMN) or drop it with \`select:\`.`,
        { details: { column: field.name } },
      );
    }
    const nullableIntoRequired = target.mode === 'REQUIRED' && field.mode !== 'REQUIRED';
    if (
      !sameType(
        { ...field, mode: field.mode === 'REPEATED' ? 'REPEATED' : 'NULLABLE' },
        { ...target, mode: target.mode === 'REPEATED' ? 'REPEATED' : 'NULLABLE' },
      ) ||
      nullableIntoRequired
    ) {
      // NUMERIC(P,S) and friends: the same base type is fine, the load checks the values.
      const base = canonicalType(field.type) === canonicalType(target.type) && field.mode === target.mode;
      if (!base || nullableIntoRequired) {
        throw new SchemaMismatchError(
          `BigQuery connection "${connection}": column "${field.name}" is ${describeBigQueryType(field)}${field.mode === 'NULLABLE' ? ' (nullable)' : ''} in the data but ${describeBigQueryType(target)}${target.mode === 'REQUIRED' ? ' NOT NULL' : ''} in ${table}. Cast it in the task's transform or change the table.`,
          { details: { column: field.name } },
        );
      }
    }
  }
  const missing = existing.filter(
    (field) =>
      field.mode === 'REQUIRED' && !incoming.some((column) => column.name.toLowerCase() === field.name.toLowerCase()),
  );
  if (missing.length > 0) {
    throw new SchemaMismatchError(
      `BigQuery connection "${connection}": ${table} requires column "${missing[0]?.name}", which the data does not have.`,
      { details: { column: missing[0]?.name } },
    );
  }
  // The staging table holds the incoming columns with the target's exact types.
  return incoming.map((field) => ({ ...(byName.get(field.name.toLowerCase()) as BigQueryField), name: field.name }));
}

export function createBigQuerySink(args: BigQuerySinkArgs): Sink {
  const { api, options } = args;
  const connection = api.connection;
  if (args.endpoint.table === undefined) {
    throw new ConfigError(
      `BigQuery connection "${connection}": a target needs \`table:\` (dataset.table); \`query:\` is for sources.`,
    );
  }
  const target = parseTableName(args.endpoint.table, api.projectId);
  const staging = stagingTableOf(target, args.taskId);
  const targetName = describeTable(target);

  const plan = async (schema: Schema, mode: PublishMode, key: readonly string[] | undefined) => {
    const incoming = bigQuerySchemaOf(schema);
    const existing = await api.getTable(target);
    if (mode === 'merge') {
      if (!key || key.length === 0) {
        throw new ConfigError(
          `BigQuery connection "${connection}": publish mode merge needs \`key\` columns for ${targetName}.`,
        );
      }
      for (const column of key) {
        if (!schema.fields.some((field) => field.name === column)) {
          throw new ConfigError(
            `BigQuery connection "${connection}": merge key column "${column}" is not in the data.`,
            {
              details: { column },
            },
          );
        }
      }
    }
    const fields =
      existing && mode !== 'replace'
        ? compatibleColumns(connection, targetName, incoming, existing.schema?.fields ?? [])
        : incoming;
    return { existing, fields };
  };

  return {
    async describe(): Promise<TargetDescription> {
      const existing = await api.getTable(target);
      if (!existing) return { exists: false };
      return { exists: true, schema: arrowSchemaOf(existing.schema?.fields ?? []) };
    },

    async check(schema, writeOptions) {
      await plan(schema, writeOptions.mode, writeOptions.key);
    },

    async open(schema: Schema, writeOptions: WriteOptions): Promise<SinkWriter> {
      const { signal, mode } = writeOptions;
      const key = writeOptions.key ?? [];
      const { existing, fields } = await plan(schema, mode, key);
      await api.deleteTable(staging);
      await api.insertTable(staging, {
        schema: { fields },
        ...layoutOf(existing),
        expirationTime: String(Date.now() + options.leftoverExpirationHours * 3_600_000),
        labels: { 'honk-staging': 'true' },
      });
      const checks = hasRepeated(schema.fields) || mode === 'merge';
      const fileHashes: string[] = [];
      let file: LoadFile | undefined;
      let rows = 0;
      let bytes = 0;
      let staged: StagedTarget | undefined;

      const finishFile = async () => {
        if (!file) return;
        const current = file;
        file = undefined;
        const { sha256 } = await current.finish(signal);
        fileHashes.push(sha256);
        bytes += current.bytes;
      };

      const writer: SinkWriter = {
        async write(batch: RecordBatch) {
          if (batch.numRows === 0) return;
          if (checks) checkBatch(batch, rows + 1, mode === 'merge' ? key : []);
          file ??= startLoadFile(api, staging, schema, options.location);
          await file.write(batch);
          rows += batch.numRows;
          if (file.bytes >= options.loadFileBytes) await finishFile();
        },

        async stage() {
          if (staged) return staged;
          await finishFile();
          staged = {
            ref: { table: `${staging.datasetId}.${staging.tableId}`, project: staging.projectId },
            rows,
            bytes,
            reader: () =>
              createBigQuerySource({
                api,
                endpoint: { table: `${staging.projectId}.${staging.datasetId}.${staging.tableId}` },
                pageRows: options.pageRows,
              }),
          };
          return staged;
        },

        async publish() {
          if (!staged) await writer.stage();
          const publishArgs = { api, staging, target, taskId: args.taskId, signal };
          // An append always goes through its marker, also the one that creates the target:
          // otherwise a re-run after the first publish would append the same rows again.
          // A merge is looked up again: another task may have created the target since `open()`.
          const current = mode === 'merge' ? await api.getTable(target, signal) : null;
          if (mode === 'append') await publishAppend(publishArgs, fileHashes);
          else if (mode === 'merge' && current)
            await publishMerge(
              publishArgs,
              fields.map((field) => field.name),
              key,
            );
          else await publishReplace(publishArgs);
          await api.deleteTable(staging);
          return { ref: { table: targetName, project: target.projectId, mode } };
        },

        async abort() {
          await file?.abort();
          file = undefined;
          await api.deleteTable(staging);
        },
      };
      return writer;
    },

    async close() {
      await args.onClose?.();
    },
  };
}
