/**
 * CSV (RFC 4180): csv-scanner.ts records cell ranges, text-columns.ts turns them into typed
 * arrays, csv-writer.ts writes. Files may be gzip or zstd compressed (text-compression.ts).
 *
 * NULL versus empty string (also in docs/file-connector.md): without `nullValue`, an
 * unquoted empty field is NULL and `""` is the empty string; the writer writes NULL as
 * nothing and the empty string as `""`. With `nullValue`, only that unquoted text is NULL.
 */
import { type DataType, Field, type RecordBatch, Schema } from 'apache-arrow';
import { ConfigError, HonkError, SchemaMismatchError, throwIfAborted } from '../errors/honk-error.ts';
import { ByteWindow } from './byte-window.ts';
import { CsvScanner, type CsvSettings, type CsvStart, scanStart, settingsOf } from './csv-scanner.ts';
import { CsvWriter } from './csv-writer.ts';
import type { ByteInput, FormatCodec, FormatOptions, FormatReadOptions } from './format-codec.ts';
import { buildBatch, checkBatchUtf8, emptyFile, TEXT_BATCH_BYTES } from './text-batches.ts';
import { TextBuildPipeline } from './text-build-pipeline.ts';
import { CellColumn, type CellOrigin } from './text-cells.ts';
import { inferColumnType } from './text-inference.ts';
import { invalidUtf8 } from './text-utf8.ts';
import { checkTextWritable } from './text-values.ts';

/** Rows sampled from the first file to infer column types. */
export const CSV_SAMPLE_ROWS = 1000;

const NEEDS_HEADER =
  'a CSV file needs a header row naming its columns. Remove the file from the dataset, or add the header row (or set `csv.header: false` and name the columns with `schema:`).';

/** Reads CSV with one endpoint's options. */
class CsvReader {
  readonly #settings: CsvSettings;
  readonly #options: FormatOptions | undefined;
  readonly #explicit: ReadonlyMap<string, DataType>;

  constructor(options: FormatOptions | undefined) {
    this.#settings = settingsOf(options?.csv);
    this.#options = options;
    this.#explicit = options?.types ?? new Map();
  }

  /** The header, refusing a file without one (or, headerless, without rows or declared columns). */
  async #start(window: ByteWindow, scanner: CsvScanner, file: string, sampleRows: number): Promise<CsvStart> {
    const start = await scanStart(window, scanner, this.#settings, file, sampleRows);
    if (this.#settings.header && start.names === undefined) throw emptyFile(file, window.compression, NEEDS_HEADER);
    if (!this.#settings.header && scanner.columns.length === 0 && this.#explicit.size === 0) {
      throw emptyFile(
        file,
        window.compression,
        'without a header (`csv.header: false`) the columns come from the rows, and there are none. Name the columns with `schema:` to read it as 0 rows.',
      );
    }
    return start;
  }

  async schema(input: ByteInput): Promise<Schema> {
    const file = input.name;
    const window = new ByteWindow(input);
    try {
      const scanner = new CsvScanner(this.#settings);
      const start = await this.#start(window, scanner, file, CSV_SAMPLE_ROWS);
      const { rows } = start;
      const explicitNames = [...this.#explicit.keys()];
      const count = scanner.columns.length;
      const names =
        start.names ??
        (explicitNames.length === count || count === 0
          ? explicitNames
          : Array.from({ length: count }, (_, index) => `column_${index + 1}`));
      const seen = new Set<string>();
      for (const [index, name] of names.entries()) {
        if (name === '') names[index] = `column_${index + 1}`;
        if (seen.has(names[index] as string)) {
          throw new HonkError('DATA_CORRUPT', `${file} has the column name "${name}" twice in its header.`, {
            details: { file, column: name },
          });
        }
        seen.add(names[index] as string);
      }
      for (const name of explicitNames) {
        if (!seen.has(name)) {
          throw new ConfigError(
            `\`schema:\` names column "${name}", but ${file} has columns ${names.map((n) => `"${n}"`).join(', ')}.`,
            { details: { option: `schema.${name}` } },
          );
        }
      }
      // The sample is refused now, before any data moves, if it is not UTF-8.
      const origin: CellOrigin = { file, firstRow: 1, unit: 'data row' };
      checkBatchUtf8(window.bytes, 0, start.position, scanner.columns, names, rows, origin, () =>
        invalidUtf8(file, `the first ${rows} data rows`),
      );
      const fields = names.map((name, index) => {
        const type =
          this.#explicit.get(name) ??
          inferColumnType(window.bytes, scanner.columns[index] ?? new CellColumn(1), rows, scanner, false);
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
      const scanner = new CsvScanner(this.#settings);
      const start = await this.#start(window, scanner, file, 0);
      const names = schema.fields.map((field) => field.name);
      if (this.#settings.header) {
        const found = start.names ?? [];
        if (found.length !== names.length || found.some((name, index) => name !== names[index] && name !== '')) {
          throw new SchemaMismatchError(
            `The header of ${file} (${found.join(', ')}) differs from the dataset's columns (${names.join(', ')}). All part files must share one header.`,
            { details: { file } },
          );
        }
      } else {
        scanner.columns = [];
      }
      while (scanner.columns.length < names.length) scanner.columns.push(new CellColumn(16));
      scanner.growable = false;
      for (const cells of scanner.columns) cells.ensure(options.batchRows);
      let position = start.position;
      let rows = 0;
      let firstRow = 1;
      // The first batch is built here; later ones on worker threads while scanning goes on.
      const build = (end: number, count: number, origin: CellOrigin): RecordBatch | undefined => {
        if (firstRow === 1)
          return buildBatch(schema, window.bytes, scanner.columns, count, scanner, origin, this.#explicit);
        pipeline ??= new TextBuildPipeline(
          {
            format: 'csv',
            ...(this.#options?.csv ? { csv: this.#options.csv } : {}),
            declared: [...this.#explicit.keys()],
          },
          schema,
        );
        pipeline.submit(window.bytes, end, scanner.columns, count, origin);
        return undefined;
      };
      const single = names.length === 1;
      while (true) {
        let finished = false;
        const batchStart = position;
        while (rows < options.batchRows && position - batchStart < TEXT_BATCH_BYTES) {
          if (position >= window.length) {
            if (window.eof) {
              finished = true;
              break;
            }
            await window.fill();
            continue;
          }
          position = scanner.scanRows(
            window.bytes,
            position,
            window.length,
            window.eof,
            rows,
            options.batchRows,
            !single,
            file,
            firstRow,
          );
          rows = scanner.row;
          // Stopped short of the batch with bytes left: the next row continues past them.
          if (rows < options.batchRows && position < window.length) await window.fill();
        }
        if (rows > 0) {
          throwIfAborted(options.signal);
          const origin: CellOrigin = { file, firstRow, unit: 'data row' };
          checkBatchUtf8(window.bytes, batchStart, position, scanner.columns, names, rows, origin, () =>
            invalidUtf8(file, `data rows ${firstRow} to ${firstRow + rows - 1}`),
          );
          const built = build(position, rows, origin);
          if (built) yield built;
          while (pipeline && pipeline.pending >= pipeline.depth) yield await pipeline.take();
          firstRow += rows;
          rows = 0;
          position -= window.compact(position);
        }
        if (finished) {
          while (pipeline?.pending) yield await pipeline.take();
          return;
        }
      }
    } finally {
      await pipeline?.close();
      await window.close();
    }
  }
}

/** CSV (RFC 4180), see the module comment. */
export const csvCodec: FormatCodec = {
  name: 'csv',
  extensions: ['.csv'],
  contentType: 'text/csv',
  readSchema: (input, options) => new CsvReader(options).schema(input),
  read: (input, options) => new CsvReader(options).read(input, options),
  checkWritable: (schema) => checkTextWritable(schema.fields, 'csv'),
  createWriter: (sink, schema, options) =>
    new CsvWriter(sink, schema, options?.csv, options?.compression, options?.precedingRows),
};
