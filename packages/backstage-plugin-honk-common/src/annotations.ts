/**
 * The `honk.dev/` annotations on dataset entities (kind Resource, spec.type `dataset`). The
 * catalog module writes them; the backend reads the source ones to build tasks; the frontend
 * shows the status ones. Values are strings, as Backstage requires; JSON where noted.
 */

/** The entity spec.type of datasets. */
export const DATASET_ENTITY_TYPE = 'dataset';
/** The tag every dataset entity carries, so dashboards and filters can find them. */
export const MIGRATION_TAG = 'migration';

export const HONK_ANNOTATIONS = {
  /** The spec connection the dataset is read from (a name in the backend's Honk spec). */
  sourceConnection: 'honk.dev/source-connection',
  /** JSON: the source endpoint options (`{"table":"shop.orders"}`), as `discover()` or the spec gives them. */
  sourceEndpoint: 'honk.dev/source-endpoint',
  /** Human-readable `connection:dataset`, never credentials. */
  sourceUri: 'honk.dev/source-uri',
  /** Optional, spec datasets: the target connection. */
  targetConnection: 'honk.dev/target-connection',
  /** Optional, JSON: the target endpoint options; otherwise the task template's target applies. */
  targetEndpoint: 'honk.dev/target-endpoint',
  /** Human-readable `connection:dataset` of the target, when known. */
  targetUri: 'honk.dev/target-uri',
  /** The connector of the source connection. */
  connector: 'honk.dev/connector',
  /** What discovery calls it: table, view, file, directory, object, prefix. */
  datasetKind: 'honk.dev/dataset-kind',
  /** Catalog estimate of rows, when cheap to know. */
  estimatedRows: 'honk.dev/estimated-rows',
  /** Stored bytes, when cheap to know. */
  bytes: 'honk.dev/bytes',
  /** Schema version or fingerprint, when the source states one. */
  schemaVersion: 'honk.dev/schema-version',
  /** How long the source must be kept after the migration (`90d`). */
  retention: 'honk.dev/retention',
  /** Task priority (an integer; higher runs first). */
  priority: 'honk.dev/priority',
  region: 'honk.dev/region',
  /** ISO 8601 date by which the dataset must be migrated. */
  complianceDeadline: 'honk.dev/compliance-deadline',
  /** The spec task id the dataset came from, for spec datasets. */
  specTask: 'honk.dev/spec-task',
  /** The Honk task id of the latest migration. */
  taskId: 'honk.dev/task-id',
  /** {@link MigrationStatus} of the latest migration. */
  status: 'honk.dev/status',
  /** When the status last changed (ISO 8601). */
  statusAt: 'honk.dev/status-at',
  /** Who signed the migration off (an entity ref or service subject). */
  signedOffBy: 'honk.dev/signed-off-by',
  /** When it was signed off (ISO 8601). */
  signedOffAt: 'honk.dev/signed-off-at',
} as const;

/** The entity ref of a dataset entity (`resource:default/warehouse-shop.orders`). */
export function datasetEntityRef(name: string, namespace = 'default'): string {
  return `resource:${namespace}/${name}`;
}
