/**
 * What the honk backend's routes take and return. Plain JSON, shared by the backend, the
 * scaffolder action and frontends.
 */

/**
 * The migration status of a dataset, from its task and the sign-off ledger:
 * - `not-started`: no task yet.
 * - `pending`: waiting (also scheduled for later or outside its window).
 * - `running`: an agent runs it.
 * - `failed`: an attempt failed and it will retry.
 * - `dead`: dead-lettered (a deterministic error or no attempts left); requeue to try again.
 * - `cancelled`: stopped on purpose.
 * - `succeeded`: published and validated; waiting for sign-off.
 * - `rolled-back`: the target's snapshot was restored after a success.
 * - `migrated`: signed off (who and when are recorded); the source can be retired.
 */
export type MigrationStatus =
  | 'not-started'
  | 'pending'
  | 'running'
  | 'failed'
  | 'dead'
  | 'cancelled'
  | 'succeeded'
  | 'rolled-back'
  | 'migrated';

export const MIGRATION_STATUSES: readonly MigrationStatus[] = [
  'not-started',
  'pending',
  'running',
  'failed',
  'dead',
  'cancelled',
  'succeeded',
  'rolled-back',
  'migrated',
];

/** A daily window a task may start in (wall clock of `timezone`, default UTC). */
export interface MigrationWindow {
  start: string;
  end: string;
  timezone?: string;
}

/** Why the last attempt failed. */
export interface MigrationError {
  code: string;
  message: string;
  retryable: boolean;
}

/** A recorded action on a migration (sign-off, rollback). */
export interface MigrationAction {
  action: 'sign-off' | 'rollback';
  /** User entity ref or service subject. */
  actor: string;
  at: string;
}

/** One migration in lists. */
export interface MigrationSummary {
  taskId: string;
  /** The dataset entity, when the task came from the catalog or names one. */
  entityRef?: string;
  status: MigrationStatus;
  /** The task store state (pending, running, succeeded, retrying, dead, cancelled). */
  state: string;
  attempts: number;
  maxAttempts: number;
  priority: number;
  /** Not claimed before this instant. */
  runAt: string;
  window?: MigrationWindow;
  updatedAt: string;
  enqueuedAt: string;
  /** The last progress an agent reported (rows, bytes, rate …). */
  progress?: unknown;
  /**
   * A chunked task (see @honk/core docs/chunks.md): its chunks in sum — how many are in each
   * task store state, and the rows staged so far. Its chunks are not listed as migrations.
   */
  chunks?: { total: number; states: Record<string, number>; rows: number };
  lastError?: MigrationError;
  signedOff?: { by: string; at: string };
  rolledBack?: { by: string; at: string };
}

/** One attempt in the task history. */
export interface MigrationAttempt {
  attempt: number;
  agentId: string;
  startedAt: string;
  endedAt?: string;
  outcome?: string;
  error?: MigrationError;
}

/** A migration with everything known about it. */
export interface MigrationDetail extends MigrationSummary {
  history: MigrationAttempt[];
  /** The final report of the succeeded attempt, with `validation` (each check: name, expected, actual, ok). */
  report?: unknown;
  /** The snapshot the migration took of its target, when it kept one. */
  snapshotRef?: unknown;
  actions: MigrationAction[];
}

/**
 * What a task built from a dataset entity uses besides the entity's own `honk.dev/`
 * annotations: the target (connection plus endpoint options, where `{name}` is replaced by
 * the entity name), and optionally transforms, validation, retry, snapshot, priority.
 * Shapes are those of a Honk spec task.
 */
export interface TaskTemplate {
  target?: { connection: string; [option: string]: unknown };
  transform?: unknown;
  validate?: unknown;
  retry?: unknown;
  snapshot?: unknown;
  priority?: number;
  labels?: Record<string, string>;
}

/** Scheduling of a start. */
export interface StartScheduling {
  /** Not before this instant (ISO 8601 with a zone). */
  notBefore?: string;
  window?: MigrationWindow;
  priority?: number;
}

/** `POST /migrations`: start the migration of one dataset entity. */
export interface StartMigrationRequest extends StartScheduling {
  entityRef: string;
  /** Merged over the backend's configured template. */
  template?: TaskTemplate;
  /** Build and validate the task, enqueue nothing. */
  dryRun?: boolean;
  /** Run again even when the same definition already succeeded. */
  rerun?: boolean;
}

/** A catalog filter: entity field paths to accepted values, as the catalog API takes them. */
export type CatalogFilter = Record<string, string | string[]>;

/** `POST /migrations/bulk`: start a selection, by refs or by catalog filter. */
export interface BulkStartRequest extends StartScheduling {
  entityRefs?: string[];
  filter?: CatalogFilter | CatalogFilter[];
  template?: TaskTemplate;
  dryRun?: boolean;
  rerun?: boolean;
}

/** What starting did with one dataset. */
export interface StartResult {
  entityRef: string;
  taskId: string;
  /** `created`, `updated`, `requeued`, `unchanged`, `skipped-succeeded`, or `dry-run`. */
  outcome: string;
  state?: string;
  /** The task as a Honk spec task (JSON), so a dry run shows what would run. */
  task: unknown;
}

export interface StartResponse {
  results: StartResult[];
}

/** `POST /tasks/generate`: build Honk spec tasks from the entities a catalog filter selects. */
export interface GenerateTasksRequest {
  filter: CatalogFilter | CatalogFilter[];
  template?: TaskTemplate;
}

export interface GenerateTasksResponse {
  /** A Honk spec (`version: 1`, the connections used, the tasks), ready for `honk run`/`honk enqueue`. */
  spec: unknown;
}

/** `GET /migrations` query. */
export interface ListMigrationsQuery {
  status?: MigrationStatus[];
  entityRef?: string[];
  /** Default 100, at most 1000. */
  limit?: number;
  /** Items to skip. */
  offset?: number;
}

export interface ListMigrationsResponse {
  items: MigrationSummary[];
  totalItems: number;
  /** Every status with its count over all migrations (not only this page). */
  counts: Record<MigrationStatus, number>;
}
