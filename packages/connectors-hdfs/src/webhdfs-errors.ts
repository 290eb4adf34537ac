/**
 * WebHDFS failures on Honk's error taxonomy. A name node or data node answers a failure as
 * `{"RemoteException": {"exception", "javaClassName", "message"}}`; the exception's class
 * decides, not the HTTP status (WebHDFS answers most IOExceptions with 403, a standby name
 * node included).
 *
 * | WebHDFS | Honk |
 * | --- | --- |
 * | AccessControlException, SecurityException, InvalidToken, AuthorizationException, 401, a bare 403 | `AUTH_FAILED`, not retried |
 * | FileNotFoundException, 404 | `NOT_FOUND` |
 * | StandbyException | the next name node is tried (HA failover); `TRANSIENT` when none is active |
 * | RetriableException, SafeModeException, 5xx, 429, connection resets and timeouts | `TRANSIENT`, retried with backoff |
 * | a bare 400 (no RemoteException, e.g. Hadoop's CSRF filter) | `CONFIG_INVALID` |
 * | anything else (FileAlreadyExistsException, SnapshotException …) | `INTERNAL`, not retried |
 *
 * Messages name the connection, the operation and the path, never tokens or headers.
 */
import {
  AbortedError,
  AuthError,
  ConfigError,
  findSystemError,
  HonkError,
  isHonkError,
  NotFoundError,
  redactText,
  TransientError,
} from '@honk/core';

/** What a failing call was doing, for messages and details. */
export interface WebHdfsCallContext {
  /** Connection name from the spec (or the client's label). */
  connection: string;
  /** The WebHDFS operation, e.g. `OPEN`. */
  operation: string;
  /** The HDFS path. */
  path: string;
}

/** The `RemoteException` of a WebHDFS error answer. */
export interface RemoteException {
  exception: string;
  javaClassName?: string;
  message?: string;
}

const AUTH_EXCEPTIONS = new Set([
  'AccessControlException',
  'SecurityException',
  'InvalidToken',
  'SecretManager$InvalidToken',
  'AuthorizationException',
  'AuthenticationException',
]);
const TRANSIENT_EXCEPTIONS = new Set([
  'RetriableException',
  'SafeModeException',
  'ConnectException',
  'SocketTimeoutException',
]);

/** Parses an error body; `undefined` when it is not a RemoteException (an HTML error page). */
export function parseRemoteException(text: string): RemoteException | undefined {
  try {
    const parsed = JSON.parse(text) as { RemoteException?: RemoteException };
    const remote = parsed?.RemoteException;
    return remote && typeof remote.exception === 'string' ? remote : undefined;
  } catch {
    return undefined;
  }
}

/** True for the answer of a standby name node: the client tries the next one. */
export function isStandby(remote: RemoteException | undefined): boolean {
  return remote?.exception === 'StandbyException';
}

function where(context: WebHdfsCallContext): string {
  return `HDFS connection "${context.connection}": ${context.operation} ${context.path}`;
}

/** Maps an HTTP error answer onto a HonkError. */
export function remoteError(
  status: number,
  remote: RemoteException | undefined,
  body: string,
  context: WebHdfsCallContext,
): HonkError {
  const exception = remote?.exception;
  const message = redactText(
    remote?.message ??
      body
        .replace(/<[^>]*>/g, ' ')
        .replace(/\s+/g, ' ')
        .trim()
        .slice(0, 300),
  );
  const details = {
    connection: context.connection,
    operation: context.operation,
    path: context.path,
    status,
    ...(exception ? { exception } : {}),
  };
  const prefix = where(context);
  if ((exception && AUTH_EXCEPTIONS.has(exception)) || status === 401 || (status === 403 && !exception)) {
    return new AuthError(
      `${prefix} was refused (${exception ?? `HTTP ${status}`}: ${message}). Check the connection's \`user\`, delegation token or authentication headers, and the HDFS permissions of the path.`,
      { details },
    );
  }
  if (exception === 'FileNotFoundException' || status === 404) {
    return new NotFoundError(`${prefix} failed: the path does not exist (${message}). Check \`root\` and \`path\`.`, {
      details,
    });
  }
  if (isStandby(remote) || (exception && TRANSIENT_EXCEPTIONS.has(exception)) || status >= 500 || status === 429) {
    return new TransientError(`${prefix} failed transiently (${exception ?? `HTTP ${status}`}): ${message}`, {
      details,
    });
  }
  if (!exception && status === 400) {
    return new ConfigError(
      `${prefix} was rejected (HTTP 400: ${message}). If the cluster enables WebHDFS CSRF protection, set the connection's \`csrfHeader\`.`,
      { details },
    );
  }
  return new HonkError('INTERNAL', `${prefix} failed (${exception ?? `HTTP ${status}`}): ${message}`, {
    retryable: false,
    details,
  });
}

/** Maps what `fetch` throws (network failures, aborts) onto a HonkError. HonkErrors pass through. */
export function networkError(error: unknown, context: WebHdfsCallContext, signal?: AbortSignal): HonkError {
  if (isHonkError(error)) return error;
  if (signal?.aborted) return new AbortedError(`${where(context)} was aborted.`, { cause: signal.reason ?? error });
  const system = findSystemError(error);
  if (system) {
    return new TransientError(`${where(context)} failed transiently (${system.code}).`, {
      cause: error,
      details: {
        connection: context.connection,
        operation: context.operation,
        path: context.path,
        systemCode: system.code,
      },
    });
  }
  const text = redactText(error instanceof Error ? error.message : String(error));
  // `fetch failed` without a recognisable cause is still a network failure, not a bug in Honk.
  if (error instanceof TypeError && /fetch failed|terminated|other side closed/i.test(text)) {
    return new TransientError(`${where(context)} failed transiently (${text}).`, {
      cause: error,
      details: { connection: context.connection, operation: context.operation, path: context.path },
    });
  }
  return new HonkError('INTERNAL', `${where(context)} failed: ${text}`, { cause: error, retryable: false });
}
