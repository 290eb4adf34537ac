/**
 * Agent classes: which agents of a fleet may claim which tasks.
 *
 * A task may require labels of the agent that runs it (`agentLabels: { region: eu }` on a
 * connection or a task of the spec, {@link TaskRecord.agentLabels} in the store); an agent
 * declares its labels and, optionally, the only connections it can reach (`honk agent
 * --label region=eu --connections warehouse-eu,lake-eu`). A task is claimed only by an
 * agent whose labels include every label the task requires and whose connection list, when
 * it has one, covers every connection the task uses. Every store applies
 * {@link agentClassAllows} (or the same rule in SQL) inside `claim`, and the KEDA scaler
 * query of the PostgreSQL store counts with it, so each class scales on its own backlog.
 *
 * Label keys and values are restricted to characters that survive every place a class is
 * written down: `key=value,key=value` environment variables, Kubernetes label values,
 * Prometheus label values and SQL literals.
 */
import { ConfigError } from '../errors/honk-error.ts';
import type { ClaimOptions, TaskRecord } from './task-store.ts';

const LABEL_KEY = /^[A-Za-z0-9](?:[A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/** What an agent of a class is: the subset of {@link ClaimOptions} that restricts a claim. */
export type AgentClassFilter = Pick<ClaimOptions, 'labels' | 'connections'>;

/**
 * True when an agent of class `agent` may claim `task`. An agent without `labels` is
 * unrestricted by labels (in-process agents of `honk run`); with `labels`, it needs every
 * label the task requires. An agent without `connections` takes any connections.
 */
export function agentClassAllows(
  agent: AgentClassFilter,
  task: Pick<TaskRecord, 'agentLabels' | 'connections'>,
): boolean {
  if (agent.labels !== undefined && task.agentLabels !== undefined) {
    for (const [key, value] of Object.entries(task.agentLabels)) {
      if (agent.labels[key] !== value) return false;
    }
  }
  if (agent.connections !== undefined) {
    for (const name of task.connections) if (!agent.connections.includes(name)) return false;
  }
  return true;
}

/**
 * Throws a ConfigError naming `where` unless `labels` is an object of label keys to
 * values: keys of 1–63 letters, digits, `.`, `_`, `-` or `/`, values of 1–63 letters,
 * digits, `.`, `_` or `-`, both starting and ending with a letter or digit.
 */
export function assertAgentLabels(labels: unknown, where: string): asserts labels is Record<string, string> {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw new ConfigError(`${where} must be a map of label names to values, e.g. { region: eu }.`);
  }
  for (const [key, value] of Object.entries(labels)) {
    if (!LABEL_KEY.test(key)) {
      throw new ConfigError(
        `${where}: label name ${JSON.stringify(key)} is not allowed; use 1 to 63 letters, digits, ".", "_", "-" or "/", starting and ending with a letter or digit (e.g. "region").`,
      );
    }
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) {
      throw new ConfigError(
        `${where}: the value of label "${key}" (${JSON.stringify(value)}) is not allowed; use 1 to 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit (e.g. "eu-west").`,
      );
    }
  }
}

/**
 * Throws a ConfigError naming `where` unless `name` can name an agent class: 1–63 letters,
 * digits, `.`, `_` or `-` (it becomes a Prometheus label value and part of Kubernetes names).
 */
export function assertAgentClassName(name: string, where: string): void {
  if (!LABEL_VALUE.test(name)) {
    throw new ConfigError(
      `${where}: class name ${JSON.stringify(name)} is not allowed; use 1 to 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit (e.g. "eu-west").`,
    );
  }
}

/**
 * Parses `region=eu,tier=gold` (the `--label` flag takes one `key=value`, the
 * `HONK_AGENT_LABELS` variable a comma-separated list) into labels. `where` names the flag
 * or variable in errors. A key given twice with different values is an error.
 */
export function parseAgentLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of text.split(',')) {
    const entry = item.trim();
    if (entry === '') continue;
    const equals = entry.indexOf('=');
    if (equals <= 0) {
      throw new ConfigError(`${where}: "${entry}" is not a label; write key=value, e.g. region=eu.`);
    }
    const key = entry.slice(0, equals).trim();
    const value = entry.slice(equals + 1).trim();
    if (labels[key] !== undefined && labels[key] !== value) {
      throw new ConfigError(
        `${where}: label "${key}" is given twice ("${labels[key]}" and "${value}"); an agent has one value per label.`,
      );
    }
    labels[key] = value;
  }
  assertAgentLabels(labels, where);
  return labels;
}

/**
 * Parses `warehouse-eu,lake-eu` (`--connections`, `HONK_AGENT_CONNECTIONS`) into a sorted
 * list of unique connection names. An empty list is an error: such an agent could claim
 * nothing that uses a connection, which is almost certainly a mistake in its configuration.
 */
export function parseConnectionList(text: string, where: string): string[] {
  const names = [
    ...new Set(
      text
        .split(',')
        .map((name) => name.trim())
        .filter((name) => name !== ''),
    ),
  ].sort();
  if (names.length === 0) {
    throw new ConfigError(
      `${where} is empty; list the connection names this agent may use, comma-separated (e.g. warehouse-eu,lake-eu), or leave it unset for any connection.`,
    );
  }
  return names;
}

/**
 * The labels a task requires, merged from its connections' and its own `agentLabels`
 * (later sources add labels; a conflicting value is refused, since no agent could run the
 * task). `sources` are `[where, labels]` pairs, `where` naming the spec path in errors.
 * Returns undefined when nothing is required.
 */
export function mergeAgentLabels(
  task: string,
  sources: ReadonlyArray<readonly [string, Record<string, string> | undefined]>,
): Record<string, string> | undefined {
  const merged: Record<string, string> = {};
  const origin: Record<string, string> = {};
  for (const [where, labels] of sources) {
    if (labels === undefined) continue;
    for (const [key, value] of Object.entries(labels)) {
      if (merged[key] !== undefined && merged[key] !== value) {
        throw new ConfigError(
          `Task "${task}" requires agent label "${key}" to be both "${merged[key]}" (${origin[key]}) and "${value}" (${where}); no agent can run it. Make the agentLabels agree, or split the task.`,
        );
      }
      merged[key] = value;
      origin[key] = where;
    }
  }
  return Object.keys(merged).length === 0 ? undefined : merged;
}
