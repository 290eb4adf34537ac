/**
 * Marks on the fields of a connector's `optionsSchema` that core acts on when it turns a
 * spec into a task record for a store:
 *
 * - {@link secretOption}: a credential (a password, a secret key, a private key). Written
 *   literally in a spec, it is kept out of task records (`honk run` holds it in memory only;
 *   `honk enqueue` refuses it and asks for `${env:…}`). Passwords inside URLs
 *   (`postgres://user:password@host`) are found in any option without a mark.
 * - {@link pathOption}: a local path. Relative, it is made absolute against the spec's
 *   directory when the task is enqueued, so an agent with another working directory reads
 *   and writes the same place.
 *
 * The marks live beside the schema, keyed by the schema object, in a registry shared by every
 * copy of @honk/core in the process (a connector package may bring its own copy).
 */
import type { ZodType } from 'zod';

/** What a mark says about an option. */
export type OptionMark = 'secret' | 'path';

const REGISTRY = Symbol.for('honk.option-marks');

function registry(): WeakMap<object, OptionMark> {
  const holder = globalThis as unknown as Record<symbol, WeakMap<object, OptionMark> | undefined>;
  let marks = holder[REGISTRY];
  if (!marks) {
    marks = new WeakMap();
    holder[REGISTRY] = marks;
  }
  return marks;
}

/**
 * Marks an option as a credential: `password: secretOption(z.string())`. Returns the schema,
 * so it composes with `.optional()` and the like (mark the inner schema).
 */
export function secretOption<T extends ZodType>(schema: T): T {
  registry().set(schema, 'secret');
  return schema;
}

/** Marks an option as a local filesystem path: `root: pathOption(z.string().min(1))`. */
export function pathOption<T extends ZodType>(schema: T): T {
  registry().set(schema, 'path');
  return schema;
}

/** A location inside an options object: `['credentials', 'secretAccessKey']`. */
export type OptionPath = Array<string | number>;

interface SchemaDefinition {
  type?: string;
  innerType?: ZodType;
  in?: ZodType;
  shape?: Record<string, ZodType>;
  options?: readonly ZodType[];
  valueType?: ZodType;
  element?: ZodType;
  left?: ZodType;
  right?: ZodType;
  getter?: () => ZodType;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'nonoptional', 'readonly', 'catch']);

function definitionOf(schema: ZodType): SchemaDefinition {
  return ((schema as unknown as { _zod?: { def?: SchemaDefinition } })._zod?.def ?? {}) as SchemaDefinition;
}

/**
 * The paths in `value` (options as written, before parsing) whose schema carries `mark`.
 * Follows objects, records, arrays, unions, intersections, pipes and the optional/default
 * wrappers; a value the schema does not describe is skipped (the schema reports it).
 */
export function markedOptionPaths(schema: ZodType, value: unknown, mark: OptionMark): OptionPath[] {
  const found = new Map<string, OptionPath>();
  const marks = registry();
  const visit = (current: ZodType | undefined, item: unknown, path: OptionPath, depth: number): void => {
    if (current === undefined || item === undefined || depth > 64) return;
    if (marks.get(current) === mark) {
      found.set(JSON.stringify(path), path);
      return;
    }
    const definition = definitionOf(current);
    const type = definition.type ?? '';
    const inner = WRAPPERS.has(type)
      ? definition.innerType
      : type === 'pipe'
        ? definition.in
        : type === 'lazy'
          ? definition.getter?.()
          : undefined;
    if (inner !== undefined) {
      visit(inner, item, path, depth + 1);
      return;
    }
    if (type === 'union') {
      for (const option of definition.options ?? []) visit(option, item, path, depth + 1);
      return;
    }
    if (type === 'intersection') {
      visit(definition.left, item, path, depth + 1);
      visit(definition.right, item, path, depth + 1);
      return;
    }
    if (type === 'array' && Array.isArray(item)) {
      for (const [index, entry] of item.entries()) visit(definition.element, entry, [...path, index], depth + 1);
      return;
    }
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return;
    if (type === 'object') {
      for (const [key, entry] of Object.entries(item)) {
        if (definition.shape && Object.hasOwn(definition.shape, key))
          visit(definition.shape[key], entry, [...path, key], depth + 1);
      }
    } else if (type === 'record') {
      for (const [key, entry] of Object.entries(item)) visit(definition.valueType, entry, [...path, key], depth + 1);
    }
  };
  visit(schema, value, [], 0);
  return [...found.values()];
}
