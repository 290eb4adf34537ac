import { randomBytes } from 'node:crypto';
import { testTaskStore } from '@honk/core/testing';
import pg from 'pg';
import { createPostgresTaskStore, type PostgresTaskStore } from '../src/index.ts';
import { serverUrl } from './postgres-test-database.ts';

// Each test gets a fresh schema, so tests never see each other's tasks (or notifications).
testTaskStore({
  name: 'postgres',
  create: () => createPostgresTaskStore({ url: serverUrl(), schema: `honk_tasks_${randomBytes(5).toString('hex')}` }),
  cleanup: async (store) => {
    const client = new pg.Client({ connectionString: serverUrl() });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${(store as PostgresTaskStore).schema}" CASCADE`);
    } finally {
      await client.end();
    }
  },
});
