/**
 * Maps PostgreSQL and network failures onto Honk's error taxonomy, so the agent knows what
 * a retry can fix. SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html):
 *
 * | SQLSTATE / code                                   | Honk error                  | Retry |
 * |---------------------------------------------------|-----------------------------|-------|
 * | 28xxx (28P01 bad password, 28000 no such role)    | AuthError                   | never |
 * | 42501 insufficient privilege                      | AuthError (permission)      | never |
 * | 3D000 database, 3F000 schema, 42P01 table, 42703 column, 42704 object, 42883 function, 57P04 database dropped | NotFoundError | never |
 * | 22xxx data, 23xxx integrity, 21000, 40002, 42804, 42846, 42P10, 44000, 54xxx limits, P0xxx raised by a trigger or function | SchemaMismatchError | never |
 * | other 42xxx (syntax, duplicate or wrong object), 0Axxx not supported, 2BP01 dependent objects, 25006 read-only, 53400, 55000, 55P02, 55P04, 0Bxxx, 0Lxxx, 0Pxxx, 26xxx, 2Fxxx, 34xxx, 38xxx, 39xxx, 3Bxxx | ConfigError | never |
 * | XX001 data corrupted, XX002 index corrupted       | DATA_CORRUPT                | never |
 * | 08xxx, 40001, 40P01, 40003, 53xxx (but 53400), 55P03, 55006, 57014, 57P01-57P03, 57P05, 25P03, 25P04, 72000 | TransientError | yes |
 * | ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE, "Connection terminated" | TransientError | yes |
 *
 * A deterministic failure — the same statement on the same data fails the same way again —
 * is never retried: only serialization failures, deadlocks, cancelled or timed-out
 * statements, lost connections and exhausted resources are. Anything else stays an INTERNAL
 * HonkError (retryable, bounded by the attempt limit). Messages name the connection and the
 * operation and are passed through `redactText`, so a password in a URL never reaches a message.
 */
import {
  AuthError,
  ConfigError,
  HonkError,
  isHonkError,
  NotFoundError,
  redactText,
  SchemaMismatchError,
  TransientError,
} from '@honk/core';

const TRANSIENT_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '40003', // statement_completion_unknown
  '55P03', // lock_not_available
  '55006', // object_in_use
  '57014', // query_canceled (statement_timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '57P05', // idle_session_timeout
  '25P03', // idle_in_transaction_session_timeout
  '25P04', // transaction_timeout
  '72000', // snapshot_too_old
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
const NOT_FOUND_CODES = new Set(['3D000', '3F000', '42P01', '42703', '42704', '42883', '57P04']);
/** The data or the target's definition does not fit (besides classes 22 and 23). */
const MISMATCH_CODES = new Set(['21000', '40002', '42804', '42846', '42P10', '44000']);
const MISMATCH_CLASSES = new Set(['22', '23', '54', 'P0']);
/** Deterministic: wrong statement, object or server state for it; retrying cannot help. */
const CONFIG_CODES = new Set(['2BP01', '25006', '53400', '55000', '55P02', '55P04']);
const CONFIG_CLASSES = new Set(['0A', '0B', '0L', '0P', '26', '2F', '34', '38', '39', '3B', '42']);
const CORRUPT_CODES = new Set(['XX001', 'XX002']);

/** Where an error happened, for the message. */
export interface ErrorWhere {
  /** Connection name from the spec. */
  connection: string;
  /** What we were doing: `reading "public"."orders"`, `publishing …`. */
  operation: string;
}

/** Normalises any error raised while talking to PostgreSQL. HonkErrors pass through unchanged. */
export function toPostgresError(error: unknown, where: ErrorWhere): HonkError {
  if (isHonkError(error)) return error;
  const record = (error ?? {}) as { code?: unknown; message?: unknown; detail?: unknown };
  const code = typeof record.code === 'string' ? record.code : undefined;
  const raw = typeof record.message === 'string' ? record.message : String(error);
  const detail = typeof record.detail === 'string' && record.detail ? ` (${record.detail})` : '';
  const text = redactText(`${raw}${detail}`);
  const prefix = `PostgreSQL connection "${where.connection}": ${where.operation} failed`;
  const details = { connection: where.connection, ...(code ? { sqlstate: code } : {}) };
  const options = { cause: error, details };

  if (code?.startsWith('28')) {
    return new AuthError(`${prefix}: ${text} [${code}]. Check the user name and password of the connection.`, options);
  }
  if (code === '42501') {
    return new AuthError(
      `${prefix}: permission denied: ${text} [${code}]. Grant the connection's role the needed privileges.`,
      options,
    );
  }
  if (code && NOT_FOUND_CODES.has(code)) {
    return new NotFoundError(`${prefix}: ${text} [${code}].`, options);
  }
  const sqlClass = code?.slice(0, 2);
  if (code && (MISMATCH_CODES.has(code) || MISMATCH_CLASSES.has(sqlClass!))) {
    return new SchemaMismatchError(
      `${prefix}: ${text} [${code}]. The data does not fit the target's types, constraints or limits.`,
      options,
    );
  }
  if (code && (CONFIG_CODES.has(code) || (CONFIG_CLASSES.has(sqlClass!) && code !== '42501'))) {
    return new ConfigError(
      `${prefix}: ${text} [${code}]. PostgreSQL refuses this deterministically; fix the table, query or ` +
        'database objects named above (it is not retried).',
      options,
    );
  }
  if (code && CORRUPT_CODES.has(code)) {
    return new HonkError(
      'DATA_CORRUPT',
      `${prefix}: ${text} [${code}]. The server reports corrupted data or indexes; repair them (it is not retried).`,
      options,
    );
  }
  if (
    code &&
    (code.startsWith('08') ||
      (code.startsWith('53') && code !== '53400') ||
      TRANSIENT_CODES.has(code) ||
      NETWORK_CODES.has(code))
  ) {
    return new TransientError(`${prefix}: ${text} [${code}]. Will retry.`, options);
  }
  if (
    /Connection terminated|connection (?:is )?closed|Client has encountered a connection error|socket hang up/i.test(
      raw,
    )
  ) {
    return new TransientError(`${prefix}: ${text}. Will retry.`, options);
  }
  return new HonkError('INTERNAL', `${prefix}: ${text}${code ? ` [${code}]` : ''}.`, { ...options, retryable: true });
}
