/**
 * Honk's error taxonomy.
 *
 * Every error Honk raises on purpose is a {@link HonkError}: it carries a stable
 * machine-readable `code` (alerts, dead-letter reasons and metrics key on it), whether a
 * retry can help (`retryable`), and the underlying `cause`. Messages say what is wrong,
 * where (connector, option, task, column) and how to fix it. They never contain secrets:
 * callers pass values through {@link redact} before putting them into a message.
 *
 * Errors are recognised by a `Symbol.for` brand rather than `instanceof`, so two copies of
 * @honk/core in one process (a CLI plus a user's service, say) still understand each other:
 * `isHonkError(value)` for any of them, `NoSpaceError.isInstance(value)` (every class has
 * one) for a particular class. Classes whose errors carry facts a program acts on have them
 * as typed fields (`NoSpaceError.path`, `TimedOutError.phase`), mirrored into `details` so
 * the JSON form in task records keeps them. The codes, what they mean and whether they are
 * retried are listed in docs/errors.md.
 */

import { noSpaceError } from './no-space.ts';
import { findSystemError, systemErrorCode, TRANSIENT_SYSTEM_CODES } from './system-error-codes.ts';

const BRAND = Symbol.for('honk.error');
/** The class names an error is an instance of (its own and its ancestors'), for `isInstance`. */
const KINDS = Symbol.for('honk.error.kinds');

/** Stable error codes. Adding a code is a minor change; renaming one is breaking. See docs/errors.md. */
export type HonkErrorCode =
  | 'CONFIG_INVALID'
  | 'CONNECTOR_UNKNOWN'
  | 'CAPABILITY_MISSING'
  | 'AUTH_FAILED'
  | 'NOT_FOUND'
  | 'SCHEMA_MISMATCH'
  | 'VALIDATION_FAILED'
  | 'TRANSIENT'
  | 'SOURCE_CHANGED'
  | 'CHUNKS_MISSING'
  | 'CHUNK_FAILED'
  | 'TIMED_OUT'
  | 'NO_SPACE'
  | 'ABORTED'
  | 'LEASE_LOST'
  | 'CONNECTOR_MISUSE'
  | 'DATA_CORRUPT'
  | 'STORE_UNAVAILABLE'
  | 'MODULE_NOT_ALLOWED'
  | 'INTERNAL';

export interface HonkErrorOptions {
  cause?: unknown;
  /** Overrides the class default. */
  retryable?: boolean;
  /** Structured, secret-free details (column, row, option path …) for reports. */
  details?: Record<string, unknown>;
  /**
   * The shortest sensible wait before another attempt, in ms. Agents wait at least this long
   * (capped by the task's `retry.backoff.maxMs`), whatever the jittered backoff says.
   */
  retryAfterMs?: number;
}

export class HonkError extends Error {
  /**
   * The name {@link HonkError.isInstance} checks for. Every subclass declares its own, so
   * `TransientError.isInstance(error)` is true for a TransientError and its subclasses only.
   */
  static readonly kind: string = 'HonkError';

  /**
   * `instanceof` that works across copies of @honk/core (a CLI and a user's service in one
   * process, two versions in node_modules): recognises the error by its `Symbol.for` brand
   * and the class names it recorded at construction, never by prototype identity.
   *
   * @example if (NoSpaceError.isInstance(error)) console.log(error.path, error.freeBytes);
   */
  static isInstance<T extends HonkError>(this: { readonly kind: string; prototype: T }, value: unknown): value is T {
    // `this` is the class the call names (ConfigError.isInstance → ConfigError): that is the point.
    // biome-ignore lint/complexity/noThisInStatic: polymorphic static, see above
    const kind = this.kind;
    if (!isHonkError(value)) return false;
    if (kind === HonkError.kind) return true;
    const kinds = (value as unknown as Record<symbol, unknown>)[KINDS];
    // An error from a copy that predates the class list still has its class name.
    return Array.isArray(kinds) ? kinds.includes(kind) : value.name === kind;
  }

  readonly code: HonkErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;
  /** See {@link HonkErrorOptions.retryAfterMs}. */
  readonly retryAfterMs: number | undefined;
  declare readonly [BRAND]: true;

  constructor(code: HonkErrorCode, message: string, options: HonkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HonkError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
    this.retryAfterMs = options.retryAfterMs;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
    const kinds: string[] = [];
    for (
      let type: unknown = new.target;
      typeof type === 'function' && type !== Error;
      type = Object.getPrototypeOf(type)
    ) {
      if (Object.hasOwn(type, 'kind')) kinds.push((type as unknown as { kind: string }).kind);
    }
    Object.defineProperty(this, KINDS, { value: Object.freeze(kinds), enumerable: false });
  }

  /** A plain, JSON-safe view used in task records, reports and logs. */
  toJSON(): SerializedHonkError {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(Object.keys(this.details).length > 0 ? { details: this.details } : {}),
      ...(this.retryAfterMs !== undefined ? { retryAfterMs: this.retryAfterMs } : {}),
    };
  }
}

export interface SerializedHonkError {
  name: string;
  code: HonkErrorCode;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
  /** See {@link HonkErrorOptions.retryAfterMs}. */
  retryAfterMs?: number;
}

/** True for any HonkError, also one thrown by another copy of @honk/core. */
export function isHonkError(value: unknown): value is HonkError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** The spec, options or arguments are invalid. Never retryable: fix the input. */
export class ConfigError extends HonkError {
  static override readonly kind: string = 'ConfigError';
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('CONFIG_INVALID', message, { ...options, retryable: false });
    this.name = 'ConfigError';
  }
}

/** Credentials were rejected. Not retryable: retrying burns attempts and may lock accounts. */
export class AuthError extends HonkError {
  static override readonly kind: string = 'AuthError';
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('AUTH_FAILED', message, { ...options, retryable: false });
    this.name = 'AuthError';
  }
}

/** A table, file, bucket or object does not exist. */
export class NotFoundError extends HonkError {
  static override readonly kind: string = 'NotFoundError';
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('NOT_FOUND', message, { ...options, retryable: false });
    this.name = 'NotFoundError';
  }
}

/** Types do not line up: incompatible target, lossy cast, unsupported type. */
export class SchemaMismatchError extends HonkError {
  static override readonly kind: string = 'SchemaMismatchError';
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('SCHEMA_MISMATCH', message, { ...options, retryable: false });
    this.name = 'SchemaMismatchError';
  }
}

/** The staged data does not match the source. Nothing was published. */
export class ValidationFailedError extends HonkError {
  static override readonly kind: string = 'ValidationFailedError';
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('VALIDATION_FAILED', message, { ...options, retryable: false });
    this.name = 'ValidationFailedError';
  }
}

/** Codes a {@link TransientError} may carry. */
export type TransientErrorCode = 'TRANSIENT' | 'SOURCE_CHANGED' | 'LEASE_LOST' | 'TIMED_OUT';

/** Worth retrying: dropped connection, throttling, a source that changed during the read. */
export class TransientError extends HonkError {
  static override readonly kind: string = 'TransientError';
  constructor(message: string, options: HonkErrorOptions & { code?: TransientErrorCode } = {}) {
    const { code, ...rest } = options;
    super(code ?? 'TRANSIENT', message, { ...rest, retryable: true });
    this.name = 'TransientError';
  }
}

/** Which limit a {@link TimedOutError} hit. */
export type TimeoutLimit = 'idle' | 'total';

/**
 * A run stopped because it made no progress for the task's `idleTimeout`, or ran longer than
 * its `timeout`. Retryable (code `TIMED_OUT`): a hung connection or lock is usually gone by
 * the next attempt; the attempt limit bounds a task that can never finish in time.
 */
export class TimedOutError extends TransientError {
  static override readonly kind: string = 'TimedOutError';
  /** The run phase the limit hit in (`transfer`, `publish` …). */
  readonly phase: string;
  readonly limit: TimeoutLimit;
  /** The limit, in ms. */
  readonly limitMs: number;
  /** Without progress (`idle`) or since the run started (`total`), in ms. */
  readonly elapsedMs: number;
  /** Connector operations still waited for when the limit hit, e.g. `connector "pg" read()`. */
  readonly waitingFor: readonly string[];

  constructor(
    message: string,
    fields: { phase: string; limit: TimeoutLimit; limitMs: number; elapsedMs: number; waitingFor?: readonly string[] },
    options: HonkErrorOptions = {},
  ) {
    const waitingFor = [...(fields.waitingFor ?? [])];
    super(message, {
      ...options,
      code: 'TIMED_OUT',
      details: {
        ...options.details,
        phase: fields.phase,
        limit: fields.limit,
        limitMs: fields.limitMs,
        elapsedMs: fields.elapsedMs,
        ...(waitingFor.length > 0 ? { waitingFor } : {}),
      },
    });
    this.name = 'TimedOutError';
    this.phase = fields.phase;
    this.limit = fields.limit;
    this.limitMs = fields.limitMs;
    this.elapsedMs = fields.elapsedMs;
    this.waitingFor = waitingFor;
  }
}

/** Default {@link NoSpaceError.retryAfterMs}: a full disk rarely frees up within seconds. */
export const NO_SPACE_RETRY_AFTER_MS = 60_000;

/** What a {@link NoSpaceError} knows about the full file system and the failed write. */
export interface NoSpaceFields {
  /** The file or directory being written, when known. */
  path?: string;
  /** Bytes available to this process on that file system when the error was seen (`statfs`). */
  freeBytes?: number;
  /** Size of that file system. */
  totalBytes?: number;
  /** Bytes of the write that failed (for a record batch: its Arrow size, an estimate). */
  neededBytes?: number;
  /** Bytes this attempt had written to the target before the failure. */
  writtenBytes?: number;
  /** `ENOSPC` (no space) or `EDQUOT` (quota exceeded). */
  systemCode?: string;
}

/**
 * The file system (or quota) is full: `ENOSPC`/`EDQUOT`. Retryable, but not at once: the
 * agent waits at least `retryAfterMs` (default {@link NO_SPACE_RETRY_AFTER_MS}, capped by
 * the task's `retry.backoff.maxMs`) so another agent, or this one after a cleanup, has room.
 */
export class NoSpaceError extends HonkError implements NoSpaceFields {
  static override readonly kind: string = 'NoSpaceError';
  readonly path: string | undefined;
  readonly freeBytes: number | undefined;
  readonly totalBytes: number | undefined;
  readonly neededBytes: number | undefined;
  readonly writtenBytes: number | undefined;
  readonly systemCode: string | undefined;

  constructor(message: string, fields: NoSpaceFields = {}, options: HonkErrorOptions = {}) {
    const details: Record<string, unknown> = { ...options.details };
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) details[key] = value;
    super('NO_SPACE', message, {
      ...options,
      retryable: options.retryable ?? true,
      retryAfterMs: options.retryAfterMs ?? NO_SPACE_RETRY_AFTER_MS,
      details,
    });
    this.name = 'NoSpaceError';
    this.path = fields.path;
    this.freeBytes = fields.freeBytes;
    this.totalBytes = fields.totalBytes;
    this.neededBytes = fields.neededBytes;
    this.writtenBytes = fields.writtenBytes;
    this.systemCode = fields.systemCode;
  }
}

/**
 * The task store cannot serve this process now: an embedded store another process holds, a
 * shared store that does not answer. Retryable: nothing is wrong with the input, run again
 * later (the CLI exits 3 for it).
 */
export class StoreUnavailableError extends HonkError {
  static override readonly kind: string = 'StoreUnavailableError';
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('STORE_UNAVAILABLE', message, { ...options, retryable: true });
    this.name = 'StoreUnavailableError';
  }
}

/**
 * A task needs a connector or transform module the agent was not configured to trust (its
 * module allow-list). Never retried: the same agent refuses it again; the message names the
 * module and the setting to change (`--allow-module`, `HONK_ALLOWED_MODULES`).
 */
export class ModuleNotAllowedError extends HonkError {
  static override readonly kind: string = 'ModuleNotAllowedError';
  /** The module as the task names it (an absolute path or a package name, `#export` removed). */
  readonly module: string;
  constructor(message: string, module: string, options: HonkErrorOptions = {}) {
    super('MODULE_NOT_ALLOWED', message, { ...options, retryable: false, details: { ...options.details, module } });
    this.name = 'ModuleNotAllowedError';
    this.module = module;
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends HonkError {
  static override readonly kind: string = 'AbortedError';
  constructor(message = 'The operation was aborted.', options: HonkErrorOptions = {}) {
    super('ABORTED', message, { ...options, retryable: options.retryable ?? true });
    this.name = 'AbortedError';
  }
}

/**
 * Something Honk did not anticipate: a bug in a connector, codec or transform, or data
 * that broke one. Code `INTERNAL`, not retryable unless created so on purpose: the next
 * attempt would run the same code over the same data.
 */
export class InternalError extends HonkError {
  static override readonly kind: string = 'InternalError';
  /** The connector whose call threw, when a guard saw it. */
  readonly connector: string | undefined;
  /** The connector operation that threw (`read()`, `write()` …). */
  readonly operation: string | undefined;
  /** The error's `code` (`EACCES`, `ERR_…`), when it had one. */
  readonly systemCode: string | undefined;

  constructor(
    message: string,
    fields: { connector?: string; operation?: string; systemCode?: string } = {},
    options: HonkErrorOptions = {},
  ) {
    const details: Record<string, unknown> = { ...options.details };
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) details[key] = value;
    super('INTERNAL', message, { ...options, details });
    this.name = 'InternalError';
    this.connector = fields.connector;
    this.operation = fields.operation;
    this.systemCode = fields.systemCode;
  }
}

/** Where an error was seen, for the message of an error Honk did not raise itself. */
export interface ErrorOrigin {
  /** The connector whose call threw. */
  connector?: string;
  /** The call (`read()`, `write()`, `snapshot take()` …). */
  operation?: string;
  /** A local path the operation was writing to, when the caller knows it (for `NO_SPACE`). */
  path?: string;
  /** Bytes of the write that failed (for `NO_SPACE`). */
  neededBytes?: number;
  /** Bytes written to the target before the failure (for `NO_SPACE`). */
  writtenBytes?: number;
}

function describeOrigin(origin: ErrorOrigin): string {
  if (origin.connector && origin.operation) return `Connector "${origin.connector}" failed in ${origin.operation}`;
  if (origin.connector) return `Connector "${origin.connector}" failed`;
  return 'Unexpected error';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Normalises anything thrown into a HonkError; HonkErrors pass through unchanged. An
 * `AbortError` becomes ABORTED. Otherwise the error is classified by its system code (see
 * `system-error-codes.ts` for the table and the reasons):
 * - ENOSPC/EDQUOT → {@link NoSpaceError} (`NO_SPACE`, retried after a pause);
 * - a network or resource-exhaustion code, also on a `cause` → {@link TransientError};
 * - anything else → {@link InternalError} (`INTERNAL`), **not retryable**: a `TypeError`
 *   from a codec or a `RangeError` from a connector is a bug or bad data, and another
 *   attempt would fail the same way.
 * `origin` names the connector and operation (guards pass it) so the message says where.
 */
export function toHonkError(error: unknown, origin: ErrorOrigin = {}): HonkError {
  if (isHonkError(error)) return error;
  if (error instanceof Error && error.name === 'AbortError') {
    return new AbortedError(error.message, { cause: error });
  }
  const where = describeOrigin(origin);
  const details = origin.connector
    ? { connector: origin.connector, ...(origin.operation ? { operation: origin.operation } : {}) }
    : undefined;
  const match = findSystemError(error);
  if (match?.kind === 'no-space') return noSpaceError(error, origin);
  if (match?.kind === 'transient') {
    const reason = TRANSIENT_SYSTEM_CODES.get(match.code) ?? 'a deadline passed';
    return new TransientError(`${where}: ${messageOf(error)} (${match.code}: ${reason}). Will retry.`, {
      cause: error,
      details: { ...details, systemCode: match.code },
    });
  }
  const systemCode = systemErrorCode(error);
  const kind = error instanceof Error && error.name !== 'Error' ? `${error.name}: ` : '';
  return new InternalError(
    `${where}: ${kind}${messageOf(error)}. This is a bug or data the code did not expect, so the task is not retried; report it with this message${origin.connector ? ` to the maintainers of connector "${origin.connector}"` : ''}.`,
    {
      ...(origin.connector ? { connector: origin.connector } : {}),
      ...(origin.operation ? { operation: origin.operation } : {}),
      ...(systemCode ? { systemCode } : {}),
    },
    { cause: error },
  );
}

/** The error an aborted signal stands for: its reason when that is a HonkError, else an AbortedError. */
export function abortError(signal: AbortSignal): HonkError {
  const reason: unknown = signal.reason;
  return isHonkError(reason) ? reason : new AbortedError(undefined, { cause: reason });
}

/** Throws {@link abortError} when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}
