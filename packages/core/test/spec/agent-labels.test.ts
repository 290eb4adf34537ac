/**
 * `agentLabels` in spec files: on a connection (agents close to its data) and on a task,
 * merged into the labels the task requires of the agent that claims it.
 */
import { describe, expect, it } from 'vitest';
import { agentClassAllows, parseAgentLabels, parseConnectionList } from '../../src/queue/agent-class.ts';
import { specJsonSchema } from '../../src/spec/json-schema.ts';
import { parseSpec } from '../../src/spec/load-spec.ts';
import { type PortableTask, resolveSpec, resolveTaskRecord } from '../../src/spec/resolve-spec.ts';
import { SpecError } from '../../src/spec/spec-error.ts';
import { toTaskInput } from '../../src/spec/task-inputs.ts';
import { testRegistry } from './spec-fixtures.ts';

const spec = (connections: string, tasks: string) => `version: 1
connections:
${connections}
tasks:
${tasks}`;

const EU_SPEC = spec(
  `  legacy-eu: { connector: files, root: /data/legacy, agentLabels: { region: eu } }
  lake:      { connector: files, root: /data/lake }`,
  `  - id: orders
    source: { connection: legacy-eu, path: orders.csv, format: csv }
    target: { connection: lake, path: orders.parquet, format: parquet }
    agentLabels: { tier: gold }
  - id: plain
    source: { connection: lake, path: a.csv, format: csv }
    target: { connection: lake, path: a.parquet, format: parquet }`,
);

function specError(text: string): SpecError {
  try {
    resolveSpec(parseSpec(text, { sourceName: 'honk.yaml' }), { registry: testRegistry(), env: {} });
  } catch (error) {
    if (error instanceof SpecError) return error;
    throw error;
  }
  throw new Error('expected a SpecError');
}

describe('agentLabels in specs', () => {
  it("merges the connections' and the task's labels into what the task requires, and enqueues them", () => {
    const { tasks } = resolveSpec(parseSpec(EU_SPEC), { registry: testRegistry(), env: {} });
    const [orders, plain] = tasks;
    expect(orders?.agentLabels).toEqual({ region: 'eu', tier: 'gold' });
    expect(plain).not.toHaveProperty('agentLabels');
    // The connector never sees agentLabels among its options (its schema is strict).
    expect(orders?.source.options).toEqual({ root: '/data/legacy' });
    expect(toTaskInput(orders!).agentLabels).toEqual({ region: 'eu', tier: 'gold' });
    expect(toTaskInput(plain!)).not.toHaveProperty('agentLabels');
  });

  it('survives the round trip through a task record, as an agent resolves it', () => {
    const { tasks } = resolveSpec(parseSpec(EU_SPEC), { registry: testRegistry(), env: {} });
    const stored = JSON.parse(JSON.stringify(tasks[0]!.portable)) as PortableTask;
    const again = resolveTaskRecord(stored, { registry: testRegistry(), env: {} });
    expect(again.agentLabels).toEqual({ region: 'eu', tier: 'gold' });
    expect(again.definitionHash).toBe(tasks[0]!.definitionHash);
  });

  it('leaves the definition hash alone: where a task may run does not change its result', () => {
    const without = EU_SPEC.replace(', agentLabels: { region: eu }', '').replace(
      '    agentLabels: { tier: gold }\n',
      '',
    );
    const a = resolveSpec(parseSpec(EU_SPEC), { registry: testRegistry(), env: {} }).tasks[0]!;
    const b = resolveSpec(parseSpec(without), { registry: testRegistry(), env: {} }).tasks[0]!;
    expect(b.agentLabels).toBeUndefined();
    expect(a.definitionHash).toBe(b.definitionHash);
  });

  it('refuses labels no agent could satisfy, naming the task and where each value comes from', () => {
    const error = specError(
      spec(
        `  a: { connector: files, root: /a, agentLabels: { region: eu } }
  b: { connector: files, root: /b, agentLabels: { region: us } }`,
        `  - id: across
    source: { connection: a, path: x.csv, format: csv }
    target: { connection: b, path: x.parquet, format: parquet }`,
      ),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.path).toBe('tasks[0].agentLabels');
    expect(error.issues[0]!.message).toMatch(
      /"region".*"eu" \(connections\.a\.agentLabels\).*"us" \(connections\.b\.agentLabels\)/,
    );
  });

  it('refuses malformed labels and environment references at their path', () => {
    const error = specError(
      spec(
        `  a: { connector: files, root: /a, agentLabels: { region: "eu west" } }`,
        `  - id: t
    source: { connection: a, path: x.csv, format: csv }
    target: { connection: a, path: x.parquet, format: parquet }
    agentLabels: { zone: "\${env:ZONE}" }`,
      ),
    );
    const byPath = Object.fromEntries(error.issues.map((issue) => [issue.path, issue.message]));
    expect(byPath['connections.a.agentLabels.region']).toMatch(/label value of 1 to 63/);
    expect(byPath['tasks[0].agentLabels.zone']).toMatch(/environment references are not allowed/);
  });

  it('is described in the JSON Schema for editors', () => {
    const schema = specJsonSchema() as Record<string, any>;
    const connection = schema.properties.connections.additionalProperties;
    const task = schema.properties.tasks.items;
    expect(connection.properties.agentLabels.description).toMatch(/agents close to the data/);
    expect(task.properties.agentLabels.description).toMatch(/Labels an agent must have to claim this task/);
    expect(task.properties.agentLabels.propertyNames?.pattern ?? '').toContain('A-Za-z0-9');
  });
});

describe('agent class parsing', () => {
  it('parses HONK_AGENT_LABELS and --label forms, refusing ambiguous or malformed entries', () => {
    expect(parseAgentLabels('region=eu, tier=gold', 'HONK_AGENT_LABELS')).toEqual({ region: 'eu', tier: 'gold' });
    expect(parseAgentLabels('', 'HONK_AGENT_LABELS')).toEqual({});
    expect(() => parseAgentLabels('region', '--label')).toThrow(/--label: "region" is not a label; write key=value/);
    expect(() => parseAgentLabels('region=eu,region=us', 'HONK_AGENT_LABELS')).toThrow(/given twice/);
    expect(() => parseAgentLabels('region=eu west', '--label')).toThrow(/value of label "region"/);
  });

  it('parses connection lists and refuses an empty one', () => {
    expect(parseConnectionList('b, a,b', '--connections')).toEqual(['a', 'b']);
    expect(() => parseConnectionList(' , ', 'HONK_AGENT_CONNECTIONS')).toThrow(/HONK_AGENT_CONNECTIONS is empty/);
  });

  it('matches a task to a class by labels and connections', () => {
    const task = { agentLabels: { region: 'eu' }, connections: ['lake', 'wh'] };
    expect(agentClassAllows({ labels: { region: 'eu', tier: 'x' } }, task)).toBe(true);
    expect(agentClassAllows({ labels: { region: 'us' } }, task)).toBe(false);
    expect(agentClassAllows({ labels: {} }, task)).toBe(false);
    expect(agentClassAllows({}, task)).toBe(true);
    expect(agentClassAllows({ connections: ['lake'] }, task)).toBe(false);
    expect(agentClassAllows({ connections: ['wh', 'lake', 'x'] }, task)).toBe(true);
  });
});
