/**
 * The NDJSON writer: one object per row, every column present (`null` for NULL), numbers
 * and booleans bare, everything else a JSON string (NaN and ±Infinity too: JSON has no
 * bare spelling for them).
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import {
  ColumnCursor,
  type DictionaryLookup,
  KIND_BINARY,
  KIND_BOOL,
  KIND_DATE,
  KIND_DATE64,
  KIND_DECIMAL,
  KIND_FLOAT,
  KIND_INT,
  KIND_INT64,
  KIND_LARGE_UTF8,
  KIND_OTHER,
  KIND_TIMESTAMP,
  KIND_UINT64,
  KIND_UTF8,
} from './column-cursor.ts';
import type { ByteSink, FormatWriter, WrittenFile } from './format-codec.ts';
import type { TextCompression } from './text-compression.ts';
import { TextOutput } from './text-output.ts';
import { type CellFormatter, cellFormatter, checkTextWritable } from './text-values.ts';
import { checkUtf8Value } from './text-write-errors.ts';

const LF = 10;
const QUOTE = 34;
const BACKSLASH = 92;

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
export class NdjsonWriter implements FormatWriter {
  readonly #out: TextOutput;
  #rows = 0;
  /** `{"name":` for the first column, `,"name":` for the others. */
  readonly #prefixes: Buffer[];

  readonly #names: string[];

  /** Rows of the target in part files before this one (messages count rows across them). */
  readonly #precedingRows: number;

  constructor(sink: ByteSink, schema: Schema, compression?: TextCompression, precedingRows = 0) {
    checkTextWritable(schema.fields, 'ndjson');
    this.#precedingRows = precedingRows;
    this.#out = new TextOutput(sink, compression);
    this.#names = schema.fields.map((field) => field.name);
    this.#prefixes = schema.fields.map((field, index) =>
      Buffer.from(`${index === 0 ? '{' : ','}${JSON.stringify(field.name)}:`, 'utf8'),
    );
  }

  get bytes(): number {
    return this.#out.sinkBytes;
  }

  get rows(): number {
    return this.#rows;
  }

  async write(batch: RecordBatch): Promise<void> {
    const rows = batch.numRows;
    if (rows === 0) return;
    const firstRow = this.#precedingRows + this.#rows + 1;
    const cursors = batch.data.children.map(
      (data, index) => new ColumnCursor(data, rows, { column: this.#names[index] as string, firstRow }),
    );
    // Values without a byte fast path (lists, binary as base64, large utf8) go through text.
    const formatters = cursors.map((cursor) =>
      cursor.kind === KIND_BINARY || cursor.kind === KIND_LARGE_UTF8 || cursor.kind === KIND_OTHER
        ? cellFormatter(cursor.data, true, (row) => cursor.place(row))
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
        if (cursor.dictionary !== null) {
          this.#encoded(cursor, row, formatters[column]);
          continue;
        }
        switch (cursor.kind) {
          case KIND_UTF8:
            this.#utf8(cursor, row, cursor, row);
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
          case KIND_DATE64:
          case KIND_TIMESTAMP:
            out.reserve(1);
            out.byte(QUOTE);
            out.scalar(cursor, row);
            out.reserve(1);
            out.byte(QUOTE);
            break;
          default:
            this.#formatted(cursor.kind, (formatters[column] as CellFormatter)(row) as string);
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

  /**
   * A dictionary entry with a byte fast path, spelled as the row loop spells a plain value
   * (the loop keeps its own inline copy: it is the measured path).
   */
  #scalar(cursor: ColumnCursor, row: number): void {
    const out = this.#out;
    switch (cursor.kind) {
      case KIND_INT:
      case KIND_INT64:
      case KIND_UINT64:
      case KIND_BOOL:
        out.scalar(cursor, row);
        return;
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
        return;
      }
      default:
        // Decimals, dates and timestamps are JSON strings.
        out.reserve(1);
        out.byte(QUOTE);
        out.scalar(cursor, row);
        out.reserve(1);
        out.byte(QUOTE);
    }
  }

  /** A value formatted as text (lists are JSON already; binary and large utf8 become JSON strings). */
  #formatted(kind: number, text: string): void {
    const json = kind === KIND_OTHER ? text : JSON.stringify(text);
    this.#out.reserve(json.length * 3);
    this.#out.utf8(json);
  }

  /** A non-NULL row of a dictionary-encoded column: the entry its index points at, written as a plain column writes it. */
  #encoded(cursor: ColumnCursor, row: number, formatter: CellFormatter | undefined): void {
    const out = this.#out;
    if (formatter !== undefined) {
      const text = formatter(row);
      if (text === null) out.copy(NULL_BYTES, 0, 4);
      else this.#formatted(cursor.kind, text);
      return;
    }
    const dictionary = cursor.dictionary as DictionaryLookup;
    const source = dictionary.sourceOf(row);
    const at = dictionary.positions[row] as number;
    if (source.isNull(at)) out.copy(NULL_BYTES, 0, 4);
    else if (source.kind === KIND_UTF8) this.#utf8(source, at, cursor, row);
    else this.#scalar(source, at);
  }

  /**
   * A utf8 cell (`cell` of `cursor`) as a JSON string: bytes copied, `"`, `\\` and control
   * characters escaped. A cell the batch-wide UTF-8 check did not cover is checked on its
   * own and refused, naming row `row` of `column`, when it is not UTF-8.
   */
  #utf8(cursor: ColumnCursor, cell: number, column: ColumnCursor, row: number): void {
    const source = cursor.values as Uint8Array;
    const start = cursor.offsets[cell] as number;
    const end = cursor.offsets[cell + 1] as number;
    const out = this.#out;
    if (
      !cursor.utf8Valid ||
      (start < end && ((source[start] as number) & 0xc0) === 0x80) ||
      ((source[end] as number) & 0xc0) === 0x80
    ) {
      checkUtf8Value(source, start, end, () => column.place(row));
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
    await this.#out.finish();
    return { bytes: this.#out.sinkBytes, rows: this.#rows };
  }

  async abort(): Promise<void> {
    this.#out.abort();
  }
}
