/**
 * Which errors that Honk did not raise itself are worth another attempt.
 *
 * An error without a HonkError code is, by default, a bug or bad data: a `TypeError` from a
 * codec, a `RangeError` from a connector, an assertion. Retrying those burns every attempt
 * with backoff and ends the same way, so they are not retried. The exceptions are errors
 * the operating system or the HTTP client raise when the *environment* failed for a
 * moment; they carry a `code` (Node system errors, undici's `UND_ERR_*`), sometimes on a
 * `cause` (`fetch()` throws `TypeError: fetch failed` with the socket error as its cause)
 * or inside an `AggregateError` (a connection attempt to every address of a host).
 *
 * | code | why it is transient |
 * |---|---|
 * | ECONNRESET, ECONNABORTED, EPIPE | the peer or a middlebox dropped the connection mid-conversation |
 * | ECONNREFUSED | the service is restarting or not yet listening |
 * | ETIMEDOUT | the network or the peer did not answer in time |
 * | EHOSTUNREACH, EHOSTDOWN, ENETUNREACH, ENETDOWN, ENETRESET | routing or the link is down for now |
 * | EAI_AGAIN | DNS said "try again" |
 * | ENOTFOUND | DNS has no answer; usually a typo, but also a service whose DNS record is still being created or a resolver flapping (in Kubernetes both happen). The attempt limit bounds the cost of a typo; a dead letter for a flap would need a person. |
 * | ESTALE | an NFS handle went stale; reopening works |
 * | EMFILE, ENFILE | out of file descriptors: other work in the process or host closes them |
 * | EAGAIN, EBUSY | the resource is busy or temporarily unavailable |
 * | ENOMEM | the kernel could not allocate memory for a call; other work may release it |
 * | ERR_STREAM_PREMATURE_CLOSE | a stream closed early, in practice because its socket was cut |
 * | UND_ERR_SOCKET, UND_ERR_CONNECT_TIMEOUT, UND_ERR_HEADERS_TIMEOUT, UND_ERR_BODY_TIMEOUT, UND_ERR_CLOSED | undici (fetch) lost or timed out its socket |
 * | a DOMException named `TimeoutError` (`AbortSignal.timeout`) | a deadline passed |
 *
 * ENOSPC and EDQUOT (no space, quota exceeded) are retried too, but as their own code
 * `NO_SPACE` with a floor on the delay (see `NoSpaceError`). Deliberately *not* transient:
 * EACCES/EPERM (permissions do not fix themselves), ENOENT/ENOTDIR/EISDIR/EEXIST (the paths
 * are wrong or someone else changed them), EIO (the device failed; retrying a failing disk
 * risks more damage and a person should look), EINVAL, and every error without a code.
 */

/** Node and undici error codes a later attempt can get past, with a short reason for messages. */
export const TRANSIENT_SYSTEM_CODES: ReadonlyMap<string, string> = new Map([
  ['ECONNRESET', 'the connection was reset'],
  ['ECONNABORTED', 'the connection was aborted'],
  ['EPIPE', 'the connection was closed while writing'],
  ['ECONNREFUSED', 'the connection was refused'],
  ['ETIMEDOUT', 'the operation timed out'],
  ['EHOSTUNREACH', 'the host is unreachable'],
  ['EHOSTDOWN', 'the host is down'],
  ['ENETUNREACH', 'the network is unreachable'],
  ['ENETDOWN', 'the network is down'],
  ['ENETRESET', 'the network dropped the connection'],
  ['EAI_AGAIN', 'DNS lookup failed temporarily'],
  ['ENOTFOUND', 'DNS has no address for the host'],
  ['ESTALE', 'a network file handle went stale'],
  ['EMFILE', 'the process ran out of file descriptors'],
  ['ENFILE', 'the system ran out of file descriptors'],
  ['EAGAIN', 'the resource is temporarily unavailable'],
  ['EBUSY', 'the resource is busy'],
  ['ENOMEM', 'the system is out of memory'],
  ['ERR_STREAM_PREMATURE_CLOSE', 'a stream closed before it finished'],
  ['UND_ERR_SOCKET', 'the HTTP socket failed'],
  ['UND_ERR_CONNECT_TIMEOUT', 'the HTTP connection timed out'],
  ['UND_ERR_HEADERS_TIMEOUT', 'the HTTP response headers timed out'],
  ['UND_ERR_BODY_TIMEOUT', 'the HTTP response body timed out'],
  ['UND_ERR_CLOSED', 'the HTTP client was closed'],
]);

/** Codes of a full file system or an exhausted quota. */
export const NO_SPACE_SYSTEM_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);

/** What {@link findSystemError} found. */
export interface SystemErrorMatch {
  kind: 'transient' | 'no-space';
  code: string;
  /** The error (the thrown one or one of its causes) that carries the code. */
  error: object;
}

const MAX_DEPTH = 6;

function codeOf(error: object): string | undefined {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if ((error as { name?: unknown }).name === 'TimeoutError') return 'TimeoutError';
  return undefined;
}

/**
 * The first transient or no-space error in `error`, its `cause` chain and the members of an
 * `AggregateError`, or undefined when there is none. No-space wins over transient: a full
 * disk needs the longer wait.
 */
export function findSystemError(error: unknown): SystemErrorMatch | undefined {
  let transient: SystemErrorMatch | undefined;
  const seen = new Set<object>();
  const visit = (value: unknown, depth: number): SystemErrorMatch | undefined => {
    if (typeof value !== 'object' || value === null || seen.has(value) || depth > MAX_DEPTH) return undefined;
    seen.add(value);
    const code = codeOf(value);
    if (code !== undefined && NO_SPACE_SYSTEM_CODES.has(code)) return { kind: 'no-space', code, error: value };
    if (code !== undefined && !transient && (TRANSIENT_SYSTEM_CODES.has(code) || code === 'TimeoutError')) {
      transient = { kind: 'transient', code, error: value };
    }
    const members = (value as { errors?: unknown }).errors;
    if (Array.isArray(members)) {
      for (const member of members) {
        const found = visit(member, depth + 1);
        if (found) return found;
      }
    }
    return visit((value as { cause?: unknown }).cause, depth + 1);
  };
  return visit(error, 0) ?? transient;
}

/** The `code` of a Node system error (`ENOENT`, `EACCES` …), for messages; undefined otherwise. */
export function systemErrorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? codeOf(error) : undefined;
}
