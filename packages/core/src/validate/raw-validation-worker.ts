/**
 * The raw-validation handler of a pool worker: one side's raw bytes, as `readRaw()` forwards
 * them, validated with the source's own modules (see `Source.rawDecoder`), so neither
 * decoding nor hashing runs on the main thread. Two ways:
 *
 * - `values`: decode the bytes into Arrow batches and feed the usual accumulators (the
 *   canonical value hashes, comparable with any other side);
 * - `rows`: hash each encoded row as it is (raw-row-validation.ts), never decoding — for a raw
 *   transfer whose other side is read raw in the same encoding.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { Json, RawDecoder, RawDecoderSpec } from '../connector/connector.ts';
import { HonkError } from '../errors/honk-error.ts';
import { releaseBytes, schemaFromBytes } from '../workers/batch-transport.ts';
import type { WorkerHandler } from '../workers/worker-protocol.ts';
import { createValidators } from './create-validators.ts';
import { type RawRowScanner, rawRowAccumulators } from './raw-row-validation.ts';
import type { ValidateOptions } from './validator.ts';

export interface RawValidationWorkerInit {
  options: ValidateOptions;
  /** The side's schema as IPC bytes. */
  schema: Uint8Array;
  /** The module and its arguments (what a worker can load and clone). */
  decoder: Pick<RawDecoderSpec, 'module' | 'init'>;
  /** Hash decoded values, or encoded rows as they are (see the module comment). */
  hashing: 'values' | 'rows';
}

/** Rows per decoded batch: about one ~1 MiB piece of narrow rows. */
const DECODE_BATCH_ROWS = 8192;

interface RawModule {
  createRawDecoder?: (init: unknown, schema: Schema, options?: { batchRows?: number }) => RawDecoder;
  createRawRowScanner?: (init: unknown) => RawRowScanner;
}

/** Decodes whole encoded rows into one batch (the sample's kept rows: a few per piece). */
function decodeRows(
  module: RawModule,
  init: unknown,
  schema: Schema,
): (bytes: Uint8Array, rows: number) => RecordBatch | null {
  return (bytes, rows) => {
    const decoder = (module.createRawDecoder as NonNullable<RawModule['createRawDecoder']>)(init, schema, {
      batchRows: rows,
    });
    const batches = decoder.push(bytes);
    const rest = decoder.take?.() ?? decoder.end();
    if (rest) batches.push(rest);
    return batches[0] ?? null;
  };
}

export const handler: WorkerHandler = {
  async open(init: RawValidationWorkerInit) {
    const module = (await import(init.decoder.module)) as RawModule;
    if (typeof module.createRawDecoder !== 'function') {
      throw new HonkError(
        'CONNECTOR_MISUSE',
        `Raw decoder module ${init.decoder.module} exports no createRawDecoder().`,
      );
    }
    const schema = schemaFromBytes(init.schema);
    if (init.hashing === 'rows') {
      if (typeof module.createRawRowScanner !== 'function') {
        throw new HonkError(
          'CONNECTOR_MISUSE',
          `Raw decoder module ${init.decoder.module} names an encoding but exports no createRawRowScanner().`,
        );
      }
      const rows = rawRowAccumulators(
        init.options,
        schema,
        module.createRawRowScanner(init.decoder.init),
        decodeRows(module, init.decoder.init, schema),
      );
      return {
        observe(bytes: Uint8Array): void {
          rows.observe(bytes);
          releaseBytes(bytes);
        },
        results: (): Json[] => rows.results(),
      };
    }
    // Pieces are ~1 MiB and every piece is taken out whole (`take`): batches the size of a
    // piece's rows, not the read's default, so no builder is allocated four times too large.
    const decoder = module.createRawDecoder(init.decoder.init, schema, { batchRows: DECODE_BATCH_ROWS });
    const accumulators = createValidators(init.options).map((validator) => validator.accumulator(schema));
    let ended = false;
    return {
      observe(bytes: Uint8Array): void {
        const batches = decoder.push(bytes);
        const rest = decoder.take?.();
        if (rest) batches.push(rest);
        for (const batch of batches) {
          for (const accumulator of accumulators) accumulator.observe(batch);
        }
        // Decoded into the batches' own buffers (a straddling row is copied aside).
        releaseBytes(bytes);
      },
      results(): Json[] {
        if (!ended) {
          ended = true;
          const last = decoder.end();
          if (last) for (const accumulator of accumulators) accumulator.observe(last);
        }
        return accumulators.map((accumulator) => accumulator.result());
      },
    };
  },
};
