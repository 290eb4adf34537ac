/**
 * Resolving one named connection of a spec on its own, for work that involves no task:
 * discovery (`honk discover`, catalog providers). The same rules as `resolveSpec`: `${env:…}`
 * replaced (values registered as secrets), options checked by the connector's schema.
 */
import type { Connector } from '../connector/connector.ts';
import type { ConnectorRegistry } from '../connector/connector-registry.ts';
import { ConfigError } from '../errors/honk-error.ts';
import { registerSecret } from '../errors/redact.ts';
import { substituteEnvReferences } from './env-reference.ts';
import { type LoadedSpec, toSpecIssues } from './load-spec.ts';
import type { ResolvedConnection } from './resolve-spec.ts';
import { type RawSpecIssue, SpecError, zodIssuesToSpecIssues } from './spec-error.ts';

/** A resolved connection with its connector. */
export interface ConnectionWithConnector {
  connection: ResolvedConnection;
  connector: Connector;
}

/**
 * Resolves `connections.<name>` of a loaded spec. Throws a ConfigError naming the known
 * connections for an unknown name, a `CONNECTOR_UNKNOWN` HonkError for an unknown connector,
 * and a {@link SpecError} listing unset variables and invalid options.
 */
export function resolveConnection(
  loaded: LoadedSpec,
  name: string,
  options: { registry: ConnectorRegistry; env?: Record<string, string | undefined> },
): ConnectionWithConnector {
  const spec = loaded.spec.connections[name];
  if (!spec || !Object.hasOwn(loaded.spec.connections, name)) {
    throw new ConfigError(
      `${loaded.sourceName} has no connection "${name}". Known connections: ${Object.keys(loaded.spec.connections).join(', ') || '(none)'}.`,
      { details: { option: 'connection', connection: name } },
    );
  }
  const connector = options.registry.get(spec.connector);
  const env = options.env ?? loaded.env ?? process.env;
  const path = ['connections', name];
  const issues: RawSpecIssue[] = [];
  const { connector: _connector, maxConcurrency, ...raw } = spec;
  const visit = (value: unknown, at: PropertyKey[]): unknown => {
    if (typeof value === 'string') {
      return substituteEnvReferences(
        value,
        (variable) => {
          const found = env[variable];
          if (found !== undefined) registerSecret(found);
          return found;
        },
        (variable) =>
          issues.push({
            path: at,
            message: `environment variable ${variable} is not set; set it where discovery runs (its value is never printed)`,
          }),
      );
    }
    if (Array.isArray(value)) return value.map((item, index) => visit(item, [...at, index]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, visit(item, [...at, key])]));
    }
    return value;
  };
  const substituted = visit(raw, path);
  if (issues.length === 0) {
    const parsed = connector.optionsSchema.safeParse(substituted, { reportInput: true });
    if (parsed.success) {
      return {
        connector,
        connection: {
          name,
          connector: connector.name,
          ...(maxConcurrency !== undefined ? { maxConcurrency } : {}),
          options: parsed.data as Record<string, unknown>,
        },
      };
    }
    issues.push(...zodIssuesToSpecIssues(parsed.error.issues, connector.optionsSchema, path));
  }
  throw new SpecError(toSpecIssues(issues, loaded.locate), { sourceName: loaded.sourceName });
}
