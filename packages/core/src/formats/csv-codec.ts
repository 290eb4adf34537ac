/**
 * CSV (RFC 4180): a byte-level state machine records cell ranges, text-columns turns them
 * into typed arrays. Quoted fields may hold delimiters, doubled quotes and newlines.
 *
 * NULL versus empty string (also in docs/file-connector.md): without `nullValue`, an
 * unquoted empty field is NULL and `""` is the empty string; the writer writes NULL as
 * nothing and the empty string as `""`. With `nullValue`, only that unquoted text is NULL.
 */
import { type DataType, Field, type RecordBatch, Schema } from 'apache-arrow';
import { makeRecordBatch } from '../arrow/column-data.ts';
import { ConfigError, HonkError, SchemaMismatchError, throwIfAborted } from '../errors/honk-error.ts';
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
import type { CsvOptions } from './format-options.ts';
import {
  buildColumn,
  CELL_ESCAPED,
  CELL_NULL,
  CELL_QUOTED,
  CELL_RAW,
  CellColumn,
  type CellDecoder,
} from './text-columns.ts';
import { inferColumnType } from './text-inference.ts';
import { ColumnCursor, KIND_BINARY, KIND_LARGE_UTF8, KIND_OTHER, KIND_UTF8, TextOutput } from './text-output.ts';
import { type CellFormatter, cellFormatter, checkTextWritable } from './text-values.ts';

/** Rows sampled from the first file to infer column types. */
export const CSV_SAMPLE_ROWS = 1000;

const LF = 10;
const CR = 13;
const INCOMPLETE = -1;

interface CsvSettings {
  header: boolean;
  delimiter: number;
  quote: number;
  nullValue: Uint8Array | undefined;
}

function settingsOf(options: CsvOptions | undefined): CsvSettings {
  return {
    header: options?.header ?? true,
    delimiter: (options?.delimiter ?? ',').charCodeAt(0),
    quote: (options?.quote ?? '"').charCodeAt(0),
    nullValue: options?.nullValue === undefined ? undefined : Buffer.from(options.nullValue, 'utf8'),
  };
}

function corrupt(file: string, row: number, message: string): HonkError {
  return new HonkError('DATA_CORRUPT', `${file} row ${row}: ${message}`, { details: { file, row } });
}

/** The CSV row scanner; `columns` receive the cells of row `row`. */
class CsvScanner implements CellDecoder {
  columns: CellColumn[] = [];
  /** Add columns on demand (header and first-row scans). */
  growable = false;
  #settings: CsvSettings;
  readonly #quote: number;

  constructor(settings: CsvSettings) {
    this.#settings = settings;
    this.#quote = settings.quote;
  }

  unescape(bytes: Uint8Array, start: number, end: number): Uint8Array {
    const out = new Uint8Array(end - start);
    let length = 0;
    const quote = this.#quote;
    for (let at = start; at < end; at++) {
      const code = bytes[at] as number;
      out[length++] = code;
      if (code === quote && bytes[at + 1] === quote) at++;
    }
    return out.subarray(0, length);
  }

  /**
   * Scans one row starting at `position`. Returns the position after it, or INCOMPLETE when
   * the row continues past `end` and more bytes may come. Throws on malformed rows.
   */
  scanRow(
    bytes: Uint8Array,
    position: number,
    end: number,
    eof: boolean,
    row: number,
    file: string,
    rowNumber: number,
  ): number {
    const { delimiter, nullValue } = this.#settings;
    const quote = this.#quote;
    let at = position;
    let column = 0;
    const columns = this.columns;
    while (true) {
      let start: number;
      let stop: number;
      let kind: number;
      if (at < end && bytes[at] === quote) {
        start = at + 1;
        let scan = start;
        let escaped = false;
        while (true) {
          if (scan >= end) {
            if (eof) throw corrupt(file, rowNumber, 'a quoted field is not closed before the end of the file');
            return INCOMPLETE;
          }
          if (bytes[scan] === quote) {
            if (scan + 1 >= end && !eof) return INCOMPLETE;
            if (bytes[scan + 1] === quote) {
              escaped = true;
              scan += 2;
              continue;
            }
            break;
          }
          scan++;
        }
        stop = scan;
        kind = escaped ? CELL_ESCAPED : CELL_QUOTED;
        at = scan + 1;
        if (at < end) {
          const next = bytes[at];
          if (next !== delimiter && next !== LF && next !== CR) {
            throw corrupt(file, rowNumber, `unexpected text after a closing quote (byte ${at - position} of the row)`);
          }
        }
      } else {
        start = at;
        while (at < end) {
          const code = bytes[at];
          if (code === delimiter || code === LF) break;
          at++;
        }
        if (at >= end && !eof) return INCOMPLETE;
        stop = at;
        if (stop > start && bytes[stop - 1] === CR) stop--;
        if (nullValue === undefined) kind = stop === start ? CELL_NULL : CELL_RAW;
        else kind = matches(bytes, start, stop, nullValue) ? CELL_NULL : CELL_RAW;
      }
      if (column >= columns.length) {
        if (!this.growable) {
          throw corrupt(file, rowNumber, `more fields than the ${columns.length} columns of the header/schema`);
        }
        columns.push(new CellColumn(16));
      }
      const cells = columns[column] as CellColumn;
      if (row >= cells.start.length) cells.ensure(row + 1);
      cells.start[row] = start;
      cells.end[row] = stop;
      cells.kind[row] = kind;
      column++;
      if (at >= end) break;
      const code = bytes[at];
      if (code === delimiter) {
        at++;
        continue;
      }
      if (code === CR) {
        at++;
        if (at < end && bytes[at] === LF) at++;
        else if (at >= end && !eof) return INCOMPLETE;
        break;
      }
      at++; // LF
      break;
    }
    if (column < columns.length) {
      throw corrupt(file, rowNumber, `${column} fields, expected ${columns.length}`);
    }
    return at;
  }
  /** Rows reached by the last {@link scanRows}. */
  row = 0;

  /**
   * Scans rows from `position` into rows `row`, `row + 1`, … until `limit` rows or until a
   * row continues past `end`; sets {@link row} and returns the position after the last
   * complete row. Blank lines are skipped when `skipBlank`. Rows without a quote (found
   * once per quote with indexOf) take a one-pass split; other rows go through scanRow.
   */
  scanRows(
    bytes: Uint8Array,
    position: number,
    end: number,
    eof: boolean,
    row: number,
    limit: number,
    skipBlank: boolean,
    file: string,
    firstRow: number,
  ): number {
    const { delimiter, nullValue } = this.#settings;
    const quote = this.#quote;
    const columns = this.columns;
    const width = columns.length;
    const highest = Math.max(delimiter, LF);
    for (const cells of columns) cells.ensure(limit);
    let at = position;
    let quoteAt = -1;
    let view: Buffer | undefined;
    let current = row;
    while (current < limit && at < end) {
      if (skipBlank) {
        const blank = isBlankLine(bytes, at, end);
        if (blank > 0) {
          at += blank;
          continue;
        }
      }
      if (quoteAt < at) {
        // A Buffer view ending at `end`: its indexOf is a native byte search that stops
        // there, not a scan of the window's whole capacity.
        view ??= Buffer.from(bytes.buffer, bytes.byteOffset, end);
        const found = view.indexOf(quote, at);
        quoteAt = found < 0 ? end : found;
      }
      // One pass up to the line feed; a quote (or the end of the bytes) before it means the
      // row needs the full scanner.
      let column = 0;
      let start = at;
      let scan = at;
      let done = false;
      for (; scan < quoteAt; scan++) {
        const code = bytes[scan] as number;
        // Most bytes (letters, digits) are above both the delimiter and LF: one comparison.
        if (code > highest || (code !== delimiter && code !== LF)) continue;
        if (column >= width) {
          throw corrupt(file, firstRow + current, `more fields than the ${width} columns of the header/schema`);
        }
        let stop = scan;
        if (stop > start && bytes[stop - 1] === CR) stop--;
        const cells = columns[column] as CellColumn;
        cells.start[current] = start;
        cells.end[current] = stop;
        cells.kind[current] =
          nullValue === undefined
            ? stop === start
              ? CELL_NULL
              : CELL_RAW
            : matches(bytes, start, stop, nullValue)
              ? CELL_NULL
              : CELL_RAW;
        column++;
        start = scan + 1;
        if (code === LF) {
          done = true;
          break;
        }
      }
      if (done) {
        if (column < width) throw corrupt(file, firstRow + current, `${column} fields, expected ${width}`);
        at = scan + 1;
        current++;
        continue;
      }
      const next = this.scanRow(bytes, at, end, eof, current, file, firstRow + current);
      if (next === INCOMPLETE) break;
      at = next;
      current++;
    }
    this.row = current;
    return at;
  }
}

function matches(bytes: Uint8Array, start: number, end: number, text: Uint8Array): boolean {
  if (end - start !== text.length) return false;
  for (let index = 0; index < text.length; index++) if (bytes[start + index] !== text[index]) return false;
  return true;
}

function isBlankLine(bytes: Uint8Array, position: number, end: number): number {
  if (bytes[position] === LF) return 1;
  if (bytes[position] === CR && position + 1 < end && bytes[position + 1] === LF) return 2;
  return 0;
}

/** Reads the header (if any) and up to `sampleRows` rows into the scanner. */
async function scanStart(
  window: ByteWindow,
  scanner: CsvScanner,
  settings: CsvSettings,
  file: string,
  sampleRows: number,
): Promise<{ names: string[] | undefined; position: number; rows: number }> {
  let position = 0;
  let names: string[] | undefined;
  // Skip a UTF-8 byte order mark.
  if (window.length === 0) await window.fill();
  if (window.bytes[0] === 0xef && window.bytes[1] === 0xbb && window.bytes[2] === 0xbf) position = 3;
  if (settings.header) {
    scanner.growable = true;
    while (true) {
      if (position >= window.length && window.eof) break;
      const next = scanner.scanRow(window.bytes, position, window.length, window.eof, 0, file, 0);
      if (next !== INCOMPLETE) {
        names = scanner.columns.map((cells) => {
          const start = cells.start[0] as number;
          const end = cells.end[0] as number;
          const raw =
            cells.kind[0] === CELL_ESCAPED
              ? scanner.unescape(window.bytes, start, end)
              : window.bytes.subarray(start, end);
          return Buffer.from(raw).toString('utf8');
        });
        position = next;
        break;
      }
      if (!(await window.fill())) continue;
    }
    scanner.growable = false;
    if (!names) return { names: [], position, rows: 0 };
  } else scanner.growable = true;
  let rows = 0;
  while (rows < sampleRows) {
    if (position >= window.length) {
      if (window.eof) break;
      await window.fill();
      continue;
    }
    // Blank lines are skipped, except in a one-column file where they are NULL rows.
    if (scanner.growable || scanner.columns.length !== 1) {
      const blank = isBlankLine(window.bytes, position, window.length);
      if (blank > 0) {
        position += blank;
        continue;
      }
    }
    const next = scanner.scanRow(window.bytes, position, window.length, window.eof, rows, file, rows + 1);
    if (next === INCOMPLETE) {
      await window.fill();
      continue;
    }
    scanner.growable = false;
    position = next;
    rows++;
  }
  return { names, position, rows };
}

/** Reads CSV with one endpoint's options. */
class CsvReader {
  readonly #settings: CsvSettings;
  readonly #explicit: ReadonlyMap<string, DataType>;

  constructor(options: FormatOptions | undefined) {
    this.#settings = settingsOf(options?.csv);
    this.#explicit = options?.types ?? new Map();
  }

  async schema(input: ByteInput): Promise<Schema> {
    const file = input.name;
    const window = new ByteWindow(input);
    try {
      const scanner = new CsvScanner(this.#settings);
      const { names: headerNames, rows } = await scanStart(window, scanner, this.#settings, file, CSV_SAMPLE_ROWS);
      const explicitNames = [...this.#explicit.keys()];
      const count = scanner.columns.length;
      const names =
        headerNames ??
        (explicitNames.length === count
          ? explicitNames
          : Array.from({ length: count }, (_, index) => `column_${index + 1}`));
      const seen = new Set<string>();
      for (const [index, name] of names.entries()) {
        if (name === '') names[index] = `column_${index + 1}`;
        if (seen.has(names[index] as string)) {
          throw new HonkError('DATA_CORRUPT', `${file} has the column name "${name}" twice in its header.`);
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
    try {
      const scanner = new CsvScanner(this.#settings);
      const start = await scanStart(window, scanner, this.#settings, file, 0);
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
      const single = names.length === 1;
      while (true) {
        let finished = false;
        while (rows < options.batchRows) {
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
          const columns = schema.fields.map((field, index) =>
            buildColumn(field, window.bytes, scanner.columns[index] as CellColumn, rows, scanner, { file, firstRow }),
          );
          yield makeRecordBatch(schema, columns, rows);
          firstRow += rows;
          rows = 0;
          position -= window.compact(position);
        }
        if (finished) return;
      }
    } finally {
      await window.close();
    }
  }
}

/** Writes one CSV file: values are formatted as bytes into a chunk buffer (text-output.ts). */
class CsvWriter implements FormatWriter {
  #rows = 0;
  readonly #schema: Schema;
  readonly #settings: CsvSettings;
  readonly #nullText: string | undefined;
  /** What a NULL is written as: `nullValue`'s bytes, or nothing. */
  readonly #nullBytes: Uint8Array;
  readonly #needsQuote: RegExp;
  readonly #quote: string;
  readonly #delimiter: string;
  /**
   * Whether formatted numbers, dates and booleans can need quoting: only when the delimiter
   * or quote is a character they are spelled with, or a `nullValue` could equal one.
   */
  readonly #checkScalars: boolean;
  readonly #out: TextOutput;
  #headerWritten = false;

  constructor(sink: ByteSink, schema: Schema, options: CsvOptions | undefined) {
    checkTextWritable(schema.fields, 'csv');
    this.#out = new TextOutput(sink);
    this.#schema = schema;
    this.#settings = settingsOf(options);
    this.#nullText = options?.nullValue;
    this.#nullBytes = this.#settings.nullValue ?? new Uint8Array(0);
    this.#quote = options?.quote ?? '"';
    this.#delimiter = options?.delimiter ?? ',';
    const special = `[${escapeClass(this.#delimiter)}${escapeClass(this.#quote)}\\r\\n]`;
    this.#needsQuote = new RegExp(special);
    const spelled = /[0-9A-Za-z+\-.: ]/;
    this.#checkScalars = this.#nullText !== undefined || spelled.test(this.#delimiter) || spelled.test(this.#quote);
  }

  get bytes(): number {
    return this.#out.written;
  }

  get rows(): number {
    return this.#rows;
  }

  /** The field as text (header names, values without a byte fast path). */
  #field(text: string): string {
    const quote = this.#quote;
    if (text === '' && this.#nullText === undefined) return `${quote}${quote}`;
    if (
      this.#needsQuote.test(text) ||
      text === this.#nullText ||
      (text.length > 0 && (text[0] === ' ' || text.at(-1) === ' '))
    ) {
      return `${quote}${text.split(quote).join(quote + quote)}${quote}`;
    }
    return text;
  }

  #text(text: string): void {
    const field = this.#field(text);
    this.#out.reserve(field.length * 3);
    this.#out.utf8(field);
  }

  /**
   * Quotes the field just written at `[from, out.length)` when #field would: it holds the
   * delimiter, the quote or a line break, starts or ends with a space, equals `nullValue`,
   * or is empty without a `nullValue` (the empty string, as opposed to NULL).
   */
  #quoteIfNeeded(from: number): void {
    const out = this.#out;
    const end = out.length;
    const bytes = out.bytes;
    const { delimiter, quote } = this.#settings;
    let needed = end === from ? this.#nullText === undefined : bytes[from] === 32 || bytes[end - 1] === 32;
    let quotes = 0;
    for (let at = from; at < end; at++) {
      const code = bytes[at];
      if (code === quote) quotes++;
      else if (code === delimiter || code === LF || code === CR) needed = true;
    }
    if (quotes > 0) needed = true;
    else if (!needed && this.#nullText !== undefined) needed = matches(bytes, from, end, this.#nullBytes);
    if (!needed) return;
    out.reserve(quotes + 2);
    const target = out.bytes;
    const last = end + quotes + 1;
    target[last] = quote;
    if (quotes === 0) target.copyWithin(from + 1, from, end);
    else {
      let write = last - 1;
      for (let read = end - 1; read >= from; read--) {
        const code = target[read] as number;
        target[write--] = code;
        if (code === quote) target[write--] = quote;
      }
    }
    target[from] = quote;
    out.length = last + 1;
  }

  #writeHeader(): void {
    this.#headerWritten = true;
    if (!this.#settings.header) return;
    const line = `${this.#schema.fields.map((field) => this.#field(field.name)).join(this.#delimiter)}\n`;
    this.#out.reserve(line.length * 3);
    this.#out.utf8(line);
  }

  async write(batch: RecordBatch): Promise<void> {
    if (!this.#headerWritten) this.#writeHeader();
    const rows = batch.numRows;
    if (rows > 0) {
      const cursors = batch.data.children.map((data) => new ColumnCursor(data, rows));
      // Values without a byte fast path (binary as base64, large utf8) go through text.
      const formatters = cursors.map((cursor) =>
        cursor.kind === KIND_BINARY || cursor.kind === KIND_LARGE_UTF8 || cursor.kind === KIND_OTHER
          ? cellFormatter(cursor.data, false)
          : undefined,
      );
      const out = this.#out;
      const delimiter = this.#settings.delimiter;
      const nullBytes = this.#nullBytes;
      const checkScalars = this.#checkScalars;
      const columns = cursors.length;
      for (let row = 0; row < rows; row++) {
        for (let column = 0; column < columns; column++) {
          out.reserve(nullBytes.length + 1);
          if (column > 0) out.byte(delimiter);
          const cursor = cursors[column] as ColumnCursor;
          if (cursor.isNull(row)) {
            out.copy(nullBytes, 0, nullBytes.length);
            continue;
          }
          const kind = cursor.kind;
          if (kind === KIND_UTF8) this.#utf8(cursor, row);
          else if (kind === KIND_BINARY || kind === KIND_LARGE_UTF8 || kind === KIND_OTHER) {
            this.#text((formatters[column] as CellFormatter)(row) as string);
          } else {
            const from = out.length;
            out.scalar(cursor, row);
            if (checkScalars) this.#quoteIfNeeded(from);
          }
        }
        // A single-column CSV would turn a NULL into a blank line; blank lines are rows there, so that is safe.
        out.reserve(1);
        out.byte(LF);
        if (out.full) await out.flush();
      }
      this.#rows += rows;
    }
    await this.#out.flush();
  }

  /** A utf8 cell: its bytes copied as they are, quoted when needed. */
  #utf8(cursor: ColumnCursor, row: number): void {
    const source = cursor.values as Uint8Array;
    const start = cursor.offsets[row] as number;
    const end = cursor.offsets[row + 1] as number;
    if (
      !cursor.utf8Valid ||
      (start < end && ((source[start] as number) & 0xc0) === 0x80) ||
      ((source[end] as number) & 0xc0) === 0x80
    ) {
      // Invalid UTF-8 is written as the decoder sees it (U+FFFD), as before.
      this.#text(Buffer.from(source.buffer, source.byteOffset, source.byteLength).toString('utf8', start, end));
      return;
    }
    const out = this.#out;
    out.reserve(end - start);
    const from = out.length;
    out.copy(source, start, end);
    this.#quoteIfNeeded(from);
  }

  async finish(): Promise<WrittenFile> {
    if (!this.#headerWritten) this.#writeHeader();
    await this.#out.flush();
    return { bytes: this.#out.written, rows: this.#rows };
  }

  async abort(): Promise<void> {
    // Only the current chunk is buffered; dropping the writer drops it.
  }
}

function escapeClass(char: string): string {
  return char.replace(/[\\\]^[-]/g, '\\$&');
}

/** CSV (RFC 4180), see the module comment. */
export const csvCodec: FormatCodec = {
  name: 'csv',
  extensions: ['.csv'],
  contentType: 'text/csv',
  readSchema: (input, options) => new CsvReader(options).schema(input),
  read: (input, options) => new CsvReader(options).read(input, options),
  createWriter: (sink, schema, options) => new CsvWriter(sink, schema, options?.csv),
};
