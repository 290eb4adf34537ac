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
 * @honk/core in one process (a CLI plus a user's service, say) still understand each other.
 */

const BRAND = Symbol.for('honk.error');

/** Stable error codes. Adding a code is a minor change; renaming one is breaking. */
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
  | 'ABORTED'
  | 'LEASE_LOST'
  | 'CONNECTOR_MISUSE'
  | 'DATA_CORRUPT'
  | 'INTERNAL';

export interface HonkErrorOptions {
  cause?: unknown;
  /** Overrides the class default. */
  retryable?: boolean;
  /** Structured, secret-free details (column, row, option path …) for reports. */
  details?: Record<string, unknown>;
}

export class HonkError extends Error {
  readonly code: HonkErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;
  declare readonly [BRAND]: true;

  constructor(code: HonkErrorCode, message: string, options: HonkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HonkError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
  }

  /** A plain, JSON-safe view used in task records, reports and logs. */
  toJSON(): SerializedHonkError {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(Object.keys(this.details).length > 0 ? { details: this.details } : {}),
    };
  }
}

export interface SerializedHonkError {
  name: string;
  code: HonkErrorCode;
  message: string;
  retryable: boolean;
  details?: Record<string, unknown>;
}

/** True for any HonkError, also one thrown by another copy of @honk/core. */
export function isHonkError(value: unknown): value is HonkError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** The spec, options or arguments are invalid. Never retryable: fix the input. */
export class ConfigError extends HonkError {
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('CONFIG_INVALID', message, { ...options, retryable: false });
    this.name = 'ConfigError';
  }
}

/** Credentials were rejected. Not retryable: retrying burns attempts and may lock accounts. */
export class AuthError extends HonkError {
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('AUTH_FAILED', message, { ...options, retryable: false });
    this.name = 'AuthError';
  }
}

/** A table, file, bucket or object does not exist. */
export class NotFoundError extends HonkError {
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('NOT_FOUND', message, { ...options, retryable: false });
    this.name = 'NotFoundError';
  }
}

/** Types do not line up: incompatible target, lossy cast, unsupported type. */
export class SchemaMismatchError extends HonkError {
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('SCHEMA_MISMATCH', message, { ...options, retryable: false });
    this.name = 'SchemaMismatchError';
  }
}

/** The staged data does not match the source. Nothing was published. */
export class ValidationFailedError extends HonkError {
  constructor(message: string, options: HonkErrorOptions = {}) {
    super('VALIDATION_FAILED', message, { ...options, retryable: false });
    this.name = 'ValidationFailedError';
  }
}

/** Worth retrying: dropped connection, throttling, a source that changed during the read. */
export class TransientError extends HonkError {
  constructor(
    message: string,
    options: HonkErrorOptions & { code?: 'TRANSIENT' | 'SOURCE_CHANGED' | 'LEASE_LOST' } = {},
  ) {
    super(options.code ?? 'TRANSIENT', message, { ...options, retryable: true });
    this.name = 'TransientError';
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortedError extends HonkError {
  constructor(message = 'The operation was aborted.', options: HonkErrorOptions = {}) {
    super('ABORTED', message, { ...options, retryable: options.retryable ?? true });
    this.name = 'AbortedError';
  }
}

/**
 * Normalises anything thrown into a HonkError. Unknown errors become INTERNAL and
 * retryable: an unexpected crash is more often an environment hiccup than a data problem,
 * and the attempt limit bounds the cost of being wrong.
 */
export function toHonkError(error: unknown): HonkError {
  if (isHonkError(error)) return error;
  if (error instanceof Error && error.name === 'AbortError') {
    return new AbortedError(error.message, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new HonkError('INTERNAL', `Unexpected error: ${message}`, { cause: error, retryable: true });
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
