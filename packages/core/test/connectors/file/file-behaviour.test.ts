import { appendFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createFileSink,
  createFileSnapshot,
  createFileSource,
  fileConnector,
} from '../../../src/connectors/file/index.ts';
import { canonicalRows, context, readAll, schemaNames, signal, tempRoot, trickyBatch } from './fixtures.ts';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
});
afterEach(async () => {
  await cleanup();
});

async function csvRows(relative: string, body: string, endpoint: Record<string, unknown> = {}) {
  await mkdir(path.dirname(path.join(root, relative)), { recursive: true });
  await writeFile(path.join(root, relative), body);
  const source = createFileSource({ options: { root }, endpoint: { path: relative, ...endpoint } });
  const schema = await source.schema();
  return { names: schemaNames(schema), rows: canonicalRows(await readAll(source, 3)) };
}

async function publish(endpoint: Record<string, unknown>, taskId = 'task-1') {
  const sink = createFileSink({ options: { root }, endpoint: endpoint as never, context: context(taskId) });
  const batch = trickyBatch();
  const writer = await sink.open(batch.schema, { signal: signal(), mode: 'replace' });
  await writer.write(batch);
  const staged = await writer.stage();
  return { sink, writer, staged, batch };
}

describe('CSV parsing', () => {
  it('handles quotes, doubled quotes, embedded newlines and delimiters, CRLF, NULL vs empty', async () => {
    const body = 'id,text,note\r\n1,"a ""quoted"", word","line1\nline2"\r\n2,,""\r\n3,"x,y",plain\r\n';
    const { names, rows } = await csvRows('q.csv', body);
    expect(names).toEqual(['id:int64', 'text:utf8', 'note:utf8']);
    expect(rows).toEqual([
      { id: '1', text: 'a "quoted", word', note: 'line1\nline2' },
      { id: '2', text: null, note: '' },
      { id: '3', text: 'x,y', note: 'plain' },
    ]);
  });

  it('infers types from the sample by the documented rule', async () => {
    const body = [
      'i,f,b,d,ts,tz,zip,mixed,empty',
      '1,1.5,true,2024-01-02,2024-01-02 03:04:05,2024-01-02T03:04:05Z,007,1,',
      '-9007199254740993,2,FALSE,1999-12-31,2024-01-02T03:04:05.123456,2024-01-02T03:04:05+02:00,123,x,',
    ].join('\n');
    const { names, rows } = await csvRows('infer.csv', body);
    expect(names).toEqual([
      'i:int64',
      'f:float64',
      'b:bool',
      'd:date32',
      'ts:timestamp[us]',
      'tz:timestamp[us, UTC]',
      'zip:utf8',
      'mixed:utf8',
      'empty:utf8',
    ]);
    expect((rows[1] as Record<string, unknown>).i).toBe('-9007199254740993');
    expect((rows[1] as Record<string, unknown>).tz).toBe(String(Date.UTC(2024, 0, 2, 1, 4, 5) * 1000));
  });

  it('reads without a header, with a custom delimiter and quote', async () => {
    const { names, rows } = await csvRows('h.csv', "1|'a|b'\n2|'it''s'\n", {
      csv: { header: false, delimiter: '|', quote: "'" },
      schema: { a: 'int32', b: 'utf8' },
    });
    expect(names).toEqual(['a:int32', 'b:utf8']);
    expect(rows).toEqual([
      { a: 1, b: 'a|b' },
      { a: 2, b: "it's" },
    ]);
  });

  it('names the column and row of a value that does not fit the schema', async () => {
    await writeFile(path.join(root, 'bad.csv'), 'id\n1\n2\nx\n');
    const source = createFileSource({ options: { root }, endpoint: { path: 'bad.csv', schema: { id: 'int64' } } });
    await expect(readAll(source)).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      message: expect.stringMatching(/"id".*row 3/),
    });
  });

  it('parses a list column in NDJSON with int64 precision', async () => {
    await writeFile(
      path.join(root, 'l.ndjson'),
      '{"id":9007199254740993,"xs":[1,2,null]}\n{"id":-1,"xs":[]}\n{"xs":null}\n',
    );
    const source = createFileSource({ options: { root }, endpoint: { path: 'l.ndjson' } });
    expect(schemaNames(await source.schema())).toEqual(['id:int64', 'xs:list<int64>']);
    expect(canonicalRows(await readAll(source))).toEqual([
      { id: '9007199254740993', xs: ['1', '2', null] },
      { id: '-1', xs: [] },
      { id: null, xs: null },
    ]);
  });
});

describe('file source', () => {
  it('reads a directory of parts and a glob in name order, skipping hidden files', async () => {
    await mkdir(path.join(root, 'parts'));
    await writeFile(path.join(root, 'parts', 'b.csv'), 'n\n3\n4\n');
    await writeFile(path.join(root, 'parts', 'a.csv'), 'n\n1\n2\n');
    await writeFile(path.join(root, 'parts', '_SUCCESS'), '');
    await writeFile(path.join(root, 'parts', 'c.txt'), 'n\n99\n');
    const directory = createFileSource({ options: { root }, endpoint: { path: 'parts', format: 'csv' } });
    expect(canonicalRows(await readAll(directory)).map((row) => (row as { n: string }).n)).toEqual([
      '1',
      '2',
      '3',
      '4',
      '99',
    ]);
    const glob = createFileSource({ options: { root }, endpoint: { path: 'parts/*.csv' } });
    expect(canonicalRows(await readAll(glob)).map((row) => (row as { n: string }).n)).toEqual(['1', '2', '3', '4']);
  });

  it('fails with SOURCE_CHANGED naming the file when it changes during the read', async () => {
    const lines = ['n', ...Array.from({ length: 10_000 }, (_, index) => String(index))].join('\n');
    await writeFile(path.join(root, 'grow.csv'), `${lines}\n`);
    const source = createFileSource({ options: { root }, endpoint: { path: 'grow.csv' } });
    const iterator = source.read({ signal: signal(), batchRows: 100 })[Symbol.asyncIterator]();
    await iterator.next();
    await appendFile(path.join(root, 'grow.csv'), '10000\n');
    const drain = async () => {
      for (let next = await iterator.next(); !next.done; next = await iterator.next());
    };
    await expect(drain()).rejects.toMatchObject({
      code: 'SOURCE_CHANGED',
      retryable: true,
      message: expect.stringContaining(path.join(root, 'grow.csv')),
    });
  });

  it('reports a new part file that appears during the read', async () => {
    await mkdir(path.join(root, 'd'));
    await writeFile(path.join(root, 'd', 'a.csv'), 'n\n1\n');
    const source = createFileSource({ options: { root }, endpoint: { path: 'd', format: 'csv' } });
    const iterator = source.read({ signal: signal(), batchRows: 100 })[Symbol.asyncIterator]();
    await iterator.next();
    await writeFile(path.join(root, 'd', 'b.csv'), 'n\n2\n');
    await expect(iterator.next()).rejects.toMatchObject({ code: 'SOURCE_CHANGED' });
  });

  it('gives NotFoundError naming the resolved path', async () => {
    const source = createFileSource({ options: { root }, endpoint: { path: 'missing.parquet' } });
    await expect(source.schema()).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining(path.join(root, 'missing.parquet')),
    });
  });

  it('rejects a path escaping the root and an unknown format', async () => {
    expect(() => createFileSource({ options: { root }, endpoint: { path: '../etc/passwd' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() =>
      createFileSink({ options: { root }, endpoint: { path: 'a/../../x.csv' }, context: context() }),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    await writeFile(path.join(root, 'data.bin'), 'x');
    const source = createFileSource({ options: { root }, endpoint: { path: 'data.bin' } });
    await expect(source.schema()).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('format'),
    });
    expect(fileConnector.endpointSchema.safeParse({ path: 'x', bogus: 1 }).success).toBe(false);
  });

  it('counts Parquet rows from metadata and offers no count for CSV', async () => {
    const { writer } = await publish({ path: 'c.parquet' });
    await writer.publish();
    const parquet = createFileSource({ options: { root }, endpoint: { path: 'c.parquet' } });
    expect(await parquet.count?.()).toBe(5);
    expect(createFileSource({ options: { root }, endpoint: { path: 'x.csv' } }).count).toBeUndefined();
    expect(fileConnector.capabilities?.countPushdown).toBe(false);
  });
});

describe('file sink', () => {
  it('stages beside the target with a task-derived name; abort removes staging', async () => {
    await mkdir(path.join(root, 'lake'));
    const { writer, staged } = await publish({ path: 'lake/orders.parquet' });
    const entries = await readdir(path.join(root, 'lake'));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/^\.honk-staging-task-1-[0-9a-f]{8}-orders\.parquet$/);
    expect((staged.ref as { staging: string }).staging).toBe(path.join(root, 'lake', entries[0] as string));
    await writer.abort();
    expect(await readdir(path.join(root, 'lake'))).toEqual([]);
  });

  it('open() removes leftovers of an earlier attempt of the same task', async () => {
    await publish({ path: 'orders.parquet' }); // crashed: never published nor aborted
    const second = await publish({ path: 'orders.parquet' });
    await second.writer.publish();
    expect((await readdir(root)).sort()).toEqual(['orders.parquet']);
  });

  it('publishes a single file atomically and a re-run gives the same target', async () => {
    for (let run = 0; run < 2; run++) {
      const { writer } = await publish({ path: 'orders.ndjson' });
      await writer.publish();
    }
    const text = await readFile(path.join(root, 'orders.ndjson'), 'utf8');
    expect(text.trim().split('\n')).toHaveLength(5);
    expect(await readdir(root)).toEqual(['orders.ndjson']);
  });

  it('publishes a directory target with rolled part files and replaces it whole on a re-run', async () => {
    for (let run = 0; run < 2; run++) {
      const sink = createFileSink({
        options: { root },
        endpoint: { path: 'out/', format: 'csv', partFileBytes: 1 },
        context: context(),
      });
      const batch = trickyBatch();
      const csvBatch = batch.selectAt([0, 1, 2, 3, 4, 5, 6, 7]);
      const writer = await sink.open(csvBatch.schema, { signal: signal(), mode: 'replace' });
      await writer.write(csvBatch.slice(0, 2));
      await writer.write(csvBatch.slice(2));
      await writer.stage();
      await writer.publish();
    }
    expect(await readdir(path.join(root, 'out'))).toEqual(['part-00000.csv', 'part-00001.csv']);
    expect(await readdir(root)).toEqual(['out']);
    // The first part's sample infers amount as float64; a later part's 10^33 + 0.1234 would be
    // rounded, so without a declared type the read refuses it.
    const inferred = createFileSource({ options: { root }, endpoint: { path: 'out', format: 'csv' } });
    await expect(readAll(inferred)).rejects.toMatchObject({ code: 'DATA_CORRUPT', message: /"amount"/ });
    const source = createFileSource({
      options: { root },
      endpoint: { path: 'out', format: 'csv', schema: { amount: 'decimal(38,4)' } },
    });
    expect(canonicalRows(await readAll(source))).toHaveLength(5);
  });

  it('recovers a directory publish that crashed between the two renames', async () => {
    const sink = createFileSink({ options: { root }, endpoint: { path: 'ds', format: 'arrow' }, context: context() });
    const places = (sink as unknown as { places: { aside: string; target: string } }).places;
    await mkdir(places.aside);
    await writeFile(path.join(places.aside, 'part-00000.arrows'), 'old');
    await sink.open(trickyBatch().schema, { signal: signal(), mode: 'replace' });
    expect(await readFile(path.join(places.target, 'part-00000.arrows'), 'utf8')).toBe('old');
  });

  it('describes an existing target and refuses other publish modes', async () => {
    const { sink, writer } = await publish({ path: 'd.parquet' });
    expect(await sink.describe()).toEqual({ exists: false });
    await writer.publish();
    const description = await createFileSink({
      options: { root },
      endpoint: { path: 'd.parquet' },
      context: context(),
    }).describe();
    expect(description.exists).toBe(true);
    expect(schemaNames(description.schema as never)).toEqual(schemaNames(trickyBatch().schema));
    await expect(sink.check?.(trickyBatch().schema, { mode: 'append' })).rejects.toMatchObject({
      code: 'CAPABILITY_MISSING',
    });
    expect(fileConnector.capabilities?.publishModes).toEqual(['replace']);
  });
});

describe('file snapshot', () => {
  it('takes a hard-link snapshot, restores it atomically and discards it', async () => {
    const first = await publish({ path: 'snap.parquet' });
    await first.writer.publish();
    const before = await readFile(path.join(root, 'snap.parquet'));
    const snapshot = createFileSnapshot({
      options: { root },
      endpoint: { path: 'snap.parquet' },
      context: context('task-1'),
    });
    const ref = await snapshot.take();
    expect(ref).toMatchObject({ connector: 'file', target: 'snap.parquet' });
    const copy = path.join(root, (ref as { path: string }).path);
    expect(copy).toContain(`${path.sep}.honk-snapshots${path.sep}`);
    expect((await stat(copy)).ino).toBe((await stat(path.join(root, 'snap.parquet'))).ino);
    expect(JSON.parse(JSON.stringify(ref))).toEqual(ref);

    // Publish something else; the linked snapshot keeps the old bytes.
    const sink = createFileSink({ options: { root }, endpoint: { path: 'snap.parquet' }, context: context('task-2') });
    const small = trickyBatch().slice(0, 1);
    const writer = await sink.open(small.schema, { signal: signal(), mode: 'replace' });
    await writer.write(small);
    await writer.stage();
    await writer.publish();
    expect(await readFile(copy)).toEqual(before);

    await snapshot.restore(ref as never);
    expect(await readFile(path.join(root, 'snap.parquet'))).toEqual(before);
    await snapshot.discard(ref as never);
    expect(await readdir(root)).toEqual(['snap.parquet']);
  });

  it('snapshots and restores a directory target; returns null when there is no target', async () => {
    const snapshot = createFileSnapshot({
      options: { root },
      endpoint: { path: 'dir', format: 'parquet' },
      context: context(),
    });
    expect(await snapshot.take()).toBeNull();
    const { writer } = await publish({ path: 'dir', format: 'parquet' });
    await writer.publish();
    const ref = await snapshot.take();
    const again = await publish({ path: 'dir', format: 'parquet', partFileBytes: 1 }, 'task-9');
    await again.writer.publish();
    await snapshot.restore(ref as never);
    expect(await readdir(path.join(root, 'dir'))).toEqual(['part-00000.parquet']);
    const source = createFileSource({ options: { root }, endpoint: { path: 'dir', format: 'parquet' } });
    expect(canonicalRows(await readAll(source))).toEqual(canonicalRows([trickyBatch()]));
    await snapshot.discard(ref as never);
    expect((await readdir(root)).sort()).toEqual(['dir']);
  });
});
