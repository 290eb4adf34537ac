/**
 * Building specs in code, for programs that import @honk/core into a service. The input
 * types are the spec file's own (inferred from the zod schemas), and the objects are
 * validated exactly as files are, with the same paths in errors.
 *
 * @example
 * const orders = defineTask({
 *   id: 'orders',
 *   source: { connection: 'legacy', path: 'orders.csv', format: 'csv' },
 *   target: { connection: 'lake', path: 'orders.parquet', format: 'parquet' },
 * });
 * const spec = defineSpec({
 *   version: 1,
 *   connections: { legacy: { connector: 'file', root: './legacy' }, lake: { connector: 'file', root: './lake' } },
 *   tasks: [orders],
 * });
 * const { tasks } = resolveSpec(spec, { registry });
 */
import { type LoadedSpec, type ParseSpecOptions, parseSpec, toSpecIssues } from './load-spec.ts';
import { SpecError, zodIssuesToSpecIssues } from './spec-error.ts';
import { type SpecInput, type TaskSpec, type TaskSpecInput, taskSchema } from './spec-schema.ts';

/** Validates a whole spec object; throws {@link SpecError}. The result goes to `resolveSpec`. */
export function defineSpec(spec: SpecInput, options: ParseSpecOptions = {}): LoadedSpec {
  return parseSpec(spec, { sourceName: 'defineSpec()', ...options });
}

/**
 * Validates one task on its own (connection names are checked later, by `defineSpec`);
 * throws {@link SpecError} with paths relative to the task (`target.path`).
 */
export function defineTask(task: TaskSpecInput): TaskSpec {
  const result = taskSchema.safeParse(task, { reportInput: true });
  if (!result.success) {
    const label = typeof task?.id === 'string' ? `defineTask("${task.id}")` : 'defineTask()';
    throw new SpecError(toSpecIssues(zodIssuesToSpecIssues(result.error.issues, taskSchema)), { sourceName: label });
  }
  return result.data;
}
