/**
 * The text-build handler of a pool worker: turns the cells the main thread's CSV or NDJSON
 * scanner found (byte ranges per column) into an Arrow batch — parsing numbers, decimals,
 * timestamps, unescaping text — the larger part of reading text. The scanner stays on the
 * main thread (it alone knows where rows end); building runs here, on other cores.
 */
import type { Schema } from 'apache-arrow';
import { batchToBytes, schemaFromBytes } from '../workers/batch-transport.ts';
import { transferring, type WorkerHandler } from '../workers/worker-protocol.ts';
import { CsvScanner, settingsOf } from './csv-scanner.ts';
import type { CsvOptions } from './format-options.ts';
import { NdjsonScanner } from './ndjson-scanner.ts';
import { buildBatch } from './text-batches.ts';
import { CellColumn, type CellDecoder, type CellOrigin } from './text-cells.ts';

export interface TextBuildInit {
  format: 'csv' | 'ndjson';
  csv?: CsvOptions;
  /** The dataset schema as IPC bytes. */
  schema: Uint8Array;
  /** Columns whose type was declared (`schema:`), not inferred: see `buildBatch`. */
  declared: string[];
}

/** One batch's cells, with the text they point into. */
export interface TextBuildRequest {
  bytes: Uint8Array;
  starts: Int32Array[];
  ends: Int32Array[];
  kinds: Uint8Array[];
  rows: number;
  origin: CellOrigin;
}

export const handler: WorkerHandler = {
  open(init: TextBuildInit) {
    const schema: Schema = schemaFromBytes(init.schema);
    const names = schema.fields.map((field) => field.name);
    const decoder: CellDecoder =
      init.format === 'csv' ? new CsvScanner(settingsOf(init.csv)) : new NdjsonScanner(names);
    const declared = new Map(
      schema.fields.filter((field) => init.declared.includes(field.name)).map((field) => [field.name, field.type]),
    );
    return {
      build(request: TextBuildRequest) {
        const columns = request.starts.map((start, index) => {
          const cells = new CellColumn(0);
          cells.start = start;
          cells.end = request.ends[index] as Int32Array;
          cells.kind = request.kinds[index] as Uint8Array;
          return cells;
        });
        const batch = buildBatch(schema, request.bytes, columns, request.rows, decoder, request.origin, declared);
        const bytes = batchToBytes(batch);
        return transferring(bytes, [bytes.buffer as ArrayBuffer]);
      },
    };
  },
};
