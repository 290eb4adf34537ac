/**
 * Reading spec files (YAML or JSON) and objects into a validated {@link LoadedSpec}.
 * Parsing checks structure only; `${env:…}` references stay unresolved until
 * `resolveSpec`, so `honk plan` validates a spec in a CI job without secrets.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Document, isMap, isNode, isPair, isScalar, LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors/honk-error.ts';
import { type EnvReference, envReferenceNames } from './env-reference.ts';
import { formatPath, type RawSpecIssue, SpecError, type SpecIssue, zodIssuesToSpecIssues } from './spec-error.ts';
import { type Spec, specSchema } from './spec-schema.ts';

/** A position in a spec file, 1-based. */
export interface SpecPosition {
  line: number;
  column: number;
}

/** A validated spec, with what is needed to resolve it later. */
export interface LoadedSpec {
  /** The validated spec, exactly as written (no defaults applied, env references unresolved). */
  spec: Spec;
  /** File name or label used in messages. */
  sourceName: string;
  /** Directory relative paths (connector modules, transform modules, file roots) resolve against. */
  baseDir: string;
  /** Environment to resolve `${env:…}` with; `resolveSpec` falls back to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Every `${env:NAME}` the spec uses, with its path: what a deployment must provide. */
  envReferences: EnvReference[];
  /** Where a path (`['tasks', 3, 'target']`) is in the source text, when it came from text. */
  locate?: (path: readonly PropertyKey[]) => SpecPosition | undefined;
}

export interface ParseSpecOptions {
  /** Shown in messages. Default `spec`. */
  sourceName?: string;
  /** Default: the directory of `sourceName` for files, else the working directory. */
  baseDir?: string;
  env?: Record<string, string | undefined>;
}

/**
 * Loads and validates a `.yaml`, `.yml` or `.json` spec file. Throws {@link SpecError} listing
 * every problem with its path and line, or ConfigError when the file cannot be read.
 */
export async function loadSpec(
  path: string,
  options: { env?: Record<string, string | undefined> } = {},
): Promise<LoadedSpec> {
  if (!/\.(ya?ml|json)$/i.test(path)) {
    throw new ConfigError(`Spec file "${path}" must end in .yaml, .yml or .json.`);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `Spec file "${path}" does not exist. Check the path (relative paths resolve against ${process.cwd()}).`
        : `Cannot read spec file "${path}": ${(error as Error).message}`,
      { cause: error },
    );
  }
  return parseSpec(text, { sourceName: path, baseDir: dirname(resolve(path)), env: options.env });
}

/**
 * Validates a spec given as text or as an object. Text is YAML, or strict JSON when
 * `sourceName` ends in `.json` (YAML would accept what JSON does not, such as a trailing
 * comma, so a file that other JSON tools reject would pass here). Throws {@link SpecError}.
 */
export function parseSpec(input: string | object, options: ParseSpecOptions = {}): LoadedSpec {
  const sourceName = options.sourceName ?? 'spec';
  const baseDir = options.baseDir ?? process.cwd();
  let raw: unknown = input;
  let locate: LoadedSpec['locate'];
  if (typeof input === 'string') {
    const jsonIssue = /\.json$/i.test(sourceName) ? strictJsonIssue(input) : undefined;
    const lineCounter = new LineCounter();
    const document = parseDocument(input, { lineCounter, prettyErrors: false, uniqueKeys: true });
    if (document.errors.length > 0) {
      throw new SpecError(
        document.errors.map((error) => {
          const position = lineCounter.linePos(error.pos[0]);
          return {
            path: '',
            message: `${sourceName.endsWith('.json') ? 'JSON' : 'YAML'} syntax error: ${error.message}`,
            line: position.line,
            column: position.col,
          };
        }),
        { sourceName },
      );
    }
    if (jsonIssue) throw new SpecError([jsonIssue], { sourceName });
    raw = document.toJS({ maxAliasCount: 100 });
    locate = (path) => locateInDocument(document, lineCounter, path);
  }
  const result = specSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    throw new SpecError(toSpecIssues(zodIssuesToSpecIssues(result.error.issues, specSchema), locate), { sourceName });
  }
  const loaded: LoadedSpec = {
    spec: result.data,
    sourceName,
    baseDir,
    envReferences: collectEnvReferences(result.data),
  };
  if (options.env) loaded.env = options.env;
  if (locate) Object.defineProperty(loaded, 'locate', { value: locate, enumerable: false });
  return loaded;
}

/**
 * Why `text` is not strict JSON, with the line and column when the parser says where. Errors
 * the YAML parser also sees are reported with its positions instead (checked first).
 */
function strictJsonIssue(text: string): SpecIssue | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const at = /at position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) : undefined;
    let line: number | undefined;
    let column: number | undefined;
    if (offset !== undefined) {
      const before = text.slice(0, offset).split('\n');
      line = before.length;
      column = (before.at(-1)?.length ?? 0) + 1;
    }
    const reason = message.replace(/\s*\(line \d+ column \d+\)$/, '').replace(/ in JSON at position \d+/, '');
    return {
      path: '',
      message: `JSON syntax error: ${reason}. A .json spec is strict JSON (no trailing commas or comments); use .yaml for YAML.`,
      ...(line !== undefined && column !== undefined ? { line, column } : {}),
    };
  }
}

/** Formats raw issues, adding line and column when the spec came from text. */
export function toSpecIssues(issues: readonly RawSpecIssue[], locate?: LoadedSpec['locate']): SpecIssue[] {
  return issues.map((issue) => {
    const position = locate?.(issue.path);
    return {
      path: formatPath(issue.path),
      message: issue.message,
      ...(position ? { line: position.line, column: position.column } : {}),
    };
  });
}

/** The nearest node to `path` (the key itself for a key that should not be there). */
function locateInDocument(
  document: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): SpecPosition | undefined {
  for (let length = path.length; length >= 0; length--) {
    const prefix = path.slice(0, length) as Array<string | number>;
    if (length > 0) {
      // Point at the key: "unknown key" and "bad value" both read best there, and a missing
      // key falls back to its parent's key.
      const parent = length === 1 ? document.contents : document.getIn(prefix.slice(0, -1), true);
      if (isMap(parent)) {
        const last = prefix[length - 1];
        const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === last);
        const node = pair?.key;
        if (isNode(node) && node.range) return position(lineCounter, node.range[0]);
        continue;
      }
    }
    const node = length === 0 ? document.contents : document.getIn(prefix, true);
    if (isNode(node) && node.range) return position(lineCounter, node.range[0]);
  }
  // An empty document: the problem is at its start.
  return { line: 1, column: 1 };
}

function position(lineCounter: LineCounter, offset: number): SpecPosition {
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

function collectEnvReferences(spec: Spec): EnvReference[] {
  const found: EnvReference[] = [];
  const visit = (value: unknown, path: PropertyKey[]): void => {
    if (typeof value === 'string') {
      for (const name of envReferenceNames(value)) found.push({ name, path: formatPath(path) });
    } else if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) visit(item, [...path, index]);
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
    }
  };
  visit(spec, []);
  return found;
}
