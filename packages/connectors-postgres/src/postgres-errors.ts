/**
 * Maps PostgreSQL and network failures onto Honk's error taxonomy, so the agent knows what
 * a retry can fix. SQLSTATE classes (https://www.postgresql.org/docs/current/errcodes-appendix.html):
 *
 * | SQLSTATE / code                                   | Honk error                  | Retry |
 * |---------------------------------------------------|-----------------------------|-------|
 * | 28xxx (28P01 bad password, 28000 no such role)    | AuthError                   | never |
 * | 42501 insufficient privilege                      | AuthError (permission)      | never |
 * | 3D000 database, 3F000 schema, 42P01 table, 42703 column, 42704 object | NotFoundError | never |
 * | 22xxx data exception, 23xxx integrity, 21000, 42804 | SchemaMismatchError       | never |
 * | 08xxx, 40001, 40P01, 57P01-57P03, 53xxx, 55P03, 57014 (statement timeout) | TransientError | yes |
 * | ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE, "Connection terminated" | TransientError | yes |
 *
 * Anything else stays an INTERNAL HonkError (retryable, bounded by the attempt limit).
 * Messages name the connection and the operation and are passed through `redactText`, so a
 * password in a URL never reaches a message.
 */
import {
  AuthError,
  HonkError,
  isHonkError,
  NotFoundError,
  redactText,
  SchemaMismatchError,
  TransientError,
} from '@honk/core';

const TRANSIENT_CODES = new Set(['40001', '40P01', '57P01', '57P02', '57P03', '55P03', '57014', '55006']);
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
const NOT_FOUND_CODES = new Set(['3D000', '3F000', '42P01', '42703', '42704', '42883']);

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
  if (code && (code.startsWith('22') || code.startsWith('23') || code === '21000' || code === '42804')) {
    return new SchemaMismatchError(
      `${prefix}: ${text} [${code}]. The data does not fit the target's types or constraints.`,
      options,
    );
  }
  if (
    code &&
    (code.startsWith('08') || code.startsWith('53') || TRANSIENT_CODES.has(code) || NETWORK_CODES.has(code))
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
