/**
 * Snapshots of a BigQuery target, taken before a publish so it can be rolled back:
 * - `snapshotMethod: snapshot` (default): a table snapshot (a copy job with operation type
 *   SNAPSHOT, the REST form of `CREATE SNAPSHOT TABLE … CLONE …`): no storage is paid until
 *   the target changes. It expires by itself after `leftoverExpirationHours`.
 * - `snapshotMethod: copy`: a full table copy, for tables a snapshot cannot be taken of.
 *
 * Restore is one copy job back over the target (`WRITE_TRUNCATE`; operation type RESTORE for
 * a snapshot), then a new `honk-generation` label, so an append of the same data applies
 * again afterwards (see bigquery-publish.ts). Discard drops the snapshot table.
 */
import { randomUUID } from 'node:crypto';
import { type Json, NotFoundError, type Snapshot, type SnapshotRef } from '@honk/core';
import type { BigQueryApi } from './bigquery-api.ts';
import type { BigQueryConnectionOptions, BigQueryEndpointOptions } from './bigquery-options.ts';
import { GENERATION_LABEL } from './bigquery-publish.ts';
import { describeTable, parseTableName, type TableReference } from './table-reference.ts';

export interface BigQuerySnapshotArgs {
  api: BigQueryApi;
  options: Pick<BigQueryConnectionOptions, 'leftoverExpirationHours'>;
  endpoint: Pick<BigQueryEndpointOptions, 'table' | 'snapshotMethod'>;
  taskId: string;
}

interface SnapshotData {
  target: TableReference;
  snapshot: TableReference;
  method: 'snapshot' | 'copy';
}

export function createBigQuerySnapshot(args: BigQuerySnapshotArgs): Snapshot {
  const { api } = args;
  const target = parseTableName(args.endpoint.table ?? '', api.projectId);
  const method = args.endpoint.snapshotMethod ?? 'snapshot';

  return {
    async take() {
      const existing = await api.getTable(target);
      if (!existing) return null;
      const id = `${Date.now().toString(36)}_${randomUUID().slice(0, 8)}`;
      const readable = args.taskId.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 60);
      const snapshot: TableReference = { ...target, tableId: `_honk_snapshot_${readable}_${id}` };
      const expires = new Date(Date.now() + args.options.leftoverExpirationHours * 3_600_000);
      await api.runJob(
        {
          copy: {
            sourceTables: [target],
            destinationTable: snapshot,
            writeDisposition: 'WRITE_EMPTY',
            createDisposition: 'CREATE_IF_NEEDED',
            ...(method === 'snapshot'
              ? { operationType: 'SNAPSHOT', destinationExpirationTime: expires.toISOString() }
              : {}),
          },
        },
        { operation: 'snapshot (copy job)', table: describeTable(target) },
      );
      if (method === 'copy') await api.patchTable(snapshot, { expirationTime: String(expires.getTime()) });
      const data: SnapshotData = { target, snapshot, method };
      return {
        connector: 'bigquery',
        takenAt: new Date().toISOString(),
        ...(data as unknown as { [key: string]: Json }),
      };
    },

    async restore(ref: SnapshotRef) {
      const data = ref as unknown as SnapshotData;
      if (!(await api.getTable(data.snapshot))) {
        throw new NotFoundError(
          `BigQuery connection "${api.connection}": snapshot table ${describeTable(data.snapshot)} is gone (discarded or expired), so ${describeTable(data.target)} cannot be restored from it.`,
        );
      }
      await api.runJob(
        {
          copy: {
            sourceTables: [data.snapshot],
            destinationTable: data.target,
            writeDisposition: 'WRITE_TRUNCATE',
            createDisposition: 'CREATE_IF_NEEDED',
            ...(data.method === 'snapshot' ? { operationType: 'RESTORE' } : {}),
          },
        },
        { operation: 'restore (copy job)', table: describeTable(data.target) },
      );
      const restored = await api.getTable(data.target);
      await api.patchTable(data.target, {
        labels: { ...restored?.labels, [GENERATION_LABEL]: randomUUID().slice(0, 8) },
      });
    },

    async discard(ref: SnapshotRef) {
      await api.deleteTable((ref as unknown as SnapshotData).snapshot);
    },
  };
}
