/**
 * The task record a store keeps: self-contained, so a task enqueued anywhere (a laptop, a CI
 * job, Backstage) runs the same on any agent.
 *
 * - Defaults are merged in; `${env:…}` references stay unresolved, so each agent resolves
 *   them from its own environment and no secret is written to a store.
 * - Relative paths are made absolute against the spec's directory: connection options a
 *   connector marks with `pathOption` (the file connector's `root`) and `transform.module`.
 *   The spec's directory travels as `baseDir` for paths a connector resolves itself.
 * - Custom connectors the task uses are named by module (absolute path or package name,
 *   with the export), so an agent can load them — if its module allow-list trusts them.
 * - Credentials written literally (options a connector marks with `secretOption`, passwords
 *   inside URLs) are replaced by `${env:HONK_SPEC_CREDENTIAL_…}` references; their values
 *   stay in the memory of the process that read the spec (see {@link LiteralCredential}).
 */
import { isAbsolute, resolve } from 'node:path';
import type { Connector } from '../connector/connector.ts';
import { markedOptionPaths, type OptionPath } from '../connector/option-marks.ts';
import { registerSecret } from '../errors/redact.ts';
import { modulePathOf } from './check-transform.ts';
import { hasEnvReference } from './env-reference.ts';
import { connectorModuleOf } from './load-connector-modules.ts';
import { LITERAL_CREDENTIAL_PREFIX } from './resolve-env.ts';
import { formatPath } from './spec-error.ts';
import type { ConnectionSpec, DefaultsSpec, Spec, TaskSpec } from './spec-schema.ts';

/**
 * A task as stores keep it: JSON, defaults merged, `${env:…}` unresolved, with the
 * connections it uses. An agent turns it back into a runnable task with its own environment.
 */
export interface PortableTask {
  task: TaskSpec;
  connections: Record<string, ConnectionSpec>;
  /** The spec's directory (absolute): where relative paths a connector resolves itself start. */
  baseDir?: string;
  /** sha256 (hex) of the spec's text: which version of which spec the task came from. */
  specHash?: string;
  /** Custom connectors the task uses, by connector name: `/abs/ftp.ts#ftp` or `@acme/connectors#ftp`. */
  connectorModules?: Record<string, string>;
}

/** A credential the spec wrote literally, kept out of the task record. */
export interface LiteralCredential {
  /** The variable the record refers to instead (`HONK_SPEC_CREDENTIAL_WAREHOUSE_URL`). */
  env: string;
  /** Where it is in the spec: `connections.warehouse.url`. */
  path: string;
  /** The value. Registered as a secret; never print or store it. */
  value: string;
}

export interface PortableTaskContext {
  /** The spec's directory. */
  baseDir: string;
  /** Connectors by connection name, for their option marks and module origin. */
  connectors: ReadonlyMap<string, Connector>;
  specHash?: string;
}

/** Builds the record of one task and collects the literal credentials it kept out. */
export function portableTask(
  task: TaskSpec,
  spec: Spec,
  context: PortableTaskContext,
): { portable: PortableTask; credentials: LiteralCredential[] } {
  const effective = withDefaults(task, spec.defaults ?? {});
  const module = effective.transform?.module;
  if (module !== undefined && !hasEnvReference(module)) {
    const file = modulePathOf(module);
    if (!isAbsolute(file))
      effective.transform = { ...effective.transform, module: absoluteModule(module, context.baseDir) };
  }
  const credentials: LiteralCredential[] = [];
  const connections: Record<string, ConnectionSpec> = {};
  const connectorModules: Record<string, string> = {};
  for (const name of [task.source.connection, task.target.connection]) {
    const connection = structuredClone(spec.connections[name]!);
    const connector = context.connectors.get(name);
    if (connector) {
      const { connector: _name, maxConcurrency: _limit, ...options } = connection;
      for (const path of markedOptionPaths(connector.optionsSchema, options, 'path')) {
        absolutise(connection, path, context.baseDir);
      }
      for (const path of markedOptionPaths(connector.optionsSchema, options, 'secret')) {
        keepOut(connection, name, path, credentials);
      }
      const origin = connectorModuleOf(connector);
      if (origin !== undefined) connectorModules[connection.connector] = origin;
    }
    stripUrlPasswords(connection, name, [], credentials);
    connections[name] = connection;
  }
  const portable: PortableTask = { task: effective, connections, baseDir: context.baseDir };
  if (context.specHash) portable.specHash = context.specHash;
  if (Object.keys(connectorModules).length > 0) portable.connectorModules = connectorModules;
  return { portable, credentials };
}

/** The task with `defaults:` merged in. */
function withDefaults(task: TaskSpec, defaults: DefaultsSpec): TaskSpec {
  const effective: TaskSpec = structuredClone(task);
  if (defaults.retry || task.retry) {
    effective.retry = {
      ...defaults.retry,
      ...task.retry,
      ...(defaults.retry?.backoff || task.retry?.backoff
        ? { backoff: { ...defaults.retry?.backoff, ...task.retry?.backoff } }
        : {}),
    };
  }
  if (defaults.validate || task.validate) effective.validate = { ...defaults.validate, ...task.validate };
  const snapshot = task.snapshot ?? defaults.snapshot;
  if (snapshot !== undefined) effective.snapshot = structuredClone(snapshot);
  const batchRows = task.batchRows ?? defaults.batchRows;
  if (batchRows !== undefined) effective.batchRows = batchRows;
  const idleTimeout = task.idleTimeout ?? defaults.idleTimeout;
  if (idleTimeout !== undefined) effective.idleTimeout = idleTimeout;
  const timeout = task.timeout ?? defaults.timeout;
  if (timeout !== undefined) effective.timeout = timeout;
  return effective;
}

function absoluteModule(module: string, baseDir: string): string {
  const hash = module.lastIndexOf('#');
  const file = resolve(baseDir, modulePathOf(module));
  return hash === -1 ? file : `${file}${module.slice(hash)}`;
}

type Holder = Record<string | number, unknown>;

function parentOf(root: Holder, path: OptionPath): { holder: Holder; key: string | number } | undefined {
  let holder: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (holder === null || typeof holder !== 'object') return undefined;
    holder = (holder as Holder)[key];
  }
  if (holder === null || typeof holder !== 'object') return undefined;
  return { holder: holder as Holder, key: path[path.length - 1]! };
}

function absolutise(connection: ConnectionSpec, path: OptionPath, baseDir: string): void {
  const at = parentOf(connection as Holder, path);
  const value = at?.holder[at.key];
  // A value with a reference is finished by the agent's environment; a relative rest of it
  // resolves against `baseDir`, which the record carries.
  if (at && typeof value === 'string' && !hasEnvReference(value) && !isAbsolute(value)) {
    at.holder[at.key] = resolve(baseDir, value);
  }
}

/** The variable name a literal credential is referred to by in a record. */
function literalName(connection: string, path: readonly PropertyKey[]): string {
  const words = [connection, ...path.map(String)].join('_');
  return `${LITERAL_CREDENTIAL_PREFIX}${words.replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}`;
}

/** True when `text` holds something besides `${env:…}` references. */
function hasLiteral(text: string): boolean {
  return text.replace(/\$\{env:[A-Za-z_][A-Za-z0-9_]*\}/g, '').length > 0;
}

function keepOut(connection: ConnectionSpec, name: string, path: OptionPath, found: LiteralCredential[]): void {
  const at = parentOf(connection as Holder, path);
  const value = at?.holder[at.key];
  if (!at || typeof value !== 'string' || !hasLiteral(value)) return;
  const env = literalName(name, path);
  registerSecret(value);
  found.push({ env, path: formatPath(['connections', name, ...path]), value });
  at.holder[at.key] = `\${env:${env}}`;
}

const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)([^@/\s]+)(@)/gi;
const ENV_REFERENCE = /\$\{env:[A-Za-z_][A-Za-z0-9_]*\}/g;
/** Stands in for a reference while URLs are parsed (references contain `:` themselves). */
const MASK = /\uE000(\d+)\uE000/g;

/** Replaces literal passwords inside URLs anywhere in the options (`postgres://user:pw@host`). */
function stripUrlPasswords(value: unknown, name: string, path: Array<string | number>, found: LiteralCredential[]) {
  if (value === null || typeof value !== 'object') return;
  for (const [key, item] of Object.entries(value as Holder)) {
    const at = [...path, key];
    if (typeof item !== 'string') {
      stripUrlPasswords(item, name, at, found);
      continue;
    }
    const references: string[] = [];
    const masked = item.replace(ENV_REFERENCE, (reference) => `\uE000${references.push(reference) - 1}\uE000`);
    const unmask = (text: string) => text.replace(MASK, (_whole, index: string) => references[Number(index)]!);
    let count = 0;
    const replaced = masked.replace(URL_PASSWORD, (whole, head: string, password: string, tail: string) => {
      const literal = unmask(password);
      if (!hasLiteral(literal)) return whole;
      const env = literalName(name, count === 0 ? at : [...at, count]);
      count += 1;
      registerSecret(literal);
      found.push({ env, path: formatPath(['connections', name, ...at]), value: literal });
      return `${head}\${env:${env}}${tail}`;
    });
    if (count > 0) (value as Holder)[key] = unmask(replaced);
  }
}
