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
import {
  ColumnCursor,
  KIND_BINARY,
  KIND_BOOL,
  KIND_DATE,
  KIND_DECIMAL,
  KIND_FLOAT,
  KIND_INT,
  KIND_INT64,
  KIND_LARGE_UTF8,
  KIND_OTHER,
  KIND_TIMESTAMP,
  KIND_UINT64,
  KIND_UTF8,
  TextOutput,
} from './text-output.ts';
import { type CellFormatter, cellFormatter, checkTextWritable } from './text-values.ts';

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

  /** Whether the string last scanned by #string has escapes (a field, not a returned tuple: no garbage per string). */
  #escaped = false;

  /** Returns the index of the closing quote of the string whose opening quote is at `position` (-1 if none); sets #escaped. */
  #string(bytes: Uint8Array, position: number, end: number): number {
    let at = position + 1;
    let escaped = false;
    while (at < end) {
      const code = bytes[at];
      if (code === QUOTE) {
        this.#escaped = escaped;
        return at;
      }
      if (code === BACKSLASH) {
        escaped = true;
        at += 2;
        continue;
      }
      at++;
    }
    this.#escaped = escaped;
    return -1;
  }

  /** The end (exclusive) of the array/object starting at `position`. */
  #nested(bytes: Uint8Array, position: number, end: number): number {
    let depth = 0;
    let at = position;
    while (at < end) {
      const code = bytes[at];
      if (code === QUOTE) {
        const close = this.#string(bytes, at, end);
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
      const close = this.#string(bytes, position, end);
      if (close < 0) return -1;
      start = position + 1;
      stop = close;
      kind = this.#escaped ? CELL_ESCAPED : CELL_QUOTED;
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
      const close = this.#string(bytes, at, end);
      if (close < 0) throw corrupt(file, rowNumber, 'unterminated key');
      const column = this.#column(bytes, at + 1, close, guess, this.#escaped);
      if (column < 0) {
        const name = Buffer.from(bytes.subarray(at + 1, close)).toString('utf8');
        throw corrupt(
          file,
          rowNumber,
          `key "${name}" is not a column of the dataset (${this.names.join(', ')}). Declare it in \`schema:\` or make every file share the same keys in its first ${NDJSON_SAMPLE_ROWS} lines.`,
        );
      }
      // A column added just now (sampling) is sized by #value's ensure; the others were at the line start.
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

/** `\uXXXX` hex digits for control characters. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');
/** The short escapes JSON.stringify uses (0 = none: `\u00XX`). */
const SHORT_ESCAPE = new Uint8Array(93);
SHORT_ESCAPE[8] = 98; // \b
SHORT_ESCAPE[9] = 116; // \t
SHORT_ESCAPE[10] = 110; // \n
SHORT_ESCAPE[12] = 102; // \f
SHORT_ESCAPE[13] = 114; // \r
SHORT_ESCAPE[QUOTE] = QUOTE;
SHORT_ESCAPE[BACKSLASH] = BACKSLASH;
const NULL_BYTES = Buffer.from('null', 'latin1');

/**
 * Writes one NDJSON file: one object per row, every column present (`null` for NULL). Rows
 * are formatted as bytes into a chunk buffer (text-output.ts), spelled exactly as
 * `JSON.stringify` of text-values.ts's text would spell them.
 */
class NdjsonWriter implements FormatWriter {
  readonly #out: TextOutput;
  #rows = 0;
  /** `{"name":` for the first column, `,"name":` for the others. */
  readonly #prefixes: Buffer[];

  constructor(sink: ByteSink, schema: Schema) {
    checkTextWritable(schema.fields, 'ndjson');
    this.#out = new TextOutput(sink);
    this.#prefixes = schema.fields.map((field, index) =>
      Buffer.from(`${index === 0 ? '{' : ','}${JSON.stringify(field.name)}:`, 'utf8'),
    );
  }

  get bytes(): number {
    return this.#out.written;
  }

  get rows(): number {
    return this.#rows;
  }

  async write(batch: RecordBatch): Promise<void> {
    const rows = batch.numRows;
    if (rows === 0) return;
    const cursors = batch.data.children.map((data) => new ColumnCursor(data, rows));
    // Values without a byte fast path (lists, binary as base64, large utf8) go through text.
    const formatters = cursors.map((cursor) =>
      cursor.kind === KIND_BINARY || cursor.kind === KIND_LARGE_UTF8 || cursor.kind === KIND_OTHER
        ? cellFormatter(cursor.data, true)
        : undefined,
    );
    const prefixes = this.#prefixes;
    const out = this.#out;
    const columns = cursors.length;
    for (let row = 0; row < rows; row++) {
      if (columns === 0) {
        out.reserve(2);
        out.byte(123);
      }
      for (let column = 0; column < columns; column++) {
        const prefix = prefixes[column] as Buffer;
        out.reserve(prefix.length + 4);
        out.copy(prefix, 0, prefix.length);
        const cursor = cursors[column] as ColumnCursor;
        if (cursor.isNull(row)) {
          out.copy(NULL_BYTES, 0, 4);
          continue;
        }
        switch (cursor.kind) {
          case KIND_UTF8:
            this.#utf8(cursor, row);
            break;
          case KIND_INT:
          case KIND_INT64:
          case KIND_UINT64:
          case KIND_BOOL:
            out.scalar(cursor, row);
            break;
          case KIND_FLOAT: {
            const value = cursor.values[row] as number;
            if (value - value === 0) out.scalar(cursor, row);
            else {
              // NaN and ±Infinity have no bare JSON spelling.
              out.reserve(12);
              out.byte(QUOTE);
              out.ascii(String(value));
              out.byte(QUOTE);
            }
            break;
          }
          case KIND_DECIMAL:
          case KIND_DATE:
          case KIND_TIMESTAMP:
            out.reserve(1);
            out.byte(QUOTE);
            out.scalar(cursor, row);
            out.reserve(1);
            out.byte(QUOTE);
            break;
          default: {
            const text = (formatters[column] as CellFormatter)(row) as string;
            const json = cursor.kind === KIND_OTHER ? text : JSON.stringify(text);
            out.reserve(json.length * 3);
            out.utf8(json);
          }
        }
      }
      out.reserve(2);
      out.byte(125);
      out.byte(LF);
      if (out.full) await out.flush();
    }
    this.#rows += rows;
    await out.flush();
  }

  /** A utf8 cell as a JSON string: bytes copied, `"`, `\\` and control characters escaped. */
  #utf8(cursor: ColumnCursor, row: number): void {
    const source = cursor.values as Uint8Array;
    const start = cursor.offsets[row] as number;
    const end = cursor.offsets[row + 1] as number;
    const out = this.#out;
    if (
      !cursor.utf8Valid ||
      (start < end && ((source[start] as number) & 0xc0) === 0x80) ||
      ((source[end] as number) & 0xc0) === 0x80
    ) {
      // Invalid UTF-8 is written as the decoder sees it (U+FFFD), as JSON.stringify did.
      const json = JSON.stringify(
        Buffer.from(source.buffer, source.byteOffset, source.byteLength).toString('utf8', start, end),
      );
      out.reserve(json.length * 3);
      out.utf8(json);
      return;
    }
    let clean = start;
    while (clean < end) {
      const code = source[clean] as number;
      if (code < 32 || code === QUOTE || code === BACKSLASH) break;
      clean++;
    }
    out.reserve(end - start + 2);
    out.byte(QUOTE);
    out.copy(source, start, clean);
    if (clean < end) {
      out.reserve((end - clean) * 6);
      const bytes = out.bytes;
      let at = out.length;
      for (let index = clean; index < end; index++) {
        const code = source[index] as number;
        if (code >= 32 && code !== QUOTE && code !== BACKSLASH) {
          bytes[at++] = code;
          continue;
        }
        bytes[at++] = BACKSLASH;
        const short = SHORT_ESCAPE[code] as number;
        if (short !== 0) bytes[at++] = short;
        else {
          bytes[at++] = 117; // u
          bytes[at++] = 48;
          bytes[at++] = 48;
          bytes[at++] = HEX[code >> 4] as number;
          bytes[at++] = HEX[code & 15] as number;
        }
      }
      out.length = at;
    }
    out.byte(QUOTE);
  }

  async finish(): Promise<WrittenFile> {
    await this.#out.flush();
    return { bytes: this.#out.written, rows: this.#rows };
  }

  async abort(): Promise<void> {
    // Only the current chunk is buffered; dropping the writer drops it.
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
