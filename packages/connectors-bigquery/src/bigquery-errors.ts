/**
 * Maps BigQuery API and job failures onto Honk's error taxonomy, and retries transient ones.
 *
 * | BigQuery answer | Honk error |
 * | --- | --- |
 * | HTTP 401/403 (not a rate or quota reason), `accessDenied` | AuthError (not retried) |
 * | HTTP 404, `notFound` | NotFoundError (not retried) |
 * | `quotaExceeded` | TransientError with a long `retryAfterMs` (quotas refill by the minute, not the second) |
 * | HTTP 429, 5xx, `backendError`, `internalError`, `rateLimitExceeded`, `jobRateLimitExceeded`, resets | TransientError, retried with backoff inside the attempt |
 * | `invalidQuery` | ConfigError (the endpoint's `query:` is wrong) |
 * | `invalid` and other 400s | SchemaMismatchError when a job rejected the data, else ConfigError |
 *
 * Messages name the connection, the operation and the table, never credentials.
 */
import {
  AbortedError,
  AuthError,
  ConfigError,
  findSystemError,
  type HonkError,
  InternalError,
  isHonkError,
  NotFoundError,
  redactText,
  SchemaMismatchError,
  TransientError,
} from '@honk/core';
import pRetry from 'p-retry';

/** What a failing call was doing, for messages. */
export interface BigQueryCallContext {
  /** Connection name from the spec. */
  connection: string;
  /** e.g. `tables.get`, `load job`. */
  operation: string;
  /** `dataset.table`, when there is one. */
  table?: string;
}

/** How long a quota error waits before the next attempt: quotas refill by the minute. */
export const QUOTA_RETRY_AFTER_MS = 60_000;

const TRANSIENT_REASONS = new Set([
  'backendError',
  'internalError',
  'rateLimitExceeded',
  'jobRateLimitExceeded',
  'userRateLimitExceeded',
  'tableUnavailable',
  'jobBackendError',
  'jobInternalError',
]);

interface ApiErrorLike {
  code?: number | string;
  message?: string;
  errors?: { reason?: string; message?: string }[];
  reason?: string;
  name?: string;
}

/** The BigQuery reason of an API error or job error (`notFound`, `invalidQuery` …). */
export function bigQueryReason(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as ApiErrorLike;
  return e.errors?.find((item) => item.reason)?.reason ?? e.reason;
}

/** Converts anything a BigQuery call throws into a HonkError. HonkErrors pass through. */
export function toBigQueryError(error: unknown, context: BigQueryCallContext): HonkError {
  if (isHonkError(error)) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as ApiErrorLike;
  if (e.name === 'AbortError') return new AbortedError(undefined, { cause: error });
  const reason = bigQueryReason(error);
  const status = typeof e.code === 'number' ? e.code : undefined;
  const detail = redactText(e.message ?? String(error));
  const details = {
    connection: context.connection,
    operation: context.operation,
    ...(context.table ? { table: context.table } : {}),
    ...(reason ? { reason } : {}),
    ...(status ? { status } : {}),
  };
  const where = `BigQuery connection "${context.connection}": ${context.operation}${context.table ? ` on ${context.table}` : ''}`;

  if (reason === 'quotaExceeded') {
    return new TransientError(
      `${where} hit a quota (${detail}). The attempt is retried after a pause; raise the quota or lower the task's concurrency if this repeats.`,
      { cause: error, details, retryAfterMs: QUOTA_RETRY_AFTER_MS },
    );
  }
  if (
    status === 429 ||
    (status !== undefined && status >= 500) ||
    (reason !== undefined && TRANSIENT_REASONS.has(reason))
  ) {
    return new TransientError(`${where} failed transiently (${reason ?? `HTTP ${status}`}): ${detail}`, {
      cause: error,
      details,
    });
  }
  if (status === 401 || status === 403 || reason === 'accessDenied' || reason === 'authError') {
    return new AuthError(
      `${where} was refused (${reason ?? `HTTP ${status}`}): ${detail}. Check the credentials (keyFilename or Application Default Credentials) and their BigQuery roles on the project and dataset.`,
      { cause: error, details },
    );
  }
  if (status === 404 || reason === 'notFound') {
    return new NotFoundError(`${where} failed: not found (${detail}). Check the project, dataset and table names.`, {
      cause: error,
      details,
    });
  }
  if (reason === 'invalidQuery') {
    return new ConfigError(`${where}: the query is invalid: ${detail}. Fix the endpoint's \`query:\`.`, {
      cause: error,
      details,
    });
  }
  if (reason === 'invalid' || status === 400) {
    return new SchemaMismatchError(`${where} was rejected: ${detail}`, { cause: error, details });
  }
  const system = findSystemError(error);
  if (system?.kind === 'transient') {
    return new TransientError(`${where} failed transiently (${system.code}): ${detail}`, { cause: error, details });
  }
  return new InternalError(
    `${where} failed (${reason ?? status ?? 'unknown'}): ${detail}`,
    {},
    { cause: error, details },
  );
}

/** Backoff for transient failures inside one attempt. */
export interface BigQueryRetryOptions {
  /** Total tries, including the first. */
  retries: number;
  signal?: AbortSignal;
  /** First backoff in ms. Default 500; doubles, capped at 30 s, with jitter. */
  minTimeoutMs?: number;
}

/**
 * Runs `call`, retrying only transient failures with exponential backoff; a quota error is
 * not retried here (its pause is longer than an attempt should block) but handed to the
 * agent with its `retryAfterMs`. Everything thrown is a HonkError.
 */
export async function withBigQueryRetry<T>(
  context: BigQueryCallContext,
  options: BigQueryRetryOptions,
  call: () => Promise<T>,
): Promise<T> {
  return pRetry(
    async () => {
      try {
        return await call();
      } catch (error) {
        if (options.signal?.aborted) throw new AbortedError(undefined, { cause: options.signal.reason ?? error });
        throw toBigQueryError(error, context);
      }
    },
    {
      retries: Math.max(0, options.retries - 1),
      minTimeout: options.minTimeoutMs ?? 500,
      maxTimeout: 30_000,
      factor: 2,
      randomize: true,
      ...(options.signal ? { signal: options.signal } : {}),
      shouldRetry: ({ error }) => isHonkError(error) && error.code === 'TRANSIENT' && error.retryAfterMs === undefined,
    },
  );
}

/** gRPC status codes (google.rpc.Code) by number, for messages. */
const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

/** The HTTP status a gRPC status stands for (google.rpc.Code's documented mapping). */
const GRPC_HTTP_STATUS: Record<number, number> = {
  1: 503, // CANCELLED by the server or the network, not by Honk (aborts are checked first)
  2: 500,
  4: 504,
  5: 404,
  7: 403,
  8: 429,
  10: 503, // ABORTED: a concurrency conflict, retried
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};

interface GrpcErrorLike {
  code: number;
  details?: string;
  message?: string;
}

function isGrpcError(error: unknown): error is GrpcErrorLike {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as GrpcErrorLike).code === 'number' &&
    ('details' in error || 'metadata' in error)
  );
}

/**
 * Converts a Storage Read API (gRPC) failure into a HonkError, with the same classes as the
 * REST errors: NOT_FOUND → NotFoundError, PERMISSION_DENIED/UNAUTHENTICATED → AuthError,
 * UNAVAILABLE/INTERNAL/DEADLINE_EXCEEDED/ABORTED/RESOURCE_EXHAUSTED/CANCELLED/UNKNOWN →
 * TransientError; INVALID_ARGUMENT/FAILED_PRECONDITION/OUT_OF_RANGE (a column, row
 * restriction or snapshot time the service refuses) and UNIMPLEMENTED (an endpoint without
 * the Storage Read API) → ConfigError. HonkErrors pass through.
 */
export function toStorageError(error: unknown, context: BigQueryCallContext): HonkError {
  if (!isGrpcError(error)) return toBigQueryError(error, context);
  const status = GRPC_STATUS_NAMES[error.code] ?? String(error.code);
  const detail = redactText(error.details || error.message || status);
  const where = `BigQuery connection "${context.connection}": Storage Read API ${context.operation}${context.table ? ` on ${context.table}` : ''}`;
  const details = {
    connection: context.connection,
    operation: context.operation,
    ...(context.table ? { table: context.table } : {}),
    grpcStatus: status,
  };
  if (error.code === 12) {
    return new ConfigError(
      `${where}: the endpoint does not implement it (UNIMPLEMENTED: ${detail}). Check \`storageApiEndpoint\`, or read with \`readApi: rest\`.`,
      { cause: error, details },
    );
  }
  if (error.code === 3 || error.code === 9 || error.code === 11) {
    return new ConfigError(
      `${where} was refused (${status}): ${detail}. Check the endpoint's \`columns\`, \`rowRestriction\` and \`snapshotTime\`.`,
      { cause: error, details },
    );
  }
  const http = GRPC_HTTP_STATUS[error.code] ?? 500;
  return toBigQueryError(Object.assign(new Error(`${status}: ${detail}`), { code: http, errors: [], cause: error }), {
    ...context,
    operation: `Storage Read API ${context.operation}`,
  });
}
