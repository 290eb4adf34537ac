/**
 * Options of `createWebHdfsClient`; webhdfs-client.ts says how each one is used.
 */

/** Extra headers for a name-node request, e.g. SPNEGO: `{ Authorization: 'Negotiate …' }`. */
export type WebHdfsHeaderProvider = (request: {
  method: string;
  url: URL;
}) => Record<string, string> | Promise<Record<string, string>>;

/** How to reach and authenticate to a cluster. */
export interface WebHdfsClientOptions {
  /** Name-node base URLs, e.g. `['http://nn1:9870', 'http://nn2:9870']`; several for HA. */
  namenodes: readonly string[];
  /** `user.name` for simple authentication. */
  user?: string;
  /** A delegation token (sent as `delegation=`; then `user` is not sent). */
  delegationToken?: string;
  /** Headers for every name-node request (Kerberos/SPNEGO, gateway tokens). */
  headers?: WebHdfsHeaderProvider;
  /** Send this header (value `true`) on PUT/POST/DELETE, for clusters with `dfs.webhdfs.rest-csrf.enabled`. */
  csrfHeader?: string;
  /** Rewrites the data-node URL of a redirect (clusters behind NAT). */
  rewriteDatanodeUrl?: (url: URL) => URL | string;
  /** Tries per request for transient failures. Default 5. */
  retries?: number;
  /** First backoff in ms. Default 200. */
  minBackoffMs?: number;
  /** Timeout of a name-node request in ms. Default 120 000. */
  requestTimeoutMs?: number;
  /** A label for messages (the connection name). Default `webhdfs`. */
  connection?: string;
}
