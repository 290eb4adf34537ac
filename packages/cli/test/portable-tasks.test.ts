/**
 * Tasks enqueued in one place and run by an agent elsewhere (issue 9 §1): the record carries
 * what the task needs (absolute paths, custom connector modules, the spec's directory), and
 * an agent loads only modules its own allow-list trusts, whatever a task names.
 */
import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../connectors-postgres/test/postgres-test-database.ts';
import { agentCommand } from '../src/commands/agent-command.ts';
import { honk, tempDir, writeFiles } from './cli-helpers.ts';

const here = dirname(fileURLToPath(import.meta.url));
const bin = resolve(here, '../bin/honk.js');
const exampleConnector = resolve(here, '../../../examples/custom-connector/arrow-versions-connector.ts');

/** A user's project outside the workspace: its own package.json and node_modules. */
function project(name: string, type: 'module' | 'commonjs' | undefined = 'module'): string {
  const dir = tempDir(name);
  mkdirSync(join(dir, 'node_modules', '@honk'), { recursive: true });
  symlinkSync(resolve(here, '../../core'), join(dir, 'node_modules', '@honk', 'core'), 'dir');
  for (const name of ['apache-arrow', 'zod']) {
    symlinkSync(resolve(here, '../../core/node_modules', name), join(dir, 'node_modules', name), 'dir');
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'user-project', ...(type ? { type } : {}) }));
  return dir;
}

const CITIES = 'name,population\nStockholm,975000\nGöteborg,590000\nMalmö,357000\n';

/** Runs `honk agent` in-process until `done` says the store has settled, then stops it. */
async function runAgent(
  options: { store: string; cwd: string; allowModule?: string[]; env?: Record<string, string> },
  done: () => Promise<boolean>,
): Promise<string> {
  let stop!: () => void;
  const until = new Promise<void>((resolve) => {
    stop = resolve;
  });
  let stderr = '';
  let listening: AddressInfo | undefined;
  const io = {
    stdout() {},
    stderr: (text: string) => {
      stderr += text;
    },
    env: options.env ?? {},
    cwd: options.cwd,
    isTTY: false,
  };
  const agent = agentCommand(
    {
      store: options.store,
      concurrency: 2,
      port: 0,
      host: '127.0.0.1',
      scheduler: false,
      until,
      onListening: (address) => (listening = address),
      ...(options.allowModule ? { allowModule: options.allowModule } : {}),
    },
    io,
  );
  try {
    for (let i = 0; i < 600 && !(listening && (await done())); i++) await new Promise((r) => setTimeout(r, 100));
  } finally {
    stop();
  }
  expect(await agent).toBe(0);
  return stderr;
}

async function states(store: string, cwd: string): Promise<Record<string, string>> {
  const status = await honk(['status', '--store', store, '--json'], { cwd });
  const tasks = JSON.parse(status.stdout).tasks as Array<{ id: string; state: string }>;
  return Object.fromEntries(tasks.map((task) => [task.id, task.state]));
}

async function settled(store: string, cwd: string, ids: string[]): Promise<boolean> {
  const now = await states(store, cwd);
  return ids.every((id) => ['succeeded', 'dead'].includes(now[id] ?? ''));
}

// A shared PostgreSQL store, as a fleet uses: commands can read it while an agent runs.
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('a task enqueued from a spec runs on an agent elsewhere', () => {
  it('with its custom connector, transform module and relative paths resolved against the spec, not the agent', async () => {
    const dir = project('portable');
    mkdirSync(join(dir, 'specs', 'connectors'), { recursive: true });
    copyFileSync(exampleConnector, join(dir, 'specs', 'connectors', 'arrow-versions.ts'));
    await writeFiles(dir, {
      'specs/honk.yaml': `version: 1
connectors: [./connectors/arrow-versions.ts]
connections:
  files: { connector: file, root: ./data }
  tables: { connector: arrow-versions, root: ./tables }
tasks:
  - id: cities
    source: { connection: files, path: cities.csv }
    target: { connection: tables, table: cities }
    transform:
      cast: { population: int64 }
      module: ./transforms/keep.ts#keep
`,
      'specs/transforms/keep.ts': 'export const keep = (batch: unknown) => batch;\n',
      'specs/data/cities.csv': CITIES,
    });
    const store = db.url;
    const enqueued = await honk(['enqueue', 'specs/honk.yaml', '--store', store], { cwd: dir });
    expect(enqueued.code, enqueued.stderr).toBe(0);

    // The agent runs in another directory and trusts the project's modules.
    const elsewhere = tempDir('agent-cwd');
    await runAgent({ store, cwd: elsewhere, allowModule: [join(dir, 'specs') + '/'] }, () =>
      settled(store, dir, ['cities']),
    );
    const status = JSON.parse((await honk(['status', 'cities', '--store', store, '--json'], { cwd: dir })).stdout);
    expect(status.tasks[0].lastError).toBeUndefined();
    expect(status.tasks[0].state).toBe('succeeded');
    expect(existsSync(join(dir, 'specs', 'tables', 'cities', 'CURRENT'))).toBe(true);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  it('a relative file root written by one user and run by an agent with another working directory lands beside the spec', async () => {
    const dir = tempDir('relative-root');
    await writeFiles(dir, {
      'specs/honk.yaml': `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: relative-cities
    source: { connection: legacy, path: cities.csv }
    target: { connection: lake, path: cities.parquet }
`,
      'specs/legacy/cities.csv': CITIES,
    });
    const store = db.url;
    expect((await honk(['enqueue', 'specs/honk.yaml', '--store', store], { cwd: dir })).code).toBe(0);
    const elsewhere = tempDir('agent-cwd');
    // A decoy where the old behaviour would have read from: the agent's working directory.
    await writeFiles(elsewhere, { 'legacy/cities.csv': 'name,population\nWrong,1\n' });
    await runAgent({ store, cwd: elsewhere, allowModule: [] }, () => settled(store, dir, ['relative-cities']));
    expect(await states(store, dir)).toMatchObject({ 'relative-cities': 'succeeded' });
    expect(existsSync(join(dir, 'specs', 'lake', 'cities.parquet'))).toBe(true);
    expect(existsSync(join(elsewhere, 'lake'))).toBe(false);
  });
});

type Child = ChildProcessByStdio<null, Readable, Readable>;

function startAgent(args: string[], cwd: string, env: Record<string, string> = {}) {
  const child: Child = spawn(process.execPath, [bin, 'agent', '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd,
    env: { ...process.env, HONK_ALLOWED_MODULES: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('the module allow-list: anyone who can enqueue must not run code on the fleet', () => {
  it('a task naming modules outside the allow-list is dead-lettered at once and its modules never execute', async () => {
    const dir = project('untrusted');
    // Modules that leave a marker file when they are imported: that is running code.
    const marker = (name: string) =>
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('./${name}.marker', import.meta.url), 'executed');\n`;
    await writeFiles(dir, {
      'evil/connector.ts': `${marker('connector')}import { z } from 'zod';
export const evil = {
  specificationVersion: 'v1', name: 'evil', capabilities: {},
  optionsSchema: z.object({}).strict(), endpointSchema: z.object({ path: z.string() }).strict(),
};
`,
      'evil/transform.ts': `${marker('transform')}export const take = (batch: unknown) => batch;\n`,
      'honk.yaml': `version: 1
connectors: [./evil/connector.ts]
connections:
  files: { connector: file, root: ./data }
  sink: { connector: evil }
tasks:
  - id: via-connector
    source: { connection: files, path: cities.csv }
    target: { connection: sink, path: x }
  - id: via-transform
    source: { connection: files, path: cities.csv }
    target: { connection: files, path: out.csv }
    transform: { module: ./evil/transform.ts#take }
`,
      'data/cities.csv': CITIES,
    });
    const store = db.url;
    const enqueued = await honk(['enqueue', 'honk.yaml', '--store', store], { cwd: dir });
    expect(enqueued.code, enqueued.stderr).toBe(0);
    // The enqueuer's own process loaded its connector module to validate the spec; that is
    // the enqueuer's code on the enqueuer's machine. Only what agents do counts from here.
    rmSync(join(dir, 'evil', 'connector.marker'), { force: true });

    const untrusting = startAgent(['--store', store, '--allow-module', '/opt/not-here/'], tempDir('agent'));
    try {
      for (let i = 0; i < 600 && !(await settled(store, dir, ['via-connector', 'via-transform'])); i++)
        await new Promise((r) => setTimeout(r, 100));
    } finally {
      expect(await untrusting.stop(), untrusting.output()).toBe(0);
    }
    const dead = JSON.parse((await honk(['dead-letter', 'list', '--store', store, '--json'], { cwd: dir })).stdout);
    expect(dead.map((task: { id: string }) => task.id).sort()).toEqual(['via-connector', 'via-transform']);
    for (const task of dead) {
      expect(task.attempts, task.id).toBe(1);
      expect(task.lastError).toMatchObject({ code: 'MODULE_NOT_ALLOWED', retryable: false });
      expect(task.lastError.message).toContain('--allow-module');
      expect(task.lastError.message).toContain('HONK_ALLOWED_MODULES');
    }
    expect(dead.find((task: { id: string }) => task.id === 'via-connector').lastError.message).toContain(
      join(dir, 'evil', 'connector.ts'),
    );
    expect(dead.find((task: { id: string }) => task.id === 'via-transform').lastError.message).toContain(
      join(dir, 'evil', 'transform.ts'),
    );
    expect(existsSync(join(dir, 'evil', 'connector.marker'))).toBe(false);
    expect(existsSync(join(dir, 'evil', 'transform.marker'))).toBe(false);

    // The same tasks on an agent that trusts the directory (through HONK_ALLOWED_MODULES): the
    // modules load — the markers prove the check above is what kept them out.
    for (const id of ['via-connector', 'via-transform']) {
      expect((await honk(['dead-letter', 'requeue', id, '--store', store], { cwd: dir })).code).toBe(0);
    }
    const trusting = startAgent(['--store', store], tempDir('agent'), {
      HONK_ALLOWED_MODULES: `/opt/not-here/,${join(dir, 'evil')}/`,
    });
    try {
      for (let i = 0; i < 600 && !(await settled(store, dir, ['via-connector', 'via-transform'])); i++)
        await new Promise((r) => setTimeout(r, 100));
    } finally {
      expect(await trusting.stop(), trusting.output()).toBe(0);
    }
    expect(readFileSync(join(dir, 'evil', 'connector.marker'), 'utf8')).toBe('executed');
    expect(readFileSync(join(dir, 'evil', 'transform.marker'), 'utf8')).toBe('executed');
    expect(await states(store, dir)).toMatchObject({ 'via-transform': 'succeeded' });
  });

  it('an allow-list entry that is a relative path is refused at start with exit 2', async () => {
    const result = await honk(['agent', '--store', 'memory:', '--port', '0', '--allow-module', './connectors'], {
      cwd: tempDir('relative-entry'),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('./connectors');
    expect(result.stderr).toContain('absolute');
  });
});

describe('a custom connector .ts outside a "type": "module" package', () => {
  const connector = `import { z } from 'zod';
export const plain = {
  specificationVersion: 'v1', name: 'plain', capabilities: {},
  optionsSchema: z.object({}).strict(), endpointSchema: z.object({ path: z.string() }).strict(),
};
`;
  const spec = `version: 1
connectors: [./connectors/plain.ts]
connections:
  files: { connector: file, root: ./data }
  sink: { connector: plain }
tasks:
  - id: t
    source: { connection: files, path: cities.csv }
    target: { connection: sink, path: x }
`;

  it('loads from a package without "type" (Node detects the module syntax)', async () => {
    const dir = project('typeless', undefined);
    await writeFiles(dir, { 'connectors/plain.ts': connector, 'honk.yaml': spec, 'data/cities.csv': CITIES });
    const child = spawnSync(process.execPath, [bin, 'enqueue', 'honk.yaml', '--store', join(dir, 'queue')], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).toBe(0);
  });

  it('in a "type": "commonjs" package gets exit 2 and an error saying what to change', async () => {
    const dir = project('commonjs', 'commonjs');
    await writeFiles(dir, { 'connectors/plain.ts': connector, 'honk.yaml': spec, 'data/cities.csv': CITIES });
    for (const command of ['plan', 'enqueue']) {
      // A real process: Node's own loader decides how the file loads, not the test runner's.
      const child = spawnSync(process.execPath, [bin, command, 'honk.yaml', '--store', 'memory:'], {
        cwd: dir,
        encoding: 'utf8',
      });
      const result = { code: child.status, stderr: child.stderr };
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('connectors[0]');
      expect(result.stderr).toContain(join(dir, 'package.json'));
      expect(result.stderr).toContain('"type": "module"');
      expect(result.stderr).toContain('.mts');
    }
  });
});
