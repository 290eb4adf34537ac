import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@honk/cli';
import { expect, it } from 'vitest';

const example = dirname(dirname(fileURLToPath(import.meta.url)));

const honk = (argv: string[], cwd: string) => runCli(argv, { cwd });

/** The `honk …` commands of workflow.yml, in order, with the job's variables filled in. */
function workflowCommands(): string[][] {
  const workflow = readFileSync(join(example, 'workflow.yml'), 'utf8');
  return [...workflow.matchAll(/^\s*- run: pnpm exec honk (.+)$/gm)].map((match) =>
    match[1]!
      .replaceAll('"$SPEC"', 'honk.yaml')
      // A shared store in CI; a directory store here (the workflow's postgres:// URL is a secret).
      .replaceAll('"$HONK_STORE_URL"', 'journal:ci-store')
      .split(/\s+/),
  );
}

function checkout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'honk-ci-'));
  cpSync(join(example, 'data'), join(dir, 'data'), { recursive: true });
  cpSync(join(example, 'honk.yaml'), join(dir, 'honk.yaml'));
  return dir;
}

it('the workflow plans on pull requests and runs with --junit on main; exit codes 0', async () => {
  const [plan, run] = workflowCommands();
  expect(plan?.[0]).toBe('plan');
  expect(run?.[0]).toBe('run');
  expect(run).toContain('--junit');
  const dir = checkout();

  const planned = await honk(plan!, dir);
  expect(planned.code, planned.stderr).toBe(0);
  expect(planned.stdout).toMatch(/orders/);
  expect(existsSync(join(dir, 'lake'))).toBe(false); // plan moves no data

  const ran = await honk(run!, dir);
  expect(ran.code, ran.stdout + ran.stderr).toBe(0);
  const junit = readFileSync(join(dir, 'reports', 'honk.xml'), 'utf8');
  expect(junit).toMatch(/<testsuites name="honk" tests="2" failures="0"/);
  expect(junit).toMatch(/<testcase classname="honk.migration" name="orders"/);
  expect(JSON.parse(readFileSync(join(dir, 'reports', 'honk.json'), 'utf8'))).toMatchObject({ ok: true });
  expect(existsSync(join(dir, 'lake', 'orders.parquet'))).toBe(true);

  // The next run on main (same shared store) skips what succeeded and still exits 0.
  const again = await honk(run!, dir);
  expect(again.code).toBe(0);
  expect(readFileSync(join(dir, 'reports', 'honk.json'), 'utf8')).toMatch(/"action": "skipped"/);
});

it('an invalid spec fails the pull-request check with exit 2, before anything runs', async () => {
  const [plan] = workflowCommands();
  const dir = checkout();
  const spec = readFileSync(join(dir, 'honk.yaml'), 'utf8').replace(
    'target: { connection: lake',
    'taget: { connection: lake',
  );
  writeFileSync(join(dir, 'honk.yaml'), spec);
  const planned = await honk(plan!, dir);
  expect(planned.code).toBe(2);
  expect(planned.stderr).toMatch(/tasks\[0\]\.taget/);
});

it('a task that cannot succeed fails the main run with exit 1 and a JUnit failure', async () => {
  const [, run] = workflowCommands();
  const dir = checkout();
  const spec = readFileSync(join(dir, 'honk.yaml'), 'utf8').replace('path: customers.ndjson', 'path: gone.ndjson');
  writeFileSync(join(dir, 'honk.yaml'), spec);
  const ran = await honk(run!, dir);
  expect(ran.code).toBe(1);
  const junit = readFileSync(join(dir, 'reports', 'honk.xml'), 'utf8');
  expect(junit).toMatch(/tests="2" failures="1"/);
  expect(junit).toMatch(/<failure type="NOT_FOUND"/);
});
