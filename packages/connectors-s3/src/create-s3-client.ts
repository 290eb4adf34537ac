/**
 * Builds the AWS SDK client for one connection. Retries are Honk's (see `withS3Retry`), so
 * the SDK's own retry is switched off: one place decides what is transient, and an auth
 * failure is reported on the first try instead of after the SDK's attempts.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { S3ConnectionOptions } from './s3-options.ts';

/** Region when neither the options nor the environment name one (S3-compatibles ignore it). */
const FALLBACK_REGION = 'us-east-1';

/**
 * The SDK's own log lines are dropped: Honk reports failures itself (redacted, with the
 * connection and object named), and without a logger the SDK writes to the console, e.g.
 * a warning for every failed streamed upload part that Honk then retries.
 */
const silent = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export function createS3Client(options: S3ConnectionOptions): S3Client {
  const checksum = options.checksums === 'when-required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  return new S3Client({
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? FALLBACK_REGION,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
    ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
    requestChecksumCalculation: checksum,
    responseChecksumValidation: checksum,
    maxAttempts: 1,
    logger: silent,
    requestHandler: { connectionTimeout: 10_000, requestTimeout: options.requestTimeoutMs },
  });
}
