/**
 * @honk/core embedded in an existing HTTP service (node:http, no framework):
 *
 *   POST /migrations      {"id": "orders-2026-11", "source": "orders.csv", "target": "orders.parquet"}
 *                         → 202 and the task; the embedded agent runs it in the background
 *   GET  /migrations/:id  → the task's state, attempts, rows, last error (from the store)
 *   GET  /metrics         → Prometheus metrics (honk_tasks_total, honk_rows_transferred_total …)
 *
 * Tasks are defined in code with `defineTask`/`defineSpec` and validated exactly like spec
 * files, so a bad request gets the same precise message a bad YAML file would. The store is
 * the embedded journal: tasks survive a restart, and a task whose lease was held by a killed
 * process is taken over when the lease expires.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import {
  Agent,
  attachMetrics,
  ConnectorRegistry,
  createMetrics,
  defineSpec,
  defineTask,
  fileConnector,
  HonkEvents,
  isHonkError,
  openJournalTaskStore,
  resolveSpec,
  type TaskStore,
  toTaskInputs,
} from '@honk/core';

export interface MigrationServiceOptions {
  /** Where uploads land: sources resolve under it. */
  incomingDir: string;
  /** Where Parquet goes: targets resolve under it. */
  lakeDir: string;
  /** The journal task store's directory. */
  storeDir: string;
  /** Tasks the embedded agent runs at once. Default 2. */
  concurrency?: number;
}

export interface MigrationService {
  server: Server;
  agent: Agent;
  store: TaskStore;
  /** Stops accepting requests, drains the agent (running tasks finish) and closes the store. */
  close(): Promise<void>;
}

const registry = new ConnectorRegistry([fileConnector]);

/** Reads a JSON body of at most 64 KiB. */
async function readJson(request: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of request) {
    text += chunk;
    if (text.length > 65_536) throw new RangeError('request body over 64 KiB');
  }
  return JSON.parse(text);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

/** Opens the store, starts the agent and returns the (not yet listening) HTTP server. */
export async function createMigrationService(options: MigrationServiceOptions): Promise<MigrationService> {
  const store = await openJournalTaskStore(options.storeDir);
  const events = new HonkEvents();
  const metrics = createMetrics();
  attachMetrics(events, metrics);
  metrics.trackQueue(store);
  const agent = new Agent({ store, connectors: registry, events, concurrency: options.concurrency ?? 2 });
  agent.start();

  /** One migration as a spec in code: the same validation, defaults and hashing as a YAML file. */
  async function enqueue(body: unknown) {
    const { id, source, target } = (body ?? {}) as Record<string, unknown>;
    const task = defineTask({
      id: id as string,
      source: { connection: 'incoming', path: source as string },
      target: { connection: 'lake', path: target as string },
      labels: { requestedBy: 'http' },
    });
    const spec = defineSpec({
      version: 1,
      connections: {
        incoming: { connector: 'file', root: options.incomingDir },
        lake: { connector: 'file', root: options.lakeDir },
      },
      defaults: { validate: { rowCount: true, checksum: true, sample: 50 } },
      tasks: [task],
    });
    const [result] = await store.enqueue(toTaskInputs(resolveSpec(spec, { registry })));
    return result!;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://service');
    if (request.method === 'POST' && url.pathname === '/migrations') {
      try {
        const result = await enqueue(await readJson(request));
        response.setHeader('location', `/migrations/${encodeURIComponent(result.id)}`);
        return send(response, 202, result);
      } catch (error) {
        // Spec errors name the field (`source.path`) and how to fix it: exactly what a client needs.
        if (
          error instanceof SyntaxError ||
          error instanceof RangeError ||
          (isHonkError(error) && error.code === 'CONFIG_INVALID')
        )
          return send(response, 400, { error: (error as Error).message });
        throw error;
      }
    }
    const match = /^\/migrations\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'GET' && match) {
      const record = await store.get(decodeURIComponent(match[1]!));
      if (!record) return send(response, 404, { error: `no migration ${match[1]}` });
      const report = record.report as { stats?: { rows?: number } } | undefined;
      return send(response, 200, {
        id: record.id,
        state: record.state,
        attempts: record.attempts,
        rows: report?.stats?.rows,
        error: record.lastError,
        updatedAt: record.updatedAt,
      });
    }
    if (request.method === 'GET' && url.pathname === '/metrics') {
      response.writeHead(200, { 'content-type': metrics.registry.contentType });
      return void response.end(await metrics.registry.metrics());
    }
    send(response, 404, { error: 'not found' });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, { error: isHonkError(error) ? error.message : 'internal error' });
    });
  });

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.stop({ drain: true });
      await store.close();
    })();
    return closing;
  };
  return { server, agent, store, close };
}
