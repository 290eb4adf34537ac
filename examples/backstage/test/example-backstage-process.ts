/**
 * The example Backstage as a user runs it (`node start.ts`), in a child process on a free
 * loopback port against a database of the suite's PostgreSQL, with its data and the built app
 * in temporary folders. Its log goes to a file (printed when it does not come up).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../../test/services/postgres.ts';

const example = dirname(dirname(fileURLToPath(import.meta.url)));

export interface ExampleBackstage {
  base: string;
  /** The backend's process (for memory figures). */
  pid: number;
  /** How long the backend took from spawn to ready, in ms. */
  startMs: number;
  /** A user token, as the guest sign-in gives the browser (Ada). */
  userToken(): Promise<string>;
  stop(): Promise<void>;
}

/** Polls `probe` until it returns a value (not undefined), or fails naming `what`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export async function startExampleBackstage(options: {
  databaseUrl: string;
  dataDir: string;
  appDir: string;
  logFile: string;
  scale: number;
  /** A Honk spec to publish instead of the quickstart's. */
  spec?: string;
  readyTimeoutMs?: number;
}): Promise<ExampleBackstage> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const log = createWriteStream(options.logFile);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(example, 'start.ts'),
      '--port',
      String(port),
      '--database-url',
      options.databaseUrl,
      '--data-dir',
      options.dataDir,
      '--app-dir',
      options.appDir,
      '--scale',
      String(options.scale),
      ...(options.spec ? ['--spec', options.spec] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
  );
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    await new Promise((resolve) => log.end(resolve));
  };

  try {
    await Promise.race([
      eventually(
        'the example backend to be ready',
        async () => {
          const response = await fetch(`${base}/.backstage/health/v1/readiness`);
          return response.ok ? true : undefined;
        },
        options.readyTimeoutMs ?? 120_000,
      ),
      exited.then((code) => {
        throw new Error(`start.ts exited with ${code} before it was ready`);
      }),
    ]);
  } catch (error) {
    await stop();
    throw new Error(
      `${(error as Error).message}\n--- ${options.logFile} ---\n${readFileSync(options.logFile, 'utf8').slice(-6000)}`,
    );
  }
  return {
    base,
    pid: child.pid!,
    startMs: performance.now() - started,
    async userToken() {
      // What the guest sign-in does in the browser: the auth backend's refresh endpoint.
      const response = await fetch(`${base}/api/auth/guest/refresh`, {
        headers: { 'x-requested-with': 'XMLHttpRequest' },
      });
      if (!response.ok) throw new Error(`guest sign-in failed with ${response.status}: ${await response.text()}`);
      const body = (await response.json()) as { backstageIdentity: { token: string } };
      return body.backstageIdentity.token;
    },
    stop,
  };
}
