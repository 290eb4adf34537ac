/**
 * Damaged Parquet files fail as DATA_CORRUPT naming the file (and row group, column, page
 * where known), never as a successful read of fewer rows or as an INTERNAL error. The files
 * are made byte by byte (tiny-parquet.ts) and checked against DuckDB where they are valid.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileSource, fileConnector } from '../../src/connectors/file/index.ts';
import { readParquetFooter } from '../../src/formats/parquet-metadata.ts';
import { ThriftStruct, ThriftType } from '../../src/formats/thrift-compact.ts';
import { ConnectorRegistry, runTask } from '../../src/index.ts';
import { readAll, tempRoot } from '../connectors/file/fixtures.ts';
import { literal, query } from './duckdb.ts';
import { rewriteFooter, struct, writeTinyParquet } from './tiny-parquet.ts';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
});
afterEach(async () => {
  await cleanup();
});

const names = (count: number) => Array.from({ length: count }, (_, index) => Buffer.from(`name-${index}`));

/** Six rows in two row groups of three, pages of two rows, with or without page CRCs. */
function sixRows(crc: boolean): Uint8Array {
  return writeTinyParquet({
    crc,
    rowGroups: [3, 3],
    pageRows: 2,
    columns: [
      { name: 'id', physical: 'INT32', values: [0, 1, 2, 3, 4, 5] },
      { name: 'name', physical: 'BYTE_ARRAY', logicalType: stringType(), values: names(6) },
    ],
  });
}

/** The STRING logical type (an empty struct in field 1 of the LogicalType union). */
function stringType(): ThriftStruct {
  return struct([1, ThriftType.STRUCT, new ThriftStruct()]);
}

async function put(name: string, bytes: Uint8Array): Promise<string> {
  const file = path.join(root, name);
  await writeFile(file, bytes);
  return file;
}

function source(name: string, parquet?: { verifyChecksums?: boolean }) {
  return createFileSource({ options: { root }, endpoint: { path: name, ...(parquet ? { parquet } : {}) } });
}

async function ids(name: string, parquet?: { verifyChecksums?: boolean }): Promise<number[]> {
  const batches = await readAll(source(name, parquet));
  return batches.flatMap((batch) => [...(batch.getChild('id')?.toArray() ?? [])] as number[]);
}

describe('Parquet row counts are cross-checked', () => {
  it('a footer whose row count disagrees with its row groups fails the run as DATA_CORRUPT instead of moving 0 rows', async () => {
    const good = sixRows(false);
    const bad = await rewriteFooter(good, (footer) => footer.set(3, ThriftType.I64, 0n));
    const file = await put('orders.parquet', bad);
    await expect(readAll(source('orders.parquet'))).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      message: expect.stringContaining(file),
    });
    await expect(source('orders.parquet').count?.()).rejects.toMatchObject({ code: 'DATA_CORRUPT' });

    const report = await runTask({
      connectors: new ConnectorRegistry([fileConnector]),
      task: {
        id: 'corrupt-footer',
        source: { connector: 'file', connection: 'in', options: { root }, endpoint: { path: 'orders.parquet' } },
        target: { connector: 'file', connection: 'out', options: { root }, endpoint: { path: 'copy.ndjson' } },
      },
    });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({ code: 'DATA_CORRUPT', retryable: false });
    expect(report.stats.rows).toBe(0);
  });

  it('a row group whose declared count disagrees with its decoded rows fails naming the row group', async () => {
    const good = sixRows(false);
    const bad = await rewriteFooter(good, (footer) => {
      const groups = footer.list(4) as ThriftStruct[];
      (groups[1] as ThriftStruct).set(3, ThriftType.I64, 5n);
      footer.set(3, ThriftType.I64, 8n); // consistent with the row groups, so only decoding can tell
    });
    await put('orders.parquet', bad);
    await expect(readAll(source('orders.parquet'))).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      details: { rowGroup: 1 },
    });
  });
});

describe('Parquet page checksums', () => {
  it('a file with correct page CRCs reads in full, as DuckDB reads it', async () => {
    const file = await put('orders.parquet', sixRows(true));
    expect(await ids('orders.parquet')).toEqual([0, 1, 2, 3, 4, 5]);
    const duck = await query(`SELECT id FROM read_parquet(${literal(file)}) ORDER BY id`);
    expect(duck.map((row) => row.id)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('a damaged page with a CRC fails as DATA_CORRUPT naming file, row group, column and page, and is not retried', async () => {
    const bytes = sixRows(true);
    const footer = await readParquetFooter(new Blob([bytes]), 'test');
    // Row group 1, column "id": pages of ids (3, 4) and (5). Flip the last byte of the chunk,
    // inside the value 5 of page 1: a silent value change without the checksum.
    const chunk = footer.rowGroups[1]?.columns[0];
    if (!chunk) throw new Error('fixture has no row group 1');
    const damaged = new Uint8Array(bytes);
    damaged[chunk.start + chunk.length - 4] = 7;
    const file = await put('orders.parquet', damaged);
    const failure = await readAll(source('orders.parquet')).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      details: { file, rowGroup: 1, column: 'id', page: 1 },
    });
    expect((failure as Error).message).toContain('checksum');
    // Without verification the damage goes through as a different value: what the check prevents.
    expect(await ids('orders.parquet', { verifyChecksums: false })).toEqual([0, 1, 2, 3, 4, 7]);
  });
});

describe('malformed Parquet', () => {
  it('a page header parquet-wasm cannot decode is DATA_CORRUPT naming the file, not INTERNAL', async () => {
    const bytes = sixRows(false);
    const footer = await readParquetFooter(new Blob([bytes]), 'test');
    const chunk = footer.rowGroups[0]?.columns[1];
    if (!chunk) throw new Error('fixture has no column 1');
    const damaged = new Uint8Array(bytes);
    damaged.fill(0xff, chunk.start, chunk.start + 6);
    const file = await put('orders.parquet', damaged);
    await expect(readAll(source('orders.parquet'))).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      message: expect.stringContaining(file),
    });
  });

  it('a file that is not Parquet at all is DATA_CORRUPT naming the file', async () => {
    const file = await put('orders.parquet', Buffer.from('id,name\n1,a\n'));
    await expect(source('orders.parquet').schema()).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      message: expect.stringContaining(file),
    });
    expect((await readFile(file)).length).toBeGreaterThan(0);
  });
});

describe('errors parquet-wasm raises', () => {
  it('a footer arrow-rs rejects (a DECIMAL annotation on INT32 without a scale) is DATA_CORRUPT naming the file', async () => {
    const decimal = struct([5, ThriftType.STRUCT, struct([1, ThriftType.I32, 2], [2, ThriftType.I32, 40])]);
    const bytes = writeTinyParquet({
      columns: [{ name: 'id', physical: 'INT32', logicalType: decimal, values: [1, 2] }],
    });
    const file = await put('orders.parquet', bytes);
    await expect(source('orders.parquet').schema()).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      message: expect.stringContaining(file),
    });
  });
});
