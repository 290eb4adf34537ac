/**
 * Versioned schema of the PostgreSQL task store. Each migration is a list of statements
 * applied once, in version order; `migrateTaskStore` runs every missing one in a single
 * transaction under a transaction-scoped advisory lock keyed by the schema name, so agents
 * that start together migrate exactly once and the others wait, then see the result.
 *
 * Never edit a released migration: add a new version. A database at a version newer than
 * this code knows is refused (an older agent must not write rows it does not understand).
 */
import { ConfigError } from '@honk/core';
import type pg from 'pg';
import { quoteIdentifier } from './table-name.ts';

export interface TaskStoreMigration {
  version: number;
  description: string;
  /** Statements, given the quoted schema name. */
  statements(schema: string): string[];
}

export const TASK_STORE_MIGRATIONS: readonly TaskStoreMigration[] = [
  {
    version: 1,
    description: 'tasks, connection limits, roles',
    statements: (s) => [
      `CREATE SEQUENCE ${s}."task_sequence"`,
      `CREATE TABLE ${s}."tasks" (
        "id" text PRIMARY KEY,
        "definition" jsonb NOT NULL,
        "definition_hash" text NOT NULL,
        "priority" double precision NOT NULL,
        "run_at" timestamptz NOT NULL,
        "window" jsonb,
        "window_key" text,
        "connections" text[] NOT NULL,
        "state" text NOT NULL CHECK ("state" IN ('pending','running','succeeded','retrying','dead','cancelled')),
        "attempts" integer NOT NULL,
        "max_attempts" integer NOT NULL,
        "last_error" jsonb,
        "history" jsonb NOT NULL,
        "progress" jsonb,
        "snapshot_ref" jsonb,
        "report" jsonb,
        "lease_owner" text,
        "lease_token" text,
        "lease_expires_at" timestamptz,
        "enqueued_at" timestamptz NOT NULL,
        "updated_at" timestamptz NOT NULL,
        "sequence" bigint NOT NULL UNIQUE,
        "labels" jsonb NOT NULL,
        "entity" text
      )`,
      // A queue table churns: every claim and completion leaves a dead row version. Vacuum
      // and analyze it far more often than the defaults (20% / 10% of the table).
      `ALTER TABLE ${s}."tasks" SET (autovacuum_vacuum_scale_factor = 0.01, autovacuum_vacuum_threshold = 1000,
        autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000)`,
      // The claim walks this index in claim order and stops at the first claimable row, so
      // a claim costs the same with 1k or 1M pending tasks; ended tasks are not in it.
      `CREATE INDEX "tasks_claim_order" ON ${s}."tasks" ("priority" DESC, "run_at", "enqueued_at", "sequence")
        WHERE "state" IN ('pending','retrying')`,
      // Running tasks: lease expiry (reaping) and per-connection running counts.
      `CREATE INDEX "tasks_running_lease" ON ${s}."tasks" ("lease_expires_at") WHERE "state" = 'running'`,
      `CREATE INDEX "tasks_state" ON ${s}."tasks" ("state", "sequence")`,
      `CREATE TABLE ${s}."connection_limits" (
        "name" text PRIMARY KEY,
        "max_concurrency" integer NOT NULL CHECK ("max_concurrency" >= 1)
      )`,
      `CREATE TABLE ${s}."roles" (
        "name" text PRIMARY KEY,
        "holder" text NOT NULL,
        "expires_at" timestamptz NOT NULL
      )`,
    ],
  },
  {
    version: 2,
    description: 'agent labels a task requires (agent classes)',
    statements: (s) => [
      // A constant default: PostgreSQL adds the column without rewriting the table.
      `ALTER TABLE ${s}."tasks" ADD COLUMN "agent_labels" jsonb NOT NULL DEFAULT '{}'::jsonb`,
    ],
  },
  {
    version: 3,
    description: 'chunked tasks: chunk sub-tasks and their plan',
    statements: (s) => [
      // Columns without a default: added without rewriting the table.
      `ALTER TABLE ${s}."tasks" ADD COLUMN "chunk_of" text, ADD COLUMN "chunk" jsonb, ADD COLUMN "chunked" jsonb`,
      // A chunk's end looks at its siblings; a chunked task's cascades find its chunks.
      `CREATE INDEX "tasks_chunk_of" ON ${s}."tasks" ("chunk_of", "state") WHERE "chunk_of" IS NOT NULL`,
    ],
  },
];

/** The newest schema version this code writes. */
export const TASK_STORE_SCHEMA_VERSION = TASK_STORE_MIGRATIONS[TASK_STORE_MIGRATIONS.length - 1]!.version;

/** The minimal client this needs (a `pg.Client` or a pool client). */
type Queryable = Pick<pg.ClientBase, 'query'>;

/**
 * Brings `schema` up to {@link TASK_STORE_SCHEMA_VERSION}. Idempotent and safe to call from
 * many processes at once. Returns the versions it applied (empty when already current).
 */
export async function migrateTaskStore(client: Queryable, schema: string): Promise<number[]> {
  const s = quoteIdentifier(schema);
  await client.query('BEGIN');
  try {
    // Serialises migrators of this schema (and only of this schema); released at COMMIT.
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`honk-task-store:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}."task_store_migrations" (
      "version" integer PRIMARY KEY,
      "description" text NOT NULL,
      "applied_at" timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max("version") AS "version" FROM ${s}."task_store_migrations"`,
    );
    const current = rows[0]?.version ?? 0;
    if (current > TASK_STORE_SCHEMA_VERSION) {
      throw new ConfigError(
        `The PostgreSQL task store in schema "${schema}" is at version ${current}, newer than this Honk supports ` +
          `(${TASK_STORE_SCHEMA_VERSION}); upgrade @honk/connectors-postgres on this agent.`,
      );
    }
    const applied: number[] = [];
    for (const migration of TASK_STORE_MIGRATIONS) {
      if (migration.version <= current) continue;
      for (const statement of migration.statements(s)) await client.query(statement);
      await client.query(`INSERT INTO ${s}."task_store_migrations" ("version", "description") VALUES ($1, $2)`, [
        migration.version,
        migration.description,
      ]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
