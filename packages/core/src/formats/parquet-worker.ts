/**
 * The Parquet handler of a pool worker: parquet-wasm runs here, never on the main thread.
 * A WebAssembly trap (a malformed page, a value too large for the encoder) or a decoder that
 * outgrows its memory cap then ends this thread and the one read or write that used it: the
 * process, its other tasks and their reports carry on (see parquet-codec.ts for the main side).
 *
 * Sessions: `read` decodes one file whose bytes the main thread serves by range
 * (workers/remote-blob.ts) and hands out batches as IPC bytes; `schema` reads one file's
 * schema; `write` encodes IPC batches into Parquet bytes that go back to the main thread's sink.
 */
import type { MessagePort } from 'node:worker_threads';
import * as parquet from 'parquet-wasm';
import { HonkError } from '../errors/honk-error.ts';
import {
  batchesFromBytes,
  batchToBytes,
  releaseBytes,
  schemaFromBytes,
  schemaToBytes,
} from '../workers/batch-transport.ts';
import { RemoteBlob } from '../workers/remote-blob.ts';
import { retireWorker } from '../workers/worker-lifecycle.ts';
import { transferring, type WorkerHandler } from '../workers/worker-protocol.ts';
import type { ByteInput, ByteSink } from './format-codec.ts';
import type { ParquetOptions } from './format-options.ts';
import { readParquet, readParquetSchema } from './parquet-reader.ts';
import { ParquetWriter } from './parquet-writer.ts';

/** What a read or schema session needs besides the file (which the main thread serves). */
export type ParquetInputInit =
  | {
      kind: 'read';
      batchRows: number;
      parquet?: ParquetOptions;
      /** The dataset schema as IPC bytes (batches are checked against it). */
      schema?: Uint8Array;
    }
  | { kind: 'schema'; parquet?: ParquetOptions };

export type ParquetWorkerInit = (
  | (ParquetInputInit & { port: MessagePort; name: string; size: number })
  | { kind: 'write'; schema: Uint8Array; parquet?: ParquetOptions }
) & {
  /** WebAssembly memory one session may grow the codec to (`parquetMemoryCapMb` in parquet-codec.ts). */
  maxMemoryMb: number;
};

/** WebAssembly memory above which a thread is retired once its sessions close (it never shrinks). */
const RETIRE_MEMORY_BYTES = 256 * 1024 * 1024;

function wasmBytes(): number {
  return parquet.wasmMemory().buffer.byteLength;
}

/**
 * Runs one step of a session. A trap poisons the module instance, so the thread retires; a
 * step that grew WebAssembly memory past `capBytes` fails (and the thread retires) instead
 * of growing on until the machine runs out.
 */
async function guarded<T>(what: string, capBytes: number, step: () => Promise<T>): Promise<T> {
  try {
    const value = await step();
    if (wasmBytes() > capBytes) {
      retireWorker();
      throw new HonkError(
        'DATA_CORRUPT',
        `${what} needed more than ${Math.round(capBytes / 1024 / 1024)} MiB of Parquet codec memory; the data is damaged or holds values too large to encode. Split very large values, or raise the cap (HONK_PARQUET_MEMORY_MB).`,
        { details: { limitMb: Math.round(capBytes / 1024 / 1024) } },
      );
    }
    return value;
  } catch (error) {
    // WebAssembly.RuntimeError: a trap (`unreachable`, out-of-bounds access) inside the codec.
    if (error instanceof Error && error.name === 'RuntimeError') {
      retireWorker();
      throw new HonkError(
        'DATA_CORRUPT',
        `${what} crashed the Parquet codec (${error.message}); the data is damaged or not supported. Nothing was published.`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** A main-thread file seen through served ranges: what the reader needs of a ByteInput. */
function remoteInput(port: MessagePort, name: string, size: number): { input: ByteInput; close(): void } {
  const blob = new RemoteBlob(port, size);
  return {
    input: {
      name,
      size,
      blob: () => blob as unknown as Blob,
      stream: () => {
        throw new HonkError('INTERNAL', 'The Parquet worker reads by range only.');
      },
    },
    close: () => blob.close(),
  };
}

/** Only whole buffers are handed over; a view into a larger buffer is copied first. */
function owned(chunk: Uint8Array): Uint8Array {
  return chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength ? chunk : chunk.slice();
}

export const handler: WorkerHandler = {
  open(init: ParquetWorkerInit) {
    const cap = init.maxMemoryMb * 1024 * 1024;
    if (init.kind === 'schema') {
      const remote = remoteInput(init.port, init.name, init.size);
      return {
        schema: () =>
          guarded(`Reading the schema of ${init.name}`, cap, async () => {
            const bytes = schemaToBytes(await readParquetSchema(remote.input, init.parquet));
            return transferring(bytes, [bytes.buffer as ArrayBuffer]);
          }),
        close: () => {
          remote.close();
          if (wasmBytes() > RETIRE_MEMORY_BYTES) retireWorker();
        },
      };
    }
    if (init.kind === 'read') {
      const remote = remoteInput(init.port, init.name, init.size);
      const batches = readParquet(remote.input, {
        batchRows: init.batchRows,
        ...(init.parquet ? { parquet: init.parquet } : {}),
        ...(init.schema ? { schema: schemaFromBytes(init.schema) } : {}),
      })[Symbol.asyncIterator]();
      return {
        next: () =>
          guarded(`Reading ${init.name}`, cap, async () => {
            const next = await batches.next();
            if (next.done) return null;
            const bytes = batchToBytes(next.value);
            return transferring(bytes, [bytes.buffer as ArrayBuffer]);
          }),
        close: async () => {
          await batches.return?.(undefined).catch(() => undefined);
          remote.close();
          if (wasmBytes() > RETIRE_MEMORY_BYTES) retireWorker();
        },
      };
    }
    const chunks: Uint8Array[] = [];
    const sink: ByteSink = {
      write: async (chunk) => {
        chunks.push(owned(chunk));
      },
    };
    const writer = new ParquetWriter(sink, schemaFromBytes(init.schema), init.parquet);
    const take = () => {
      const out = chunks.splice(0);
      return transferring(
        out,
        out.map((chunk) => chunk.buffer as ArrayBuffer),
      );
    };
    return {
      write: (bytes: Uint8Array) =>
        guarded('Writing Parquet', cap, async () => {
          for (const batch of batchesFromBytes(bytes)) await writer.write(batch);
          // Encoded (copied into wasm): the received batch is not needed any more.
          releaseBytes(bytes);
          return take();
        }),
      finish: () =>
        guarded('Writing Parquet', cap, async () => {
          const written = await writer.finish();
          const out = chunks.splice(0);
          return transferring(
            { chunks: out, written },
            out.map((chunk) => chunk.buffer as ArrayBuffer),
          );
        }),
      abort: () => writer.abort(),
      close: () => {
        if (wasmBytes() > RETIRE_MEMORY_BYTES) retireWorker();
      },
    };
  },
};
