// Runs one S3 test server in this child process and prints `{"port":N}` on stdout once it
// listens on a free loopback port. Plain JavaScript so it starts without a TypeScript loader.
// Usage: node s3-server-process.mjs s3rver <directory> | node s3-server-process.mjs fauxqs
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [kind, directory] = process.argv.slice(2);

if (kind === 's3rver') {
  const S3rver = require('s3rver');
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const address = await server.run();
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
} else if (kind === 'fauxqs') {
  const { startFauxqs } = await import('fauxqs');
  const server = await startFauxqs({ host: '127.0.0.1', port: 0, logger: false });
  process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);
} else {
  process.stderr.write(`unknown server kind: ${kind}\n`);
  process.exit(2);
}
// Exit when the parent goes away, so a crashed test run leaves no server behind.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
