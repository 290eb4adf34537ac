/**
 * `module:` runs user code over record batches: `./transforms/orders.ts#maskEmails` names a
 * file (relative to the spec's directory) and an export (`default` when omitted). TypeScript
 * files run through Node's type stripping (erasable syntax only), so no build step is needed.
 */
import { existsSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RecordBatch, type Schema } from 'apache-arrow';
import { ConfigError, HonkError, isHonkError, SchemaMismatchError } from '../../errors/honk-error.ts';
import { moduleLoadFailure } from '../../spec/import-user-module.ts';
import type { BatchTransform, TransformContext } from '../transform.ts';
import { emptyBatch, sameType } from './schema-helpers.ts';

/** A module transform written as a plain function over batches. */
export type ModuleTransformFunction = (
  batch: RecordBatch,
  context: TransformContext,
) => RecordBatch | Promise<RecordBatch>;

/**
 * A module transform written as an object. Declare `outputSchema` when the function changes
 * the schema in ways that depend on more than the input schema; without it, Honk derives the
 * output schema at preflight by applying `apply` to a zero-row batch.
 */
export interface ModuleTransformObject {
  outputSchema?(input: Schema): Schema | Promise<Schema>;
  apply(batch: RecordBatch, context: TransformContext): RecordBatch | Promise<RecordBatch>;
}

/** What a transform module exports. */
export type ModuleTransformExport = ModuleTransformFunction | ModuleTransformObject;

/**
 * Identity helper that gives a module transform its types:
 * `export const maskEmails = defineTransform((batch) => …)`.
 */
export function defineTransform<T extends ModuleTransformExport>(transform: T): T {
  return transform;
}

export interface ModuleTransformOptions {
  /** Directory that relative module paths resolve against (the spec file's directory). */
  baseDir: string;
}

const LOADABLE = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);

function parseSpec(spec: string): { path: string; exportName: string } {
  const hash = spec.lastIndexOf('#');
  const path = (hash === -1 ? spec : spec.slice(0, hash)).trim();
  const exportName = (hash === -1 ? '' : spec.slice(hash + 1).trim()) || 'default';
  if (path === '') {
    throw new ConfigError(`transform.module "${spec}" has no file path. Write it as ./path/to/file.ts#exportName.`, {
      details: { option: 'transform.module' },
    });
  }
  return { path, exportName };
}

async function loadExport(spec: string, baseDir: string): Promise<ModuleTransformExport> {
  const { path, exportName } = parseSpec(spec);
  const file = isAbsolute(path) ? path : resolve(baseDir, path);
  const extension = extname(file).toLowerCase();
  if (!LOADABLE.has(extension)) {
    throw new ConfigError(
      `transform.module "${spec}": unsupported file type "${extension || '(none)'}". Use a .ts, .mts, .js or .mjs file.`,
      { details: { option: 'transform.module', path: file } },
    );
  }
  if (!existsSync(file)) {
    throw new ConfigError(
      `transform.module "${spec}": file ${file} does not exist (paths resolve against ${baseDir}).`,
      {
        details: { option: 'transform.module', path: file },
      },
    );
  }
  const url = pathToFileURL(file).href;
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`transform.module "${spec}": loading ${file} failed: ${moduleLoadFailure(error, file)}`, {
      cause: error,
      details: { option: 'transform.module', path: file },
    });
  }
  const exported = namespace[exportName];
  if (exported === undefined) {
    const names = Object.keys(namespace).filter((name) => name !== '__esModule');
    throw new ConfigError(
      `transform.module "${spec}": ${file} has no export named "${exportName}". Its exports: ${names.map((name) => `"${name}"`).join(', ') || '(none)'}.`,
      { details: { option: 'transform.module', path: file, export: exportName } },
    );
  }
  const isObject =
    typeof exported === 'object' &&
    exported !== null &&
    typeof (exported as ModuleTransformObject).apply === 'function';
  if (typeof exported !== 'function' && !isObject) {
    throw new ConfigError(
      `transform.module "${spec}": export "${exportName}" must be a function (batch, context) => RecordBatch or an object with apply(batch, context); got ${typeof exported}.`,
      { details: { option: 'transform.module', path: file, export: exportName } },
    );
  }
  return exported as ModuleTransformExport;
}

function assertBatch(spec: string, value: unknown): RecordBatch {
  // The brand check also accepts a batch built by another copy of apache-arrow.
  if (value instanceof RecordBatch || RecordBatch.isRecordBatch(value)) return value as RecordBatch;
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
  throw new ConfigError(
    `transform.module "${spec}" returned ${got} instead of an Apache Arrow RecordBatch. Return a RecordBatch (or a Promise of one) from the transform.`,
    { details: { option: 'transform.module' } },
  );
}

function sameSchema(a: Schema, b: Schema): boolean {
  if (a.fields.length !== b.fields.length) return false;
  return a.fields.every((field, i) => {
    const other = b.fields[i];
    return other !== undefined && other.name === field.name && sameType(field.type, other.type);
  });
}

function describeSchema(schema: Schema): string {
  return schema.fields.map((field) => `${field.name}: ${field.type}`).join(', ');
}

/**
 * Loads `spec` (`path#export`) on first use and applies it to every batch. Preflight derives
 * the output schema (from the module's `outputSchema`, or by running it on a zero-row batch);
 * each batch it returns must be a RecordBatch with that schema, so a module cannot change
 * the schema mid-stream behind the sink's back.
 */
export function moduleTransform(spec: string, options: ModuleTransformOptions): BatchTransform {
  let loaded: Promise<ModuleTransformExport> | undefined;
  let expected: Schema | undefined;
  const load = () => {
    loaded ??= loadExport(spec, options.baseDir);
    return loaded;
  };
  const run = async (transform: ModuleTransformExport, batch: RecordBatch, context: TransformContext) => {
    try {
      const result = typeof transform === 'function' ? transform(batch, context) : transform.apply(batch, context);
      return assertBatch(spec, await result);
    } catch (error) {
      if (isHonkError(error)) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new HonkError(
        'INTERNAL',
        `transform.module "${spec}" failed on rows ${context.rowOffset}..${context.rowOffset + Math.max(0, batch.numRows - 1)}: ${message}`,
        { cause: error, retryable: false, details: { option: 'transform.module', row: context.rowOffset } },
      );
    }
  };
  return {
    name: `module:${spec}`,
    async outputSchema(input: Schema): Promise<Schema> {
      const transform = await load();
      if (typeof transform !== 'function' && transform.outputSchema) {
        expected = await transform.outputSchema(input);
      } else {
        const empty = emptyBatch(input);
        expected = (await run(transform, empty, { rowOffset: 0, signal: new AbortController().signal })).schema;
      }
      return expected;
    },
    async apply(batch: RecordBatch, context: TransformContext): Promise<RecordBatch> {
      const result = await run(await load(), batch, context);
      if (expected && !sameSchema(expected, result.schema)) {
        throw new SchemaMismatchError(
          `transform.module "${spec}" returned a batch whose schema (${describeSchema(result.schema)}) differs from the one it declared at preflight (${describeSchema(expected)}). A module transform must return the same schema for every batch.`,
          { details: { option: 'transform.module', row: context.rowOffset } },
        );
      }
      return result;
    },
  };
}
