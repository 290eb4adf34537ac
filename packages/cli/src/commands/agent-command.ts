/**
 * `honk agent --store <url>`: a long-running agent for a fleet. Serves `/healthz`
 * (liveness: the process and its claim loop are alive), `/readyz` (readiness: claiming and
 * the store answers) and `/metrics` (Prometheus). SIGTERM/SIGINT drain: stop claiming, let
 * running tasks finish within `--drain-timeout-ms` (default 30 s), abort and release the
 * rest back to the store, exit 0 — also when a connector ignores the abort (the process
 * exits once the leases are released, see bin/honk.js).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Agent,
  attachLogging,
  attachMetrics,
  createLogger,
  createMetrics,
  HonkEvents,
  ModuleAllowList,
  redactingLogger,
} from '@honk/core';
import type { CliIo } from '../cli-io.ts';
import { EXIT, noteStopSignal } from '../cli-io.ts';
import { connectorRegistry } from '../load-connectors.ts';
import { describeStoreUrl, openStore } from '../open-store.ts';

export interface AgentCommandOptions {
  store?: string;
  concurrency: number;
  port: number;
  host: string;
  leaseMs?: number;
  drainTimeoutMs?: number;
  scheduler: boolean;
  id?: string;
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

/**
 * The modules this agent trusts: `--allow-module` entries and `HONK_ALLOWED_MODULES`
 * (comma-separated). Nothing else is ever loaded, whatever a task names.
 */
export function agentAllowList(options: Pick<AgentCommandOptions, 'allowModule'>, io: CliIo): ModuleAllowList {
  const fromEnv = (io.env.HONK_ALLOWED_MODULES ?? '').split(',').map((entry) => entry.trim());
  return new ModuleAllowList([...(options.allowModule ?? []), ...fromEnv]);
}

export async function agentCommand(options: AgentCommandOptions, io: CliIo): Promise<number> {
  const allowList = agentAllowList(options, io);
  const store = await openStore(options.store, { cwd: io.cwd, env: io.env });
  const registry = await connectorRegistry();
  const events = new HonkEvents();
  const metrics = createMetrics();
  metrics.trackQueue(store);
  attachMetrics(events, metrics);
  const logger = redactingLogger(
    createLogger({ base: { store: describeStoreUrl(options.store, { cwd: io.cwd, env: io.env }) } }),
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
    allowModules: allowList,
    ...(options.id ? { id: options.id } : {}),
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
    `honk agent ${agent.id} on ${describeStoreUrl(options.store, { cwd: io.cwd, env: io.env })}; http://${address.address}:${address.port}/metrics\n`,
  );
  io.stderr(
    `honk agent: trusted modules: ${allowList.entries.join(', ') || '(none: only built-in connectors; --allow-module or HONK_ALLOWED_MODULES adds some)'}\n`,
  );

  agent.start();
  try {
    if (options.until) {
      await options.until;
    } else {
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      io.stderr(`honk agent: ${signal}: draining (up to ${agent.drainTimeoutMs} ms); send it again to stop at once\n`);
      noteStopSignal(signal);
      // A second signal while draining forces the stop.
      process.once('SIGTERM', () => void agent.stop({ drain: false }));
      process.once('SIGINT', () => void agent.stop({ drain: false }));
    }
    await agent.stop({ drain: true, reason: 'signal' });
    return EXIT.ok;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await store.close();
  }
}
