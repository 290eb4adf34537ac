/**
 * Validation plumbing shared by `runTask` and the chunk runs of chunked tasks: the session
 * that hashes one run's two sides (on worker threads, or inline), the decoder workers use for
 * a raw read, and the read-back of staged data into the session's staged side.
 */
import type { Schema } from 'apache-arrow';
import type { Json, RawDecoderSpec, Source, StagedTarget } from '../connector/connector.ts';
import { HonkError } from '../errors/honk-error.ts';
import {
  type AsyncValidationSession,
  createParallelValidationSession,
  createValidationSession,
  INLINE_VALIDATION_ROWS,
} from '../validate/index.ts';
import type { ValidateOptions, Validator } from '../validate/validator.ts';
import { sharedWorkerPool, type WorkerPool } from '../workers/worker-pool.ts';

/**
 * The decoder `reader` offers for worker threads when validation runs there and the read is
 * large enough to pay for it (`rows`, else the decoder's own estimate, against the rows a
 * side hashes inline); null otherwise.
 */
export async function workerDecoder(
  reader: Source,
  workers: WorkerPool | false | undefined,
  rows: number | undefined,
): Promise<RawDecoderSpec | null> {
  if (workers === false || !reader.readRaw || !reader.rawDecoder) return null;
  if ((await reader.rawFormat?.()) == null) return null;
  const decoder = await reader.rawDecoder();
  if (decoder === null) return null;
  const expected = rows ?? decoder.estimatedRows ?? Number.POSITIVE_INFINITY;
  return expected >= INLINE_VALIDATION_ROWS ? decoder : null;
}

/**
 * The validation session of one run: hashing on worker threads unless `workers` is false,
 * else (or with no validators to run) on the main thread. With `sourceSummaries`, the source
 * side is given (a chunked task's chunks recorded it) and only the staged side is read.
 */
export function validationSession(
  validators: readonly Validator[],
  options: ValidateOptions | undefined,
  schema: Schema,
  workers: WorkerPool | false | undefined,
  sourceSummaries?: readonly Json[],
): AsyncValidationSession {
  if (workers !== false && validators.length > 0) {
    return createParallelValidationSession(options ?? {}, schema, {
      pool: workers ?? sharedWorkerPool(),
      ...(sourceSummaries ? { sourceSummaries } : {}),
    });
  }
  const inline = createValidationSession(validators, schema, sourceSummaries ? { sourceSummaries } : {});
  const needsWorkers = () => Promise.reject(new HonkError('INTERNAL', 'Raw validation needs worker threads.'));
  return {
    observeSource: async (batch) => inline.observeSource(batch),
    observeSourceRaw: needsWorkers,
    startStaged: (stagedSchema) => inline.startStaged(stagedSchema),
    observeStaged: async (batch) => inline.observeStaged(batch),
    observeStagedRaw: needsWorkers,
    report: async () => inline.report(),
    sourceSummaries: async () => inline.sourceSummaries(),
    sourceRowEncoding: () => undefined,
    close: async () => {},
  };
}

export interface ReadBackOptions {
  staged: StagedTarget;
  hashing: AsyncValidationSession;
  taskId: string;
  signal: AbortSignal;
  batchRows: number;
  workers: WorkerPool | false | undefined;
  /** Rows the source side had (decides whether decoding on workers pays), when known. */
  sourceRows: number;
  /** Called for every chunk or batch read (the watchdog's progress). */
  touch: () => void;
}

/**
 * Reads the staged data back into the session's staged side; returns the staged schema.
 * Rows hashed as encoded on the source side are compared with the staged rows read back the
 * same way; otherwise the decoder is used when the volume pays for it.
 */
export async function readBackStaged(options: ReadBackOptions): Promise<Schema> {
  const { staged, hashing, signal, batchRows, workers } = options;
  const reader = staged.reader();
  try {
    const stagedSchema = await reader.schema();
    hashing.startStaged(stagedSchema);
    const rowEncoding = hashing.sourceRowEncoding();
    const stagedDecoder = await workerDecoder(
      reader,
      workers,
      rowEncoding === undefined ? options.sourceRows : Number.POSITIVE_INFINITY,
    );
    if (rowEncoding !== undefined && (!stagedDecoder || !reader.readRaw)) {
      throw new HonkError(
        'INTERNAL',
        `Task '${options.taskId}': the source was validated as ${rowEncoding} rows, but the staged data cannot be read back raw; this is a connector defect, please report it.`,
      );
    }
    if (stagedDecoder && reader.readRaw) {
      // Read back on as many connections as there are worker threads to hash, when the
      // sink can split its staged data (disjoint parts; each part's bytes in order).
      const threads = workers === false ? 1 : (workers ?? sharedWorkerPool()).size;
      const parts = threads > 1 && staged.readers ? await staged.readers(threads) : [reader];
      try {
        await Promise.all(
          parts.map(async (part, stream) => {
            for await (const chunk of (part.readRaw as NonNullable<Source['readRaw']>)({
              signal,
              batchRows,
              decode: false,
            })) {
              options.touch();
              if (chunk.bytes.byteLength > 0) await hashing.observeStagedRaw(chunk.bytes, stagedDecoder, stream);
            }
          }),
        );
      } finally {
        await Promise.all(parts.filter((part) => part !== reader).map((part) => part.close?.()));
      }
    } else {
      for await (const batch of reader.read({ signal, batchRows })) {
        options.touch();
        await hashing.observeStaged(batch);
      }
    }
    return stagedSchema;
  } finally {
    await reader.close?.();
  }
}
