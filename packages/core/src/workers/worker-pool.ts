/**
 * Worker threads for CPU work that need not block the main thread: hashing for validation,
 * codecs. Two reasons to run work here rather than inline:
 *
 * - Speed: the main thread moves bytes (sockets, files, the transfer pipeline) while workers
 *   hash and encode, so a migration uses every core instead of one.
 * - Isolation: a WebAssembly trap or runaway memory in a codec ends one worker and the one
 *   attempt that used it, never the process and the other tasks it runs. A worker that
 *   failed is discarded; the next job gets a fresh one.
 *
 * Work comes in two shapes. A *session* is an object living in one worker (an accumulator,
 * an encoder) that the main thread calls in order; sessions are spread over workers by
 * load. A worker runs the handler modules named in `worker-handlers.ts`, loaded on demand
 * inside the worker: a task can never make a worker load anything else.
 *
 * Idle workers do not keep the process alive (they are unref'd while no call is pending).
 */
import { availableParallelism } from 'node:os';
import { type Transferable, Worker } from 'node:worker_threads';
import { HonkError } from '../errors/honk-error.ts';
import type { WorkerHandlerName } from './worker-handlers.ts';
import type { WorkerErrorShape, WorkerReply, WorkerRequest } from './worker-protocol.ts';

export interface WorkerPoolOptions {
  /** Worker threads at most. Default: the machine's available parallelism. */
  size?: number;
  /** V8 heap limit of each worker in MiB (its JS objects; WebAssembly memory is capped by the handlers). Default 1024. */
  maxHeapMb?: number;
}

/** A worker thread's own memory after a collection (V8 heap, external memory, ArrayBuffers), in bytes. */
export interface WorkerMemory {
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** Why a call into a worker failed when the worker itself died (trap, out of memory, exit). */
export class WorkerCrashedError extends HonkError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('INTERNAL', message, { ...options, retryable: false });
    this.name = 'WorkerCrashedError';
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** One worker thread and the calls waiting on it. */
class PooledWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  /** Sessions open on this worker: the load measure for placing new sessions. */
  sessions = 0;
  dead = false;
  /** The worker asked to end once its sessions close: no new sessions go here. */
  retiring = false;
  #nextId = 1;

  constructor(options: Required<WorkerPoolOptions>, onDeath: (worker: PooledWorker) => void) {
    const entry = new URL(`./worker-main${extensionOf(import.meta.url)}`, import.meta.url);
    this.worker = new Worker(entry, {
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb, maxYoungGenerationSizeMb: 16 },
    });
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => this.#settle(reply));
    this.#onDeath = onDeath;
    this.worker.on('error', (error) => this.#die(error));
    this.worker.on('exit', (code) =>
      this.#die(new WorkerCrashedError(`A worker thread exited (code ${code}) with work pending.`)),
    );
  }

  readonly #onDeath: (worker: PooledWorker) => void;

  /** Marks the worker dead and fails every call waiting on it. */
  #die(error: unknown): void {
    if (this.dead) return;
    this.dead = true;
    this.#onDeath(this);
    const crash =
      error instanceof HonkError
        ? error
        : new WorkerCrashedError(`A worker thread died: ${describe(error)}`, { cause: error });
    for (const call of this.pending.values()) call.reject(crash);
    this.pending.clear();
    this.worker.unref();
  }

  call(request: WorkerRequest, transfer: readonly Transferable[] = []): Promise<unknown> {
    if (this.dead) return Promise.reject(new WorkerCrashedError('The worker thread had already died.'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...request, id }, transfer as Transferable[]);
    });
  }

  #settle(reply: WorkerReply): void {
    const call = this.pending.get(reply.id);
    if (!call) return;
    this.pending.delete(reply.id);
    if (reply.retiring) this.retiring = true;
    if (this.pending.size === 0) this.worker.unref();
    if (reply.ok) call.resolve(reply.value);
    else call.reject(reviveError(reply.error));
  }

  terminate(): Promise<number> {
    this.#die(new WorkerCrashedError('The worker pool was closed while work was pending.'));
    return this.worker.terminate();
  }
}

/** A stateful object in one worker; calls run in order. */
export class WorkerSession {
  readonly #worker: PooledWorker;
  readonly #id: number;
  #closed = false;

  constructor(worker: PooledWorker, id: number) {
    this.#worker = worker;
    this.#id = id;
  }

  /**
   * Calls waiting on this session's worker thread, from every session there: how busy the
   * thread is, for spreading work over sessions on different threads.
   */
  get load(): number {
    return this.#worker.pending.size;
  }

  /** Calls `method` on the session's object with `args`; `transfer` lists buffers handed over (detached here). */
  call<T>(method: string, args: unknown, transfer: readonly Transferable[] = []): Promise<T> {
    if (this.#closed) return Promise.reject(new HonkError('INTERNAL', `Worker session used after close (${method}).`));
    return this.#worker.call({ type: 'call', session: this.#id, method, args }, transfer) as Promise<T>;
  }

  /** Frees the object in the worker. Safe to call twice, and after the worker died. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#worker.sessions--;
    if (this.#worker.dead) return;
    await this.#worker.call({ type: 'close', session: this.#id }).catch(() => undefined);
  }
}

/** A pool of worker threads; see the module documentation. */
export class WorkerPool {
  readonly #options: Required<WorkerPoolOptions>;
  readonly #workers: PooledWorker[] = [];
  readonly #opened = new Map<WorkerHandlerName, number>();
  #nextSession = 1;
  #closed = false;

  constructor(options: WorkerPoolOptions = {}) {
    this.#options = {
      size: Math.max(1, options.size ?? availableParallelism()),
      maxHeapMb: options.maxHeapMb ?? 1024,
    };
  }

  /** Worker threads at most. */
  get size(): number {
    return this.#options.size;
  }

  /** Sessions opened so far, by handler (for metrics and tests: which work left the main thread). */
  openedSessions(): Record<string, number> {
    return Object.fromEntries(this.#opened);
  }

  /**
   * Opens a session of `handler` (created in the worker with `init`) on the least loaded
   * worker, starting one when fewer than `size` run. A handler that fails to open rejects.
   */
  async open(
    handler: WorkerHandlerName,
    init: unknown,
    transfer: readonly Transferable[] = [],
  ): Promise<WorkerSession> {
    if (this.#closed) throw new HonkError('INTERNAL', 'The worker pool is closed.');
    const worker = this.#place();
    const id = this.#nextSession++;
    worker.sessions++;
    this.#opened.set(handler, (this.#opened.get(handler) ?? 0) + 1);
    try {
      await worker.call({ type: 'open', session: id, handler, init }, transfer);
    } catch (error) {
      worker.sessions--;
      throw error;
    }
    return new WorkerSession(worker, id);
  }

  /**
   * Starts `threads` worker threads (default: all) now and loads `handlers` in each, so the first real work does
   * not wait for thread start-up and module loading (a CLI run starts them while it reads
   * its spec), and memory measurements see them in their baseline.
   */
  async prewarm(handlers: readonly WorkerHandlerName[] = [], threads = this.#options.size): Promise<void> {
    if (this.#closed) return;
    const wanted = Math.min(threads, this.#options.size);
    const alive = () => this.#workers.filter((worker) => !worker.dead && !worker.retiring);
    while (alive().length < wanted) this.#workers.push(this.#spawn());
    await Promise.all(
      alive()
        .slice(0, wanted)
        .map((worker) => worker.call({ type: 'load', session: 0, handlers: [...handlers] })),
    );
  }

  /**
   * Runs a full garbage collection in every worker, where the process exposes gc (memory
   * measurements in tests); does nothing otherwise.
   */
  async collectGarbage(): Promise<WorkerMemory[]> {
    return (await Promise.all(
      this.#workers.filter((worker) => !worker.dead).map((worker) => worker.call({ type: 'collect', session: 0 })),
    )) as WorkerMemory[];
  }

  #spawn(): PooledWorker {
    return new PooledWorker(this.#options, (dead) => {
      const index = this.#workers.indexOf(dead);
      if (index >= 0) this.#workers.splice(index, 1);
    });
  }

  #place(): PooledWorker {
    const alive = this.#workers.filter((worker) => !worker.dead && !worker.retiring);
    const idle = alive.find((worker) => worker.sessions === 0);
    if (idle) return idle;
    if (alive.length < this.#options.size) {
      const worker = this.#spawn();
      this.#workers.push(worker);
      return worker;
    }
    return alive.reduce((least, worker) => (worker.sessions < least.sessions ? worker : least));
  }

  /** Stops every worker; open sessions fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const workers = this.#workers.splice(0);
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

let shared: WorkerPool | undefined;

/** The process-wide pool runTask uses unless given one. */
export function sharedWorkerPool(): WorkerPool {
  shared ??= new WorkerPool();
  return shared;
}

/** `.ts` when running from sources (type stripping), `.js` from a build. */
function extensionOf(url: string): string {
  return url.endsWith('.ts') ? '.ts' : '.js';
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Errors come back as plain objects; HonkErrors keep their code, retryability and details. */
function reviveError(error: WorkerErrorShape): Error {
  if (error.code) {
    const honk = new HonkError(error.code, error.message, {
      retryable: error.retryable ?? false,
      ...(error.details ? { details: error.details } : {}),
    });
    honk.name = error.name;
    return honk;
  }
  const plain = new Error(error.message);
  plain.name = error.name;
  if (error.stack) plain.stack = error.stack;
  return plain;
}
