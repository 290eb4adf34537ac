import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileConnector } from '../../../src/index.ts';
import { testChunkedSink, testIncremental, testSink, testSnapshot, testSource } from '../../../src/testing/index.ts';

const root = mkdtempSync(join(tmpdir(), 'honk-file-conformance-'));

for (const format of ['parquet', 'arrow'] as const) {
  const suite = {
    name: `file (${format})`,
    connector: fileConnector,
    options: () => ({ root }),
    endpoint: (name: string) => ({ path: `${format}/${name}.${format}`, format }),
  };
  testSource(suite);
  testSink(suite);
  testSnapshot(suite);
  // Files cannot commit a high-water mark with a publish: incremental tasks are refused.
  testIncremental(suite);
}

// Text formats keep the tricky types when the schema is explicit; lists only in NDJSON.
const explicit = {
  id: 'int64',
  big: 'int64',
  amount: 'decimal(38,4)',
  ratio: 'float64',
  at_utc: 'timestamp[us, UTC]',
  at_local: 'timestamp[ms, Europe/Stockholm]',
  day: 'date32',
  flag: 'bool',
  label: 'utf8',
  blob: 'binary',
};
testSink({
  name: 'file (csv, explicit schema)',
  connector: fileConnector,
  options: () => ({ root }),
  endpoint: (name: string) => ({ path: `csv/${name}.csv`, format: 'csv' as const, schema: explicit }),
  features: { lists: false },
});
testSink({
  name: 'file (ndjson, explicit schema)',
  connector: fileConnector,
  options: () => ({ root }),
  endpoint: (name: string) => ({
    path: `ndjson/${name}.ndjson`,
    format: 'ndjson' as const,
    schema: { ...explicit, tags: 'list<int32>' },
  }),
});

// Chunked staging needs a directory target.
testChunkedSink({
  name: 'file (parquet directory)',
  connector: fileConnector,
  options: () => ({ root }),
  endpoint: (name: string) => ({ path: `chunked/${name}`, format: 'parquet' as const }),
});
