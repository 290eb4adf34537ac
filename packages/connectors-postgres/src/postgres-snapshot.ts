/**
 * Snapshots of a PostgreSQL target, recorded in `_honk_snapshots` (in the target's schema)
 * so any agent can restore or discard them.
 *
 * `take()` only records a pending marker (nothing is copied yet). The sink's `publish()`
 * honours it in the same transaction as the publish:
 * - replace: the old table is renamed to the snapshot name instead of dropped — free, no copy;
 *   its indexes are renamed aside too (names are unique per schema) and remembered.
 * - append/merge: the table is copied (`CREATE TABLE … AS TABLE …`) just before the rows go
 *   in — this costs a full copy of the target; disable snapshots for huge append targets.
 * `restore()` swaps the old table back (or truncates and refills from the copy) in one
 * transaction; `discard()` drops the snapshot table. A marker whose publish never happened
 * restores to a no-op: the target was never touched.
 */

import { randomBytes } from 'node:crypto';
import { type ConnectorContext, NotFoundError, type Snapshot, type SnapshotRef } from '@honk/core';
import { APPLIED_TABLE, ensureBookkeepingTable, lockTarget, SNAPSHOTS_TABLE, tableExists } from './postgres-catalog.ts';
import { connect, type PgClient, release } from './postgres-client.ts';
import { toPostgresError } from './postgres-errors.ts';
import type { PostgresOptions } from './postgres-options.ts';
import { quoteIdentifier, quoteTable, shortHash, type TableName } from './table-name.ts';

export interface PostgresSnapshotArgs {
  options: PostgresOptions;
  table: TableName;
  context: ConnectorContext;
}

interface Marker {
  id: string;
  task_id: string;
  snapshot_table: string;
  state: 'pending' | 'renamed' | 'copied';
  indexes: Array<[string, string]>;
  applied_hash: string | null;
}

export class PostgresSnapshot implements Snapshot {
  private readonly args: PostgresSnapshotArgs;
  constructor(args: PostgresSnapshotArgs) {
    this.args = args;
  }

  private get markers(): string {
    return quoteTable({ schema: this.args.table.schema, table: SNAPSHOTS_TABLE });
  }

  /**
   * Runs `run` in one transaction. `prepare` runs first, outside it (creating bookkeeping
   * tables needs its own short transaction); returning false from it skips the transaction.
   */
  private async transaction<T>(
    operation: string,
    run: (client: PgClient) => Promise<T>,
    prepare?: (client: PgClient) => Promise<boolean>,
  ): Promise<T | null> {
    const client = await connect(
      this.args.options,
      this.args.context,
      `connecting for ${operation} ${quoteTable(this.args.table)}`,
    );
    try {
      if (prepare && !(await prepare(client))) return null;
      await client.query('BEGIN');
      const result = await run(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw toPostgresError(error, {
        connection: this.args.context.connectionName,
        operation: `${operation} ${quoteTable(this.args.table)}`,
      });
    } finally {
      await release(client);
    }
  }

  async take(): Promise<SnapshotRef | null> {
    const prepare = async (client: PgClient) => {
      if (!(await tableExists(client, this.args.table))) return false;
      await ensureBookkeepingTable(client, this.args.table.schema, SNAPSHOTS_TABLE);
      return true;
    };
    return this.transaction(
      'snapshotting',
      async (client) => {
        const takenAt = new Date().toISOString();
        // Task and target, time and a random part: unique even for takes in the same millisecond,
        // and 37 bytes at most, so neither it nor the index names derived from it are ever truncated.
        const id = [
          shortHash(`${this.args.context.taskId}\u0000${quoteTable(this.args.table)}`, 12),
          Date.now().toString(36),
          randomBytes(2).toString('hex'),
        ].join('_');
        const snapshotTable = `_honk_snap_${id}`;
        // Several pending markers may exist (tasks racing over a target); the next publish settles them all.
        await client.query(
          `INSERT INTO ${this.markers} (id, task_id, target, snapshot_table, state) VALUES ($1, $2, $3, $4, 'pending')`,
          [id, this.args.context.taskId, quoteTable(this.args.table), snapshotTable],
        );
        return {
          connector: 'postgres',
          takenAt,
          id,
          schema: this.args.table.schema,
          table: this.args.table.table,
          snapshotTable,
        };
      },
      prepare,
    );
  }

  private async marker(client: PgClient, ref: SnapshotRef): Promise<Marker | undefined> {
    if (!(await tableExists(client, { schema: this.args.table.schema, table: SNAPSHOTS_TABLE }))) return undefined;
    const result = await client.query<Marker>(
      `SELECT id, task_id, snapshot_table, state, indexes, applied_hash FROM ${this.markers} WHERE id = $1 FOR UPDATE`,
      [String(ref.id)],
    );
    return result.rows[0];
  }

  /** Removes a marker, and every other marker sharing its (now restored or dropped) snapshot table. */
  private async forget(client: PgClient, marker: Marker): Promise<void> {
    if (marker.state === 'pending') await client.query(`DELETE FROM ${this.markers} WHERE id = $1`, [marker.id]);
    else {
      await client.query(`DELETE FROM ${this.markers} WHERE id = $1 OR (state <> 'pending' AND snapshot_table = $2)`, [
        marker.id,
        marker.snapshot_table,
      ]);
    }
  }

  async restore(ref: SnapshotRef): Promise<void> {
    await this.transaction('restoring the snapshot of', async (client) => {
      // Not while a publish of the same target is in flight (see lockTarget).
      await lockTarget(client, this.args.table);
      const marker = await this.marker(client, ref);
      if (!marker) {
        throw new NotFoundError(
          `Snapshot ${String(ref.id)} of ${quoteTable(this.args.table)} no longer exists (discarded or expired); cannot restore.`,
        );
      }
      const target = this.args.table;
      const snapshot: TableName = { schema: target.schema, table: marker.snapshot_table };
      if (marker.state !== 'pending' && !(await tableExists(client, snapshot))) {
        throw new NotFoundError(
          `Snapshot table ${quoteTable(snapshot)} of ${quoteTable(target)} no longer exists (discarded through another ref); cannot restore.`,
        );
      }
      if (marker.state === 'renamed') {
        await client.query(`DROP TABLE IF EXISTS ${quoteTable(target)}`);
        await client.query(`ALTER TABLE ${quoteTable(snapshot)} RENAME TO ${quoteIdentifier(target.table)}`);
        for (const [aside, original] of marker.indexes) {
          await client.query(
            `ALTER INDEX ${quoteTable({ schema: target.schema, table: aside })} RENAME TO ${quoteIdentifier(original)}`,
          );
        }
      } else if (marker.state === 'copied') {
        const columns = (
          await client.query<{ name: string }>(
            `SELECT attname AS name FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
            [quoteTable(snapshot)],
          )
        ).rows.map((row) => quoteIdentifier(row.name));
        await client.query(`LOCK TABLE ${quoteTable(target)} IN ACCESS EXCLUSIVE MODE`);
        await client.query(`DELETE FROM ${quoteTable(target)}`);
        await client.query(
          `INSERT INTO ${quoteTable(target)} (${columns.join(', ')}) SELECT ${columns.join(', ')} FROM ${quoteTable(snapshot)}`,
        );
        await client.query(`DROP TABLE ${quoteTable(snapshot)}`);
        if (marker.applied_hash) {
          // The append is undone, so a re-run must apply it again.
          await client.query(
            `DELETE FROM ${quoteTable({ schema: target.schema, table: APPLIED_TABLE })} WHERE task_id = $1 AND target = $2 AND stage_hash = $3`,
            [marker.task_id, quoteTable(target), marker.applied_hash],
          );
        }
      }
      // 'pending': publish never happened, the target is as it was.
      await this.forget(client, marker);
    });
  }

  async discard(ref: SnapshotRef): Promise<void> {
    await this.transaction('discarding the snapshot of', async (client) => {
      const marker = await this.marker(client, ref);
      if (!marker) return;
      if (marker.state !== 'pending') {
        await client.query(
          `DROP TABLE IF EXISTS ${quoteTable({ schema: this.args.table.schema, table: marker.snapshot_table })}`,
        );
      }
      await this.forget(client, marker);
    });
  }
}
