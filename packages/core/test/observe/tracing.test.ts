import { INVALID_SPAN_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.ts';
import { MemoryTaskStore } from '../../src/queue/memory-task-store.ts';
import { createWorld, definition, makeBatch, schema, taskInput } from '../agent/fixtures.ts';

afterEach(() => {
  trace.disable();
});

async function runTwoTasks() {
  const world = createWorld();
  world.storage.set('in', schema, [makeBatch(40), makeBatch(60, 40)]);
  // An existing target, so the run takes a snapshot before publishing over it.
  world.storage.set('out-copy-orders', schema, [makeBatch(5)]);
  const store = new MemoryTaskStore();
  await store.enqueue([taskInput(definition('copy-orders', 'in')), taskInput(definition('copy-missing', 'gone'))]);
  const agent = new Agent({ store, connectors: world.connectors, pollMs: 20, id: 'agent-1' });
  await agent.runUntilIdle();
  await agent.stop();
}

describe('tracing', () => {
  it('records a consumer span per attempt with one child span per phase, and errors on failed attempts', async () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

    await runTwoTasks();
    const spans = exporter.getFinishedSpans();

    const attempts = spans.filter((span) => span.kind === SpanKind.CONSUMER);
    expect(attempts.map((span) => span.name)).toEqual(['process memory', 'process memory']);
    const succeeded = attempts.find((span) => span.attributes['messaging.message.id'] === 'copy-orders')!;
    expect(succeeded.attributes).toMatchObject({
      'messaging.system': 'honk',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'memory',
      'messaging.client.id': 'agent-1',
      'honk.task.attempt': 1,
      'honk.rows': 100,
      'honk.outcome': 'succeeded',
    });
    expect(succeeded.status.code).toBe(SpanStatusCode.OK);
    const children = spans.filter((span) => span.parentSpanContext?.spanId === succeeded.spanContext().spanId);
    expect(children.map((span) => span.name)).toEqual(['preflight', 'snapshot', 'transfer', 'validate', 'publish']);
    for (const child of children) {
      expect(child.spanContext().traceId).toBe(succeeded.spanContext().traceId);
      expect(child.endTime[0] * 1e9 + child.endTime[1]).toBeLessThanOrEqual(
        succeeded.endTime[0] * 1e9 + succeeded.endTime[1],
      );
    }

    const dead = attempts.find((span) => span.attributes['messaging.message.id'] === 'copy-missing')!;
    expect(dead.status.code).toBe(SpanStatusCode.ERROR);
    expect(dead.attributes['error.type']).toBe('NOT_FOUND');
    expect(dead.attributes['honk.outcome']).toBe('dead');
    expect(dead.events.map((event) => event.name)).toEqual(['exception']);
    expect(dead.events[0]!.attributes?.['exception.message']).toMatch(/gone/);
  });

  it('creates one non-recording span per claim and nothing more when no SDK is registered', async () => {
    const started: string[] = [];
    // What the API's no-op tracer hands out when no SDK is registered.
    const counting: Tracer = {
      startSpan(name): Span {
        started.push(name);
        return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
      },
      startActiveSpan(): never {
        throw new Error('not used by Honk');
      },
    };
    trace.setGlobalTracerProvider({ getTracer: () => counting });

    await runTwoTasks();

    expect(started).toEqual(['process memory', 'process memory']);
  });
});
