/**
 * Random access to a main-thread {@link ByteInput} from a worker thread. A codec in a worker
 * (Parquet reads its footer, then row groups, by range) gets a Blob-like object whose
 * `slice(start, end).arrayBuffer()` asks the main thread for exactly those bytes over a
 * MessagePort; the main thread reads them through the input's own Blob (a local file, ranged
 * GETs on object storage) and hands the buffer over without copying. So every connector's
 * bytes reach a worker the same way, and only the ranges asked for are read.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { ByteInput } from '../formats/format-codec.ts';

interface RangeRequest {
  id: number;
  start: number;
  end: number;
}

type RangeReply =
  | { id: number; bytes: ArrayBuffer }
  | { id: number; error: { name: string; message: string; code?: string } };

/** Main side: serves ranges of `input` on a port to hand to a worker; `close()` stops serving. */
export function serveRanges(input: ByteInput): { port: MessagePort; close(): void } {
  const { port1, port2 } = new MessageChannel();
  let blob: Promise<Blob> | undefined;
  port1.on('message', (request: RangeRequest) => {
    blob ??= Promise.resolve(input.blob());
    blob
      .then((whole) => whole.slice(request.start, request.end).arrayBuffer())
      .then(
        (bytes) => port1.postMessage({ id: request.id, bytes } satisfies RangeReply, [bytes]),
        (error: unknown) => {
          const failure = error as { name?: string; message?: string; code?: string };
          port1.postMessage({
            id: request.id,
            error: {
              name: failure?.name ?? 'Error',
              message: failure?.message ?? String(error),
              ...(failure?.code ? { code: failure.code } : {}),
            },
          } satisfies RangeReply);
        },
      );
  });
  // The port must not keep the process alive on its own.
  port1.unref();
  return {
    port: port2,
    close: () => port1.close(),
  };
}

/**
 * Worker side: a Blob-like view of the served input (what parquet-wasm's `fromFile` reads:
 * `size`, `slice()`, `arrayBuffer()`). A failed read rejects with the main side's error,
 * name, message and code kept.
 */
export class RemoteBlob {
  readonly size: number;
  readonly #port: MessagePort;
  readonly #start: number;
  readonly #pending: Map<number, { resolve(bytes: ArrayBuffer): void; reject(error: Error): void }>;
  readonly #next: { id: number };

  constructor(port: MessagePort, size: number, start = 0, shared?: RemoteBlob) {
    this.#port = port;
    this.size = size;
    this.#start = start;
    if (shared) {
      this.#pending = shared.#pending;
      this.#next = shared.#next;
      return;
    }
    this.#pending = new Map();
    this.#next = { id: 1 };
    port.on('message', (reply: RangeReply) => {
      const waiting = this.#pending.get(reply.id);
      if (!waiting) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) port.unref();
      if ('bytes' in reply) waiting.resolve(reply.bytes);
      else waiting.reject(Object.assign(new Error(reply.error.message), reply.error));
    });
    port.unref();
  }

  /** Bytes `[start, end)` of this blob (clamped like `Blob.slice`). */
  slice(start = 0, end = this.size): RemoteBlob {
    const from = clamp(start, this.size);
    const to = Math.max(from, clamp(end, this.size));
    return new RemoteBlob(this.#port, to - from, this.#start + from, this);
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (this.size === 0) return Promise.resolve(new ArrayBuffer(0));
    const id = this.#next.id++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#port.ref();
      this.#port.postMessage({ id, start: this.#start, end: this.#start + this.size } satisfies RangeRequest);
    });
  }

  /** Closes the port (the main side stops serving). */
  close(): void {
    this.#port.close();
  }
}

function clamp(position: number, size: number): number {
  return position < 0 ? Math.max(0, size + position) : Math.min(position, size);
}
