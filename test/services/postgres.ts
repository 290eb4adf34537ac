/**
 * A real, throwaway PostgreSQL server for tests.
 *
 * `startPostgres()` finds the server binaries (installing Debian's `postgresql` package when
 * they are missing and we are root), initialises a cluster in a fresh temporary directory,
 * starts it on a free loopback port and returns its URL. `stop()` shuts it down
 * (`pg_ctl stop -m fast`) and removes the directory; it also runs when the process exits
 * without teardown (a crashed test run), so no server outlives the run.
 *
 * PostgreSQL refuses to run as root, so when we are root (CI) the cluster belongs to the
 * `postgres` system user the package creates, or to a `honk-pg` system user made on demand.
 *
 * Authentication: trust on 127.0.0.1 for everyone except the role {@link PASSWORD_ROLE},
 * which must present {@link PASSWORD_ROLE_PASSWORD} (scram-sha-256) — auth tests use it.
 * Durability is switched off (fsync, full_page_writes): a test cluster is disposable.
 */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A role that must authenticate with a password (all other roles are trusted on loopback). */
export const PASSWORD_ROLE = 'honk_password';
/** Its password. A test-only value, never used outside the throwaway cluster. */
export const PASSWORD_ROLE_PASSWORD = 'honk-test-pw-9f2c';

export interface RunningPostgres {
  /** Superuser URL, e.g. `postgres://postgres@127.0.0.1:54321/postgres`. */
  url: string;
  /** URL of {@link PASSWORD_ROLE} with its password. */
  passwordUrl: string;
  stop(): Promise<void>;
}

interface Account {
  uid: number;
  gid: number;
  name: string;
}

function run(command: string, args: string[], options: SpawnSyncOptions = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited with ${result.status}:\n${String(result.stdout)}\n${String(result.stderr)}`,
    );
  }
  return String(result.stdout);
}

function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => existsSync(join(root, name, 'bin', 'initdb')) && existsSync(join(root, name, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  }
  // Non-Debian layouts (Homebrew, source builds): ask pg_config.
  const pgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (pgConfig.status === 0) {
    const dir = pgConfig.stdout.trim();
    if (existsSync(join(dir, 'initdb'))) return dir;
  }
  return undefined;
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function ensureBinDir(): string {
  const found = findBinDir();
  if (found) return found;
  if (!isRoot()) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) not found. Install PostgreSQL, or set ' +
        'HONK_TEST_POSTGRES_URL to a server the tests may use.',
    );
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update'], { env, stdio: 'ignore' });
  run('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], { env, stdio: 'ignore' });
  const installed = findBinDir();
  if (!installed) throw new Error('apt-get installed postgresql but initdb was not found under /usr/lib/postgresql.');
  return installed;
}

/** The account that owns and runs the cluster: ourselves, or a system user when we are root. */
function clusterAccount(): Account | undefined {
  if (!isRoot()) return undefined;
  for (const name of ['postgres', 'honk-pg']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (uid.status === 0) {
      const gid = run('id', ['-g', name]).trim();
      return { name, uid: Number(uid.stdout.trim()), gid: Number(gid) };
    }
  }
  run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'honk-pg']);
  return {
    name: 'honk-pg',
    uid: Number(run('id', ['-u', 'honk-pg']).trim()),
    gid: Number(run('id', ['-g', 'honk-pg'])),
  };
}

/** A free TCP port on 127.0.0.1 (the OS picks it; it is closed again before it is returned). */
export async function freePort(): Promise<number> {
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

/** Start a throwaway PostgreSQL server. */
export async function startPostgres(): Promise<RunningPostgres> {
  const binDir = ensureBinDir();
  const account = clusterAccount();
  const base = mkdtempSync(join(tmpdir(), 'honk-pg-'));
  const dataDir = join(base, 'data');
  const asAccount: SpawnSyncOptions = account
    ? { uid: account.uid, gid: account.gid, env: { ...process.env, HOME: base, USER: account.name } }
    : {};
  if (account) chownSync(base, account.uid, account.gid);

  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(dataDir, 'postmaster.pid'))) {
      spawnSync(join(binDir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], {
        ...asAccount,
        stdio: 'ignore',
      });
    }
    rmSync(base, { recursive: true, force: true });
  };
  // A run that dies without teardown must not leave a server behind.
  process.once('exit', stopSync);

  try {
    run(
      join(binDir, 'initdb'),
      ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
      { ...asAccount, stdio: 'pipe' },
    );
    const port = await freePort();
    await appendFile(
      join(dataDir, 'postgresql.conf'),
      [
        '',
        '# Honk test cluster: loopback only, speed over durability.',
        "listen_addresses = '127.0.0.1'",
        `port = ${port}`,
        `unix_socket_directories = '${base}'`,
        'max_connections = 100',
        'shared_buffers = 64MB',
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        'wal_level = minimal',
        'max_wal_senders = 0',
        "timezone = 'UTC'",
        '',
      ].join('\n'),
    );
    // First match wins: the password role must authenticate, everyone else is trusted.
    writeFileSync(
      join(dataDir, 'pg_hba.conf'),
      [
        `host all ${PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256`,
        'host all all 127.0.0.1/32 trust',
        'local all all trust',
        '',
      ].join('\n'),
    );
    run(join(binDir, 'pg_ctl'), ['start', '-D', dataDir, '-l', join(base, 'server.log'), '-w', '-t', '60'], {
      ...asAccount,
      stdio: 'ignore',
    });
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    run(
      join(binDir, 'psql'),
      [
        url,
        '-v',
        'ON_ERROR_STOP=1',
        '-qc',
        `CREATE ROLE ${PASSWORD_ROLE} LOGIN PASSWORD '${PASSWORD_ROLE_PASSWORD}'; GRANT ALL ON SCHEMA public TO ${PASSWORD_ROLE};`,
      ],
      { stdio: 'pipe' },
    );
    const passwordUrl = `postgres://${PASSWORD_ROLE}:${PASSWORD_ROLE_PASSWORD}@127.0.0.1:${port}/postgres`;
    return {
      url,
      passwordUrl,
      stop: async () => {
        process.removeListener('exit', stopSync);
        stopSync();
      },
    };
  } catch (error) {
    process.removeListener('exit', stopSync);
    let log = '';
    try {
      log = run('cat', [join(base, 'server.log')]);
    } catch {}
    stopSync();
    throw new Error(`Could not start the test PostgreSQL server: ${(error as Error).message}\n${log}`, {
      cause: error,
    });
  }
}

/**
 * Global-setup hook: reuses `HONK_TEST_POSTGRES_URL` when set, otherwise starts a server and
 * exports `HONK_TEST_POSTGRES_URL` and `HONK_TEST_POSTGRES_PASSWORD_URL` for test files
 * (forks inherit the environment). Returns the teardown.
 */
export async function setup(): Promise<() => Promise<void>> {
  if (process.env.HONK_TEST_POSTGRES_URL) return async () => {};
  const server = await startPostgres();
  process.env.HONK_TEST_POSTGRES_URL = server.url;
  process.env.HONK_TEST_POSTGRES_PASSWORD_URL = server.passwordUrl;
  return async () => {
    await server.stop();
    delete process.env.HONK_TEST_POSTGRES_URL;
    delete process.env.HONK_TEST_POSTGRES_PASSWORD_URL;
  };
}
