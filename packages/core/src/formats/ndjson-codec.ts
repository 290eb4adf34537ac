/**
 * NDJSON (one JSON object per line). ndjson-scanner.ts records where each key's value lies;
 * text-columns converts the ranges. Strings without backslashes are copied as bytes;
 * numbers are parsed from their digits, so int64 and decimals keep every digit (JSON.parse
 * would round them through a double). Only escaped strings go through JSON.parse. Files may
 * be gzip or zstd compressed (text-compression.ts).
 */
import { type DataType, Field, type RecordBatch, Schema } from 'apache-arrow';
import { throwIfAborted } from '../errors/honk-error.ts';
import { ByteWindow } from './byte-window.ts';
import type { ByteInput, FormatCodec, FormatOptions, FormatReadOptions } from './format-codec.ts';
import { type LineState, NDJSON_SAMPLE_ROWS, NdjsonScanner, scanLines } from './ndjson-scanner.ts';
import { NdjsonWriter } from './ndjson-writer.ts';
import { buildBatch, checkBatchUtf8, emptyFile, TEXT_BATCH_BYTES } from './text-batches.ts';
import { TextBuildPipeline } from './text-build-pipeline.ts';
import type { CellColumn, CellOrigin } from './text-cells.ts';
import { inferColumnType } from './text-inference.ts';
import { invalidUtf8, validUtf8 } from './text-utf8.ts';
import { checkTextWritable } from './text-values.ts';

export { NDJSON_SAMPLE_ROWS } from './ndjson-scanner.ts';

const LF = 10;

/**
 * The error for invalid UTF-8 outside every value of a batch (a key): names the first line
 * of `bytes[start, end)` that is not UTF-8.
 */
function invalidLine(file: string, bytes: Uint8Array, start: number, end: number, firstLine: number) {
  let line = firstLine;
  let at = start;
  while (at < end) {
    let lineEnd = bytes.indexOf(LF, at);
    if (lineEnd < 0 || lineEnd > end) lineEnd = end;
    if (!validUtf8(bytes, at, lineEnd)) break;
    line++;
    at = lineEnd + 1;
  }
  return invalidUtf8(file, `line ${line}, a key (column name)`, { row: line });
}

/** Reads NDJSON with one endpoint's options. */
class NdjsonReader {
  readonly #explicit: ReadonlyMap<string, DataType>;

  constructor(options: FormatOptions | undefined) {
    this.#explicit = options?.types ?? new Map();
  }

  async schema(input: ByteInput): Promise<Schema> {
    const file = input.name;
    const window = new ByteWindow(input);
    try {
      const scanner = new NdjsonScanner([...this.#explicit.keys()]);
      scanner.growable = true;
      const state: LineState = { position: 0, rowNumber: 0 };
      const lines = new Int32Array(NDJSON_SAMPLE_ROWS);
      const rows = await scanLines(window, scanner, state, NDJSON_SAMPLE_ROWS, Number.POSITIVE_INFINITY, lines, file);
      if (scanner.names.length === 0) {
        throw emptyFile(
          file,
          window.compression,
          'it holds no JSON object, so it has no columns. Remove the file from the dataset, or name the columns with `schema:` to read it as 0 rows.',
        );
      }
      // The sample is refused now, before any data moves, if it is not UTF-8.
      const origin: CellOrigin = { file, firstRow: 1, unit: 'line', lines };
      checkBatchUtf8(window.bytes, 0, state.position, scanner.columns, scanner.names, rows, origin, () =>
        invalidLine(file, window.bytes, 0, state.position, 1),
      );
      const fields = scanner.names.map((name, index) => {
        const type =
          this.#explicit.get(name) ??
          inferColumnType(window.bytes, scanner.columns[index] as CellColumn, rows, scanner, true);
        return new Field(name, type, true);
      });
      return new Schema(fields);
    } finally {
      await window.close();
    }
  }

  async *read(input: ByteInput, options: FormatReadOptions): AsyncGenerator<RecordBatch> {
    const file = input.name;
    const schema = options.schema ?? (await this.schema(input));
    const window = new ByteWindow(input, options.signal);
    let pipeline: TextBuildPipeline | undefined;
    try {
      const scanner = new NdjsonScanner(schema.fields.map((field) => field.name));
      for (const cells of scanner.columns) cells.ensure(options.batchRows);
      const lines = new Int32Array(options.batchRows);
      const state: LineState = { position: 0, rowNumber: 0 };
      // The first batch is built here; later ones on worker threads while scanning goes on.
      let built = 0;
      while (true) {
        const batchStart = state.position;
        const firstLine = state.rowNumber + 1;
        const rows = await scanLines(window, scanner, state, options.batchRows, TEXT_BATCH_BYTES, lines, file);
        if (rows === 0) {
          while (pipeline?.pending) yield await pipeline.take();
          return;
        }
        throwIfAborted(options.signal);
        const origin: CellOrigin = { file, firstRow: firstLine, unit: 'line', lines };
        const end = Math.min(state.position, window.length);
        checkBatchUtf8(window.bytes, batchStart, end, scanner.columns, scanner.names, rows, origin, () =>
          invalidLine(file, window.bytes, batchStart, end, firstLine),
        );
        if (built++ === 0)
          yield buildBatch(schema, window.bytes, scanner.columns, rows, scanner, origin, this.#explicit);
        else {
          pipeline ??= new TextBuildPipeline({ format: 'ndjson', declared: [...this.#explicit.keys()] }, schema);
          pipeline.submit(window.bytes, end, scanner.columns, rows, origin);
          while (pipeline.pending >= pipeline.depth) yield await pipeline.take();
        }
        state.position -= window.compact(Math.min(state.position, window.length));
      }
    } finally {
      await pipeline?.close();
      await window.close();
    }
  }
}

/** NDJSON (JSON Lines), see the module comment. */
export const ndjsonCodec: FormatCodec = {
  name: 'ndjson',
  extensions: ['.ndjson', '.jsonl'],
  contentType: 'application/x-ndjson',
  readSchema: (input, options) => new NdjsonReader(options).schema(input),
  read: (input, options) => new NdjsonReader(options).read(input, options),
  checkWritable: (schema) => checkTextWritable(schema.fields, 'ndjson'),
  createWriter: (sink, schema, options) => new NdjsonWriter(sink, schema, options?.compression, options?.precedingRows),
};
