/** DuckDB as an independent Parquet reader (and writer) for the format tests. */
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

let connection: Promise<DuckDBConnection> | undefined;

/** One in-memory DuckDB for the test file, in UTC so zoned timestamps print as instants. */
export function duckdb(): Promise<DuckDBConnection> {
  connection ??= (async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const opened = await instance.connect();
    await opened.run("SET TimeZone = 'UTC'");
    return opened;
  })();
  return connection;
}

/** Rows of a query as JSON-friendly objects. */
export async function query(sql: string): Promise<Record<string, unknown>[]> {
  const reader = await (await duckdb()).runAndReadAll(sql);
  return reader.getRowObjectsJson() as Record<string, unknown>[];
}

/** A SQL string literal. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
