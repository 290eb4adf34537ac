import { KubernetesValidatorFunctions } from '@backstage/catalog-model';
import { HONK_ANNOTATIONS } from '@honk/backstage-plugin-honk-common';
import { taskIdForEntity } from '@honk/backstage-plugin-honk-node';
import { describe, expect, it } from 'vitest';
import { datasetEntity, entityName } from '../src/index.ts';

describe('dataset entities', () => {
  it('names every dataset with a valid, distinct entity name', () => {
    const names = [
      'warehouse.shop.orders',
      'lake.sales/2026/',
      'lake.sales_2026_',
      'warehouse."Sales"."Q1; 2026"',
      'warehouse.sales.q1_2026',
      'x'.repeat(80),
      '///',
    ].map(entityName);
    for (const name of names) expect(KubernetesValidatorFunctions.isValidObjectName(name), name).toBe(true);
    expect(new Set(names).size).toBe(names.length);
    // Names that are valid already stay readable and unchanged.
    expect(entityName('warehouse.shop.orders')).toBe('warehouse.shop.orders');
    expect(entityName('lake.sales/2026/')).toMatch(/^lake-sales-2026-[0-9a-f]{8}$/);
  });

  it('builds a Resource of type dataset with the migration tag and status annotations', () => {
    const entity = datasetEntity(
      {
        name: 'lake.sales-2026-0a1b2c3d',
        title: 'sales/2026/',
        sourceConnection: 'lake',
        connector: 's3',
        sourceEndpoint: { prefix: 'sales/2026/', format: 'parquet' },
        kind: 'prefix',
        bytes: 1024,
        facts: { region: 'eu-north-1', 'compliance-deadline': '2027-06-30' },
      },
      { namespace: 'default', owner: 'group:default/data', location: 'honk:datasets' },
      {
        taskId: 't',
        status: 'migrated',
        state: 'succeeded',
        attempts: 1,
        maxAttempts: 3,
        priority: 0,
        runAt: '2026-12-01T00:00:00.000Z',
        updatedAt: '2026-12-01T01:00:00.000Z',
        enqueuedAt: '2026-12-01T00:00:00.000Z',
        signedOff: { by: 'user:default/alice', at: '2026-12-02T09:00:00.000Z' },
      },
    );
    expect(entity).toMatchObject({
      kind: 'Resource',
      spec: { type: 'dataset', owner: 'group:default/data' },
      metadata: { tags: ['migration', 's3'], title: 'sales/2026/' },
    });
    expect(entity.metadata.annotations).toMatchObject({
      'backstage.io/managed-by-location': 'honk:datasets',
      'backstage.io/managed-by-origin-location': 'honk:datasets',
      [HONK_ANNOTATIONS.sourceUri]: 'lake:sales/2026/',
      [HONK_ANNOTATIONS.region]: 'eu-north-1',
      [HONK_ANNOTATIONS.complianceDeadline]: '2027-06-30',
      [HONK_ANNOTATIONS.status]: 'migrated',
      [HONK_ANNOTATIONS.statusAt]: '2026-12-02T09:00:00.000Z',
      [HONK_ANNOTATIONS.signedOffBy]: 'user:default/alice',
    });
  });

  it('derives task ids from entity refs unambiguously', () => {
    expect(taskIdForEntity('resource:default/warehouse.shop.orders')).toBe('resource.default.warehouse.shop.orders');
    expect(taskIdForEntity('Resource:team-a/orders')).toBe('resource.team-a.orders');
    expect(taskIdForEntity('resource:team-a/orders')).not.toBe(taskIdForEntity('resource:team/a-orders'));
  });
});
