import { testIncremental, testSink, testSnapshot, testSource } from '@honk/core/testing';
import { afterAll, beforeAll } from 'vitest';
import { postgresConnector } from '../src/index.ts';
import { createTestDatabase, type TestDatabase } from './postgres-test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db.drop());

const suite = {
  connector: postgresConnector,
  options: () => ({ url: db.url }),
  // Case names contain dashes, so the table part is quoted as PostgreSQL needs it.
  endpoint: (caseName: string) => ({ table: `conformance."${caseName}"` }),
};
beforeAll(async () => {
  await db.sql('CREATE SCHEMA IF NOT EXISTS conformance');
});

testSource(suite);
testSink(suite);
testSnapshot(suite);
testIncremental(suite);
