/**
 * The migrations page's catalog queries: dataset entities (kind Resource, spec.type
 * `dataset`) filtered by owner, region, tag and migration status, all on the catalog server
 * (filters, offset paging, facets), so the page stays as fast with 10,000 datasets as with 10.
 */
import type { Entity } from '@backstage/catalog-model';
import { stringifyEntityRef } from '@backstage/catalog-model';
import {
  DATASET_ENTITY_TYPE,
  HONK_ANNOTATIONS,
  MIGRATION_STATUSES,
  type MigrationStatus,
} from '@honk/backstage-plugin-honk-common';

/** The filters of the page; undefined means any. */
export interface DatasetFilters {
  owner?: string;
  region?: string;
  tag?: string;
  status?: MigrationStatus;
}

export const FACET_FIELDS = {
  owner: 'spec.owner',
  region: `metadata.annotations.${HONK_ANNOTATIONS.region}`,
  tag: 'metadata.tags',
  status: `metadata.annotations.${HONK_ANNOTATIONS.status}`,
} as const;

/** The entity fields the table needs (the catalog sends only these). */
export const DATASET_FIELDS = [
  'kind',
  'metadata.name',
  'metadata.namespace',
  'metadata.title',
  'metadata.tags',
  'metadata.annotations',
  'spec.owner',
];

export function datasetFilter(filters: DatasetFilters, omit?: keyof DatasetFilters): Record<string, string> {
  const query: Record<string, string> = { kind: 'resource', 'spec.type': DATASET_ENTITY_TYPE };
  for (const key of Object.keys(FACET_FIELDS) as Array<keyof DatasetFilters>) {
    const value = filters[key];
    if (value !== undefined && value !== '' && key !== omit) query[FACET_FIELDS[key]] = value;
  }
  return query;
}

/** One row of the dataset table. */
export interface DatasetRow {
  /** The entity ref, also the row key and what bulk start sends. */
  id: string;
  entity: Entity;
  title: string;
  owner: string;
  region?: string;
  tags: string[];
  /** The status the catalog last published (the page overlays the live one). */
  status: MigrationStatus;
  statusAt?: string;
  estimatedRows?: number;
}

function asStatus(value: string | undefined): MigrationStatus {
  return (MIGRATION_STATUSES as readonly string[]).includes(value ?? '') ? (value as MigrationStatus) : 'not-started';
}

export function toDatasetRow(entity: Entity): DatasetRow {
  const annotations = entity.metadata.annotations ?? {};
  const estimate = Number(annotations[HONK_ANNOTATIONS.estimatedRows]);
  const region = annotations[HONK_ANNOTATIONS.region];
  const statusAt = annotations[HONK_ANNOTATIONS.statusAt];
  return {
    id: stringifyEntityRef(entity),
    entity,
    title: entity.metadata.title ?? entity.metadata.name,
    owner: String((entity.spec as { owner?: unknown } | undefined)?.owner ?? ''),
    ...(region ? { region } : {}),
    tags: entity.metadata.tags ?? [],
    status: asStatus(annotations[HONK_ANNOTATIONS.status]),
    ...(statusAt ? { statusAt } : {}),
    ...(Number.isFinite(estimate) && estimate > 0 ? { estimatedRows: estimate } : {}),
  };
}
