/**
 * Prometheus and promtool for tests, from Debian's `prometheus` package.
 *
 * `setup()` (global setup) finds both binaries, installing the package with apt-get when
 * they are missing and we are root (CI on a clean machine), and exports their paths as
 * `HONK_TEST_PROMTOOL` and `HONK_TEST_PROMETHEUS`. The package's own service is never
 * started: `startPrometheus()` runs a throwaway server on a free loopback port with its data
 * in a temporary directory, and `stop()` ends it and removes the directory (also when the
 * process exits without calling it).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrometheusTools {
  promtool: string;
  prometheus: string;
}

function which(name: string): string | undefined {
  for (const candidate of [`/usr/bin/${name}`, `/usr/local/bin/${name}`]) if (existsSync(candidate)) return candidate;
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : undefined;
}

function find(): PrometheusTools | undefined {
  const promtool = which('promtool');
  const prometheus = which('prometheus');
  return promtool && prometheus ? { promtool, prometheus } : undefined;
}

function aptGet(args: string[]): boolean {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  return spawnSync('apt-get', args, { env, stdio: 'ignore' }).status === 0;
}

/** The binaries, installed with apt-get when missing and we are root. */
export function ensurePrometheusTools(): PrometheusTools {
  const found = find();
  if (found) return found;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!root) {
    throw new Error(
      'promtool and prometheus not found. Install Debian\'s "prometheus" package (apt-get install prometheus), or set HONK_TEST_PROMTOOL and HONK_TEST_PROMETHEUS.',
    );
  }
  // Package lists may be stale or absent on a fresh machine: update once if the first try fails.
  const install = ['install', '-y', '--no-install-recommends', 'prometheus'];
  if (!aptGet(install) && !(aptGet(['update']) && aptGet(install))) {
    throw new Error('apt-get could not install the "prometheus" package (needed for promtool and the scrape test).');
  }
  const installed = find();
  if (!installed) throw new Error('apt-get installed prometheus but promtool or prometheus is not on PATH.');
  return installed;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningPrometheus {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Runs an instant query; returns the result vector. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>>;
  stop(): Promise<void>;
}

/**
 * Starts a Prometheus server on loopback scraping `targets` (`host:port`) every second under
 * job `job`. Resolves once it answers its readiness endpoint.
 */
export async function startPrometheus(options: { targets: string[]; job: string }): Promise<RunningPrometheus> {
  const binary = process.env.HONK_TEST_PROMETHEUS ?? ensurePrometheusTools().prometheus;
  const dir = mkdtempSync(join(tmpdir(), 'honk-prometheus-'));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      `  - job_name: ${JSON.stringify(options.job)}`,
      `    static_configs: [{ targets: ${JSON.stringify(options.targets)} }]`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(
    binary,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk) => {
    log += String(chunk);
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', kill);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      process.removeListener('exit', kill);
      kill();
      throw new Error(`prometheus exited with ${child.exitCode}:\n${log}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      process.removeListener('exit', kill);
      kill();
      throw new Error(`prometheus did not become ready within 60 s:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async query(expr) {
      const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as { status: string; data: { result: [] }; error?: string };
      if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
      return body.data.result;
    },
    async stop() {
      process.removeListener('exit', kill);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      }
      kill();
    },
  };
}

/** Global-setup hook: makes sure the binaries exist and exports their paths. */
export async function setup(): Promise<() => Promise<void>> {
  if (!process.env.HONK_TEST_PROMTOOL || !process.env.HONK_TEST_PROMETHEUS) {
    const tools = ensurePrometheusTools();
    process.env.HONK_TEST_PROMTOOL = tools.promtool;
    process.env.HONK_TEST_PROMETHEUS = tools.prometheus;
  }
  return async () => {};
}
