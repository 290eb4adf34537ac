/**
 * PostgreSQL for the benches: the generated source tables and the physical limits Honk is
 * compared with, measured with psql so no Node code is on the reference's path.
 *
 *   pipe       psql -c "\copy src TO STDOUT (FORMAT binary)" | psql -c "\copy dst FROM STDIN (FORMAT binary)"
 *   read       psql -c "\copy src TO '/dev/null' (FORMAT binary)"
 *   load       psql -c "\copy dst FROM '<file>' (FORMAT binary)" of a file `\copy … TO` wrote
 */
import { spawn } from 'node:child_process';
import pg from 'pg';

/** Tables generated server-side with generate_series (narrow: 5 columns; wide: 8 with numeric, jsonb, bytea, int8[], uuid). */
export type TableKind = 'narrow' | 'wide';

export const TABLES: Record<TableKind, (name: string, rows: number) => string> = {
  narrow: (name: string, rows: number) => `CREATE TABLE ${name} AS
    SELECT g::int8 AS id, 'customer-' || (g % 250000) AS name, (g * 0.37)::float8 AS amount,
           timestamp '2020-01-01' + g * interval '1 second' AS created_at, g % 5 <> 0 AS active
    FROM generate_series(1, ${rows}) AS g`,
  wide: (name: string, rows: number) => `CREATE TABLE ${name} AS
    SELECT g::int8 AS id, (g * 12345.6789012345)::numeric(38,10) AS amount,
           timestamptz '2020-01-01 00:00:00+00' + g * interval '1 millisecond' AS at,
           jsonb_build_object('order', g, 'region', 'r' || (g % 17), 'flags', jsonb_build_array(g % 2 = 0, g % 3 = 0)) AS doc,
           decode(md5(g::text), 'hex') AS payload, ARRAY[g, g * 2, g % 7]::int8[] AS tags,
           md5(g::text)::uuid AS ref, CASE WHEN g % 10 = 0 THEN NULL ELSE 'note ' || g END AS note
    FROM generate_series(1, ${rows}) AS g`,
};

export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Creates the source table unless it already holds `rows` rows; returns its heap bytes. */
export async function ensureTable(
  url: string,
  kind: TableKind,
  rows: number,
): Promise<{ table: string; bytes: number }> {
  const table = `bench_${kind}_${rows}`;
  return withClient(url, async (client) => {
    const exists = await client.query<{ n: string | null }>('SELECT to_regclass($1)::text AS n', [table]);
    if (exists.rows[0]?.n === null) {
      await client.query(TABLES[kind](table, rows));
      await client.query(`VACUUM ANALYZE ${table}`);
    }
    const size = await client.query<{ bytes: string }>('SELECT pg_table_size($1)::text AS bytes', [table]);
    return { table, bytes: Number(size.rows[0]?.bytes) };
  });
}

export async function dropTable(url: string, table: string): Promise<void> {
  await withClient(url, (client) => client.query(`DROP TABLE IF EXISTS ${table}`));
}

export function psql(
  url: string,
  command: string,
  stdin: 'ignore' | NodeJS.ReadableStream = 'ignore',
  stdout: 'pipe' | 'ignore' = 'pipe',
) {
  return spawn('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', command], {
    stdio: [stdin as 'ignore', stdout, 'pipe'],
  });
}

export function finished(child: ReturnType<typeof spawn>, what: string): Promise<void> {
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${what} exited with ${code}: ${errors.trim()}`)),
    );
  });
}

/** The raw pipe: two psql processes, binary COPY out of one straight into the other (`target` is dropped after). */
export async function rawPipe(url: string, table: string, target: string): Promise<number> {
  await withClient(url, async (client) => {
    await client.query(`DROP TABLE IF EXISTS ${target}`);
    await client.query(`CREATE TABLE ${target} (LIKE ${table})`);
  });
  const started = performance.now();
  const out = psql(url, `\\copy ${table} TO STDOUT (FORMAT binary)`);
  const into = psql(url, `\\copy ${target} FROM STDIN (FORMAT binary)`, out.stdout as NodeJS.ReadableStream, 'ignore');
  await Promise.all([finished(out, 'psql \\copy TO STDOUT'), finished(into, 'psql \\copy FROM STDIN')]);
  const seconds = (performance.now() - started) / 1000;
  await dropTable(url, target);
  return seconds;
}

/** Writes `table` as a binary COPY file (the input of {@link rawLoad}). */
export async function copyToFile(url: string, table: string, file: string): Promise<void> {
  await finished(psql(url, `\\copy ${table} TO '${file}' (FORMAT binary)`, 'ignore', 'ignore'), 'psql \\copy TO file');
}

/** Loading alone: a binary COPY file into a fresh table shaped like `like` (dropped after). */
export async function rawLoad(url: string, file: string, like: string, target: string): Promise<number> {
  await withClient(url, async (client) => {
    await client.query(`DROP TABLE IF EXISTS ${target}`);
    await client.query(`CREATE TABLE ${target} (LIKE ${like})`);
  });
  const started = performance.now();
  await finished(
    psql(url, `\\copy ${target} FROM '${file}' (FORMAT binary)`, 'ignore', 'ignore'),
    'psql \\copy FROM file',
  );
  const seconds = (performance.now() - started) / 1000;
  await dropTable(url, target);
  return seconds;
}

/** The read side alone: binary COPY out, discarded. */
export async function rawRead(url: string, table: string): Promise<number> {
  const started = performance.now();
  const out = psql(url, `\\copy ${table} TO '/dev/null' (FORMAT binary)`, 'ignore', 'ignore');
  await finished(out, 'psql \\copy TO /dev/null');
  return (performance.now() - started) / 1000;
}
