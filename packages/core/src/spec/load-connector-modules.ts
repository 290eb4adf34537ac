/**
 * Custom connectors named in a spec's `connectors:` list, so users can plug their own
 * storage systems into the `honk` CLI without writing a program. Each entry is a module path
 * relative to the spec file (`./connectors/ftp.ts`), or a package name, optionally with
 * `#exportName` to pick one export. Without `#`, the default export and every named export
 * that is a connector are taken. TypeScript modules run through Node's type stripping, so
 * they need no build (erasable syntax only, see import-user-module.ts).
 */
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Connector } from '../connector/connector.ts';
import { ConfigError } from '../errors/honk-error.ts';
import { moduleLoadFailure } from './import-user-module.ts';
import type { LoadedSpec } from './load-spec.ts';

/** True for objects shaped like a connector (any specification version: the registry checks it). */
export function looksLikeConnector(value: unknown): value is Connector {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.name === 'string' &&
    'specificationVersion' in candidate &&
    typeof candidate.optionsSchema === 'object' &&
    typeof candidate.endpointSchema === 'object'
  );
}

/**
 * Imports the modules listed under `connectors:` and returns their connectors, in list order.
 * Throws ConfigError naming the entry (`connectors[1]`) when a module cannot be loaded or
 * exports no connector. Each connector remembers where it came from
 * ({@link connectorModuleOf}), so task records can name the module for agents.
 */
export async function loadConnectorModules(loaded: LoadedSpec, baseDir: string = loaded.baseDir): Promise<Connector[]> {
  const found: Connector[] = [];
  const entries = loaded.spec.connectors ?? [];
  for (const [index, entry] of entries.entries()) {
    found.push(
      ...(await importConnectorModule(entry, {
        baseDir,
        where: `connectors[${index}] in ${loaded.sourceName}`,
        path: `connectors[${index}]`,
      })),
    );
  }
  return found;
}

/**
 * Imports one connector module entry (`./ftp.ts`, `/abs/ftp.ts#ftp`, `@acme/connectors`):
 * a path resolves against `baseDir`, a package name from `baseDir` (falling back to Node's
 * own resolution). Without `#export`, the default export and every named export that is a
 * connector are taken.
 */
export async function importConnectorModule(
  entry: string,
  options: { baseDir: string; where: string; path?: string },
): Promise<Connector[]> {
  const { baseDir, where } = options;
  const details = options.path ? { path: options.path } : {};
  const hash = entry.lastIndexOf('#');
  const specifier = hash > 0 ? entry.slice(0, hash) : entry;
  const exportName = hash > 0 ? entry.slice(hash + 1) : undefined;
  const location = isPathSpecifier(specifier) ? resolve(baseDir, specifier) : specifier;
  let namespace: Record<string, unknown>;
  try {
    namespace = interopNamespace(await importModule(specifier, baseDir));
  } catch (error) {
    throw new ConfigError(
      `${where}: cannot load connector module "${specifier}" (resolved against ${baseDir}): ${moduleLoadFailure(error, isPathSpecifier(specifier) ? location : undefined)}`,
      { cause: error, details },
    );
  }
  if (exportName !== undefined) {
    const value = namespace[exportName];
    if (!looksLikeConnector(value)) {
      throw new ConfigError(
        `${where}: module "${specifier}" has no connector export named "${exportName}". Connector exports: ${connectorExportNames(namespace).join(', ') || '(none)'}.`,
        { details },
      );
    }
    remember(value, `${location}#${exportName}`);
    return [value];
  }
  const fromModule = new Map<Connector, string>();
  for (const [name, value] of Object.entries(namespace)) {
    if (looksLikeConnector(value) && !fromModule.has(value)) fromModule.set(value, name);
  }
  if (fromModule.size === 0) {
    throw new ConfigError(
      `${where}: module "${specifier}" exports no connector. Export one (default or named) created with defineConnector({ specificationVersion: 'v1', name, optionsSchema, endpointSchema, … }).`,
      { details },
    );
  }
  for (const [connector, name] of fromModule) remember(connector, `${location}#${name}`);
  return [...fromModule.keys()];
}

const ORIGINS = Symbol.for('honk.connector-module-origins');

function origins(): WeakMap<object, string> {
  const holder = globalThis as unknown as Record<symbol, WeakMap<object, string> | undefined>;
  holder[ORIGINS] ??= new WeakMap();
  return holder[ORIGINS];
}

function remember(connector: Connector, module: string): void {
  if (!origins().has(connector)) origins().set(connector, module);
}

/**
 * Where a connector loaded from a module came from: an absolute file path or a package name,
 * with `#export` (`/app/connectors/ftp.ts#ftp`). Undefined for connectors registered in code
 * (built-ins, installed packages): agents are expected to have those already.
 */
export function connectorModuleOf(connector: Connector): string | undefined {
  return origins().get(connector);
}

/** True for `./x`, `../x` and absolute paths; anything else is a package name. */
export function isPathSpecifier(specifier: string): boolean {
  return specifier.startsWith('.') || isAbsolute(specifier);
}

/**
 * A module compiled as CommonJS (a `.ts` file outside a `"type": "module"` package) arrives
 * with its exports object as `default`; lift those exports up so both shapes look alike.
 */
function interopNamespace(namespace: Record<string, unknown>): Record<string, unknown> {
  const inner = namespace.default;
  if (inner === null || typeof inner !== 'object' || looksLikeConnector(inner)) return namespace;
  const lifted: Record<string, unknown> = { ...(inner as Record<string, unknown>) };
  for (const [key, value] of Object.entries(namespace)) if (key !== 'default' && !(key in lifted)) lifted[key] = value;
  return lifted;
}

function connectorExportNames(namespace: Record<string, unknown>): string[] {
  return Object.entries(namespace)
    .filter(([, value]) => looksLikeConnector(value))
    .map(([name]) => name);
}

async function importModule(specifier: string, baseDir: string): Promise<Record<string, unknown>> {
  let url: string;
  if (isPathSpecifier(specifier)) url = pathToFileURL(resolve(baseDir, specifier)).href;
  else {
    // A package name resolves from the spec's directory, like the user's own code would.
    try {
      url = pathToFileURL(createRequire(resolve(baseDir, 'package.json')).resolve(specifier)).href;
    } catch {
      url = specifier;
    }
  }
  return (await import(url)) as Record<string, unknown>;
}
