/**
 * Logging: pino JSON lines with secrets removed, or any injected {@link Logger}.
 *
 * Two layers keep secrets out of logs. Keys that look like credentials (`password`,
 * `token`, `secretAccessKey` …) are masked at any depth, and values registered with
 * `registerSecret` (everything resolved from `${env:…}`) plus passwords inside URLs are
 * masked inside any string, the message included. Errors are logged as
 * `{ type, code, message, stack }` with the same masking.
 */
import { type DestinationStream, type LevelWithSilent, type Logger as PinoLogger, pino } from 'pino';
import type { Logger } from '../connector/connector.ts';
import { isHonkError } from '../errors/honk-error.ts';
import { redact, redactText } from '../errors/redact.ts';
import type { HonkEventMap, HonkEventName, HonkEvents } from './events.ts';

export type { Logger };

/** A logger that drops everything. */
export const silentLogger: Logger = Object.freeze({ debug() {}, info() {}, warn() {}, error() {} });

/** Depth beyond which log objects are summarised rather than walked (cycles, huge reports). */
const MAX_DEPTH = 8;

function redactError(error: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = { type: error.name, message: redactText(error.message) };
  if (isHonkError(error)) {
    out.code = error.code;
    out.retryable = error.retryable;
    if (Object.keys(error.details).length > 0) out.details = redactValue(error.details, depth + 1);
  }
  if (error.stack) out.stack = redactText(error.stack);
  if (error.cause !== undefined && depth < MAX_DEPTH) out.cause = redactValue(error.cause, depth + 1);
  return out;
}

function redactValue(value: unknown, depth: number): unknown {
  if (value instanceof Error) return redactError(value, depth);
  if (depth >= MAX_DEPTH && value !== null && typeof value === 'object') return '[deep object]';
  if (Array.isArray(value)) return value.map((item) => redactValue(item, depth + 1));
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    // `redact` masks credential-like keys; walking first converts nested errors to plain objects.
    const walked: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) walked[key] = redactValue(item, depth + 1);
    return redact(walked);
  }
  return typeof value === 'string' ? redactText(value) : value;
}

/** A log object with credential-like keys and registered secret values masked; errors made plain. */
export function redactLogObject(object: Record<string, unknown>): Record<string, unknown> {
  return redactValue(object, 0) as Record<string, unknown>;
}

export interface CreateLoggerOptions {
  /** Minimum level. Default `info` (or `HONK_LOG_LEVEL`). */
  level?: LevelWithSilent;
  /** Where JSON lines go. Default stdout. Anything with `write(line)` works. */
  destination?: DestinationStream;
  /** Fields on every line, e.g. `{ agentId }`. */
  base?: Record<string, unknown>;
}

/**
 * A pino logger writing JSON lines with secrets removed. It satisfies {@link Logger}, so it
 * can be passed to agents, runTask and connectors.
 */
export function createLogger(options: CreateLoggerOptions = {}): PinoLogger {
  const level = options.level ?? (process.env.HONK_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info';
  return pino(
    {
      level,
      base: options.base ?? null,
      timestamp: pino.stdTimeFunctions.isoTime,
      // Errors are already plain (and masked) by formatters.log; pino's serializer would re-type them.
      serializers: { err: (value: unknown) => value },
      // `formatters.log` runs before serializers, so errors are made plain (and masked) here.
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactLogObject(object),
      },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((arg) => (typeof arg === 'string' ? redactText(arg) : arg));
          // An Error passed first is logged under `err`, masked by formatters.log.
          if (masked[0] instanceof Error) masked[0] = { err: masked[0] };
          return method.apply(this, masked as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
}

/**
 * Wraps any {@link Logger} (a host application's pino, winston adapter, console shim) so what
 * Honk logs through it is masked the same way as with {@link createLogger}.
 */
export function redactingLogger(logger: Logger): Logger {
  const wrap =
    (level: keyof Logger) =>
    (object: Record<string, unknown>, message?: string): void => {
      const masked = redactLogObject(object);
      if (message === undefined) logger[level](masked);
      else logger[level](masked, redactText(message));
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}

/** How an event becomes a log line: level, message, and the fields worth keeping. */
type LogRule<Name extends HonkEventName> = {
  level: keyof Logger;
  message: string | ((payload: HonkEventMap[Name]) => string);
  fields?: (payload: HonkEventMap[Name]) => Record<string, unknown>;
};

const stripReport = ({ report: _report, ...rest }: HonkEventMap['task-succeeded']): Record<string, unknown> => rest;

const rules: { [Name in HonkEventName]: LogRule<Name> } = {
  'agent-started': { level: 'info', message: 'agent started' },
  'agent-stopping': { level: 'info', message: (p) => `agent stopping (${p.reason})` },
  'agent-stopped': { level: 'info', message: 'agent stopped' },
  'task-claimed': { level: 'info', message: 'task claimed' },
  'task-phase': { level: 'debug', message: (p) => `task phase ${p.phase}` },
  'task-progress': { level: 'debug', message: 'task progress' },
  'task-succeeded': { level: 'info', message: 'task succeeded', fields: stripReport },
  'task-retrying': { level: 'warn', message: (p) => `task failed (${p.error.code}), retrying at ${p.retryAt}` },
  'task-dead': { level: 'error', message: (p) => `task dead-lettered (${p.error.code}, ${p.reason})` },
  'task-released': { level: 'warn', message: (p) => `task released (${p.reason})` },
  'task-lease-lost': { level: 'warn', message: 'task lease lost; run aborted before publish' },
  'connection-paused': {
    level: 'error',
    message: (p) => `connection "${p.connection}" paused after ${p.failures} ${p.code} failures until ${p.until}`,
  },
  'connection-resumed': { level: 'info', message: (p) => `connection "${p.connection}" resumed` },
  'schedule-enqueued': { level: 'info', message: 'scheduled run enqueued' },
  'snapshot-discarded': { level: 'info', message: 'snapshot discarded' },
};

/**
 * Logs every event through `logger` (one line per event; progress and phases at debug).
 * Returns a function that stops logging.
 */
export function attachLogging(events: HonkEvents, logger: Logger): () => void {
  const safe = redactingLogger(logger);
  return events.onAny((name, payload) => {
    const rule = rules[name] as LogRule<typeof name>;
    const fields = rule.fields ? rule.fields(payload) : (payload as unknown as Record<string, unknown>);
    const message = typeof rule.message === 'function' ? rule.message(payload) : rule.message;
    safe[rule.level]({ event: name, ...fields }, message);
  });
}
