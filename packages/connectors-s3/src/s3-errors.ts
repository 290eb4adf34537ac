/**
 * Maps AWS SDK / S3 failures onto Honk's error taxonomy and retries transient ones.
 *
 * | S3 error | Honk error |
 * | --- | --- |
 * | AccessDenied, InvalidAccessKeyId, SignatureDoesNotMatch, ExpiredToken, 401/403 | AuthError (not retryable) |
 * | NoSuchBucket, NoSuchKey, NotFound (HEAD 404) | NotFoundError (not retryable) |
 * | PreconditionFailed (If-Match), a changed ETag | TransientError `SOURCE_CHANGED` |
 * | SlowDown, RequestTimeout, 5xx, timeouts, connection resets | TransientError, retried with backoff inside the attempt |
 *
 * Messages name the connection, the operation and the object, never credentials.
 */
import { AbortedError, AuthError, HonkError, isHonkError, NotFoundError, redactText, TransientError } from '@honk/core';
import pRetry from 'p-retry';

/** What a failing call was doing, for messages. */
export interface S3CallContext {
  /** Connection name from the spec. */
  connection: string;
  bucket: string;
  /** e.g. `GetObject`. */
  operation: string;
  /** Object key or prefix, when there is one. */
  key?: string;
}

const AUTH_CODES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AllAccessDisabled',
  'AccountProblem',
  'CredentialsProviderError',
]);
const NOT_FOUND_CODES = new Set(['NoSuchBucket', 'NoSuchKey', 'NotFound', 'NoSuchUpload']);
const TRANSIENT_CODES = new Set([
  'SlowDown',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeoutException',
  'TimeoutError',
  'OperationAborted',
]);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

function where(context: S3CallContext): string {
  return `s3://${context.bucket}/${context.key ?? ''}`;
}

/** The S3 error code of an SDK error (`NoSuchKey`), or a network code (`ECONNRESET`). */
export function s3ErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as SdkLikeError;
  return e.Code ?? (e.name && e.name !== 'Error' ? e.name : undefined) ?? e.code;
}

/** Converts anything an S3 call throws into a HonkError. HonkErrors pass through. */
export function toS3Error(error: unknown, context: S3CallContext): HonkError {
  if (isHonkError(error)) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkLikeError;
  const name = s3ErrorCode(error) ?? 'Unknown';
  const status = e.$metadata?.httpStatusCode;
  const detail = redactText(e.message ?? String(error));
  const details = { connection: context.connection, operation: context.operation, s3Code: name, status };
  const prefix = `S3 connection "${context.connection}": ${context.operation} ${where(context)}`;

  if (name === 'AbortError') return new AbortedError(`${prefix} was aborted.`, { cause: error });
  if (AUTH_CODES.has(name) || status === 401 || (status === 403 && name !== 'RequestTimeTooSkewed')) {
    return new AuthError(
      `${prefix} was refused (${name}). Check the connection's credentials (or the SDK's default credential chain), their permissions on bucket "${context.bucket}", and the region/endpoint.`,
      { cause: error, details },
    );
  }
  if (NOT_FOUND_CODES.has(name) || status === 404) {
    const what = name === 'NoSuchBucket' ? `bucket "${context.bucket}" does not exist` : 'the object does not exist';
    return new NotFoundError(`${prefix} failed: ${what} (${name}). Check the bucket, key and prefix.`, {
      cause: error,
      details,
    });
  }
  if (name === 'PreconditionFailed' || status === 412) {
    return new TransientError(
      `${prefix}: the object changed since it was listed (its ETag no longer matches). The attempt is retried from a fresh listing.`,
      { cause: error, details, code: 'SOURCE_CHANGED' },
    );
  }
  if (
    TRANSIENT_CODES.has(name) ||
    NETWORK_CODES.has(name) ||
    NETWORK_CODES.has(e.code ?? '') ||
    (status !== undefined && status >= 500) ||
    status === 429 ||
    e.$fault === 'server'
  ) {
    return new TransientError(`${prefix} failed transiently (${name}): ${detail}`, { cause: error, details });
  }
  return new HonkError('INTERNAL', `${prefix} failed (${name}${status ? `, HTTP ${status}` : ''}): ${detail}`, {
    cause: error,
    retryable: false,
    details,
  });
}

/** Backoff for transient S3 failures inside one attempt. */
export interface S3RetryOptions {
  /** Total tries, including the first. */
  retries: number;
  signal?: AbortSignal;
  /** First backoff in ms. Default 200; doubles, capped at 10 s, with jitter. */
  minTimeoutMs?: number;
}

/**
 * Runs `call`, retrying only transient failures (throttling, 5xx, timeouts, resets) with
 * exponential backoff. Everything thrown is a HonkError. `SOURCE_CHANGED` is not retried
 * here: the caller's pinned listing is stale, so the whole attempt must start again.
 */
export async function withS3Retry<T>(
  context: S3CallContext,
  options: S3RetryOptions,
  call: () => Promise<T>,
): Promise<T> {
  return pRetry(
    async () => {
      try {
        return await call();
      } catch (error) {
        // A request cut short by the task's signal is an abort, whatever the socket says.
        if (options.signal?.aborted) throw new AbortedError(undefined, { cause: options.signal.reason ?? error });
        throw toS3Error(error, context);
      }
    },
    {
      retries: Math.max(0, options.retries - 1),
      minTimeout: options.minTimeoutMs ?? 200,
      maxTimeout: 10_000,
      factor: 2,
      randomize: true,
      ...(options.signal ? { signal: options.signal } : {}),
      shouldRetry: ({ error }) => isHonkError(error) && error.code === 'TRANSIENT',
    },
  );
}
