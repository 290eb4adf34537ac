/**
 * The emulator in a child process (the `honk-bigquery-emulator` command), for tests that
 * measure this process's memory or must not share its event loop with the server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface EmulatorProcess {
  readonly endpoint: string;
  /** The Storage Read API (plaintext gRPC), `http://127.0.0.1:PORT`. */
  readonly storageEndpoint: string;
  readonly project: string;
  stop(): Promise<void>;
}

/** Starts `honk-bigquery-emulator` on a free loopback port and waits until it listens. */
export async function startBigQueryEmulatorProcess(
  options: { project?: string; datasets?: string[]; jobLatencyMs?: number } = {},
): Promise<EmulatorProcess> {
  const bin = fileURLToPath(new URL('../../bin/honk-bigquery-emulator.js', import.meta.url));
  const project = options.project ?? 'honk-emulator';
  const args = [
    bin,
    '--port',
    '0',
    '--storage-port',
    '0',
    '--project',
    project,
    ...(options.datasets ?? []).flatMap((name) => ['--dataset', name]),
  ];
  if (options.jobLatencyMs !== undefined) args.push('--job-latency-ms', String(options.jobLatencyMs));
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const [endpoint, storageEndpoint] = await new Promise<[string, string]>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+) .*Storage Read API \(gRPC\) on (http:\/\/\S+)/.exec(output);
      if (match) resolve([match[1] as string, match[2] as string]);
    });
    child.once('exit', (code) =>
      reject(new Error(`honk-bigquery-emulator exited with code ${code} before listening: ${output}`)),
    );
    child.once('error', reject);
  });
  return {
    endpoint,
    storageEndpoint,
    project,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
