/**
 * `honk-bigquery-emulator --port N [--storage-port N] [--project P] [--dataset D]… [--host H] [--job-latency-ms MS]`:
 * starts the emulator (REST on `--port`, the Storage Read API's gRPC on `--storage-port`),
 * prints `honk-bigquery-emulator listening on http://HOST:PORT (project P); Storage Read API
 * (gRPC) on http://HOST:PORT` when it is ready, and stops on SIGTERM or SIGINT.
 */
import { parseArgs } from 'node:util';
import { startBigQueryEmulator } from './bigquery-emulator.ts';

export async function main(argv: string[]): Promise<number> {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '9050' },
        'storage-port': { type: 'string', default: '9060' },
        host: { type: 'string', default: '127.0.0.1' },
        project: { type: 'string', default: 'honk-emulator' },
        dataset: { type: 'string', multiple: true },
        'job-latency-ms': { type: 'string', default: '0' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(
      'Usage: honk-bigquery-emulator [--port 9050] [--storage-port 9060] [--host 127.0.0.1] [--project honk-emulator] [--dataset name]... [--job-latency-ms 0]\n',
    );
    return 0;
  }
  const port = Number(values.port);
  const storagePort = Number(values['storage-port']);
  for (const [option, value] of [
    ['--port', port],
    ['--storage-port', storagePort],
  ] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 65_535) {
      process.stderr.write(`${option} must be a port number (0 picks a free one), not "${values[option.slice(2)]}".\n`);
      return 2;
    }
  }
  const emulator = await startBigQueryEmulator({
    port,
    storagePort,
    host: values.host as string,
    project: values.project as string,
    datasets: (values.dataset as string[] | undefined) ?? [],
    jobLatencyMs: Number(values['job-latency-ms']),
  });
  process.stdout.write(
    `honk-bigquery-emulator listening on ${emulator.endpoint} (project ${emulator.project}); Storage Read API (gRPC) on ${emulator.storageEndpoint}\n`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await emulator.stop();
  return 0;
}
