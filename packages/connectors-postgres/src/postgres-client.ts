/**
 * Opening connections: one `pg.Client` per data stream (a COPY owns its connection), with
 * errors mapped to Honk's taxonomy and an `error` listener so a server that drops an idle
 * connection cannot crash the process.
 */
import type { ConnectorContext } from '@honk/core';
import pg from 'pg';
import { toPostgresError } from './postgres-errors.ts';
import type { PostgresOptions } from './postgres-options.ts';

export type PgClient = pg.Client;

/** Connects, sets the session up (UTC, no statement timeout surprises) and returns the client. */
export async function connect(
  options: PostgresOptions,
  context: Pick<ConnectorContext, 'connectionName'>,
  operation: string,
): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: options.url,
    ssl: options.ssl as pg.ClientConfig['ssl'],
    application_name: options.applicationName ?? 'honk',
  });
  // Errors on an idle connection (terminated backend) surface on the next query instead.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query("SET TIME ZONE 'UTC'; SET client_encoding = 'UTF8'; SET datestyle = 'ISO'");
    return client;
  } catch (error) {
    await client.end().catch(() => {});
    throw toPostgresError(error, { connection: context.connectionName, operation });
  }
}

/** Ends a client, or destroys its socket when it is stuck (mid-COPY, broken). Never throws. */
export async function release(client: pg.Client, hard = false): Promise<void> {
  if (hard) {
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
  await Promise.race([client.end().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
}
