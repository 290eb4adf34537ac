/**
 * Replacing `${env:…}` references in spec values, where a task runs. Values found are
 * registered as secrets (redacted from every message). Where a task does not run (`honk
 * plan`, `honk enqueue` in a CI job without the agents' secrets) an unset variable can be
 * allowed: the reference stays as written and its path is remembered, so option errors at
 * that path are not reported and nothing is read with it.
 */
import { registerSecret } from '../errors/redact.ts';
import { substituteEnvReferences } from './env-reference.ts';
import { formatPath, type RawSpecIssue } from './spec-error.ts';

/**
 * Prefix of the variables that stand for credentials a spec wrote literally (see
 * `portable-task.ts`): only the `honk run` that read the spec has their values.
 */
export const LITERAL_CREDENTIAL_PREFIX = 'HONK_SPEC_CREDENTIAL_';

/** Unset variables that were allowed, with the paths that use them. */
export interface UnresolvedEnv {
  names: Set<string>;
  /** Formatted paths (`connections.warehouse.url`) whose value kept a reference. */
  paths: Set<string>;
}

function missingMessage(name: string): string {
  if (name.startsWith(LITERAL_CREDENTIAL_PREFIX)) {
    return `this credential was written literally in the spec, so it was kept out of the task store and only the honk run that read the spec can use it; write it as \${env:NAME} so every agent resolves it from its own environment`;
  }
  return `environment variable ${name} is not set; set it where the task runs (its value is never printed)`;
}

/**
 * Deep copy of `value` with `${env:…}` replaced. An unset variable is an issue at its path
 * (the result is then undefined), or, with `unresolved`, is left as written and recorded
 * there. Every resolved value is registered as a secret.
 */
export function resolveEnv<T>(
  value: T,
  path: PropertyKey[],
  env: Record<string, string | undefined>,
  issues: RawSpecIssue[],
  unresolved?: UnresolvedEnv,
): T | undefined {
  let missing = false;
  const visit = (item: unknown, at: PropertyKey[]): unknown => {
    if (typeof item === 'string') {
      let kept = false;
      const out = substituteEnvReferences(
        item,
        (name) => {
          const found = env[name];
          if (found !== undefined) registerSecret(found);
          return found;
        },
        (name) => {
          if (unresolved) {
            kept = true;
            unresolved.names.add(name);
            return;
          }
          missing = true;
          issues.push({ path: at, message: missingMessage(name) });
        },
      );
      if (kept) {
        unresolved?.paths.add(formatPath(at));
        return item;
      }
      return out;
    }
    if (Array.isArray(item)) return item.map((entry, index) => visit(entry, [...at, index]));
    if (item !== null && typeof item === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, entry] of Object.entries(item)) out[key] = visit(entry, [...at, key]);
      return out;
    }
    return item;
  };
  const out = visit(value, path) as T;
  return missing ? undefined : out;
}

/** True when an issue at `path` concerns a value that kept an unresolved reference. */
export function concernsUnresolved(path: readonly PropertyKey[], unresolved: UnresolvedEnv | undefined): boolean {
  if (!unresolved || unresolved.paths.size === 0) return false;
  const formatted = formatPath(path);
  for (const kept of unresolved.paths) {
    if (formatted === kept || formatted.startsWith(`${kept}.`) || formatted.startsWith(`${kept}[`)) return true;
    // An issue on the object holding the value (a refinement over several keys) is not reported either.
    if (kept.startsWith(`${formatted}.`) || kept.startsWith(`${formatted}[`)) return true;
  }
  return false;
}
