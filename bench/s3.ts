/**
 * S3 bench (see packages/connectors-s3/test/helpers/s3-bench.ts): file→S3 and S3→file
 * against s3rver on loopback, with file→file in the same run as the reference.
 * Standalone: `node --expose-gc --import tsx bench/s3.ts`.
 */
import { fileURLToPath } from 'node:url';
import { benchS3 } from '../packages/connectors-s3/test/helpers/s3-bench.ts';
import { emit } from './report.ts';

export { benchS3 };

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const result of await benchS3()) emit(result);
}
