/**
 * The CSV writer. NULL versus empty string (also in docs/file-connector.md): without
 * `nullValue` the writer writes NULL as nothing and the empty string as `""`; with it, NULL
 * as that text, and values equal to it are quoted.
 */
import type { Field, RecordBatch, Schema } from 'apache-arrow';
import {
  ColumnCursor,
  type DictionaryLookup,
  KIND_BINARY,
  KIND_LARGE_UTF8,
  KIND_OTHER,
  KIND_UTF8,
} from './column-cursor.ts';
import { type CsvSettings, matches, settingsOf } from './csv-scanner.ts';
import type { ByteSink, FormatWriter, WrittenFile } from './format-codec.ts';
import type { CsvOptions } from './format-options.ts';
import type { TextCompression } from './text-compression.ts';
import { TextOutput } from './text-output.ts';
import { type CellFormatter, cellFormatter, checkTextWritable } from './text-values.ts';
import { checkUtf8Value } from './text-write-errors.ts';

const LF = 10;
const CR = 13;

/**
 * Writes one CSV file: values are formatted as bytes into a chunk buffer (text-output.ts),
 * compressed on the way to the sink when the options ask.
 */
export class CsvWriter implements FormatWriter {
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
  /** Rows of the target in part files before this one (messages count rows across them). */
  readonly #precedingRows: number;
  #headerWritten = false;

  constructor(
    sink: ByteSink,
    schema: Schema,
    options: CsvOptions | undefined,
    compression?: TextCompression,
    precedingRows = 0,
  ) {
    checkTextWritable(schema.fields, 'csv');
    this.#precedingRows = precedingRows;
    this.#out = new TextOutput(sink, compression);
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
    return this.#out.sinkBytes;
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
      const fields = this.#schema.fields;
      const firstRow = this.#precedingRows + this.#rows + 1;
      const cursors = batch.data.children.map(
        (data, index) => new ColumnCursor(data, rows, { column: (fields[index] as Field).name, firstRow }),
      );
      // Values without a byte fast path (binary as base64, large utf8) go through text.
      const formatters = cursors.map((cursor) =>
        cursor.kind === KIND_BINARY || cursor.kind === KIND_LARGE_UTF8 || cursor.kind === KIND_OTHER
          ? cellFormatter(cursor.data, false, (row) => cursor.place(row))
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
          if (cursor.dictionary !== null) {
            this.#encoded(cursor, row, formatters[column]);
            continue;
          }
          const kind = cursor.kind;
          if (kind === KIND_UTF8) this.#utf8(cursor, row, cursor, row);
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

  /** A non-NULL row of a dictionary-encoded column: the entry its index points at, written as a plain column writes it. */
  #encoded(cursor: ColumnCursor, row: number, formatter: CellFormatter | undefined): void {
    const out = this.#out;
    const nullBytes = this.#nullBytes;
    if (formatter !== undefined) {
      const text = formatter(row);
      if (text === null) out.copy(nullBytes, 0, nullBytes.length);
      else this.#text(text);
      return;
    }
    const dictionary = cursor.dictionary as DictionaryLookup;
    const source = dictionary.sourceOf(row);
    const at = dictionary.positions[row] as number;
    if (source.isNull(at)) out.copy(nullBytes, 0, nullBytes.length);
    else if (source.kind === KIND_UTF8) this.#utf8(source, at, cursor, row);
    else {
      const from = out.length;
      out.scalar(source, at);
      if (this.#checkScalars) this.#quoteIfNeeded(from);
    }
  }

  /**
   * A utf8 cell (`at` of `source`): its bytes copied as they are, quoted when needed. A cell
   * the batch-wide UTF-8 check did not cover is checked on its own and refused, naming row
   * `row` of `column`, when it is not UTF-8.
   */
  #utf8(source: ColumnCursor, at: number, column: ColumnCursor, row: number): void {
    const bytes = source.values as Uint8Array;
    const start = source.offsets[at] as number;
    const end = source.offsets[at + 1] as number;
    if (
      !source.utf8Valid ||
      (start < end && ((bytes[start] as number) & 0xc0) === 0x80) ||
      ((bytes[end] as number) & 0xc0) === 0x80
    ) {
      checkUtf8Value(bytes, start, end, () => column.place(row));
    }
    const out = this.#out;
    out.reserve(end - start);
    const from = out.length;
    out.copy(bytes, start, end);
    this.#quoteIfNeeded(from);
  }

  async finish(): Promise<WrittenFile> {
    if (!this.#headerWritten) this.#writeHeader();
    await this.#out.finish();
    return { bytes: this.#out.sinkBytes, rows: this.#rows };
  }

  async abort(): Promise<void> {
    this.#out.abort();
  }
}

function escapeClass(char: string): string {
  return char.replace(/[\\\]^[-]/g, '\\$&');
}
