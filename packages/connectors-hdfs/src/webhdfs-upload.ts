/**
 * The data-node half of CREATE and APPEND: one streamed PUT/POST whose body is fed chunk by
 * chunk as an encoder produces them (`duplex: 'half'`), so a part file of any size is sent
 * with about one queue's worth of bytes (4 MiB) in memory. `write()` resolves when the
 * request has room again: that is the encoder's backpressure.
 *
 * A body stream cannot be replayed, so a data node that fails mid-upload — also a pooled
 * keep-alive connection the data node closed just as the upload reused it — fails the upload
 * (a TransientError: the attempt is retried as a whole, from a fresh staging directory).
 * Failures of the name-node step before it are retried inside the client.
 */
import type { ByteSink } from '@honk/core';
import { AbortedError, HonkError } from '@honk/core';
import { networkError, parseRemoteException, remoteError, type WebHdfsCallContext } from './webhdfs-errors.ts';

/** A file being written through a data node. */
export interface WebHdfsUpload extends ByteSink {
  /** Bytes accepted so far. */
  readonly bytesWritten: number;
  /** Resolves when the chunk is queued; waits while the queue is full. The chunk must not change afterwards. */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the body and waits for the data node's answer (the file is closed and visible). */
  finish(): Promise<void>;
  /** Cancels the request; what the data node received may remain as a partial file. Safe to call twice. */
  abort(): Promise<void>;
}

const QUEUE_BYTES = 4 * 1024 * 1024;

/** Starts the streamed request to the data node `location`. */
export function startUpload(
  location: string,
  method: 'PUT' | 'POST',
  context: WebHdfsCallContext,
  signal?: AbortSignal,
): WebHdfsUpload {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let wake: (() => void) | undefined;
  let failure: HonkError | undefined;
  let bytes = 0;
  let state: 'open' | 'finished' | 'aborted' = 'open';
  const wakeUp = () => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start(streamController) {
        controller = streamController;
      },
      pull: wakeUp,
      cancel(reason) {
        failure ??= networkError(reason, context, signal);
        wakeUp();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: QUEUE_BYTES }),
  );
  const cancel = new AbortController();
  const answered = fetch(location, {
    method,
    body,
    duplex: 'half',
    headers: { 'Content-Type': 'application/octet-stream' },
    signal: signal ? AbortSignal.any([signal, cancel.signal]) : cancel.signal,
  } as RequestInit).then(
    async (response) => {
      if (!response.ok) {
        const text = await response.text().catch(() => '');
        failure ??= remoteError(response.status, parseRemoteException(text), text, context);
      } else await response.body?.cancel();
      wakeUp();
    },
    (error: unknown) => {
      failure ??= networkError(error, context, signal);
      wakeUp();
    },
  );

  const check = () => {
    if (failure) throw failure;
    if (state !== 'open') {
      throw new HonkError('CONNECTOR_MISUSE', `WebHDFS upload of ${context.path} is ${state}.`);
    }
  };

  return {
    get bytesWritten() {
      return bytes;
    },
    async write(chunk) {
      check();
      if (chunk.byteLength === 0) return;
      controller.enqueue(chunk);
      bytes += chunk.byteLength;
      while ((controller.desiredSize ?? 0) <= 0 && !failure) await new Promise<void>((resolve) => (wake = resolve));
      if (failure) throw failure;
    },
    async finish() {
      check();
      controller.close();
      await answered;
      state = 'finished';
      if (failure) throw failure;
    },
    async abort() {
      if (state === 'aborted') return;
      state = 'aborted';
      failure ??= new AbortedError(`WebHDFS upload of ${context.path} was aborted.`);
      try {
        controller.error(failure);
      } catch {
        // Already closed or errored.
      }
      cancel.abort();
      await answered;
    },
  };
}
