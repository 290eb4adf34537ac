/**
 * The raw-validation handler of a pool worker: decodes one side's raw bytes (in order) with
 * the source's own decoder module (see `Source.rawDecoder`) and feeds the batches to
 * accumulators built from the task's `validate:` options, so neither decoding nor hashing
 * runs on the main thread.
 */
import type { Schema } from 'apache-arrow';
import type { Json, RawDecoder, RawDecoderSpec } from '../connector/connector.ts';
import { HonkError } from '../errors/honk-error.ts';
import { releaseBytes, schemaFromBytes } from '../workers/batch-transport.ts';
import type { WorkerHandler } from '../workers/worker-protocol.ts';
import { createValidators } from './create-validators.ts';
import type { ValidateOptions } from './validator.ts';

export interface RawValidationWorkerInit {
  options: ValidateOptions;
  /** The side's schema as IPC bytes. */
  schema: Uint8Array;
  decoder: RawDecoderSpec;
}

export const handler: WorkerHandler = {
  async open(init: RawValidationWorkerInit) {
    const module = (await import(init.decoder.module)) as {
      createRawDecoder?: (init: unknown, schema: Schema) => RawDecoder;
    };
    if (typeof module.createRawDecoder !== 'function') {
      throw new HonkError(
        'CONNECTOR_MISUSE',
        `Raw decoder module ${init.decoder.module} exports no createRawDecoder().`,
      );
    }
    const schema = schemaFromBytes(init.schema);
    const decoder = module.createRawDecoder(init.decoder.init, schema);
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
