import { describe, expect, it } from 'vitest';
import { BlueprintError, blueprintJsonSchema, parseBlueprint } from '../src/index.ts';

const VALID = `
version: 1
name: honk
image: ghcr.io/acme/honk-agent:1.0.0
store:
  url: { name: honk-store, key: url }
classes:
  - name: eu
`;

function issuesOf(text: string) {
  try {
    parseBlueprint(text, 'fleet.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(BlueprintError);
    expect((error as BlueprintError).code).toBe('CONFIG_INVALID');
    expect((error as BlueprintError).retryable).toBe(false);
    return error as BlueprintError;
  }
  throw new Error('the blueprint was accepted');
}

describe('parseBlueprint', () => {
  it('applies documented defaults', () => {
    const blueprint = parseBlueprint(VALID);
    expect(blueprint).toMatchObject({
      namespace: 'default',
      concurrency: 2,
      replicas: { min: 0, max: 10 },
      drainTimeoutSeconds: 300,
      resources: { memory: '2Gi', heapFraction: 0.6 },
      command: ['honk'],
      classes: [{ name: 'eu', labels: {}, scaledJob: false }],
    });
  });

  it('lists every problem with its path and line', () => {
    const error = issuesOf(`
version: 1
name: Honk_Fleet
image: ghcr.io/acme/honk-agent:1.0.0
store:
  url: { name: honk-store }
resources:
  memory: 2 GB
replicas: { min: 5, max: 2 }
clases: []
classes:
  - name: eu
`);
    const issues = Object.fromEntries(error.issues.map((issue) => [issue.path, issue]));
    expect(Object.keys(issues).sort()).toEqual(
      ['clases', 'name', 'replicas.max', 'resources.memory', 'store.url.key'].sort(),
    );
    expect(issues.name!.message).toMatch(/DNS-1123/);
    expect(issues.name!.line).toBe(3);
    expect(issues['resources.memory']!.message).toMatch(/memory quantity such as 2Gi/);
    expect(issues['resources.memory']!.line).toBe(8);
    expect(issues.clases!.message).toBe('unknown key "clases"');
    expect(issues['store.url.key']!.message).toMatch(/required/);
    expect(error.message).toContain('Blueprint fleet.yaml is invalid (5 problems)');
    expect(error.message).toContain('resources.memory: expected a memory quantity such as 2Gi, 1536Mi or 2G (line 8)');
  });

  it('refuses two classes of the same name', () => {
    const error = issuesOf(`${VALID}  - name: eu\n`);
    expect(error.issues).toEqual([
      { path: 'classes[1].name', message: 'class "eu" is defined twice; class names must be unique', line: 9 },
    ]);
  });

  it('refuses class labels the agents would refuse', () => {
    const error = issuesOf(`${VALID}    labels: { region: "-eu" }\n`);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe('classes[0].labels');
    expect(error.issues[0]!.message).toMatch(/value of label "region" \("-eu"\) is not allowed/);
  });

  it('refuses an environment variable given twice or one the pods set themselves', () => {
    const error = issuesOf(`${VALID}env: { NODE_OPTIONS: --inspect, TOKEN: a }
secretEnv: { TOKEN: { name: s, key: token } }
connections:
  lake: { env: { AWS_KEY: { name: lake, key: id } } }
  warehouse: { env: { AWS_KEY: { name: wh, key: id } } }
`);
    expect(error.issues.map((issue) => `${issue.path}: ${issue.message}`)).toEqual([
      'env.NODE_OPTIONS: environment variable NODE_OPTIONS is already set by honk manifests; give each variable once',
      'secretEnv.TOKEN: environment variable TOKEN is already given at env.TOKEN; give each variable once',
      'connections.warehouse.env.AWS_KEY: environment variable AWS_KEY is already given at connections.lake.env.AWS_KEY; give each variable once',
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const error = issuesOf('version: 1\nname: [unclosed\n');
    expect(error.issues[0]!.message).toMatch(/YAML syntax error/);
    expect(error.issues[0]!.line).toBeGreaterThanOrEqual(2);
  });

  it('generates a JSON Schema that names the blueprint fields', () => {
    const schema = blueprintJsonSchema() as { $id: string; properties: Record<string, unknown>; required: string[] };
    expect(schema.$id).toBe('https://honk.dev/schemas/agent-blueprint-v1.json');
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['image', 'store', 'classes', 'resources', 'modules', 'drainTimeoutSeconds']),
    );
    expect(schema.required).toEqual(expect.arrayContaining(['version', 'name', 'image', 'store', 'classes']));
  });
});
