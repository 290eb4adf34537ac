/**
 * The spec file (DESIGN §4): schemas, loading, `${env:…}` resolution, definitions in code,
 * JSON Schema, and the daily-window helpers the queue uses. See docs/spec-file.md.
 */

export { checkTransformModules } from './check-transform.ts';
export { defineSpec, defineTask } from './define-spec.ts';
export type { EnvReference } from './env-reference.ts';
export { SPEC_JSON_SCHEMA_ID, specJsonSchema } from './json-schema.ts';
export {
  connectorModuleOf,
  importConnectorModule,
  isPathSpecifier,
  loadConnectorModules,
  looksLikeConnector,
} from './load-connector-modules.ts';
export { type LoadedSpec, loadSpec, type ParseSpecOptions, parseSpec, type SpecPosition } from './load-spec.ts';
export { isDuration, parseDuration } from './parse-duration.ts';
export { type ConnectionWithConnector, resolveConnection } from './resolve-connection.ts';
export {
  DEFAULT_RETRY_POLICY,
  definitionHash,
  describeConnections,
  type LiteralCredential,
  type PortableTask,
  type ResolvedConnection,
  type ResolvedSpec,
  type ResolvedTask,
  type ResolveSpecOptions,
  type RetryPolicy,
  resolveSpec,
  resolveTaskRecord,
} from './resolve-spec.ts';
export { formatIssue, SpecError, type SpecIssue } from './spec-error.ts';
export {
  type ConnectionSpec,
  connectionSchema,
  type DefaultsSpec,
  defaultsSchema,
  type IncrementalSpec,
  incrementalSchema,
  type RetrySpec,
  retrySchema,
  type ScheduleSpec,
  type SnapshotSpec,
  type SourceSpec,
  type Spec,
  type SpecInput,
  scheduleSchema,
  snapshotSchema,
  sourceSchema,
  specSchema,
  type TargetSpec,
  type TaskSpec,
  type TaskSpecInput,
  type TransformSpec,
  targetSchema,
  taskSchema,
  transformSchema,
  type ValidateSpec,
  validateSchema,
  type WindowSpec,
  windowSchema,
} from './spec-schema.ts';
export { connectionLimits, enqueueTasks, toTaskInput, toTaskInputs } from './task-inputs.ts';
export { isValidTimeZone, nextWindowStart, type TaskWindow, windowAllows } from './task-window.ts';
