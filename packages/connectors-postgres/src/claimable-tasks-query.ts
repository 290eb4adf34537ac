/**
 * The autoscaler's view of the PostgreSQL task store: one self-contained SQL statement that
 * counts the tasks an agent of one class could claim right now. KEDA's `postgresql`
 * trigger runs a query string without parameters, so every value is inlined as an escaped
 * literal and every identifier is quoted; the statement returns one row with one integer
 * column, `claimable`, and KEDA sets `desired replicas = ceil(claimable / targetQueryValue)`.
 *
 * It applies the claim's rules (`PostgresTaskStore.claim`) so a backlog the fleet cannot
 * start never asks for pods:
 * - `pending`/`retrying` tasks whose `run_at` has come, plus `running` tasks whose lease
 *   expired and that have an attempt left (the next claim takes them back);
 * - the task's daily window, evaluated in the window's time zone (a zone this database does
 *   not know keeps the task out, as the store does with one Node does not know);
 * - the agent class: the task's required `agent_labels` are among `labels`, its connections
 *   among `connections` when given;
 * - fleet-wide `maxConcurrency`: a connection's free slots are its limit minus the tasks
 *   running on it with a live lease. Tasks on limited connections are counted the way
 *   claims take them: walking in claim order, a task counts when every limited connection
 *   it uses still has a slot, and takes one of each (a recursive step per task). Only the
 *   first tasks of each set of limited connections can ever get a slot (no more than the
 *   set's smallest free count), so the walk is over those few, not the whole backlog.
 *
 * Time is the database's `now()` (the store compares with the agents' clocks; a fleet keeps
 * them synchronised, see the store's notes). The query reads the whole claimable backlog
 * once; on 100k waiting tasks that is a fraction of a second, fine for a 30-second poll.
 */
import { assertAgentLabels, ConfigError } from '@honk/core';
import { quoteIdentifier } from './table-name.ts';

export interface ClaimableTasksQueryOptions {
  /** PostgreSQL schema of the task store (one schema is one queue). Default `honk`. */
  schema?: string;
  /**
   * The class's agent labels (`honk agent --label`, `HONK_AGENT_LABELS`): tasks requiring a
   * label not among them are not counted. Default none, so only tasks that require no label.
   */
  labels?: Record<string, string>;
  /** The class's connection list (`--connections`): only tasks whose connections are all in it. Default any. */
  connections?: readonly string[];
}

/**
 * The KEDA scaler query of one agent class: see the module notes for what it counts.
 *
 * @example
 * claimableTasksQuery({ schema: 'honk', labels: { region: 'eu' } })
 * // → 'WITH … SELECT count(*)::integer AS "claimable" FROM …'
 */
export function claimableTasksQuery(options: ClaimableTasksQueryOptions = {}): string {
  const schema = options.schema ?? 'honk';
  if (typeof schema !== 'string' || schema.length === 0 || schema.length > 63) {
    throw new ConfigError(`claimableTasksQuery(): schema must be a name of 1 to 63 characters (got "${schema}").`);
  }
  const labels = options.labels ?? {};
  assertAgentLabels(labels, 'claimableTasksQuery(): labels');
  const connections = options.connections;
  if (connections !== undefined) {
    if (!Array.isArray(connections) || connections.some((name) => typeof name !== 'string' || name.length === 0)) {
      throw new ConfigError(
        'claimableTasksQuery(): connections must be a list of connection names (non-empty strings).',
      );
    }
  }
  const s = quoteIdentifier(schema);
  const sortedLabels = Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const classConnections =
    connections === undefined
      ? ''
      : `\n       AND t."connections" <@ ARRAY[${connections.map(quoteLiteral).join(', ')}]::text[]`;
  const zone = `coalesce(t."window" ->> 'timezone', 'UTC')`;
  const minuteOf = (part: 'start' | 'end') =>
    `split_part(t."window" ->> '${part}', ':', 1)::int * 60 + split_part(t."window" ->> '${part}', ':', 2)::int`;
  return `WITH RECURSIVE "running" AS (
    SELECT n."name", count(*) AS "running"
      FROM ${s}."tasks" r CROSS JOIN LATERAL unnest(r."connections") AS n("name")
     WHERE r."state" = 'running' AND r."lease_expires_at" > now()
     GROUP BY n."name"),
  "free" AS (
    SELECT l."name", greatest(0, l."max_concurrency" - coalesce(r."running", 0))::int AS "free"
      FROM ${s}."connection_limits" l LEFT JOIN "running" r ON r."name" = l."name"),
  "candidates" AS (
    SELECT t."id", t."priority", t."sequence", t."enqueued_at",
           CASE WHEN t."state" = 'running' THEN now() ELSE t."run_at" END AS "run_at",
           ARRAY(SELECT f."name" FROM "free" f WHERE f."name" = ANY(t."connections") ORDER BY f."name") AS "limited",
           ARRAY(SELECT f."free" FROM "free" f WHERE f."name" = ANY(t."connections") ORDER BY f."name") AS "slots"
      FROM ${s}."tasks" t
      LEFT JOIN LATERAL (
        SELECT ${minuteOf('start')} AS "start", ${minuteOf('end')} AS "end",
               CASE WHEN lower(${zone}) IN (SELECT lower(z."name") FROM pg_timezone_names z)
                    THEN (extract(hour FROM now() AT TIME ZONE ${zone}) * 60
                          + extract(minute FROM now() AT TIME ZONE ${zone}))::int END AS "minute"
         WHERE t."window" IS NOT NULL) w ON true
     WHERE ((t."state" IN ('pending', 'retrying') AND t."run_at" <= now())
            OR (t."state" = 'running' AND t."lease_expires_at" <= now() AND t."attempts" < t."max_attempts"))
       AND t."agent_labels" <@ ${quoteLiteral(JSON.stringify(sortedLabels))}::jsonb${classConnections}
       AND (t."window" IS NULL OR (w."minute" IS NOT NULL AND (w."start" = w."end" OR CASE
             WHEN w."start" < w."end" THEN w."minute" >= w."start" AND w."minute" < w."end"
             ELSE w."minute" >= w."start" OR w."minute" < w."end" END)))),
  "contended" AS (
    SELECT c.*, row_number() OVER (PARTITION BY c."limited" ORDER BY c."priority" DESC, c."run_at", c."enqueued_at", c."sequence") AS "place"
      FROM "candidates" c
     WHERE cardinality(c."limited") > 0 AND 0 < ALL(c."slots")),
  "steps" AS (
    SELECT c."limited", c."slots",
           row_number() OVER (ORDER BY c."priority" DESC, c."run_at", c."enqueued_at", c."sequence") AS "step"
      FROM "contended" c
     WHERE c."place" <= (SELECT min(v) FROM unnest(c."slots") AS v)),
  "claims" ("step", "used", "taken") AS (
    SELECT 0::bigint, '{}'::jsonb, 0
    UNION ALL
    SELECT s."step",
           CASE WHEN x."fits" THEN g."used" || x."after" ELSE g."used" END,
           g."taken" + CASE WHEN x."fits" THEN 1 ELSE 0 END
      FROM "claims" g
      JOIN "steps" s ON s."step" = g."step" + 1
      CROSS JOIN LATERAL (
        SELECT bool_and(coalesce((g."used" ->> n."name")::int, 0) < n."free") AS "fits",
               jsonb_object_agg(n."name", coalesce((g."used" ->> n."name")::int, 0) + 1) AS "after"
          FROM unnest(s."limited", s."slots") AS n("name", "free")) x)
SELECT ((SELECT count(*) FROM "candidates" c WHERE cardinality(c."limited") = 0)
        + (SELECT g."taken" FROM "claims" g ORDER BY g."step" DESC LIMIT 1))::integer AS "claimable"`;
}

/**
 * A string as an SQL literal that means the same text whatever `standard_conforming_strings`
 * is: quotes doubled, and with a backslash the `E'…'` form with backslashes doubled too.
 */
export function quoteLiteral(text: string): string {
  if (text.includes('\0')) throw new ConfigError(`PostgreSQL text cannot contain NUL bytes: ${JSON.stringify(text)}.`);
  const quoted = text.replaceAll("'", "''");
  return text.includes('\\') ? `E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}
