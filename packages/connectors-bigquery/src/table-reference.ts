/**
 * Table names: parsing `dataset.table` from a spec and quoting names into GoogleSQL.
 */
import { ConfigError } from '@honk/core';

/** A table in a project. */
export interface TableReference {
  projectId: string;
  datasetId: string;
  tableId: string;
}

// BigQuery's own rules: dataset ids are letters, digits and underscores; table ids also allow
// dashes and spaces (and more Unicode), but never a dot or a backtick.
const DATASET = /^[A-Za-z0-9_]{1,1024}$/;
const TABLE = /^[^.`@$]{1,1024}$/u;

/** Parses `dataset.table` (optionally `project.dataset.table`); throws ConfigError naming the option. */
export function parseTableName(name: string, projectId: string, option = 'table'): TableReference {
  const parts = name.replace(/^`|`$/g, '').split('.');
  const [project, dataset, table] = parts.length === 3 ? parts : [projectId, parts[0], parts[1]];
  if (parts.length < 2 || parts.length > 3 || !project || !dataset || !table) {
    throw new ConfigError(
      `BigQuery: \`${option}: ${name}\` is not a table name. Write it as dataset.table (for example sales.orders).`,
    );
  }
  if (!DATASET.test(dataset)) {
    throw new ConfigError(
      `BigQuery: dataset "${dataset}" in \`${option}: ${name}\` may hold only letters, digits and underscores.`,
    );
  }
  if (!TABLE.test(table)) {
    throw new ConfigError(
      `BigQuery: table "${table}" in \`${option}: ${name}\` may not contain '.', '\`', '@' or '$'.`,
    );
  }
  return { projectId: project, datasetId: dataset, tableId: table };
}

/** A quoted identifier (a column name) for GoogleSQL. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** A fully qualified, quoted table path for GoogleSQL: `` `project.dataset.table` ``. */
export function quoteTable(table: TableReference): string {
  return `\`${table.projectId}.${table.datasetId}.${table.tableId}\``;
}

/** `dataset.table` for messages. */
export function describeTable(table: TableReference): string {
  return `${table.datasetId}.${table.tableId}`;
}
