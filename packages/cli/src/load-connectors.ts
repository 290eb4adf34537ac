/**
 * The connectors the CLI knows: the file connector from core, the connector packages that
 * are installed beside the CLI, and custom connector modules a spec lists under
 * `connectors:` (TypeScript loads without a build step).
 */
import { type Connector, ConnectorRegistry, fileConnector, type LoadedSpec, loadConnectorModules } from '@honk/core';

async function optional(specifier: string, exportName: string): Promise<Connector | undefined> {
  try {
    const module = (await import(specifier)) as Record<string, unknown>;
    return module[exportName] as Connector | undefined;
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

export async function builtinConnectors(): Promise<Connector[]> {
  const found = await Promise.all([
    optional('@honk/connectors-postgres', 'postgresConnector'),
    optional('@honk/connectors-s3', 's3Connector'),
  ]);
  return [fileConnector as Connector, ...found.filter((connector): connector is Connector => connector !== undefined)];
}

/** Built-ins plus the spec's own connector modules. */
export async function connectorRegistry(loaded?: LoadedSpec): Promise<ConnectorRegistry> {
  const registry = new ConnectorRegistry(await builtinConnectors());
  if (loaded) for (const connector of await loadConnectorModules(loaded)) registry.register(connector);
  return registry;
}
