/**
 * `honk agent` classes: `--label`/`--connections`/`--class` and their environment
 * equivalents decide which enqueued tasks an agent claims (DESIGN §8, agent classes).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AgentCommandOptions, agentClassOf, agentCommand } from '../src/commands/agent-command.ts';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

// The forbidden tasks come first in claim order, so a claim that ignored the class would take them first.
const SPEC = `version: 1
connections:
  legacy:    { connector: file, root: ./legacy }
  legacy-eu: { connector: file, root: ./legacy, agentLabels: { region: eu } }
  legacy-us: { connector: file, root: ./legacy, agentLabels: { region: us } }
  lake:      { connector: file, root: ./lake }
tasks:
  - id: us-orders
    priority: 10
    source: { connection: legacy-us, path: orders.csv, format: csv }
    target: { connection: lake, path: us.parquet }
  - id: plain
    priority: 5
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: plain.parquet }
  - id: eu-orders
    source: { connection: legacy-eu, path: orders.csv, format: csv }
    target: { connection: lake, path: eu.parquet }
`;

/** Runs `honk agent` in-process until every file in `files` exists under `dir`, then drains it. */
async function runAgentUntil(
  dir: string,
  store: string,
  options: Partial<AgentCommandOptions>,
  env: Record<string, string>,
  files: string[],
): Promise<string> {
  let stop!: () => void;
  const until = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const output: string[] = [];
  const io = {
    stdout: (text: string) => output.push(text),
    stderr: (text: string) => output.push(text),
    env,
    cwd: dir,
    isTTY: false,
  };
  const agent = agentCommand(
    { store, concurrency: 2, port: 0, host: '127.0.0.1', scheduler: false, until, ...options },
    io,
  );
  for (let index = 0; index < 600 && !files.every((file) => existsSync(join(dir, file))); index += 1) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  stop();
  expect(await agent, output.join('')).toBe(0);
  return output.join('');
}

async function states(dir: string, store: string): Promise<Record<string, string>> {
  const status = JSON.parse((await honk(['status', '--store', store, '--json'], { cwd: dir })).stdout);
  return Object.fromEntries(status.tasks.map((task: { id: string; state: string }) => [task.id, task.state]));
}

describe('honk agent classes', () => {
  it('claims only the tasks whose agentLabels and connections its class covers', async () => {
    const dir = tempDir('agent-class');
    await writeFiles(dir, { 'honk.yaml': SPEC, 'legacy/orders.csv': ordersCsv(20) });
    const store = join(dir, 'queue');
    expect((await honk(['enqueue', 'honk.yaml', '--store', store], { cwd: dir })).code).toBe(0);

    // An EU agent configured through the environment, limited to two connections.
    const eu = await runAgentUntil(
      dir,
      store,
      {},
      { HONK_AGENT_CLASS: 'eu', HONK_AGENT_LABELS: 'region=eu', HONK_AGENT_CONNECTIONS: 'legacy-eu,lake' },
      ['lake/eu.parquet'],
    );
    expect(eu).toContain('(class eu: labels region=eu; connections lake,legacy-eu)');
    expect(await states(dir, store)).toEqual({ 'us-orders': 'pending', plain: 'pending', 'eu-orders': 'succeeded' });

    // A US agent configured with flags, which win over the environment.
    await runAgentUntil(
      dir,
      store,
      { class: 'us', label: ['region=us'] },
      { HONK_AGENT_LABELS: 'region=eu', HONK_AGENT_CONNECTIONS: 'legacy-us,lake' },
      ['lake/us.parquet'],
    );
    const afterUs = await states(dir, store);
    expect(afterUs['us-orders']).toBe('succeeded');
    // HONK_AGENT_CONNECTIONS still applies (no --connections flag): `plain` reads from `legacy`, not in it.
    expect(afterUs.plain).toBe('pending');

    // An agent without labels takes what requires none.
    await runAgentUntil(dir, store, {}, {}, ['lake/plain.parquet']);
    expect(await states(dir, store)).toEqual({
      'us-orders': 'succeeded',
      plain: 'succeeded',
      'eu-orders': 'succeeded',
    });
  });

  it('honk run runs every task of its spec itself, whatever agentLabels they require', async () => {
    const dir = tempDir('agent-class-run');
    await writeFiles(dir, { 'honk.yaml': SPEC, 'legacy/orders.csv': ordersCsv(20) });
    const result = await honk(['run', 'honk.yaml', '--json'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const tasks = JSON.parse(result.stdout).tasks as Array<{ id: string; state: string }>;
    expect(tasks.map((task) => task.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('refuses a malformed class with exit 2, naming the flag or variable, before touching the store', async () => {
    const dir = tempDir('agent-class-bad');
    const store = join(dir, 'never-created');
    const label = await honk(['agent', '--store', store, '--label', 'region'], { cwd: dir });
    expect(label.code).toBe(2);
    expect(label.stderr).toContain('--label: "region" is not a label; write key=value');
    const connections = await honk(['agent', '--store', store], { cwd: dir, env: { HONK_AGENT_CONNECTIONS: ' , ' } });
    expect(connections.code).toBe(2);
    expect(connections.stderr).toContain('HONK_AGENT_CONNECTIONS is empty');
    const className = await honk(['agent', '--store', store, '--class', 'eu west'], { cwd: dir });
    expect(className.code).toBe(2);
    expect(className.stderr).toContain('--class: class name "eu west" is not allowed');
    expect(existsSync(store)).toBe(false);
  });

  it('reads repeated --label flags and refuses one label given two values', () => {
    expect(agentClassOf({ label: ['region=eu', 'tier=gold'] }, {})).toEqual({
      labels: { region: 'eu', tier: 'gold' },
    });
    expect(() => agentClassOf({ label: ['region=eu', 'region=us'] }, {})).toThrow(/label "region" is given twice/);
    expect(agentClassOf({}, { HONK_AGENT_CLASS: 'gold', HONK_AGENT_CONNECTIONS: 'b,a' })).toEqual({
      className: 'gold',
      labels: {},
      connections: ['a', 'b'],
    });
  });
});
