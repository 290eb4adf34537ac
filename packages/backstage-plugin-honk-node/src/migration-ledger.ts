/**
 * The migration ledger: who signed off or rolled back which task, and when. A table in the
 * task store's PostgreSQL database (schema `honk_backstage` by default), so the backend
 * plugin that records and the catalog module that shows read the same rows from any
 * Backstage replica. Rows are only ever added; the latest action of a task counts.
 */
import type { MigrationAction } from '@honk/backstage-plugin-honk-common';
import { quoteIdentifier } from '@honk/connectors-postgres';
import pg from 'pg';

/** One recorded action. */
export interface LedgerEntry extends MigrationAction {
  /** Increases with every entry: a cursor for readers that follow the ledger. */
  sequence: number;
  taskId: string;
  entityRef?: string;
  /** The task definition the action applied to: a redefined task starts over. */
  definitionHash: string;
}

interface Row {
  sequence: string;
  task_id: string;
  entity_ref: string | null;
  action: 'sign-off' | 'rollback';
  actor: string;
  at: Date;
  definition_hash: string;
}

function entry(row: Row): LedgerEntry {
  return {
    sequence: Number(row.sequence),
    taskId: row.task_id,
    ...(row.entity_ref ? { entityRef: row.entity_ref } : {}),
    action: row.action,
    actor: row.actor,
    at: row.at.toISOString(),
    definitionHash: row.definition_hash,
  };
}

export class MigrationLedger {
  readonly #pool: pg.Pool;
  readonly #table: string;

  private constructor(pool: pg.Pool, schema: string) {
    this.#pool = pool;
    this.#table = `${quoteIdentifier(schema)}.${quoteIdentifier('migration_actions')}`;
  }

  /** Connects and creates the schema and table when missing (safe when replicas start at once). */
  static async open(options: { url: string; schema: string }): Promise<MigrationLedger> {
    const pool = new pg.Pool({ connectionString: options.url, max: 3, application_name: 'honk-backstage-ledger' });
    pool.on('error', () => {});
    const ledger = new MigrationLedger(pool, options.schema);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`honk-backstage-ledger:${options.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(options.schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${ledger.#table} (
        sequence bigserial PRIMARY KEY,
        task_id text NOT NULL,
        entity_ref text,
        action text NOT NULL CHECK (action IN ('sign-off', 'rollback')),
        actor text NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        definition_hash text NOT NULL)`);
      await client.query(`CREATE INDEX IF NOT EXISTS migration_actions_task ON ${ledger.#table} (task_id, sequence)`);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      await pool.end().catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    return ledger;
  }

  async record(action: Omit<LedgerEntry, 'sequence' | 'at'>): Promise<LedgerEntry> {
    const { rows } = await this.#pool.query<Row>(
      `INSERT INTO ${this.#table} (task_id, entity_ref, action, actor, definition_hash)
       VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [action.taskId, action.entityRef ?? null, action.action, action.actor, action.definitionHash],
    );
    return entry(rows[0]!);
  }

  /** The entries of these tasks, oldest first, grouped by task. */
  async forTasks(taskIds: readonly string[]): Promise<Map<string, LedgerEntry[]>> {
    const out = new Map<string, LedgerEntry[]>();
    if (taskIds.length === 0) return out;
    const { rows } = await this.#pool.query<Row>(
      `SELECT * FROM ${this.#table} WHERE task_id = ANY($1::text[]) ORDER BY sequence`,
      [[...taskIds]],
    );
    for (const row of rows) {
      const item = entry(row);
      const list = out.get(item.taskId) ?? [];
      list.push(item);
      out.set(item.taskId, list);
    }
    return out;
  }

  /** Entries after `sequence` (0: all), oldest first, at most `limit`. */
  async since(sequence: number, limit = 1000): Promise<LedgerEntry[]> {
    const { rows } = await this.#pool.query<Row>(
      `SELECT * FROM ${this.#table} WHERE sequence > $1 ORDER BY sequence LIMIT $2`,
      [sequence, limit],
    );
    return rows.map(entry);
  }

  /** The highest sequence recorded (0 when empty). */
  async head(): Promise<number> {
    const { rows } = await this.#pool.query<{ head: string }>(
      `SELECT coalesce(max(sequence), 0)::text AS head FROM ${this.#table}`,
    );
    return Number(rows[0]!.head);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}
