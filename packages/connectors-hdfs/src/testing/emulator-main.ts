/**
 * `honk-webhdfs-emulator --port N --root DIR [--namenodes K] [--superuser NAME]`: the WebHDFS
 * emulator as a process, for local development and for checks from outside the test suite.
 * Prints the first name node's URL on stdout once every server listens; stops on SIGTERM or
 * SIGINT. Arguments that make no sense are refused with exit code 2.
 */
import { parseArgs } from 'node:util';
import { startWebHdfsEmulator } from './webhdfs-emulator.ts';

const usage = 'usage: honk-webhdfs-emulator [--port N] [--root DIR] [--namenodes K] [--superuser NAME]';

/** Runs the command; resolves with the exit code once the emulator has stopped. */
export async function main(argv: readonly string[]): Promise<number> {
  let values: { port?: string; root?: string; namenodes?: string; superuser?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        root: { type: 'string' },
        namenodes: { type: 'string' },
        superuser: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const port = Number(values.port ?? '0');
  const namenodes = Number(values.namenodes ?? '1');
  if (!Number.isInteger(port) || port < 0 || port > 65_535 || !Number.isInteger(namenodes) || namenodes < 1) {
    process.stderr.write(`--port must be 0–65535 and --namenodes at least 1.\n${usage}\n`);
    return 2;
  }
  const emulator = await startWebHdfsEmulator({
    port,
    namenodes,
    ...(values.root !== undefined ? { root: values.root } : {}),
    ...(values.superuser !== undefined ? { superuser: values.superuser } : {}),
  });
  process.stdout.write(`${emulator.url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await emulator.stop();
  return 0;
}
