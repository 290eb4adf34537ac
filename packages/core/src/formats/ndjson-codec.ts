/**
 * NDJSON (one JSON object per line). A byte-level scanner records where each key's value
 * lies; text-columns converts the ranges. Strings without backslashes are copied as bytes;
 * numbers are parsed from their digits, so int64 and decimals keep every digit (JSON.parse
 * would round them through a double). Only escaped strings go through JSON.parse.
 */
import { type DataType, Field, type RecordBatch, Schema } from 'apache-arrow';
import { makeRecordBatch } from '../arrow/column-data.ts';
import { HonkError, throwIfAborted } from '../errors/honk-error.ts';
import { ByteWindow } from './byte-window.ts';
import type {
  ByteInput,
  ByteSink,
  FormatCodec,
  FormatOptions,
  FormatReadOptions,
  FormatWriter,
  WrittenFile,
} from './format-codec.ts';
import {
  buildColumn,
  CELL_ESCAPED,
  CELL_JSON,
  CELL_NULL,
  CELL_QUOTED,
  CELL_RAW,
  CellColumn,
  type CellDecoder,
} from './text-columns.ts';
import { inferColumnType } from './text-inference.ts';
import { bareJson, cellFormatter, checkTextWritable, jsonSpelling } from './text-values.ts';

/** Rows per chunk of text the writer builds (and hands to the sink) at a time. */
const TEXT_SLICE_ROWS = 2048;

/** Lines sampled from the first file to infer columns and types. */
export const NDJSON_SAMPLE_ROWS = 1000;

const LF = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;

function isSpace(code: number | undefined): boolean {
  return code === 32 || code === 9 || code === 13 || code === 10;
}

function corrupt(file: string, row: number, message: string): HonkError {
  return new HonkError('DATA_CORRUPT', `${file} line ${row}: ${message}`, { details: { file, row } });
}

/** Scans NDJSON lines into cell columns. */
class NdjsonScanner implements CellDecoder {
  columns: CellColumn[] = [];
  names: string[] = [];
  #keys: Uint8Array[] = [];
  #index = new Map<string, number>();
  /** Add columns for new keys (sampling); otherwise an unknown key is an error. */
  growable = false;

  constructor(names: readonly string[] = []) {
    for (const name of names) this.#add(name);
  }

  #add(name: string): number {
    const index = this.names.length;
    this.names.push(name);
    this.#keys.push(Buffer.from(name, 'utf8'));
    this.#index.set(name, index);
    this.columns.push(new CellColumn(16));
    return index;
  }

  unescape(bytes: Uint8Array, start: number, end: number): Uint8Array {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
    return Buffer.from(JSON.parse(`"${text}"`) as string, 'utf8');
  }

  /** Returns the end of the string whose opening quote is at `position` (index of the closing quote), and whether it has escapes. */
  #string(bytes: Uint8Array, position: number, end: number): [number, boolean] {
    let at = position + 1;
    let escaped = false;
    while (at < end) {
      const code = bytes[at];
      if (code === QUOTE) return [at, escaped];
      if (code === BACKSLASH) {
        escaped = true;
        at += 2;
        continue;
      }
      at++;
    }
    return [-1, escaped];
  }

  /** The end (exclusive) of the array/object starting at `position`. */
  #nested(bytes: Uint8Array, position: number, end: number): number {
    let depth = 0;
    let at = position;
    while (at < end) {
      const code = bytes[at];
      if (code === QUOTE) {
        const [close] = this.#string(bytes, at, end);
        if (close < 0) return -1;
        at = close + 1;
        continue;
      }
      if (code === 91 || code === 123) depth++;
      else if (code === 93 || code === 125) {
        depth--;
        if (depth === 0) return at + 1;
      }
      at++;
    }
    return -1;
  }

  /** Scans one value at `position`; writes its cell into `cells[row]`; returns the position after it. */
  #value(bytes: Uint8Array, position: number, end: number, cells: CellColumn | undefined, row: number): number {
    const code = bytes[position];
    let start = position;
    let stop: number;
    let kind: number;
    let next: number;
    if (code === QUOTE) {
      const [close, escaped] = this.#string(bytes, position, end);
      if (close < 0) return -1;
      start = position + 1;
      stop = close;
      kind = escaped ? CELL_ESCAPED : CELL_QUOTED;
      next = close + 1;
    } else if (code === 91 || code === 123) {
      stop = this.#nested(bytes, position, end);
      if (stop < 0) return -1;
      kind = CELL_JSON;
      next = stop;
    } else {
      let at = position;
      while (at < end) {
        const c = bytes[at];
        if (c === COMMA || c === 125 || c === 93 || isSpace(c)) break;
        at++;
      }
      if (at === position) return -1;
      stop = at;
      next = at;
      kind = stop - start === 4 && code === 110 /* n */ ? CELL_NULL : CELL_RAW;
    }
    if (cells) {
      if (row >= cells.start.length) cells.ensure(row + 1);
      cells.start[row] = start;
      cells.end[row] = stop;
      cells.kind[row] = kind;
    }
    return next;
  }

  splitArray(bytes: Uint8Array, start: number, end: number, into: CellColumn, at: number): number {
    let position = start + 1;
    let count = at;
    while (position < end) {
      while (isSpace(bytes[position])) position++;
      if (bytes[position] === 93) break;
      into.ensure(count + 1);
      position = this.#value(bytes, position, end, into, count);
      if (position < 0) break;
      count++;
      while (isSpace(bytes[position])) position++;
      if (bytes[position] === COMMA) position++;
    }
    return count;
  }

  #column(bytes: Uint8Array, start: number, end: number, guess: number, escaped: boolean): number {
    const key = this.#keys[guess];
    if (!escaped && key && key.length === end - start) {
      let same = true;
      for (let index = 0; index < key.length; index++) {
        if (bytes[start + index] !== key[index]) {
          same = false;
          break;
        }
      }
      if (same) return guess;
    }
    const name = escaped
      ? (JSON.parse(`"${Buffer.from(bytes.subarray(start, end)).toString('utf8')}"`) as string)
      : Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
    const found = this.#index.get(name);
    if (found !== undefined) return found;
    if (this.growable) return this.#add(name);
    return -1 - this.names.length; // unknown: caller reports
  }

  /** Scans the object on `bytes[position, end)` (one line) into row `row`. */
  scanLine(bytes: Uint8Array, position: number, end: number, row: number, file: string, rowNumber: number): void {
    for (const cells of this.columns) {
      if (row >= cells.start.length) cells.ensure(row + 1);
      cells.kind[row] = CELL_NULL;
    }
    let at = position;
    while (isSpace(bytes[at]) && at < end) at++;
    if (bytes[at] !== 123) throw corrupt(file, rowNumber, 'expected a JSON object ("{")');
    at++;
    let guess = 0;
    while (true) {
      while (at < end && isSpace(bytes[at])) at++;
      if (bytes[at] === 125) break;
      if (bytes[at] !== QUOTE) throw corrupt(file, rowNumber, 'expected a key');
      const [close, escaped] = this.#string(bytes, at, end);
      if (close < 0) throw corrupt(file, rowNumber, 'unterminated key');
      const column = this.#column(bytes, at + 1, close, guess, escaped);
      if (column < 0) {
        const name = Buffer.from(bytes.subarray(at + 1, close)).toString('utf8');
        throw corrupt(
          file,
          rowNumber,
          `key "${name}" is not a column of the dataset (${this.names.join(', ')}). Declare it in \`schema:\` or make every file share the same keys in its first ${NDJSON_SAMPLE_ROWS} lines.`,
        );
      }
      for (const cells of this.columns) if (row >= cells.start.length) cells.ensure(row + 1);
      at = close + 1;
      while (at < end && isSpace(bytes[at])) at++;
      if (bytes[at] !== COLON) throw corrupt(file, rowNumber, 'expected ":" after a key');
      at++;
      while (at < end && isSpace(bytes[at])) at++;
      at = this.#value(bytes, at, end, this.columns[column], row);
      if (at < 0) throw corrupt(file, rowNumber, 'malformed value');
      guess = column + 1;
      while (at < end && isSpace(bytes[at])) at++;
      if (bytes[at] === COMMA) {
        at++;
        continue;
      }
      if (bytes[at] === 125) break;
      throw corrupt(file, rowNumber, 'expected "," or "}"');
    }
  }
}

/** Iterates the lines of a window, filling batches of up to `limit` rows. */
async function scanLines(
  window: ByteWindow,
  scanner: NdjsonScanner,
  state: { position: number; rowNumber: number },
  limit: number,
  file: string,
): Promise<number> {
  let rows = 0;
  while (rows < limit) {
    if (state.position >= window.length) {
      if (window.eof) break;
      await window.fill();
      continue;
    }
    let lineEnd = window.bytes.indexOf(LF, state.position);
    if (lineEnd < 0 || lineEnd >= window.length) {
      if (!window.eof) {
        await window.fill();
        continue;
      }
      lineEnd = window.length;
    }
    let blank = true;
    for (let at = state.position; at < lineEnd; at++) {
      if (!isSpace(window.bytes[at])) {
        blank = false;
        break;
      }
    }
    state.rowNumber++;
    if (!blank) {
      scanner.scanLine(window.bytes, state.position, lineEnd, rows, file, state.rowNumber);
      rows++;
    }
    state.position = lineEnd + 1;
  }
  return rows;
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
      const rows = await scanLines(window, scanner, { position: 0, rowNumber: 0 }, NDJSON_SAMPLE_ROWS, file);
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
    try {
      const scanner = new NdjsonScanner(schema.fields.map((field) => field.name));
      for (const cells of scanner.columns) cells.ensure(options.batchRows);
      const state = { position: 0, rowNumber: 0 };
      while (true) {
        const firstRow = state.rowNumber + 1;
        const rows = await scanLines(window, scanner, state, options.batchRows, file);
        if (rows === 0) return;
        throwIfAborted(options.signal);
        const columns = schema.fields.map((field, index) =>
          buildColumn(field, window.bytes, scanner.columns[index] as CellColumn, rows, scanner, { file, firstRow }),
        );
        yield makeRecordBatch(schema, columns, rows);
        state.position -= window.compact(state.position);
      }
    } finally {
      await window.close();
    }
  }
}

/** Writes one NDJSON file: one object per row, every column present (`null` for NULL). */
class NdjsonWriter implements FormatWriter {
  readonly #sink: ByteSink;
  #bytes = 0;
  #rows = 0;

  constructor(sink: ByteSink, schema: Schema) {
    checkTextWritable(schema.fields, 'ndjson');
    this.#sink = sink;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get rows(): number {
    return this.#rows;
  }

  async write(batch: RecordBatch): Promise<void> {
    if (batch.numRows === 0) return;
    const fields = batch.schema.fields;
    const columns = batch.data.children.map((data, index) => {
      const field = fields[index] as Field;
      return {
        format: cellFormatter(data, true),
        bare: jsonSpelling(field.type) === 'bare',
        float: field.type.typeId === 3 /* Type.Float */,
        prefix: `${index === 0 ? '{' : ','}${JSON.stringify(field.name)}:`,
      };
    });
    // Rows are turned into text a slice at a time: the strings of a whole wide batch would
    // be several times its Arrow size on the JS heap.
    for (let from = 0; from < batch.numRows; from += TEXT_SLICE_ROWS) {
      const to = Math.min(batch.numRows, from + TEXT_SLICE_ROWS);
      const lines = new Array<string>(to - from);
      for (let row = from; row < to; row++) {
        let line = '';
        for (const { format, bare, float, prefix } of columns) {
          const text = format(row);
          line += prefix + (text === null ? 'null' : bare ? (float ? bareJson(text) : text) : JSON.stringify(text));
        }
        lines[row - from] = columns.length === 0 ? '{}' : `${line}}`;
      }
      const chunk = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
      this.#bytes += chunk.length;
      this.#rows += to - from;
      await this.#sink.write(chunk);
    }
  }

  async finish(): Promise<WrittenFile> {
    return { bytes: this.#bytes, rows: this.#rows };
  }

  async abort(): Promise<void> {
    // Nothing is buffered: every write went to the sink.
  }
}

/** NDJSON (JSON Lines), see the module comment. */
export const ndjsonCodec: FormatCodec = {
  name: 'ndjson',
  extensions: ['.ndjson', '.jsonl'],
  contentType: 'application/x-ndjson',
  readSchema: (input, options) => new NdjsonReader(options).schema(input),
  read: (input, options) => new NdjsonReader(options).read(input, options),
  createWriter: (sink, schema) => new NdjsonWriter(sink, schema),
};
