/**
 * Checks of a task's `transform:` that need no data: cast type names (and their time zones),
 * when a spec is resolved, and that transform module files exist. `honk plan`, `honk enqueue`
 * and `honk run` refuse such a spec before any data moves (exit 2), instead of an agent
 * dead-lettering the task later.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { type Timestamp, Type } from 'apache-arrow';
import { parseTypeName } from '../arrow/type-names.ts';
import { isHonkError } from '../errors/honk-error.ts';
import { assertTimeZone } from '../transfer/transforms/civil-time.ts';
import { hasEnvReference } from './env-reference.ts';
import { type LoadedSpec, toSpecIssues } from './load-spec.ts';
import { type RawSpecIssue, SpecError } from './spec-error.ts';
import type { TransformSpec } from './spec-schema.ts';

/** The file part of a `module:` value (`./transforms/orders.ts#maskEmails` → `./transforms/orders.ts`). */
export function modulePathOf(module: string): string {
  const hash = module.lastIndexOf('#');
  return (hash === -1 ? module : module.slice(0, hash)).trim();
}

/** Adds an issue at `path` for every cast type name (or time zone) that does not parse. */
export function checkTransform(
  transform: TransformSpec | undefined,
  path: readonly PropertyKey[],
  issues: RawSpecIssue[],
): void {
  if (!transform) return;
  for (const [column, name] of Object.entries(transform.cast ?? {})) {
    try {
      const type = parseTypeName(name);
      if (type.typeId === Type.Timestamp) {
        const zone = (type as Timestamp).timezone;
        if (zone) assertTimeZone(zone, `transform.cast.${column}`);
      }
    } catch (error) {
      if (!isHonkError(error)) throw error;
      issues.push({ path: [...path, 'cast', column], message: error.message });
    }
  }
}

/**
 * Throws a SpecError naming each task whose transform module file does not exist, for
 * commands that hand tasks to agents without loading the modules themselves (`honk enqueue`).
 */
export function checkTransformModules(loaded: LoadedSpec, taskIds: readonly string[]): void {
  const wanted = new Set(taskIds);
  const issues: RawSpecIssue[] = [];
  for (const [index, task] of loaded.spec.tasks.entries()) {
    const module = task.transform?.module;
    if (!wanted.has(task.id) || module === undefined || hasEnvReference(module)) continue;
    const file = modulePathOf(module);
    const absolute = isAbsolute(file) ? file : resolve(loaded.baseDir, file);
    if (!existsSync(absolute)) {
      issues.push({
        path: ['tasks', index, 'transform', 'module'],
        message: `module file ${absolute} does not exist (relative paths resolve against the spec's directory, ${loaded.baseDir})`,
      });
    }
  }
  if (issues.length > 0) throw new SpecError(toSpecIssues(issues, loaded.locate), { sourceName: loaded.sourceName });
}
