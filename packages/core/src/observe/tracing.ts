/**
 * OpenTelemetry traces of task attempts, built from the agent's events.
 *
 * Each claim becomes one CONSUMER span named `process <queue>` following the messaging
 * semantic conventions (the queue is the task store, the message is the task, the consumer
 * group is the agent class); each run phase (preflight, snapshot, transfer, validate,
 * publish, rollback) is a child span. A failed attempt records its error (code, message, the
 * `error.type` attribute) and ends with status ERROR; a released attempt ends unset.
 *
 * Core depends on `@opentelemetry/api` only. Without a registered SDK the API hands out
 * non-recording spans: the first span of a claim says so (`isRecording()` is false) and
 * nothing more is created or kept for that attempt, so tracing costs one no-op call per claim.
 * Register any SDK (`NodeTracerProvider`, `@opentelemetry/sdk-node`) before agents start to
 * get the spans; no task id ends up anywhere but the span's own attributes.
 */
import { context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { SerializedHonkError } from '../errors/honk-error.ts';
import { redactText } from '../errors/redact.ts';
import type { RunPhase, TransferStats } from '../run/task-report.ts';
import type { HonkEvents } from './events.ts';

/** The instrumentation scope spans are created under. */
export const TRACER_NAME = '@honk/core';

export interface AttachTracingOptions {
  /** Default: `trace.getTracer('@honk/core')` of the globally registered provider. */
  tracer?: Tracer;
  /** `messaging.destination.name`: which queue the tasks come from. Default `honk`. */
  queueName?: string;
  /** `messaging.consumer.group.name`: the agent class. Absent: not set. */
  agentClass?: string;
}

interface AttemptSpans {
  attempt: Span;
  phase: Span | undefined;
}

const PHASE_SPANS: ReadonlySet<RunPhase> = new Set([
  'preflight',
  'snapshot',
  'transfer',
  'validate',
  'publish',
  'rollback',
]);

function endPhase(spans: AttemptSpans, at: Date): void {
  spans.phase?.end(at);
  spans.phase = undefined;
}

function recordError(span: Span, error: SerializedHonkError): void {
  span.recordException({ name: error.name, message: redactText(error.message), code: error.code });
  span.setAttribute('error.type', error.code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${error.code}: ${redactText(error.message)}` });
}

function recordStats(span: Span, stats: TransferStats): void {
  span.setAttribute('honk.rows', stats.rows);
  span.setAttribute('honk.bytes', stats.bytes);
}

/**
 * Turns an agent's events into spans (see the module documentation). Returns a function that
 * detaches the listeners; attempts still open then are left unended.
 */
export function attachTracing(events: HonkEvents, options: AttachTracingOptions = {}): () => void {
  const tracer = options.tracer ?? trace.getTracer(TRACER_NAME);
  const queue = options.queueName ?? 'honk';
  const open = new Map<string, AttemptSpans>();
  const key = (payload: { agentId: string; taskId: string }) => `${payload.agentId}\u0000${payload.taskId}`;
  const close = (payload: { agentId: string; taskId: string; at: string }, finish: (span: Span) => void): void => {
    const spans = open.get(key(payload));
    if (!spans) return;
    open.delete(key(payload));
    const at = new Date(payload.at);
    endPhase(spans, at);
    finish(spans.attempt);
    spans.attempt.end(at);
  };

  const offs = [
    events.on('task-claimed', (payload) => {
      const span = tracer.startSpan(
        `process ${queue}`,
        {
          kind: SpanKind.CONSUMER,
          startTime: new Date(payload.at),
          attributes: {
            'messaging.system': 'honk',
            'messaging.operation.type': 'process',
            'messaging.operation.name': 'process',
            'messaging.destination.name': queue,
            'messaging.message.id': payload.taskId,
            'messaging.client.id': payload.agentId,
            ...(options.agentClass === undefined ? {} : { 'messaging.consumer.group.name': options.agentClass }),
            'honk.task.attempt': payload.attempt,
            'honk.task.max_attempts': payload.maxAttempts,
            'honk.task.connections': payload.connections,
          },
        },
        context.active(),
      );
      // No SDK registered: keep nothing, so the phases and the close cost nothing either.
      if (!span.isRecording()) return;
      open.set(key(payload), { attempt: span, phase: undefined });
    }),
    events.on('task-phase', (payload) => {
      const spans = open.get(key(payload));
      if (!spans) return;
      const at = new Date(payload.at);
      endPhase(spans, at);
      if (!PHASE_SPANS.has(payload.phase)) return;
      spans.phase = tracer.startSpan(
        payload.phase,
        { kind: SpanKind.INTERNAL, startTime: at, attributes: { 'honk.phase': payload.phase } },
        trace.setSpan(context.active(), spans.attempt),
      );
    }),
    events.on('task-succeeded', (payload) =>
      close(payload, (span) => {
        recordStats(span, payload.stats);
        span.setAttribute('honk.outcome', 'succeeded');
        span.setStatus({ code: SpanStatusCode.OK });
      }),
    ),
    events.on('task-retrying', (payload) =>
      close(payload, (span) => {
        recordStats(span, payload.stats);
        span.setAttribute('honk.outcome', 'retrying');
        recordError(span, payload.error);
      }),
    ),
    events.on('task-dead', (payload) =>
      close(payload, (span) => {
        recordStats(span, payload.stats);
        span.setAttribute('honk.outcome', 'dead');
        recordError(span, payload.error);
      }),
    ),
    events.on('task-released', (payload) =>
      close(payload, (span) => {
        span.setAttribute('honk.outcome', 'released');
        span.setAttribute('honk.release_reason', payload.reason);
      }),
    ),
    events.on('task-lease-lost', (payload) =>
      close(payload, (span) => {
        span.setAttribute('honk.outcome', 'lease_lost');
        span.setAttribute('error.type', 'LEASE_LOST');
        span.setStatus({ code: SpanStatusCode.ERROR, message: `LEASE_LOST during ${payload.phase}` });
      }),
    ),
  ];
  return () => {
    for (const off of offs) off();
  };
}
