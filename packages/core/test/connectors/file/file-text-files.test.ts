/**
 * The file connector end to end with text files that are compressed, empty or not UTF-8:
 * compound extensions pick the format, compressed targets are written compressed, and bad
 * files fail the task once (not retried) without touching the existing target.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { makeData, makeVector, Table, tableFromArrays, tableToIPC, Utf8 } from 'apache-arrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileSink, createFileSource, fileConnector } from '../../../src/connectors/file/index.ts';
import { parquetCodec } from '../../../src/formats/parquet-codec.ts';
import { ConnectorRegistry } from '../../../src/index.ts';
import { runTask } from '../../../src/run/run-task.ts';
import type { TaskDefinition } from '../../../src/run/task-definition.ts';
import { writeBatches } from '../../formats/text-helpers.ts';
import { canonicalRows, context, readAll, schemaNames, signal, tempRoot, trickyBatch } from './fixtures.ts';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ root, cleanup } = await tempRoot());
});
afterEach(async () => {
  await cleanup();
});

const csvText = `id,name\n${Array.from({ length: 1000 }, (_, index) => `${index},name ${index}`).join('\n')}\n`;

function task(source: Record<string, unknown>, target: Record<string, unknown>): TaskDefinition {
  return {
    id: 'text-files',
    source: { connector: 'file', connection: 'in', options: { root }, endpoint: source },
    target: { connector: 'file', connection: 'out', options: { root }, endpoint: target },
  } as TaskDefinition;
}

const registry = () => new ConnectorRegistry([fileConnector]);

describe('file connector: compressed text files', () => {
  it('reads .csv.gz, .csv.zst and a .csv that is really gzip, the format taken from the compound name', async () => {
    await writeFile(path.join(root, 'a.csv.gz'), zlib.gzipSync(csvText));
    await writeFile(path.join(root, 'b.csv.zst'), zlib.zstdCompressSync(Buffer.from(csvText)));
    await writeFile(path.join(root, 'c.csv'), zlib.gzipSync(csvText));
    for (const name of ['a.csv.gz', 'b.csv.zst', 'c.csv']) {
      const source = createFileSource({ options: { root }, endpoint: { path: name } });
      expect(schemaNames(await source.schema())).toEqual(['id:int64', 'name:utf8']);
      expect(canonicalRows(await readAll(source, 300))).toHaveLength(1000);
    }
    await mkdir(path.join(root, 'parts'));
    await writeFile(path.join(root, 'parts', 'p1.ndjson.gz'), zlib.gzipSync('{"id":1}\n'));
    await writeFile(path.join(root, 'parts', 'p2.ndjson.zst'), zlib.zstdCompressSync(Buffer.from('{"id":2}\n')));
    const directory = createFileSource({ options: { root }, endpoint: { path: 'parts' } });
    expect(canonicalRows(await readAll(directory))).toEqual([{ id: '1' }, { id: '2' }]);
  });

  it('writes a target named .gz / .zst compressed, validates it decompressed, and publishes it', async () => {
    const batch = trickyBatch();
    for (const [name, inflate] of [
      ['orders.ndjson.gz', zlib.gunzipSync],
      ['orders.jsonl.zst', zlib.zstdDecompressSync],
    ] as const) {
      const sink = createFileSink({ options: { root }, endpoint: { path: name }, context: context() });
      const writer = await sink.open(batch.schema, { signal: signal(), mode: 'replace' });
      await writer.write(batch);
      const staged = await writer.stage();
      expect(canonicalRows(await readAll(staged.reader()))).toEqual(canonicalRows([batch]));
      await writer.publish();
      const text = inflate(await readFile(path.join(root, name))).toString('utf8');
      expect(text.trim().split('\n')).toHaveLength(5);
      expect(text).toContain('"id":9007199254740993');
    }
    expect((await readdir(root)).sort()).toEqual(['orders.jsonl.zst', 'orders.ndjson.gz']);
  });

  it('refuses compression for Parquet and Arrow as a ConfigError', () => {
    for (const name of ['x.parquet.gz', 'x.arrows.zst']) {
      expect(() => createFileSink({ options: { root }, endpoint: { path: name }, context: context() })).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('csv and ndjson') }),
      );
    }
  });

  it('a truncated .csv.gz fails the task with DATA_CORRUPT naming the file, once, publishing nothing', async () => {
    const packed = zlib.gzipSync(csvText);
    await writeFile(path.join(root, 'cut.csv.gz'), packed.subarray(0, packed.length - 30));
    const report = await runTask({
      task: task({ path: 'cut.csv.gz' }, { path: 'out.parquet' }),
      connectors: registry(),
    });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      message: expect.stringContaining(path.join(root, 'cut.csv.gz')),
    });
    expect((await readdir(root)).sort()).toEqual(['cut.csv.gz']);
  });
});

describe('file connector: empty and non-UTF-8 text files fail before anything is published', () => {
  async function goodTarget() {
    await writeFile(path.join(root, 'good.csv'), csvText);
    const first = await runTask({
      task: task({ path: 'good.csv' }, { path: 'target.parquet' }),
      connectors: registry(),
    });
    expect(first.ok).toBe(true);
    return readFile(path.join(root, 'target.parquet'));
  }

  it('a 0-byte CSV never replaces a good 1,000-row target', async () => {
    const before = await goodTarget();
    await writeFile(path.join(root, 'empty.csv'), '');
    const report = await runTask({
      task: task({ path: 'empty.csv' }, { path: 'target.parquet' }),
      connectors: registry(),
    });
    expect(report.ok).toBe(false);
    expect(report.error).toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      message: expect.stringMatching(/empty\.csv is empty.*header row/),
    });
    expect(await readFile(path.join(root, 'target.parquet'))).toEqual(before);
  });

  it('invalid UTF-8 is one DATA_CORRUPT naming file, row and column whatever the target', async () => {
    const before = await goodTarget();
    const lines = csvText.split('\n');
    const bad = Buffer.concat([
      Buffer.from(`${lines.slice(0, 901).join('\n')}\n900,caf`),
      Buffer.from([0xe9]),
      Buffer.from(`\n${lines.slice(902).join('\n')}`),
    ]);
    await writeFile(path.join(root, 'latin1.csv'), bad);
    for (const target of ['target.parquet', 'target.arrows', 'target.csv', 'target.ndjson']) {
      const report = await runTask({
        task: task({ path: 'latin1.csv', schema: { name: 'utf8' } }, { path: target }),
        connectors: registry(),
      });
      expect(report.error, target).toMatchObject({
        code: 'DATA_CORRUPT',
        retryable: false,
        message: expect.stringMatching(/latin1\.csv, data row 901, column "name": not valid UTF-8/),
      });
    }
    expect(await readFile(path.join(root, 'target.parquet'))).toEqual(before);
    expect((await readdir(root)).sort()).toEqual(['good.csv', 'latin1.csv', 'target.parquet']);
  });
});

describe('file connector: Arrow columns text targets used to refuse or change', () => {
  /** Parquet written from apache-arrow's `tableFromArrays` (strings become dictionary<int32, utf8>), as pandas categoricals are. */
  async function categoricalParquet(name: string): Promise<void> {
    const rows = 3000;
    const table = tableFromArrays({
      id: Int32Array.from({ length: rows }, (_, index) => index),
      label: Array.from({ length: rows }, (_, index) => (index % 7 === 0 ? null : `label "${index % 5}", ok`)),
    });
    const bytes = await writeBatches(parquetCodec, table.schema, table.batches);
    await writeFile(path.join(root, name), bytes);
  }

  it('Parquet with dictionary-encoded (categorical) columns → CSV and NDJSON: decoded values, validated, published', async () => {
    await categoricalParquet('categories.parquet');
    const source = createFileSource({ options: { root }, endpoint: { path: 'categories.parquet' } });
    expect(schemaNames(await source.schema())).toContain('label:Dictionary<Int32, Utf8>');
    for (const target of ['out.csv', 'out.ndjson', 'out.csv.zst']) {
      const report = await runTask({
        task: task({ path: 'categories.parquet' }, { path: target }),
        connectors: registry(),
      });
      expect(report.error, target).toBeUndefined();
      expect(report.ok, target).toBe(true);
      expect(report.validation?.checks.map((check) => [check.name, check.ok])).toEqual(
        expect.arrayContaining([
          ['row-count', true],
          ['checksum', true],
        ]),
      );
      const back = createFileSource({ options: { root }, endpoint: { path: target, schema: { label: 'utf8' } } });
      const rows = canonicalRows(await readAll(back, 1000)) as { id: string; label: string | null }[];
      expect(rows).toHaveLength(3000);
      expect(rows[7]).toEqual({ id: '7', label: null });
      expect(rows[8]).toEqual({ id: '8', label: 'label "3", ok' });
    }
  });

  it('invalid UTF-8 in an Arrow IPC utf8 column → CSV/NDJSON: DATA_CORRUPT naming column and row at write, not retried, nothing published', async () => {
    const names = makeData({
      type: new Utf8(),
      length: 3,
      valueOffsets: Int32Array.of(0, 2, 6, 8),
      data: Uint8Array.from([...Buffer.from('okcaf'), 0xe9, ...Buffer.from('ok')]),
    });
    const table = new Table({ name: makeVector(names) });
    await writeFile(path.join(root, 'latin1.arrow'), tableToIPC(table, 'file'));
    for (const target of ['bad.csv', 'bad.ndjson']) {
      const report = await runTask({ task: task({ path: 'latin1.arrow' }, { path: target }), connectors: registry() });
      expect(report.error, target).toMatchObject({
        code: 'DATA_CORRUPT',
        retryable: false,
        details: { column: 'name', row: 2 },
        message: expect.stringMatching(/column "name", row 2 .*not valid UTF-8/),
      });
    }
    expect((await readdir(root)).sort()).toEqual(['latin1.arrow']);
  });
});
