import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.ts';
import { computeBackoff } from '../../src/agent/backoff.ts';
import { AuthError } from '../../src/errors/honk-error.ts';
import { registerSecret } from '../../src/errors/redact.ts';
import { HonkEvents } from '../../src/observe/events.ts';
import { attachLogging, createLogger, redactingLogger } from '../../src/observe/logger.ts';
import { attachMetrics, createMetrics } from '../../src/observe/metrics.ts';
import { MemoryTaskStore } from '../../src/queue/memory-task-store.ts';
import { createWorld, definition, makeBatch, schema, taskInput } from '../agent/fixtures.ts';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      callback();
    },
  });
  return { lines, destination };
}

describe('HonkEvents', () => {
  it('delivers typed payloads, unsubscribes, fires once, and survives throwing listeners', () => {
    const errors: string[] = [];
    const events = new HonkEvents({ onListenerError: (_error, name) => errors.push(name) });
    const got: string[] = [];
    events.on('connection-paused', () => {
      throw new Error('broken adapter');
    });
    const off = events.on('connection-paused', (payload) => got.push(`on:${payload.connection}`));
    events.once('connection-paused', (payload) => got.push(`once:${payload.connection}`));
    const offAny = events.onAny((name) => got.push(`any:${name}`));
    const payload = {
      agentId: 'a',
      at: '2026-01-01T00:00:00.000Z',
      connection: 'pg',
      failures: 3,
      code: 'AUTH_FAILED',
      until: 'x',
    };

    events.emit('connection-paused', payload);
    off();
    offAny();
    events.emit('connection-paused', payload);

    expect(got).toEqual(['on:pg', 'once:pg', 'any:connection-paused']);
    expect(errors).toEqual(['connection-paused', 'connection-paused']);
  });
});

describe('backoff', () => {
  it('grows by factor, caps at maxMs, and jitters within documented bounds', () => {
    const policy = { initialMs: 100, factor: 3, maxMs: 1000 };
    expect([1, 2, 3, 4].map((attempt) => computeBackoff(attempt, { ...policy, jitter: 'none' }))).toEqual([
      100, 300, 900, 1000,
    ]);
    expect(computeBackoff(3, { ...policy, jitter: 'full' }, () => 0)).toBe(0);
    expect(computeBackoff(3, { ...policy, jitter: true }, () => 0.5)).toBe(450);
    expect(computeBackoff(3, { ...policy, jitter: 'equal' }, () => 0)).toBe(450);
    expect(computeBackoff(3, { ...policy, jitter: 'equal' }, () => 0.999_999)).toBe(900);
    expect(computeBackoff(50, { ...policy, jitter: false })).toBe(1000);
  });
});

describe('metrics', () => {
  it('exposes Prometheus series after a run, without task ids as labels', async () => {
    const world = createWorld();
    world.storage.set('in', schema, [makeBatch(40), makeBatch(60, 40)]);
    world.faults.set('locked', { auth: true });
    const store = new MemoryTaskStore();
    await store.enqueue([
      taskInput(definition('copy-orders', 'in')),
      taskInput(definition('copy-missing', 'gone')),
      taskInput(definition('copy-locked', 'locked')),
    ]);
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    metrics.trackQueue(store);
    const agent = new Agent({ store, connectors: world.connectors, pollMs: 20 });
    attachMetrics(agent.events, metrics);

    await agent.runUntilIdle();
    await agent.stop();
    const text = await registry.metrics();

    expect(text).toContain('honk_tasks_total{state="succeeded"} 1');
    expect(text).toContain('honk_tasks_total{state="dead"} 2');
    expect(text).toContain('honk_task_failures_total{code="NOT_FOUND"} 1');
    expect(text).toContain('honk_task_failures_total{code="AUTH_FAILED"} 1');
    expect(text).toContain('honk_rows_transferred_total 100');
    expect(text).toMatch(/honk_bytes_transferred_total [1-9]\d*/);
    expect(text).toContain('honk_tasks_in_flight 0');
    expect(text).toMatch(/honk_task_duration_seconds_bucket\{le="3600",state="succeeded"\} 1/);
    expect(text).toContain('honk_task_duration_seconds_count{state="dead"} 2');
    expect(text).toContain('honk_queue_tasks{state="succeeded"} 1');
    expect(text).toContain('honk_queue_tasks{state="dead"} 2');
    expect(text).toContain('honk_queue_tasks{state="pending"} 0');
    expect(text).not.toContain('copy-');
  });
});

describe('fleet metrics', () => {
  it('labels every series with the agent class and reports the backlog the class could claim now', async () => {
    const store = new MemoryTaskStore();
    const now = Date.now();
    const ago = (seconds: number) => new Date(now - seconds * 1000);
    await store.setConnectionLimits({ pg: 2 });
    await store.enqueue([
      // Behind a connection limit of 2 with one running: only one of the two counts.
      taskInput(definition('limited-running', 'x', { sourceConnection: 'pg' }), { notBefore: ago(300), priority: 1 }),
      taskInput(definition('limited-a', 'x', { sourceConnection: 'pg' }), { notBefore: ago(200) }),
      taskInput(definition('limited-b', 'x', { sourceConnection: 'pg' }), { notBefore: ago(100) }),
      taskInput(definition('free', 'x'), { notBefore: ago(90) }),
      taskInput(definition('later', 'x'), { notBefore: new Date(now + 3_600_000) }),
      taskInput(definition('other-region', 'x'), { notBefore: ago(1000), agentLabels: { region: 'us' } }),
    ]);
    const claim = await store.claim('agent-x', { leaseMs: 60_000 });
    expect(claim?.task.id).toBe('limited-running');
    const registry = new Registry();
    const metrics = createMetrics({ registry, agentClass: 'eu', defaultMetrics: true });
    metrics.trackQueue(store, { backlog: { labels: { region: 'eu' } } });

    const text = await registry.metrics();

    expect(text).toContain('honk_queue_claimable_tasks{class="eu"} 2');
    const age = Number(/honk_queue_oldest_claimable_age_seconds\{class="eu"\} ([\d.]+)/.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(200);
    expect(age).toBeLessThan(1000);
    expect(text).toContain('honk_queue_tasks{state="running",class="eu"} 1');
    expect(text).toContain('honk_queue_tasks{state="pending",class="eu"} 5');
    expect(text).toMatch(/process_cpu_seconds_total\{class="eu"\} [\d.]+/);
    expect(text).toMatch(/nodejs_heap_size_used_bytes\{class="eu"\} [1-9]/);
  });

  it('reports an empty backlog as zero claimable tasks of age zero', async () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    metrics.trackQueue(new MemoryTaskStore(), { backlog: true });
    const text = await registry.metrics();
    expect(text).toContain('honk_queue_claimable_tasks 0');
    expect(text).toContain('honk_queue_oldest_claimable_age_seconds 0');
  });

  it('counts lease losses', async () => {
    const events = new HonkEvents();
    const metrics = createMetrics();
    attachMetrics(events, metrics);
    const base = { agentId: 'a', taskId: 't', attempt: 1, at: new Date().toISOString() };
    events.emit('task-claimed', { ...base, maxAttempts: 3, connections: [] });
    events.emit('task-lease-lost', { ...base, phase: 'transfer' });
    expect((await metrics.leaseLosses.get()).values.map((sample) => sample.value)).toEqual([1]);
  });
});

describe('logger', () => {
  it('redacts credential keys, registered secrets, URL passwords and secrets inside errors', () => {
    const { lines, destination } = capture();
    const logger = createLogger({ level: 'debug', destination });
    registerSecret('hunter2-very-secret');

    logger.info(
      {
        connection: {
          url: 'postgres://migrator:pa55word@db.internal:5432/app',
          password: 'plain',
          region: 'eu-north-1',
        },
        note: 'token is hunter2-very-secret',
        err: new AuthError('login failed with hunter2-very-secret'),
      },
      'connecting with hunter2-very-secret',
    );

    expect(lines).toHaveLength(1);
    const output = lines[0]!;
    expect(output).not.toContain('hunter2-very-secret');
    expect(output).not.toContain('pa55word');
    expect(output).not.toContain('"plain"');
    const line = JSON.parse(output);
    expect(line.level).toBe('info');
    expect(line.msg).toBe('connecting with ***');
    expect(line.connection).toEqual({
      url: 'postgres://migrator:***@db.internal:5432/app',
      password: '***',
      region: 'eu-north-1',
    });
    expect(line.err).toMatchObject({ type: 'AuthError', code: 'AUTH_FAILED', message: 'login failed with ***' });
  });

  it('logs agent events through any injected Logger, redacted', () => {
    const calls: Array<[string, Record<string, unknown>, string | undefined]> = [];
    const injected = {
      debug: (object: Record<string, unknown>, message?: string) => calls.push(['debug', object, message]),
      info: (object: Record<string, unknown>, message?: string) => calls.push(['info', object, message]),
      warn: (object: Record<string, unknown>, message?: string) => calls.push(['warn', object, message]),
      error: (object: Record<string, unknown>, message?: string) => calls.push(['error', object, message]),
    };
    registerSecret('s3cr3t-in-error');
    const events = new HonkEvents();
    const detach = attachLogging(events, injected);
    events.emit('task-dead', {
      agentId: 'a',
      at: 'now',
      taskId: 'orders',
      attempt: 1,
      durationMs: 5,
      stats: { rows: 0, bytes: 0, batches: 0, elapsedMs: 0, rowsPerSecond: 0 },
      error: { name: 'AuthError', code: 'AUTH_FAILED', message: 'rejected s3cr3t-in-error', retryable: false },
      maxAttempts: 3,
      reason: 'non-retryable',
    });
    detach();
    events.emit('agent-stopped', { agentId: 'a', at: 'now', released: 0 });

    expect(calls).toHaveLength(1);
    const [level, object, message] = calls[0]!;
    expect(level).toBe('error');
    expect(message).toBe('task dead-lettered (AUTH_FAILED, non-retryable)');
    expect(object).toMatchObject({ event: 'task-dead', taskId: 'orders', error: { message: 'rejected ***' } });
    const wrapped = redactingLogger(injected);
    wrapped.warn({ apiKey: 'abc', nested: { secretAccessKey: 'xyz' } }, 'ok');
    expect(calls[1]?.[1]).toEqual({ apiKey: '***', nested: { secretAccessKey: '***' } });
  });
});
