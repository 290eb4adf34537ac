/**
 * Building blocks for TaskStore implementations (the in-memory table, the journal, the
 * PostgreSQL store, yours): input validation and normalisation, the error and duration
 * checks every store must make, and attempt-history helpers. Sharing them keeps every
 * backend's errors and records identical, which the conformance suite checks.
 */
import type { Json } from '../connector/connector.ts';
import { ConfigError, HonkError } from '../errors/honk-error.ts';
import { isValidTimeZone, parseTimeOfDay, type TaskWindow } from '../spec/task-window.ts';
import { assertAgentLabels } from './agent-class.ts';
import { hashDefinition } from './hash-definition.ts';
import type { TaskAttempt, TaskError, TaskInput } from './task-store.ts';

export { TaskEventHub } from './task-store-events.ts';

/** `maxAttempts` of a task input that sets none. */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** A validated, normalised task input. */
export interface PreparedTaskInput {
  id: string;
  definition: Json;
  definitionHash: string;
  priority: number;
  maxAttempts: number;
  /** ISO-8601 UTC. */
  runAt: string;
  /** Unique and sorted. */
  connections: string[];
  labels: Record<string, string>;
  /** Absent when the task requires no agent labels. */
  agentLabels: Record<string, string> | undefined;
  window: TaskWindow | undefined;
  entity: string | undefined;
}

/**
 * Validates every input of one `enqueue` call before anything is written, so a bad one
 * leaves the store untouched. Throws ConfigError naming the task and the field.
 */
export function prepareTaskInputs(inputs: readonly TaskInput[], now: Date): PreparedTaskInput[] {
  const seen = new Set<string>();
  return inputs.map((input, index) => {
    if (typeof input.id !== 'string' || input.id.length === 0) {
      throw new ConfigError(`enqueue input [${index}] has no id; every task needs a unique, non-empty string id.`);
    }
    if (seen.has(input.id)) {
      throw new ConfigError(`Task id "${input.id}" appears twice in one enqueue call; task ids must be unique.`);
    }
    seen.add(input.id);
    const priority = input.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new ConfigError(`Task "${input.id}": priority must be a finite number (got ${String(priority)}).`);
    }
    const maxAttempts = input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
      throw new ConfigError(`Task "${input.id}": maxAttempts must be an integer of at least 1 (got ${maxAttempts}).`);
    }
    const runAt = input.notBefore === undefined ? now : toDate(input.notBefore, `Task "${input.id}": notBefore`);
    if (input.window !== undefined) assertWindow(input.window, input.id);
    const connections = [...new Set(input.connections ?? [])].sort();
    if (connections.some((name) => typeof name !== 'string' || name.length === 0)) {
      throw new ConfigError(`Task "${input.id}": connections must be non-empty strings.`);
    }
    let agentLabels: Record<string, string> | undefined;
    if (input.agentLabels !== undefined) {
      assertAgentLabels(input.agentLabels, `Task "${input.id}": agentLabels`);
      if (Object.keys(input.agentLabels).length > 0) agentLabels = { ...input.agentLabels };
    }
    return {
      id: input.id,
      definition: input.definition,
      definitionHash: input.definitionHash ?? hashDefinition(input.definition),
      priority,
      maxAttempts,
      runAt: isoOf(runAt, `Task "${input.id}": notBefore`),
      connections,
      labels: { ...(input.labels ?? {}) },
      agentLabels,
      window: input.window === undefined ? undefined : { ...input.window },
      entity: input.entity,
    };
  });
}

/** Throws ConfigError unless `window` has valid `HH:MM` times and a known time zone. */
export function assertWindow(window: TaskWindow, id: string): void {
  for (const key of ['start', 'end'] as const) {
    try {
      parseTimeOfDay(window[key]);
    } catch {
      throw new ConfigError(
        `Task "${id}": window.${key} "${String(window?.[key])}" is not a time of day; write 24-hour "HH:MM", e.g. "06:30".`,
      );
    }
  }
  if (window.timezone !== undefined && !isValidTimeZone(window.timezone)) {
    throw new ConfigError(
      `Task "${id}": window.timezone "${window.timezone}" is not a known IANA time zone; use e.g. "UTC" or "Europe/Stockholm".`,
    );
  }
}

export function toDate(value: Date | string, what: string): Date {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new ConfigError(`${what} is not a valid date/time (${String(value)}); use an ISO-8601 timestamp.`);
  }
  return date;
}

const ISO_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** `toISOString()`, refusing instants outside years 0000–9999 (databases and SQL literals need the plain form). */
export function isoOf(date: Date, what: string): string {
  const text = Number.isNaN(date.getTime()) ? '' : date.toISOString();
  if (!ISO_PATTERN.test(text)) {
    throw new ConfigError(`${what} is not a date/time between the years 0 and 9999 (${String(date)}).`);
  }
  return text;
}

/** Throws ConfigError unless `value` is a positive number of milliseconds. */
export function assertDuration(value: number, operation: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(`${operation}() needs a positive duration in milliseconds (got ${String(value)}).`);
  }
}

/** The `{ code, message, retryable }` of an error given to `fail()`, or CONNECTOR_MISUSE. */
export function normaliseTaskError(error: TaskError, id: string): TaskError {
  if (typeof error?.code !== 'string' || typeof error.message !== 'string' || typeof error.retryable !== 'boolean') {
    throw new HonkError(
      'CONNECTOR_MISUSE',
      `fail() of task "${id}" needs an error of shape { code: string, message: string, retryable: boolean }.`,
    );
  }
  return { code: error.code, message: error.message, retryable: error.retryable };
}

/** Replaces the last history entry (the running attempt) with its ended form. */
export function endAttempt(history: TaskAttempt[], ended: Partial<TaskAttempt>): TaskAttempt[] {
  const last = history[history.length - 1];
  if (last === undefined) return history;
  return [...history.slice(0, -1), { ...last, ...ended }];
}

/** Drops keys whose value is undefined, so records stay clean JSON in every store. */
export function stripUndefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined) delete value[key];
  }
  return value;
}
