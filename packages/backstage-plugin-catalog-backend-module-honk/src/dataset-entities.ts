/**
 * Datasets as catalog entities: kind Resource, spec.type `dataset`, the `migration` tag, the
 * `honk.dev/` annotations (source, target, facts, status) and the managed-by-location
 * annotations of the provider.
 */
import { createHash } from 'node:crypto';
import type { Entity } from '@backstage/catalog-model';
import {
  DATASET_ENTITY_TYPE,
  HONK_ANNOTATIONS,
  MIGRATION_TAG,
  type MigrationSummary,
} from '@honk/backstage-plugin-honk-common';
import type { DatasetInfo } from '@honk/core';

/** One dataset to publish, from a spec task's source or from discovery. */
export interface Dataset {
  /** The entity name (see {@link entityName}). */
  name: string;
  /** Shown as the entity title: the dataset's own name (`shop.orders`). */
  title: string;
  sourceConnection: string;
  connector: string;
  sourceEndpoint: Record<string, unknown>;
  kind?: DatasetInfo['kind'];
  estimatedRows?: number;
  bytes?: number;
  target?: { connection: string; endpoint: Record<string, unknown>; uri: string };
  specTask?: string;
  /** region, retention, priority, compliance-deadline, owner, system, schema-version from task labels or config defaults. */
  facts: Record<string, string>;
}

const NAME = /^[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*$/;

/**
 * A valid entity name for any text: kept when it is one already (letters, digits and single
 * `-`, `_`, `.` between them, at most 63 characters), otherwise cleaned and suffixed with a
 * short hash of the original so two datasets never share a name.
 */
export function entityName(text: string): string {
  if (text.length <= 63 && NAME.test(text)) return text;
  const cleaned = text
    .replace(/[^a-zA-Z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 54)
    .replace(/-+$/, '');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return cleaned === '' ? `dataset-${hash}` : `${cleaned}-${hash}`;
}

/** A printable `connection:dataset`, never options or credentials. */
export function datasetUri(connection: string, endpoint: Record<string, unknown>): string {
  const place = endpoint.table ?? endpoint.path ?? endpoint.key ?? endpoint.prefix ?? endpoint.query ?? '';
  return `${connection}:${String(place)}`;
}

/** The status annotations of a migration summary. */
export function statusAnnotations(summary: MigrationSummary | undefined): Record<string, string> {
  if (!summary) return { [HONK_ANNOTATIONS.status]: 'not-started' };
  return {
    [HONK_ANNOTATIONS.status]: summary.status,
    [HONK_ANNOTATIONS.statusAt]: summary.signedOff?.at ?? summary.rolledBack?.at ?? summary.updatedAt,
    [HONK_ANNOTATIONS.taskId]: summary.taskId,
    ...(summary.signedOff
      ? { [HONK_ANNOTATIONS.signedOffBy]: summary.signedOff.by, [HONK_ANNOTATIONS.signedOffAt]: summary.signedOff.at }
      : {}),
  };
}

const FACTS: Record<string, string> = {
  region: HONK_ANNOTATIONS.region,
  retention: HONK_ANNOTATIONS.retention,
  priority: HONK_ANNOTATIONS.priority,
  'compliance-deadline': HONK_ANNOTATIONS.complianceDeadline,
  'schema-version': HONK_ANNOTATIONS.schemaVersion,
};

export interface EntityDefaults {
  namespace: string;
  owner: string;
  system?: string;
  /** `backstage.io/managed-by-location` value, e.g. `honk:honk-datasets`. */
  location: string;
}

export function datasetEntity(dataset: Dataset, defaults: EntityDefaults, summary?: MigrationSummary): Entity {
  const annotations: Record<string, string> = {
    'backstage.io/managed-by-location': defaults.location,
    'backstage.io/managed-by-origin-location': defaults.location,
    [HONK_ANNOTATIONS.sourceConnection]: dataset.sourceConnection,
    [HONK_ANNOTATIONS.sourceEndpoint]: JSON.stringify(dataset.sourceEndpoint),
    [HONK_ANNOTATIONS.sourceUri]: datasetUri(dataset.sourceConnection, dataset.sourceEndpoint),
    [HONK_ANNOTATIONS.connector]: dataset.connector,
  };
  if (dataset.kind) annotations[HONK_ANNOTATIONS.datasetKind] = dataset.kind;
  if (dataset.estimatedRows !== undefined) annotations[HONK_ANNOTATIONS.estimatedRows] = String(dataset.estimatedRows);
  if (dataset.bytes !== undefined) annotations[HONK_ANNOTATIONS.bytes] = String(dataset.bytes);
  if (dataset.target) {
    annotations[HONK_ANNOTATIONS.targetConnection] = dataset.target.connection;
    annotations[HONK_ANNOTATIONS.targetEndpoint] = JSON.stringify(dataset.target.endpoint);
    annotations[HONK_ANNOTATIONS.targetUri] = dataset.target.uri;
  }
  if (dataset.specTask) annotations[HONK_ANNOTATIONS.specTask] = dataset.specTask;
  for (const [fact, annotation] of Object.entries(FACTS)) {
    const value = dataset.facts[fact];
    if (value !== undefined) annotations[annotation] = value;
  }
  Object.assign(annotations, statusAnnotations(summary));
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Resource',
    metadata: {
      name: dataset.name,
      namespace: defaults.namespace,
      title: dataset.title,
      description: `${dataset.kind ?? 'dataset'} in ${dataset.sourceConnection} (${dataset.connector})`,
      tags: [MIGRATION_TAG, dataset.connector],
      annotations,
    },
    spec: {
      type: DATASET_ENTITY_TYPE,
      owner: dataset.facts.owner ?? defaults.owner,
      ...((dataset.facts.system ?? defaults.system) ? { system: dataset.facts.system ?? defaults.system } : {}),
    },
  };
}
