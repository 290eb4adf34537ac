/**
 * The SQL the KEDA `postgresql` trigger runs: the number of tasks an agent of a class could
 * claim now. The one import the scaler takes it from, so the query has a single source.
 *
 * Interim: a stand-in counting due pending and retrying tasks, until `claimableTasksQuery`
 * (windows, labels, connections and fleet-wide connection limits) is available from
 * `@honk/connectors-postgres`; then this file re-exports it.
 */
import { quoteIdentifier } from '@honk/connectors-postgres';

export interface ClaimableTasksQueryOptions {
  /** The store's PostgreSQL schema. Default `honk`. */
  schema?: string;
  /** The class's labels. */
  labels?: Record<string, string>;
  /** The class's connections. */
  connections?: readonly string[];
}

export function claimableTasksQuery(options: ClaimableTasksQueryOptions): string {
  const tasks = `${quoteIdentifier(options.schema ?? 'honk')}."tasks"`;
  return `SELECT count(*)::bigint AS "claimable" FROM ${tasks} WHERE "state" IN ('pending', 'retrying') AND "run_at" <= now()`;
}
