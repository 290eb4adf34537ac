/** DuckDB for the benches: the reference engine for file conversions (and the Parquet writer of the bench data). */
let api: typeof import('@duckdb/node-api') | undefined;

/** Loads DuckDB's native module (outside any timed section). */
export async function loadDuckdb(): Promise<typeof import('@duckdb/node-api')> {
  api ??= await import('@duckdb/node-api');
  return api;
}

/** Runs `sql` `runs` times in a fresh in-memory DuckDB (`{run}` in the SQL becomes the run number); `threads` defaults to the cores. */
export async function runDuckdb(sql: string, threads?: number, runs = 1): Promise<void> {
  const { DuckDBInstance } = await loadDuckdb();
  const instance = await DuckDBInstance.create(':memory:', threads ? { threads: String(threads) } : {});
  const connection = await instance.connect();
  try {
    await connection.run("SET TimeZone = 'UTC'");
    for (let run = 0; run < runs; run++) await connection.run(sql.replaceAll('{run}', String(run)));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
