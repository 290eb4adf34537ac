/**
 * Entry of a pool worker thread (see worker-pool.ts): opens sessions of the handlers named
 * in worker-handlers.ts, calls their methods in arrival order, and replies with values or
 * errors. An exception in a call is that call's error; a WebAssembly trap or running out of
 * memory ends the thread, and the pool fails every call pending on it.
 */
import { enableCompileCache } from 'node:module';
import { runInNewContext } from 'node:vm';
import { parentPort, type Transferable } from 'node:worker_threads';
import { isHonkError } from '../errors/honk-error.ts';
import { workerHandlers } from './worker-handlers.ts';
import { isRetiring } from './worker-lifecycle.ts';
import {
  TRANSFERRING,
  type Transferring,
  type WorkerErrorShape,
  type WorkerHandler,
  type WorkerReply,
  type WorkerRequest,
  type WorkerSessionObject,
} from './worker-protocol.ts';

// Handler modules load after this: with the compile cache a new worker reuses what earlier
// threads and runs compiled (and type-stripped) instead of doing it again.
enableCompileCache?.();

const port = parentPort;
if (!port) throw new Error('worker-main.ts runs only as a worker thread.');

const extension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const handlers = new Map<string, Promise<WorkerHandler>>();
const sessions = new Map<number, WorkerSessionObject>();

function handler(name: string): Promise<WorkerHandler> {
  const path = (workerHandlers as Record<string, string>)[name];
  if (path === undefined) return Promise.reject(new Error(`Unknown worker handler "${name}".`));
  let loaded = handlers.get(name);
  if (!loaded) {
    loaded = import(new URL(`${path}${extension}`, import.meta.url).href).then(
      (module: { handler: WorkerHandler }) => module.handler,
    );
    handlers.set(name, loaded);
  }
  return loaded;
}

function errorShape(error: unknown): WorkerErrorShape {
  if (isHonkError(error)) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      retryable: error.retryable,
      ...(Object.keys(error.details).length > 0 ? { details: error.details } : {}),
    };
  }
  if (error instanceof Error)
    return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { name: 'Error', message: String(error) };
}

async function serve(request: WorkerRequest): Promise<unknown> {
  switch (request.type) {
    case 'open': {
      const opened = await (await handler(request.handler)).open(request.init as never);
      sessions.set(request.session, opened);
      return undefined;
    }
    case 'call': {
      const session = sessions.get(request.session);
      const method = session?.[request.method];
      if (typeof method !== 'function') throw new Error(`Worker session has no method "${request.method}".`);
      return await (method as (args: unknown) => unknown).call(session, request.args);
    }
    case 'collect': {
      // Only where the process exposed gc (tests measuring memory): a new context sees it then.
      const gc = (globalThis as { gc?: () => void }).gc ?? runInNewContext('typeof gc === "function" ? gc : undefined');
      (gc as (() => void) | undefined)?.();
      const { heapUsed, external, arrayBuffers } = process.memoryUsage();
      return { heapUsed, external, arrayBuffers };
    }
    case 'load': {
      await Promise.all(request.handlers.map((name) => handler(name)));
      return undefined;
    }
    case 'close': {
      const session = sessions.get(request.session);
      sessions.delete(request.session);
      await session?.close?.();
      return undefined;
    }
  }
}

// Calls of one session must run in order (an encoder's writes): requests are served one at a
// time per session, in arrival order, while different sessions interleave.
const queues = new Map<number, Promise<void>>();

port.on('message', (request: WorkerRequest & { id: number }) => {
  const previous = queues.get(request.session) ?? Promise.resolve();
  const next = previous.then(async () => {
    let reply: WorkerReply;
    let transfer: readonly Transferable[] = [];
    try {
      const value = await serve(request);
      if (value !== null && typeof value === 'object' && TRANSFERRING in value) {
        const moving = value as unknown as Transferring<unknown>;
        reply = { id: request.id, ok: true, value: moving.value };
        transfer = moving.transfer;
      } else reply = { id: request.id, ok: true, value };
    } catch (error) {
      reply = { id: request.id, ok: false, error: errorShape(error) };
    }
    if (isRetiring()) reply.retiring = true;
    port.postMessage(reply, transfer);
    // A retiring worker ends once nothing is open on it (the pool already stopped placing work here).
    if (isRetiring() && sessions.size === 0) setImmediate(() => process.exit(0));
  });
  queues.set(request.session, next);
  void next.then(() => {
    if (queues.get(request.session) === next) queues.delete(request.session);
  });
});
