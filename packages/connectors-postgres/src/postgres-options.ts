/**
 * Connection and endpoint options of the `postgres` connector.
 */
import { secretOption } from '@honk/core';
import { z } from 'zod';

/** TLS settings passed to node-postgres (`true` = verify against system CAs). */
export const postgresSslSchema = z.union([
  z.boolean(),
  z
    .object({
      /** Default true: reject servers whose certificate does not verify. */
      rejectUnauthorized: z.boolean().optional(),
      /** PEM CA certificate(s) to trust. */
      ca: z.string().optional(),
      /** PEM client certificate and key, for certificate authentication. The key is a secret option. */
      cert: z.string().optional(),
      key: secretOption(z.string()).optional(),
      servername: z.string().optional(),
    })
    .strict(),
]);

/** Connection options (`connections.<name>` in a spec, besides `connector: postgres`). */
export const postgresOptionsSchema = z
  .object({
    /**
     * `postgres://user:password@host:5432/database`. The password is redacted from every
     * message and never written to a task store: write it as `${env:…}` for `honk enqueue`.
     */
    url: z.string().min(1),
    ssl: postgresSslSchema.optional(),
    /** Connections one source/sink may open for metadata work besides its data connection. Default 2. */
    poolSize: z.number().int().min(1).max(100).optional(),
    /** Shown in `pg_stat_activity`. Default `honk`. */
    applicationName: z.string().optional(),
    /** Where staging tables, bookkeeping and snapshots live when the table names no schema. Default `public`. */
    defaultSchema: z.string().min(1).optional(),
  })
  .strict();

export type PostgresOptions = z.infer<typeof postgresOptionsSchema>;

/**
 * A task's `source:`/`target:` options: a table (optionally schema-qualified, see
 * `parseTableName`) or, for sources only, a query.
 */
export const postgresEndpointSchema = z.union([
  z
    .object({
      table: z.string().min(1),
      /**
       * Source only: read by key range over several connections that share one exported
       * snapshot (`pg_export_snapshot()`), for big tables. `column` must be an integer column
       * (smallint, integer, bigint); NULL keys are read by the first partition.
       */
      partitionBy: z
        .object({
          column: z.string().min(1),
          /** Connections reading at once, each one key range. Default 4. */
          partitions: z.number().int().min(1).max(64).optional(),
        })
        .strict()
        .optional(),
    })
    .strict(),
  z.object({ query: z.string().min(1) }).strict(),
]);

/** Partitioned read settings of a source endpoint. */
export interface PartitionBy {
  column: string;
  partitions?: number | undefined;
}

export type PostgresEndpoint = z.infer<typeof postgresEndpointSchema>;
