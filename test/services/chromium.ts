/**
 * Headless Chromium for browser tests: Debian's `chromium` package, installed with apt-get when
 * it is missing and we are root (CI runs as root on a clean Debian machine), like PostgreSQL in
 * postgres.ts. Tests drive it with playwright-core's `chromium.launch({ executablePath })`;
 * no browser is ever downloaded.
 *
 * `HONK_TEST_CHROMIUM` names another executable (a Chrome or Chromium build) to use instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where Debian's package puts the browser. */
export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function aptGet(args: string[]): void {
  const result = spawnSync('apt-get', args, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`apt-get ${args.join(' ')} exited with ${result.status}:\n${result.stderr}`);
}

/**
 * The Chromium executable to launch: `HONK_TEST_CHROMIUM`, else /usr/bin/chromium, installing
 * Debian's `chromium` package first when it is missing (as root; otherwise an error says how
 * to install it). Returns how long an install took (0 when nothing was installed).
 */
export function ensureChromium(): { executablePath: string; installMs: number } {
  const configured = process.env.HONK_TEST_CHROMIUM;
  if (configured) {
    if (!existsSync(configured)) throw new Error(`HONK_TEST_CHROMIUM=${configured} does not exist.`);
    return { executablePath: configured, installMs: 0 };
  }
  if (existsSync(DEBIAN_CHROMIUM)) return { executablePath: DEBIAN_CHROMIUM, installMs: 0 };
  if (!isRoot()) {
    throw new Error(
      `Chromium not found at ${DEBIAN_CHROMIUM}. Install it (sudo apt-get install chromium), or set ` +
        'HONK_TEST_CHROMIUM to a Chrome or Chromium executable.',
    );
  }
  const started = performance.now();
  aptGet(['update']);
  aptGet(['install', '-y', '--no-install-recommends', 'chromium']);
  if (!existsSync(DEBIAN_CHROMIUM)) throw new Error(`apt-get installed chromium but ${DEBIAN_CHROMIUM} is missing.`);
  return { executablePath: DEBIAN_CHROMIUM, installMs: performance.now() - started };
}
