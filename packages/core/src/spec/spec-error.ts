/**
 * Errors in spec files. A spec is checked as a whole and every problem is reported at once,
 * each with its path in the file (`tasks[3].target.path`), what was expected and, for YAML
 * and JSON files, the line and column — so one run of `honk plan` lists everything to fix.
 */
import type { core, ZodType } from 'zod';
import { ConfigError } from '../errors/honk-error.ts';
import { redact, redactText } from '../errors/redact.ts';

/** One problem in a spec. */
export interface SpecIssue {
  /** Where, e.g. `tasks[3].target.path`; empty for the whole document. */
  path: string;
  /** What is wrong and what was expected. Never contains secret values. */
  message: string;
  /** 1-based position in the spec file, when known. */
  line?: number;
  column?: number;
}

/** A spec (file, object or resolved options) is invalid. Code `CONFIG_INVALID`, never retryable. */
export class SpecError extends ConfigError {
  readonly issues: SpecIssue[];
  /** The file name or label the spec came from. */
  readonly sourceName: string | undefined;

  constructor(issues: SpecIssue[], options: { sourceName?: string; cause?: unknown } = {}) {
    const clean = issues.map((issue) => ({ ...issue, message: redactText(issue.message) }));
    const where = options.sourceName ? `Spec ${options.sourceName}` : 'The spec';
    const count = clean.length === 1 ? '1 problem' : `${clean.length} problems`;
    const lines = clean.map((issue) => `  - ${formatIssue(issue)}`);
    super(`${where} is invalid (${count}):\n${lines.join('\n')}`, {
      cause: options.cause,
      details: { issues: clean, ...(options.sourceName ? { sourceName: options.sourceName } : {}) },
    });
    this.name = 'SpecError';
    this.issues = clean;
    this.sourceName = options.sourceName;
  }
}

/** `path: message (line L, column C)`. */
export function formatIssue(issue: SpecIssue): string {
  const position = issue.line !== undefined ? ` (line ${issue.line}, column ${issue.column ?? 1})` : '';
  return `${issue.path || '(document)'}: ${issue.message}${position}`;
}

type PathSegment = PropertyKey;

/** `['tasks', 3, 'target', 'path']` → `tasks[3].target.path`. Unusual keys are quoted: `labels["a b"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z0-9_$-]+$/.test(key)) out += out ? `.${key}` : key;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** Raw issue with its path still as segments, so callers can locate it in the source text. */
export interface RawSpecIssue {
  path: PathSegment[];
  message: string;
}

/**
 * Translates zod issues into spec issues with plain-language expectations. `schema` is the
 * schema that produced them (used to name known keys and integer fields); `prefix` is
 * prepended to every path (e.g. `['connections', 'lake']` for a connector's options).
 */
export function zodIssuesToSpecIssues(
  issues: readonly core.$ZodIssue[],
  schema: ZodType,
  prefix: readonly PathSegment[] = [],
): RawSpecIssue[] {
  const out: RawSpecIssue[] = [];
  const visit = (issue: core.$ZodIssue, base: readonly PathSegment[]): void => {
    const local = [...base, ...issue.path];
    const full = [...prefix, ...local];
    const input = (issue as { input?: unknown }).input;
    const lastKey = local.length > 0 ? local[local.length - 1] : undefined;
    switch (issue.code) {
      case 'invalid_union': {
        // Descend into the alternative whose shape matched (e.g. the object form of `snapshot`).
        const matching = issue.errors.filter(
          (branch) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
        );
        if (matching.length === 1 && issue.errors.length > 1) {
          for (const inner of matching[0]!) visit(inner, local);
        } else {
          out.push({ path: full, message: withInput(issue.message, input, lastKey) });
        }
        return;
      }
      case 'unrecognized_keys': {
        const known = knownKeysAt(schema, local);
        for (const key of issue.keys) {
          out.push({ path: [...full, key], message: unknownKeyMessage(key, known) });
        }
        return;
      }
      case 'invalid_type': {
        const expected = describeExpected(issue.expected, schemaAt(schema, local));
        out.push({
          path: full,
          message:
            input === undefined
              ? `required: expected ${expected}`
              : `expected ${expected}, got ${describeInput(input, lastKey)}`,
        });
        return;
      }
      case 'too_small':
      case 'too_big': {
        out.push({ path: full, message: sizeMessage(issue, schemaAt(schema, local), input, lastKey) });
        return;
      }
      case 'invalid_value': {
        const values = issue.values.map((value) => JSON.stringify(value));
        const expected = values.length === 1 ? values[0] : `one of ${values.join(', ')}`;
        out.push({
          path: full,
          message:
            input === undefined
              ? `required: expected ${expected}`
              : `expected ${expected}, got ${describeInput(input, lastKey)}`,
        });
        return;
      }
      case 'invalid_key': {
        const inner = issue.issues[0]?.message ?? issue.message;
        out.push({ path: full, message: `invalid name ${describeInput(input)}: ${inner}` });
        return;
      }
      default:
        out.push({ path: full, message: withInput(issue.message, input, lastKey) });
    }
  };
  for (const issue of issues) visit(issue, []);
  return out;
}

function withInput(message: string, input: unknown, key: PathSegment | undefined): string {
  if (input === undefined || /\bgot\b/.test(message) || (typeof input === 'object' && input !== null)) return message;
  return `${message}, got ${describeInput(input, key)}`;
}

function sizeMessage(
  issue: core.$ZodIssueTooSmall | core.$ZodIssueTooBig,
  schema: ZodType | undefined,
  input: unknown,
  key: PathSegment | undefined,
): string {
  const small = issue.code === 'too_small';
  const limit = small ? (issue as core.$ZodIssueTooSmall).minimum : (issue as core.$ZodIssueTooBig).maximum;
  const got = input === undefined ? '' : `, got ${describeInput(input, key)}`;
  switch (issue.origin) {
    case 'string':
      if (small && Number(limit) === 1) return `must not be empty`;
      return `expected ${small ? 'at least' : 'at most'} ${limit} characters${got}`;
    case 'array':
    case 'set':
      if (small && Number(limit) === 1) return `must list at least one item`;
      return `expected ${small ? 'at least' : 'at most'} ${limit} items`;
    default: {
      const what = isIntegerSchema(schema) ? 'an integer' : 'a number';
      const op = small ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
      return `expected ${what} ${op} ${limit}${got}`;
    }
  }
}

function describeExpected(expected: string, schema: ZodType | undefined): string {
  switch (expected) {
    case 'number':
    case 'int':
      return isIntegerSchema(schema) || expected === 'int' ? 'an integer' : 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'object':
    case 'record':
    case 'map':
      return 'a mapping (key: value)';
    case 'array':
    case 'tuple':
      return 'a list';
    default:
      return expected;
  }
}

/** A short, secret-safe description of a value for messages. */
export function describeInput(input: unknown, key?: PathSegment): string {
  if (typeof key === 'string' && input != null) {
    // Credential-like keys are never echoed, whatever their value.
    const masked = redact({ [key]: input })[key];
    if (masked === '***' && typeof input !== 'object') return '***';
  }
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') {
    const text = input.length > 60 ? `${input.slice(0, 57)}...` : input;
    return redactText(JSON.stringify(text));
  }
  return redactText(String(input));
}

function unknownKeyMessage(key: string, known: string[]): string {
  const suggestion = closest(key, known);
  if (suggestion) return `unknown key "${key}"; did you mean "${suggestion}"?`;
  return known.length > 0 ? `unknown key "${key}"; expected one of: ${known.join(', ')}` : `unknown key "${key}"`;
}

/** The candidate closest to `word` by edit distance, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance =
      candidate.toLowerCase() === word.toLowerCase() ? 0 : editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const tolerance = Math.max(2, Math.floor(word.length / 3));
  if (best === undefined) return undefined;
  if (bestDistance <= tolerance) return best;
  // Truncations and plurals ("keep" for "keepFor", "retries" for "retry") are typos too.
  const shorter = Math.min(word.length, best.length);
  return shorter >= 3 && commonPrefix(word.toLowerCase(), best.toLowerCase()) >= Math.max(3, shorter - 1)
    ? best
    : undefined;
}

function commonPrefix(a: string, b: string): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length++;
  return length;
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

// --- Walking zod schemas (zod 4 internals, read-only) -----------------------------------

type AnyDef = { type: string } & Record<string, any>;

function defOf(schema: ZodType): AnyDef {
  return (schema as unknown as { _zod: { def: AnyDef } })._zod.def;
}

function unwrap(schema: ZodType): ZodType {
  let current = schema;
  for (let depth = 0; depth < 32; depth++) {
    const def = defOf(current);
    if (['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(def.type)) {
      current = def.innerType;
    } else if (def.type === 'pipe') current = def.in;
    else if (def.type === 'lazy') current = def.getter();
    else return current;
  }
  return current;
}

function childOf(schema: ZodType, key: PathSegment): ZodType | undefined {
  const inner = unwrap(schema);
  const def = defOf(inner);
  switch (def.type) {
    case 'object': {
      const shape = def.shape as Record<string, ZodType>;
      if (typeof key === 'string' && key in shape) return shape[key];
      return def.catchall && defOf(def.catchall).type !== 'never' ? def.catchall : undefined;
    }
    case 'array':
      return def.element;
    case 'record':
      return def.valueType;
    case 'union':
      for (const option of def.options as ZodType[]) {
        const child = childOf(option, key);
        if (child) return child;
      }
      return undefined;
    case 'intersection':
      return childOf(def.left, key) ?? childOf(def.right, key);
    default:
      return undefined;
  }
}

/** The schema that validates the value at `path` under `schema`, if it can be found. */
export function schemaAt(schema: ZodType, path: readonly PathSegment[]): ZodType | undefined {
  let current: ZodType | undefined = schema;
  for (const segment of path) {
    if (!current) return undefined;
    current = childOf(current, segment);
  }
  return current;
}

/** Keys an object schema at `path` accepts (for "did you mean" suggestions). */
export function knownKeysAt(schema: ZodType, path: readonly PathSegment[]): string[] {
  const target = schemaAt(schema, path);
  if (!target) return [];
  const collect = (candidate: ZodType): string[] => {
    const def = defOf(unwrap(candidate));
    if (def.type === 'object') return Object.keys(def.shape);
    if (def.type === 'union') return (def.options as ZodType[]).flatMap(collect);
    if (def.type === 'intersection') return [...collect(def.left), ...collect(def.right)];
    return [];
  };
  return [...new Set(collect(target))];
}

function isIntegerSchema(schema: ZodType | undefined): boolean {
  if (!schema) return false;
  const inner = unwrap(schema) as unknown as { _zod: { bag?: { format?: string }; def: AnyDef } };
  const format = inner._zod.bag?.format ?? inner._zod.def.format;
  return typeof format === 'string' && /int/.test(format);
}
