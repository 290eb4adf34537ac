/**
 * `honk:migration:start` against the real honk backend (a test backend with the catalog and
 * the PostgreSQL task store): a dry run enqueues nothing, a run enqueues on behalf of the
 * initiating user, a retried step reuses its checkpoint, a denied user's step fails.
 */
import { PassThrough } from 'node:stream';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALICE,
  eventually,
  type HonkBackstage,
  MALLORY,
  startHonkBackstage,
} from '../../backstage-plugin-honk-backend/test/honk-test-backend.ts';
import { createStartMigrationAction } from '../src/index.ts';

let honk: HonkBackstage;
beforeAll(async () => {
  honk = await startHonkBackstage();
  await eventually('the dataset entities', () => honk.entity('warehouse.shop.payments'));
});
afterAll(async () => {
  await honk?.stop();
});

const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };

/** The scaffolder's step context, with its checkpoint store kept across retries of the step. */
function context(input: Record<string, unknown>, user: string, checkpoints: Map<string, unknown>, isDryRun = false) {
  const outputs: Record<string, unknown> = {};
  const ctx = {
    input,
    logger: quiet,
    logStream: new PassThrough(),
    workspacePath: '/nonexistent',
    output: (name: string, value: unknown) => {
      outputs[name] = value;
    },
    createTemporaryDirectory: async () => '/nonexistent',
    getInitiatorCredentials: async () => mockCredentials.user(user),
    checkpoint: async ({ key, fn }: { key: string; fn: () => Promise<unknown> }) => {
      if (!checkpoints.has(key)) checkpoints.set(key, await fn());
      return checkpoints.get(key);
    },
    task: { id: 'scaffolder-task' },
    isDryRun,
  };
  return { ctx: ctx as never, outputs };
}

function action() {
  return createStartMigrationAction({
    auth: mockServices.auth({ pluginId: 'scaffolder' }),
    discovery: {
      getBaseUrl: async () => `${honk.base}/api/honk`,
      getExternalBaseUrl: async () => `${honk.base}/api/honk`,
    },
  });
}

describe('honk:migration:start', () => {
  const input = {
    entityRefs: ['resource:default/warehouse.shop.payments'],
    window: { start: '02:00', end: '04:00', timezone: 'UTC' },
    rerun: true,
  };

  it('validates in a dry run and enqueues nothing', async () => {
    const { ctx, outputs } = context(input, ALICE, new Map(), true);
    await action().handler(ctx);
    expect(outputs).toEqual({ taskIds: ['resource.default.warehouse.shop.payments'], outcomes: ['dry-run'] });
    expect(await honk.store.list()).toEqual([]);
  });

  it('enqueues once for the initiating user, and a retried step reuses its checkpoint', async () => {
    const checkpoints = new Map<string, unknown>();
    const first = context(input, ALICE, checkpoints);
    await action().handler(first.ctx);
    expect(first.outputs).toEqual({ taskIds: ['resource.default.warehouse.shop.payments'], outcomes: ['created'] });
    const enqueuedAt = (await honk.store.get('resource.default.warehouse.shop.payments'))!.enqueuedAt;
    const sequence = (await honk.store.get('resource.default.warehouse.shop.payments'))!.sequence;

    // The scaffolder retries the step (say, after a restart): with rerun: true a second
    // enqueue would start a new run; the checkpoint returns the first result instead.
    const retried = context(input, ALICE, checkpoints);
    await action().handler(retried.ctx);
    expect(retried.outputs).toEqual(first.outputs);
    const record = (await honk.store.get('resource.default.warehouse.shop.payments'))!;
    expect(record).toMatchObject({ enqueuedAt, sequence, state: 'pending', window: input.window });

    // Without the checkpoint the same input starts a new run (rerun: the store requeues it):
    // the checkpoint is what kept the retry from doing so.
    const fresh = context(input, ALICE, new Map());
    await action().handler(fresh.ctx);
    expect(fresh.outputs.outcomes).toEqual(['requeued']);
  });

  it('fails the step for a user the policy denies, enqueueing nothing', async () => {
    const { ctx } = context({ entityRefs: ['resource:default/warehouse.shop.refunds'] }, MALLORY, new Map());
    await expect(action().handler(ctx)).rejects.toMatchObject({ status: 403 });
    expect(await honk.store.get('resource.default.warehouse.shop.refunds')).toBeUndefined();
  });
});
