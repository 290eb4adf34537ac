import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { agentCommand } from '../src/commands/agent-command.ts';
import { honk, ordersCsv, tempDir, writeFiles } from './cli-helpers.ts';

const BLUEPRINT = `version: 1
name: honk
namespace: migrations
image: ghcr.io/acme/honk-agent:1.0.0
store:
  url: { name: honk-store, key: url }
classes:
  - name: eu
    region: eu-west-1
    labels: { region: eu }
  - name: us
    region: us-east-1
    labels: { region: us }
`;

describe('honk manifests', () => {
  it('prints every object of the fleet as one YAML stream', async () => {
    const dir = tempDir('manifests');
    await writeFiles(dir, { 'fleet/blueprint.yaml': BLUEPRINT });
    const result = await honk(['manifests', 'fleet/blueprint.yaml'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    const objects = parseAllDocuments(result.stdout).map((document) => document.toJS());
    expect(objects.map((object) => `${object.kind}/${object.metadata.name}`)).toEqual([
      'TriggerAuthentication/honk-store',
      'Deployment/honk-eu',
      'PodDisruptionBudget/honk-eu',
      'ScaledObject/honk-eu',
      'Deployment/honk-us',
      'PodDisruptionBudget/honk-us',
      'ScaledObject/honk-us',
      'Service/honk-metrics',
      'ServiceMonitor/honk',
      'PrometheusRule/honk-alerts',
      'NetworkPolicy/honk-agents',
      'ConfigMap/honk-dashboard',
    ]);
  });

  it('writes one file per object with --out', async () => {
    const dir = tempDir('manifests-out');
    await writeFiles(dir, { 'blueprint.yaml': BLUEPRINT });
    const result = await honk(['manifests', 'blueprint.yaml', '--out', 'k8s'], { cwd: dir });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('12 objects written to k8s');
    const files = readdirSync(join(dir, 'k8s')).sort();
    expect(files).toHaveLength(12);
    expect(files).toContain('scaledobject-honk-eu.yaml');
    const deployment = parseAllDocuments(readFileSync(join(dir, 'k8s', 'deployment-honk-us.yaml'), 'utf8'));
    expect(deployment).toHaveLength(1);
    expect(deployment[0]!.toJS().spec.template.spec.affinity).toBeDefined();
  });

  it('exits 2 on an invalid blueprint, naming the file and every wrong path', async () => {
    const dir = tempDir('manifests-bad');
    await writeFiles(dir, {
      'blueprint.yaml': BLUEPRINT.replace('namespace: migrations', 'namespace: Migrations').replace(
        '    region: us-east-1\n',
        '    region: us-east-1\n    replica: 3\n',
      ),
    });
    const result = await honk(['manifests', 'blueprint.yaml'], { cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Blueprint blueprint.yaml is invalid (2 problems)');
    expect(result.stderr).toMatch(/namespace: expected lower-case letters.*\(line 3\)/);
    expect(result.stderr).toContain('classes[1].replica: unknown key "replica" (line 13)');
  });

  it('exits 2 when the blueprint file does not exist', async () => {
    const result = await honk(['manifests', 'nope.yaml'], { cwd: tempDir('manifests-missing') });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Blueprint file "nope.yaml" does not exist');
  });

  it('prints the JSON Schema of blueprints', async () => {
    const result = await honk(['schema', 'blueprint'], { cwd: tempDir('schema-blueprint') });
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout);
    expect(schema.$id).toBe('https://honk.dev/schemas/agent-blueprint-v1.json');
    expect(schema.required).toEqual(expect.arrayContaining(['image', 'store', 'classes']));
    expect((await honk(['schema', 'fleet'], { cwd: tempDir('schema-unknown') })).code).toBe(2);
  });
});

describe('honk agent --exit-when-idle', () => {
  it('runs what its class can claim, then exits 0 by itself', async () => {
    const dir = tempDir('exit-idle');
    await writeFiles(dir, {
      'honk.yaml': `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: orders
    source: { connection: legacy, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.ndjson }
`,
      'legacy/orders.csv': ordersCsv(10),
    });
    const store = join(dir, 'queue');
    expect((await honk(['enqueue', 'honk.yaml', '--store', store], { cwd: dir })).code).toBe(0);
    let stderr = '';
    const io = {
      stdout() {},
      stderr: (text: string) => {
        stderr += text;
      },
      env: {},
      cwd: dir,
      isTTY: false,
    };
    // `until` never resolves: only the idle check can end the agent.
    const code = await agentCommand(
      {
        store,
        concurrency: 1,
        port: 0,
        host: '127.0.0.1',
        scheduler: false,
        exitWhenIdle: true,
        idlePollMs: 50,
        until: new Promise(() => {}),
      },
      io,
    );
    expect(code).toBe(0);
    const status = JSON.parse((await honk(['status', '--store', store, '--json'], { cwd: dir })).stdout);
    expect(status.counts).toMatchObject({ succeeded: 1, pending: 0, running: 0 });
    expect(
      readFileSync(join(dir, 'lake', 'orders.ndjson'), 'utf8')
        .trim()
        .split('\n'),
    ).toHaveLength(10);
    expect(stderr).toContain('honk agent');
  });
});
