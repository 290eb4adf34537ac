/**
 * Runs the migration service: `node examples/library/service.ts`.
 *
 * Environment: PORT (default 8080), HOST (default 127.0.0.1), INCOMING_DIR, LAKE_DIR and
 * STORE_DIR (defaults under ./service-data). SIGTERM or Ctrl-C drains: the server stops
 * accepting requests, running migrations finish, then the process exits.
 */
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { createMigrationService } from './migration-service.ts';

const data = resolve(process.env.SERVICE_DATA ?? 'service-data');
const service = await createMigrationService({
  incomingDir: resolve(process.env.INCOMING_DIR ?? `${data}/incoming`),
  lakeDir: resolve(process.env.LAKE_DIR ?? `${data}/lake`),
  storeDir: resolve(process.env.STORE_DIR ?? `${data}/.honk`),
});
const port = Number(process.env.PORT ?? 8080);
service.server.listen(port, process.env.HOST ?? '127.0.0.1', () => {
  const address = service.server.address() as AddressInfo;
  console.log(`migration service on http://${address.address}:${address.port}`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: draining (running migrations finish first)`);
    service.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
