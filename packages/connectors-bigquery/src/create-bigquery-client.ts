/**
 * Builds the official client from connection options.
 *
 * With `apiEndpoint` and no `keyFilename` the client sends no credentials at all
 * (`PassThroughClient`): an emulator needs none, and the Google auth library then never
 * looks for Application Default Credentials, which on a machine outside Google Cloud means
 * probing the metadata server's address. Set `METADATA_SERVER_DETECTION=none` as well where
 * no request may leave the machine (tests do).
 */
import { BigQuery } from '@google-cloud/bigquery';
import { PassThroughClient } from 'google-auth-library';
import type { BigQueryConnectionOptions } from './bigquery-options.ts';

export function createBigQueryClient(
  options: Pick<BigQueryConnectionOptions, 'projectId' | 'location' | 'apiEndpoint' | 'keyFilename'>,
): BigQuery {
  return new BigQuery({
    projectId: options.projectId,
    ...(options.location ? { location: options.location } : {}),
    ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint.replace(/\/+$/, '') } : {}),
    ...(options.keyFilename ? { keyFilename: options.keyFilename } : {}),
    ...(options.apiEndpoint && !options.keyFilename ? { authClient: new PassThroughClient() } : {}),
    // Honk retries itself (withBigQueryRetry), with its own error taxonomy and backoff.
    autoRetry: false,
  });
}
