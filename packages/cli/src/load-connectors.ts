/**
 * The connectors the CLI knows: the file connector from core, the connector packages that
 * are installed beside the CLI, and custom connector modules a spec lists under
 * `connectors:` (TypeScript runs through Node's type stripping, no build step).
 *
 * Connector packages load only when a spec names them: a vendor SDK (the AWS SDK alone is
 * most of a second of start-up) is never paid for by a spec that does not use it.
 */
import { type Connector, ConnectorRegistry, fileConnector, type LoadedSpec, loadConnectorModules } from '@honk/core';

/** Installed connector packages by connector name, imported on first use. */
const INSTALLED: Readonly<Record<string, () => Promise<Connector | undefined>>> = {
  postgres: () => optional('@honk/connectors-postgres', 'postgresConnector'),
  s3: () => optional('@honk/connectors-s3', 's3Connector'),
  bigquery: () => optional('@honk/connectors-bigquery', 'bigQueryConnector'),
  hdfs: () => optional('@honk/connectors-hdfs', 'hdfsConnector'),
};

async function optional(specifier: string, exportName: string): Promise<Connector | undefined> {
  try {
    const module = (await import(specifier)) as Record<string, unknown>;
    return module[exportName] as Connector | undefined;
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Only the package itself missing means "not installed"; a broken install must surface.
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${specifier}'`))
      return undefined;
    throw error;
  }
}

/**
 * The file connector plus the installed packages among `names` (every installed package when
 * `names` is omitted: an agent serves whatever tasks its store holds).
 */
export async function builtinConnectors(names?: Iterable<string>): Promise<Connector[]> {
  const wanted =
    names === undefined ? Object.keys(INSTALLED) : [...new Set(names)].filter((name) => Object.hasOwn(INSTALLED, name));
  const found = await Promise.all(wanted.map((name) => INSTALLED[name]?.()));
  return [fileConnector as Connector, ...found.filter((connector): connector is Connector => connector !== undefined)];
}

/** Built-ins (those the spec names, or all without a spec) plus the spec's own connector modules. */
export async function connectorRegistry(loaded?: LoadedSpec): Promise<ConnectorRegistry> {
  const names = loaded ? Object.values(loaded.spec.connections).map((connection) => connection.connector) : undefined;
  const registry = new ConnectorRegistry(await builtinConnectors(names));
  if (loaded) for (const connector of await loadConnectorModules(loaded)) registry.register(connector);
  return registry;
}
