/**
 * The binary COPY codec against the bytes a real PostgreSQL server produces: decoding is
 * independent of how the stream is chunked (rows split anywhere, down to one byte per
 * chunk), and encoding what was decoded gives back PostgreSQL's bytes exactly.
 */
import { fingerprint } from '@honk/core/testing';
import type { RecordBatch } from 'apache-arrow';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CopyBinaryDecoder, CopyTupleScanner } from '../src/copy-binary-decoder.ts';
import { CopyBinaryEncoder } from '../src/copy-binary-encoder.ts';
import { CopyOutStream } from '../src/copy-out-stream.ts';
import { describeTable, schemaOf } from '../src/postgres-source.ts';
import { createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

let db: TestDatabase;
let client: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query("SET TIME ZONE 'UTC'");
  // The hot-path types with NULLs, short and long (≥ 48 bytes) text, and a generic column (numeric).
  await db.sql(`CREATE TABLE codec (a int8, b text, c float8, d timestamp, e bool, f int4, g int2, h real, i date,
                  j timestamptz, k bytea, l numeric(12,2), m time, n numeric(38,10), o numeric(20,0), p numeric(9,5))`);
  await db.sql(`INSERT INTO codec SELECT
      CASE WHEN g % 7 = 0 THEN NULL ELSE g::int8 * 1234567891 - 5000000000000 END,
      CASE WHEN g % 11 = 0 THEN NULL WHEN g % 5 = 0 THEN repeat('long text é ', g % 13 + 4) ELSE 'v' || g END,
      CASE WHEN g % 13 = 0 THEN NULL ELSE g * -0.731 END,
      CASE WHEN g % 17 = 0 THEN NULL ELSE timestamp '1960-06-01 12:00:00.5' + g * interval '37 minutes 1.000003 seconds' END,
      CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 = 0 END,
      CASE WHEN g % 19 = 0 THEN NULL ELSE g * 65537 - 2000000000 END,
      (g % 65535 - 32767)::int2, (g / 3.0)::real, date '1901-02-03' + g,
      timestamptz '2030-01-01 00:00:00+00' - g * interval '1 day 0.000001 seconds',
      CASE WHEN g % 23 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END,
      (g * 1.25)::numeric(12,2), time '00:00:00.000001' + g * interval '1 second',
      CASE WHEN g % 29 = 0 THEN NULL WHEN g % 3 = 0 THEN -(g * 12345.6789012345)
           WHEN g % 3 = 1 THEN (9999999999999999999999999999.9999999999 - g) ELSE g * 0.0000000001 END,
      CASE WHEN g % 2 = 0 THEN -(g::numeric ^ 5) ELSE 0 END, (g % 7000) * -0.00731
    FROM generate_series(1, 3000) AS g`);
});
afterAll(async () => {
  await client.end();
  await db.drop();
});

async function pgBytes(table: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of client.query(copyTo(`COPY ${table} TO STDOUT (FORMAT binary)`)) as AsyncIterable<Buffer>)
    chunks.push(chunk);
  return Buffer.concat(chunks);
}

function decode(
  bytes: Buffer,
  columns: Awaited<ReturnType<typeof describeTable>>,
  chunkSizes: number[],
  batchRows: number,
) {
  const decoder = new CopyBinaryDecoder(schemaOf(columns!), columns!, batchRows);
  const batches: RecordBatch[] = [];
  let at = 0;
  for (let k = 0; at < bytes.length; k++) {
    const size = chunkSizes[k % chunkSizes.length]!;
    batches.push(...decoder.push(bytes.subarray(at, at + size)));
    at += size;
  }
  const last = decoder.end();
  if (last) batches.push(last);
  return batches;
}

describe('binary COPY codec', () => {
  it('decodes the same values however the stream is chunked, and re-encodes to the server bytes exactly', async () => {
    const columns = await describeTable(client, { schema: 'public', table: 'codec' });
    const schema = schemaOf(columns!);
    const bytes = await pgBytes('codec');
    const whole = decode(bytes, columns, [bytes.length], 1000);
    expect(whole.reduce((n, b) => n + b.numRows, 0)).toBe(3000);
    const expected = await fingerprint(schema, whole);
    for (const sizes of [[1], [7, 3, 1, 64], [19], [65_536], [4093, 2]]) {
      const batches = decode(bytes, columns, sizes, 777);
      expect(await fingerprint(schema, batches), `chunks of ${sizes.join('/')}`).toEqual(expected);
    }
    const encoder = new CopyBinaryEncoder(
      schema.fields.map((field) => field.type),
      columns!,
    );
    const encoded = Buffer.concat([
      encoder.header(),
      ...whole.map((batch) => encoder.encode(batch)),
      encoder.trailer(),
    ]);
    expect(encoded.equals(bytes)).toBe(true);
    // Sliced batches (non-zero Arrow offsets) encode the same bytes.
    const sliced = new CopyBinaryEncoder(
      schema.fields.map((field) => field.type),
      columns!,
    );
    const parts = [sliced.header()];
    for (const batch of whole)
      for (let at = 0; at < batch.numRows; at += 333) parts.push(sliced.encode(batch.slice(at, at + 333)));
    parts.push(sliced.trailer());
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });

  it('the tuple scanner forwards exactly the tuple bytes, however chunked, and never part of the trailer', async () => {
    const bytes = await pgBytes('codec');
    const tuples = bytes.subarray(19, bytes.length - 2);
    // Chunk ends on every byte near the trailer, one byte at a time, and odd sizes.
    for (const sizes of [
      [1],
      [2],
      [3],
      [bytes.length - 1, 1],
      [bytes.length - 2, 2],
      [bytes.length - 3, 3],
      [4093, 5, 1],
    ]) {
      const scanner = new CopyTupleScanner(16);
      const parts: Buffer[] = [];
      let rows = 0;
      let at = 0;
      for (let k = 0; at < bytes.length; k++) {
        const size = sizes[k % sizes.length]!;
        const pushed = scanner.push(bytes.subarray(at, at + size));
        parts.push(...pushed.parts);
        rows += pushed.rows;
        at += size;
      }
      scanner.end();
      expect(rows, `chunks of ${sizes.join('/')}`).toBe(3000);
      expect(Buffer.concat(parts).equals(tuples), `chunks of ${sizes.join('/')}`).toBe(true);
    }
    const cut = new CopyTupleScanner(16);
    cut.push(bytes.subarray(0, bytes.length - 1));
    expect(() => cut.end()).toThrow(/ended early/);
    const wrongColumns = new CopyTupleScanner(15);
    expect(() => wrongColumns.push(bytes)).toThrow(/has 16 fields, expected 15/);
  });

  it('CopyOutStream yields the payload bytes, reports errors mid-COPY, and gives the connection back', async () => {
    const stream = client.query(new CopyOutStream('COPY codec TO STDOUT (FORMAT binary)'));
    const chunks: Buffer[] = [];
    for await (const chunk of stream as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(await pgBytes('codec'))).toBe(true);
    expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    const failing = client.query(
      new CopyOutStream(
        "COPY (SELECT 1 / (g - 40000), repeat('x', 100) FROM generate_series(1, 50000) AS g) TO STDOUT",
      ),
    );
    let bytes = 0;
    await expect(
      (async () => {
        for await (const chunk of failing as unknown as AsyncIterable<Buffer>) bytes += chunk.length;
      })(),
    ).rejects.toThrow(/division by zero/);
    expect(bytes).toBeGreaterThan(0);
    expect((await client.query('SELECT 3 AS three')).rows).toEqual([{ three: 3 }]);
  });

  it('a stream cut short is an error, also when the cut falls inside a carried row', () => {
    const columns = [{ name: 'a', type: { kind: 'int8', oid: 20 } as never }];
    const header = Buffer.from('PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0', 'latin1');
    const row = Buffer.from([0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 42]);
    const decoder = new CopyBinaryDecoder(schemaOf(columns as never), columns, 10);
    decoder.push(Buffer.concat([header, row.subarray(0, 5)]));
    decoder.push(row.subarray(5, 9));
    expect(() => decoder.end()).toThrow(/ended early/);
    const wrongWidth = new CopyBinaryDecoder(schemaOf(columns as never), columns, 10);
    expect(() => wrongWidth.push(Buffer.concat([header, Buffer.from([0, 1, 0, 0, 0, 4, 0, 0, 0, 1])]))).toThrow(
      /Column "a", row 1: a 4-byte value where int8 has 8 bytes/,
    );
  });
});
