import { HonkError } from '../errors/honk-error.ts';
import type { Connector } from './connector.ts';

/** The set of connectors a runtime knows, looked up by the `connector:` name in specs. */
export class ConnectorRegistry {
  readonly #connectors = new Map<string, Connector>();

  constructor(connectors: Iterable<Connector> = []) {
    for (const connector of connectors) this.register(connector);
  }

  register(connector: Connector): this {
    if (connector.specificationVersion !== 'v1') {
      throw new HonkError(
        'CONNECTOR_MISUSE',
        `Connector "${connector.name}" implements specification "${String(connector.specificationVersion)}"; this @honk/core supports "v1". Upgrade @honk/core or use a matching connector version.`,
      );
    }
    if (this.#connectors.has(connector.name) && this.#connectors.get(connector.name) !== connector) {
      throw new HonkError(
        'CONNECTOR_MISUSE',
        `Two different connectors are named "${connector.name}". Connector names must be unique.`,
      );
    }
    this.#connectors.set(connector.name, connector);
    return this;
  }

  has(name: string): boolean {
    return this.#connectors.has(name);
  }

  /** The connector, or a CONNECTOR_UNKNOWN error listing the known ones. */
  get(name: string): Connector {
    const connector = this.#connectors.get(name);
    if (!connector) {
      const known = [...this.#connectors.keys()].sort().join(', ') || '(none)';
      throw new HonkError(
        'CONNECTOR_UNKNOWN',
        `Unknown connector "${name}". Known connectors: ${known}. Install and register the connector package (or list its module under \`connectors:\` in the spec).`,
      );
    }
    return connector;
  }

  names(): string[] {
    return [...this.#connectors.keys()].sort();
  }
}
