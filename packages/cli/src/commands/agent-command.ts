/**
 * `honk agent --store <url>`: a long-running agent for a fleet. Serves `/healthz`
 * (liveness: the process and its claim loop are alive), `/readyz` (readiness: claiming and
 * the store answers) and `/metrics` (Prometheus). SIGTERM/SIGINT drain: stop claiming, let
 * running tasks finish within `--drain-timeout-ms` (default 30 s), abort and release the
 * rest back to the store, exit 0 — also when a connector ignores the abort (the process
 * exits once the leases are released, see bin/honk.js). `--exit-when-idle` also ends the
 * agent (exit 0) once its class has nothing left to claim (`class-idle.ts`).
 *
 * Agent classes: `--label key=value` (repeatable) and `--connections a,b` restrict what the
 * agent claims (a task's `agentLabels` must all be among its labels, its connections all in
 * the list); `--class` names the class in logs and metrics. The flags win over
 * `HONK_AGENT_LABELS`, `HONK_AGENT_CONNECTIONS` and `HONK_AGENT_CLASS`. An agent without
 * labels claims only tasks that require none.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Agent,
  assertAgentClassName,
  attachLogging,
  attachMetrics,
  createLogger,
  createMetrics,
  HonkEvents,
  ModuleAllowList,
  parseAgentLabels,
  parseConnectionList,
  redactingLogger,
} from '@honk/core';
import type { CliIo } from '../cli-io.ts';
import { EXIT, noteStopSignal } from '../cli-io.ts';
import { connectorRegistry } from '../load-connectors.ts';
import { describeStoreUrl, openStore } from '../open-store.ts';
import { whenClassIdle } from './class-idle.ts';

export interface AgentCommandOptions {
  store?: string;
  concurrency: number;
  port: number;
  host: string;
  leaseMs?: number;
  drainTimeoutMs?: number;
  scheduler: boolean;
  id?: string;
  /** Stop once nothing is running and the class has nothing left to claim (the agents of a KEDA ScaledJob). */
  exitWhenIdle?: boolean;
  /** How often `exitWhenIdle` checks, in ms. Default 1,000. */
  idlePollMs?: number;
  /** `--class`: the class name (else `HONK_AGENT_CLASS`). */
  class?: string;
  /** `--label key=value`, repeatable (else `HONK_AGENT_LABELS`). */
  label?: string[];
  /** `--connections a,b` (else `HONK_AGENT_CONNECTIONS`). */
  connections?: string;
  /** `--allow-module` entries; `HONK_ALLOWED_MODULES` adds to them. */
  allowModule?: string[];
  /** Resolves when the agent should stop (tests); default: on SIGTERM/SIGINT. */
  until?: Promise<void>;
  /** Called once the HTTP server listens (tests read the port). */
  onListening?: (address: AddressInfo) => void;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref()),
  ]);
}

/** The agent's class from flags, else the environment; throws ConfigError naming the flag or variable. */
export function agentClassOf(
  options: Pick<AgentCommandOptions, 'class' | 'label' | 'connections'>,
  env: Record<string, string | undefined>,
): { className?: string; labels: Record<string, string>; connections?: string[] } {
  const labels =
    options.label !== undefined && options.label.length > 0
      ? parseAgentLabels(options.label.join(','), '--label')
      : parseAgentLabels(env.HONK_AGENT_LABELS ?? '', 'HONK_AGENT_LABELS');
  const connectionsText = options.connections ?? env.HONK_AGENT_CONNECTIONS;
  const connectionsFrom = options.connections !== undefined ? '--connections' : 'HONK_AGENT_CONNECTIONS';
  const className = options.class ?? (env.HONK_AGENT_CLASS === '' ? undefined : env.HONK_AGENT_CLASS);
  if (className !== undefined)
    assertAgentClassName(className, options.class !== undefined ? '--class' : 'HONK_AGENT_CLASS');
  return {
    ...(className !== undefined ? { className } : {}),
    labels,
    ...(connectionsText !== undefined ? { connections: parseConnectionList(connectionsText, connectionsFrom) } : {}),
  };
}

/**
 * The modules this agent trusts: `--allow-module` entries and `HONK_ALLOWED_MODULES`
 * (comma-separated). Nothing else is ever loaded, whatever a task names.
 */
export function agentAllowList(options: Pick<AgentCommandOptions, 'allowModule'>, io: CliIo): ModuleAllowList {
  const fromEnv = (io.env.HONK_ALLOWED_MODULES ?? '').split(',').map((entry) => entry.trim());
  return new ModuleAllowList([...(options.allowModule ?? []), ...fromEnv]);
}

export async function agentCommand(options: AgentCommandOptions, io: CliIo): Promise<number> {
  const agentClass = agentClassOf(options, io.env);
  const allowList = agentAllowList(options, io);
  const store = await openStore(options.store, { cwd: io.cwd, env: io.env });
  const registry = await connectorRegistry();
  const events = new HonkEvents();
  // The class names this agent's series (`class` label) and its consumer group in traces.
  const className = agentClass.className ?? 'default';
  const metrics = createMetrics({ agentClass: className, defaultMetrics: true });
  // The backlog reported is the one this agent's class can claim (the KEDA scaler's count).
  const classFilter = {
    labels: agentClass.labels,
    ...(agentClass.connections ? { connections: agentClass.connections } : {}),
  };
  metrics.trackQueue(store, { backlog: classFilter });
  attachMetrics(events, metrics);
  const logger = redactingLogger(
    createLogger({
      base: {
        store: describeStoreUrl(options.store, { cwd: io.cwd, env: io.env }),
        ...(agentClass.className !== undefined ? { class: agentClass.className } : {}),
      },
    }),
  );
  attachLogging(events, logger);
  const agent = new Agent({
    store,
    connectors: registry,
    concurrency: options.concurrency,
    events,
    logger,
    env: io.env,
    baseDir: io.cwd,
    scheduler: options.scheduler,
    tracing: { queueName: store.name, agentClass: className },
    allowModules: allowList,
    ...(options.id ? { id: options.id } : {}),
    ...agentClass,
    ...(options.leaseMs ? { leaseMs: options.leaseMs } : {}),
    ...(options.drainTimeoutMs ? { drainTimeoutMs: options.drainTimeoutMs } : {}),
  });

  const server: Server = createServer((request, response) => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      response.writeHead(status, { 'content-type': type });
      response.end(body);
    };
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/healthz') return send(agent.running || agent.inFlight().length > 0 ? 200 : 503, 'ok\n');
    if (path === '/readyz') {
      if (!agent.running) return send(503, 'not claiming\n');
      withTimeout(store.counts(), 2000).then(
        () => send(200, 'ready\n'),
        () => send(503, 'store unreachable\n'),
      );
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => send(200, text, metrics.registry.contentType),
        (error: unknown) => send(500, `${String(error)}\n`),
      );
      return;
    }
    send(404, 'not found: try /healthz, /readyz or /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  options.onListening?.(address);
  io.stderr(
    `honk agent ${agent.id} on ${describeStoreUrl(options.store, { cwd: io.cwd, env: io.env })}${describeClass(agentClass)}; http://${address.address}:${address.port}/metrics\n`,
  );
  io.stderr(
    `honk agent: trusted modules: ${allowList.entries.join(', ') || '(none: only built-in connectors; --allow-module or HONK_ALLOWED_MODULES adds some)'}\n`,
  );

  agent.start();
  const idle = options.exitWhenIdle ? [whenClassIdle(agent, store, classFilter, options.idlePollMs ?? 1000)] : [];
  let reason = 'signal';
  try {
    if (options.until) {
      if ((await Promise.race([options.until, ...idle])) === 'idle') reason = 'idle';
    } else {
      const signal = await Promise.race([
        new Promise<NodeJS.Signals>((resolve) => {
          process.once('SIGTERM', resolve);
          process.once('SIGINT', resolve);
        }),
        ...idle,
      ]);
      if (signal === 'idle') {
        reason = 'idle';
        io.stderr('honk agent: nothing left to claim for this class; exiting (--exit-when-idle)\n');
        await agent.stop({ drain: true, reason });
        return EXIT.ok;
      }
      io.stderr(`honk agent: ${signal}: draining (up to ${agent.drainTimeoutMs} ms); send it again to stop at once\n`);
      noteStopSignal(signal);
      // A second signal while draining forces the stop.
      process.once('SIGTERM', () => void agent.stop({ drain: false }));
      process.once('SIGINT', () => void agent.stop({ drain: false }));
    }
    await agent.stop({ drain: true, reason });
    return EXIT.ok;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
  }
}

/** ` (class eu: labels region=eu; connections a,b)`, or nothing for an agent that takes any task. */
function describeClass(agentClass: ReturnType<typeof agentClassOf>): string {
  const labels = Object.entries(agentClass.labels)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  const parts = [
    `labels ${labels || '(none)'}`,
    ...(agentClass.connections !== undefined ? [`connections ${agentClass.connections.join(',')}`] : []),
  ];
  return ` (class ${agentClass.className ?? '(unnamed)'}: ${parts.join('; ')})`;
}
