/**
 * `honk-bigquery-emulator --port N [--project P] [--dataset D]… [--host H] [--job-latency-ms MS]`:
 * starts the emulator, prints `honk-bigquery-emulator listening on http://HOST:PORT` when it
 * is ready, and stops on SIGTERM or SIGINT.
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
      'Usage: honk-bigquery-emulator [--port 9050] [--host 127.0.0.1] [--project honk-emulator] [--dataset name]... [--job-latency-ms 0]\n',
    );
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    process.stderr.write(`--port must be a port number (0 picks a free one), not "${values.port}".\n`);
    return 2;
  }
  const emulator = await startBigQueryEmulator({
    port,
    host: values.host as string,
    project: values.project as string,
    datasets: (values.dataset as string[] | undefined) ?? [],
    jobLatencyMs: Number(values['job-latency-ms']),
  });
  process.stdout.write(`honk-bigquery-emulator listening on ${emulator.endpoint} (project ${emulator.project})\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await emulator.stop();
  return 0;
}
