/** Shared fixtures for the spec tests: the DESIGN §4 example and tiny test connectors. */
import { z } from 'zod';
import { defineConnector } from '../../src/connector/connector.ts';
import { ConnectorRegistry } from '../../src/connector/connector-registry.ts';

export const exampleYaml = `# The example of DESIGN §4.
version: 1
connections:
  legacy:    { connector: files, root: ./data/legacy }
  lake:      { connector: files, root: ./data/lake }
  warehouse: { connector: sql, url: "\${env:WAREHOUSE_URL}", maxConcurrency: 2 }
defaults:
  retry:    { attempts: 5, backoff: { initialMs: 1000, factor: 2, maxMs: 60000 } }
  validate: { rowCount: true, checksum: true, sample: 100 }
  snapshot: { keepFor: 7d }
tasks:
  - id: orders
    entity: resource:default/orders
    priority: 10
    notBefore: "2026-11-25T00:00:00Z"
    schedule: { cron: "0 2 * * *", timezone: UTC }
    window: { start: "00:00", end: "06:00", timezone: Europe/Stockholm }
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.parquet, format: parquet }
    transform:
      select: [id, customer_id, amount, created_at]
      rename: { amount: amount_cents }
      cast:   { amount_cents: int64, created_at: timestamp }
      module: ./transforms/orders.ts#maskEmails
  - id: customers
    source: { connection: warehouse, table: public.customers }
    target: { connection: lake, path: customers.parquet, format: parquet, mode: replace }
    labels: { team: billing }
`;

/** A file-like test connector: `root` per connection, `path` + `format` per endpoint. */
export const filesConnector = defineConnector({
  specificationVersion: 'v1',
  name: 'files',
  optionsSchema: z.strictObject({ root: z.string().min(1) }),
  endpointSchema: z.strictObject({
    path: z.string().min(1),
    format: z.enum(['csv', 'parquet', 'ndjson']),
  }),
  capabilities: { publishModes: ['replace', 'append'] },
});

/** A database-like test connector: `url` per connection, `table` or `query` per endpoint. */
export const sqlConnector = defineConnector({
  specificationVersion: 'v1',
  name: 'sql',
  optionsSchema: z.strictObject({ url: z.string().startsWith('postgres://'), poolSize: z.int().min(1).optional() }),
  endpointSchema: z.strictObject({ table: z.string().optional(), query: z.string().optional() }),
});

export function testRegistry(): ConnectorRegistry {
  return new ConnectorRegistry([filesConnector, sqlConnector]);
}
