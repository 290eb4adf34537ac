/**
 * The SQL the KEDA `postgresql` trigger runs: the number of tasks an agent of a class could
 * claim now (due, inside its window, the class's labels and connections, fleet-wide
 * connection limits). The one import the scaler takes it from, so the query has a single
 * source: the PostgreSQL store's own.
 */
export { type ClaimableTasksQueryOptions, claimableTasksQuery } from '@honk/connectors-postgres';
