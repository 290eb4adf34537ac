/**
 * Discovery for the `postgres` connector: the tables, partitioned tables, views,
 * materialized views and foreign tables of one schema, from the catalog only (never a scan).
 *
 * - Row counts are the planner's estimates (`pg_class.reltuples`, summed over the leaf
 *   partitions of a partitioned table); a relation that was never vacuumed or analyzed has
 *   none (PostgreSQL 14+ records -1) and is reported without `estimatedRows` rather than as 0.
 * - Sizes are `pg_total_relation_size` (heap, indexes, TOAST), summed over leaf partitions.
 *   Views and foreign tables have neither.
 * - Partitions are read through their parent and Honk's own work tables (`_honk_…`: staging,
 *   snapshots, bookkeeping) are not data, so neither is listed.
 * - Names are parameters compared with the catalog, never spliced into SQL.
 */
import type { ConnectorContext, DatasetInfo, DiscoverScope } from '@honk/core';
import { NotFoundError, throwIfAborted } from '@honk/core';
import { connect, release } from './postgres-client.ts';
import { toPostgresError } from './postgres-errors.ts';
import type { PostgresOptions } from './postgres-options.ts';
import { formatTableName } from './table-name.ts';

interface RelationRow {
  name: string;
  kind: string;
  rows: number | null;
  bytes: string | null;
}

const RELATIONS = `
  SELECT c.relname AS name, c.relkind AS kind,
         CASE
           WHEN c.relkind IN ('r', 'm') THEN CASE WHEN c.reltuples >= 0 THEN c.reltuples::float8 END
           WHEN c.relkind = 'p' THEN (
             SELECT CASE WHEN bool_and(leaf.reltuples >= 0) THEN sum(leaf.reltuples)::float8 END
               FROM pg_catalog.pg_partition_tree(c.oid) tree
               JOIN pg_catalog.pg_class leaf ON leaf.oid = tree.relid
              WHERE tree.isleaf)
         END AS rows,
         CASE
           WHEN c.relkind IN ('r', 'm') THEN pg_catalog.pg_total_relation_size(c.oid)::text
           WHEN c.relkind = 'p' THEN (
             SELECT coalesce(sum(pg_catalog.pg_total_relation_size(tree.relid)), 0)::text
               FROM pg_catalog.pg_partition_tree(c.oid) tree WHERE tree.isleaf)
         END AS bytes
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = $1
     AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
     AND NOT c.relispartition
     AND left(c.relname, 6) <> '_honk_'
   ORDER BY c.relname
   LIMIT $2`;

const KIND: Record<string, DatasetInfo['kind']> = { r: 'table', p: 'table', f: 'table', v: 'view', m: 'view' };

/** The datasets of schema `scope.within` (default: the connection's `defaultSchema`, else `public`). */
export async function discoverPostgres(
  options: PostgresOptions,
  scope: DiscoverScope,
  context: Pick<ConnectorContext, 'connectionName'>,
): Promise<DatasetInfo[]> {
  const schema = scope.within ?? options.defaultSchema ?? 'public';
  throwIfAborted(scope.signal);
  const client = await connect(options, context, 'discovering datasets');
  try {
    const exists = await client.query<{ found: boolean }>(
      'SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1) AS found',
      [schema],
    );
    if (!exists.rows[0]?.found) {
      throw new NotFoundError(
        `PostgreSQL connection "${context.connectionName}": schema ${JSON.stringify(schema)} does not exist. ` +
          'Name an existing schema in `within` (exact, case-sensitive catalog name).',
        { details: { option: 'within', schema } },
      );
    }
    const limit = scope.limit ?? null;
    const result = await client.query<RelationRow>(RELATIONS, [schema, limit]);
    return result.rows.map((row) => {
      const table = formatTableName({ schema, table: row.name });
      const dataset: DatasetInfo = { name: table, kind: KIND[row.kind] ?? 'table', endpoint: { table } };
      if (row.rows !== null) dataset.estimatedRows = Math.round(row.rows);
      if (row.bytes !== null) dataset.bytes = Number(row.bytes);
      return dataset;
    });
  } catch (error) {
    throw toPostgresError(error, { connection: context.connectionName, operation: 'discovering datasets' });
  } finally {
    await release(client);
  }
}
