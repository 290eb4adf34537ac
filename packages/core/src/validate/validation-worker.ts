/**
 * The validation handler of a pool worker: accumulators of one side of one validation,
 * built from the task's `validate:` options exactly as the main thread builds them (the
 * validators are the built-ins, so a worker never needs code from the task). Batches arrive
 * as IPC bytes; the summaries go back as JSON for the main thread to combine and compare.
 */
import type { Json } from '../connector/connector.ts';
import { batchesFromBytes, releaseBytes, schemaFromBytes } from '../workers/batch-transport.ts';
import type { WorkerHandler } from '../workers/worker-protocol.ts';
import { createValidators } from './create-validators.ts';
import type { ValidateOptions } from './validator.ts';

export interface ValidationWorkerInit {
  options: ValidateOptions;
  /** The side's schema as IPC bytes (batches are hashed against their own schema). */
  schema: Uint8Array;
}

export const handler: WorkerHandler = {
  open(init: ValidationWorkerInit) {
    const schema = schemaFromBytes(init.schema);
    const accumulators = createValidators(init.options).map((validator) => validator.accumulator(schema));
    return {
      observe(bytes: Uint8Array): void {
        for (const batch of batchesFromBytes(bytes)) {
          for (const accumulator of accumulators) accumulator.observe(batch);
        }
        // Hashed: the sample keeps values as JSON, nothing refers to the bytes any more.
        releaseBytes(bytes);
      },
      results(): Json[] {
        return accumulators.map((accumulator) => accumulator.result());
      },
    };
  },
};
