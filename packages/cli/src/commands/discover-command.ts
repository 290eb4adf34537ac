/**
 * `honk discover <spec|connection>`: the datasets a connection holds (connector discovery,
 * metadata only), as a table or `--json`. The argument is a spec file (every connection of
 * the spec, or those named with `--connection`), a PostgreSQL URL, an `s3://bucket/prefix`
 * URL (the AWS SDK's default credentials) or a local directory (the file connector).
 */
import { resolve } from 'node:path';
import { ConfigError, type Connector, type DatasetInfo, loadSpec, registerSecret, resolveConnection } from '@honk/core';
import { type CliIo, EXIT } from '../cli-io.ts';
import { builtinConnectors, connectorRegistry } from '../load-connectors.ts';
import { textTable } from '../text-table.ts';

export interface DiscoverCommandOptions {
  connection?: string[];
  within?: string;
  limit?: number;
  json?: boolean;
}

interface Target {
  name: string;
  connector: Connector;
  options: Record<string, unknown>;
  within?: string;
  baseDir: string;
}

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

async function connectorNamed(name: string): Promise<Connector> {
  const found = (await builtinConnectors([name])).find((connector) => connector.name === name);
  if (!found) {
    throw new ConfigError(`The ${name} connector is not installed beside the CLI (install @honk/connectors-${name}).`);
  }
  return found;
}

/** Connection options for a URL given on the command line, or a ConfigError naming what is wrong. */
function optionsFor(connector: Connector, value: Record<string, unknown>, argument: string): Record<string, unknown> {
  const parsed = connector.optionsSchema.safeParse(value);
  if (parsed.success) return parsed.data as Record<string, unknown>;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`);
  throw new ConfigError(
    `honk discover: "${argument.replace(/\/\/[^@/]*@/, '//…@')}" is not a valid ${connector.name} connection (${problems.join('; ')}). Use a spec file for anything beyond a plain URL.`,
  );
}

/** What the argument names: the connections of a spec, or one connection given by URL or directory. */
async function targetsOf(argument: string, options: DiscoverCommandOptions, io: CliIo): Promise<Target[]> {
  if (/\.(ya?ml|json)$/i.test(argument)) {
    const loaded = await loadSpec(resolve(io.cwd, argument), { env: io.env });
    const registry = await connectorRegistry(loaded);
    const names = options.connection ?? Object.keys(loaded.spec.connections);
    return names.map((name) => {
      const { connection, connector } = resolveConnection(loaded, name, { registry, env: io.env });
      return { name, connector, options: connection.options, baseDir: loaded.baseDir };
    });
  }
  if (options.connection) {
    throw new ConfigError('--connection picks connections of a spec file; it does not apply to a URL or a directory.', {
      details: { option: '--connection' },
    });
  }
  if (/^postgres(ql)?:\/\//i.test(argument)) {
    const password = new URL(argument).password;
    if (password) registerSecret(decodeURIComponent(password));
    const connector = await connectorNamed('postgres');
    return [
      { name: 'postgres', connector, options: optionsFor(connector, { url: argument }, argument), baseDir: io.cwd },
    ];
  }
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(argument);
  if (s3) {
    const connector = await connectorNamed('s3');
    return [
      {
        name: 's3',
        connector,
        options: optionsFor(connector, { bucket: s3[1] }, argument),
        ...(s3[2] ? { within: s3[2] } : {}),
        baseDir: io.cwd,
      },
    ];
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(argument)) {
    throw new ConfigError(
      `honk discover: cannot discover "${argument.replace(/\/\/[^@/]*@/, '//…@')}": give a spec file, a postgres:// URL, an s3://bucket/prefix URL or a local directory.`,
    );
  }
  const connector = await connectorNamed('file');
  return [{ name: 'file', connector, options: { root: resolve(io.cwd, argument) }, baseDir: io.cwd }];
}

function humanBytes(bytes: number | undefined): string {
  if (bytes === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function table(datasets: readonly DatasetInfo[]): string {
  const rows = [
    ['NAME', 'KIND', 'ROWS (EST.)', 'SIZE', 'MODIFIED'],
    ...datasets.map((dataset) => [
      dataset.name,
      dataset.kind,
      dataset.estimatedRows === undefined ? '' : dataset.estimatedRows.toLocaleString('en-US'),
      humanBytes(dataset.bytes),
      dataset.modifiedAt ?? '',
    ]),
  ];
  return textTable(rows);
}

export async function discoverCommand(argument: string, options: DiscoverCommandOptions, io: CliIo): Promise<number> {
  const targets = await targetsOf(argument, options, io);
  const results: Array<{ connection: string; connector: string; datasets: DatasetInfo[] }> = [];
  for (const target of targets) {
    if (typeof target.connector.discover !== 'function') {
      throw new ConfigError(
        `Connection "${target.name}" uses the ${target.connector.name} connector, which cannot list its datasets (no discover()). ` +
          'Pick another connection with --connection.',
        { details: { connection: target.name, connector: target.connector.name } },
      );
    }
    const within = options.within ?? target.within;
    const datasets = await target.connector.discover({
      options: target.options,
      scope: {
        ...(within !== undefined ? { within } : {}),
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
      },
      context: {
        taskId: 'discover',
        connectionName: target.name,
        signal: new AbortController().signal,
        logger: quiet,
        baseDir: target.baseDir,
      },
    });
    results.push({ connection: target.name, connector: target.connector.name, datasets });
  }
  if (options.json) {
    io.stdout(`${JSON.stringify({ connections: results }, null, 2)}\n`);
    return EXIT.ok;
  }
  for (const result of results) {
    if (results.length > 1) io.stdout(`● ${result.connection} (${result.connector})\n`);
    io.stdout(result.datasets.length > 0 ? `${table(result.datasets)}\n` : '(no datasets)\n');
    io.stdout(`${result.datasets.length} dataset(s)${results.length > 1 ? '\n\n' : '\n'}`);
  }
  return EXIT.ok;
}
