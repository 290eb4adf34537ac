/**
 * The CSV scanner (RFC 4180): a byte-level state machine that records, per column, where each
 * cell of a row lies in the read buffer and how it is quoted; text-columns.ts turns the
 * ranges into Arrow columns. Quoted fields may hold delimiters, doubled quotes and newlines.
 */
import { HonkError } from '../errors/honk-error.ts';
import type { ByteWindow } from './byte-window.ts';
import type { CsvOptions } from './format-options.ts';
import { CELL_ESCAPED, CELL_NULL, CELL_QUOTED, CELL_RAW, CellColumn, type CellDecoder } from './text-cells.ts';
import { findInvalidCell, invalidUtf8, validUtf8 } from './text-utf8.ts';

// Not exported: the scan loops compare against them per byte, and V8 folds a module's own
// constants but reads exported bindings through their module cell.
const LF = 10;
const CR = 13;
/** scanRow: the row continues past the bytes at hand. */
const INCOMPLETE = -1;

/** CSV options with their defaults applied, as bytes. */
export interface CsvSettings {
  header: boolean;
  delimiter: number;
  quote: number;
  nullValue: Uint8Array | undefined;
}

export function settingsOf(options: CsvOptions | undefined): CsvSettings {
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
export class CsvScanner implements CellDecoder {
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

/** True when `bytes[start, end)` equals `text`. */
export function matches(bytes: Uint8Array, start: number, end: number, text: Uint8Array): boolean {
  if (end - start !== text.length) return false;
  for (let index = 0; index < text.length; index++) if (bytes[start + index] !== text[index]) return false;
  return true;
}

/** The length of the line break at `position` (a blank line), or 0. */
export function isBlankLine(bytes: Uint8Array, position: number, end: number): number {
  if (bytes[position] === LF) return 1;
  if (bytes[position] === CR && position + 1 < end && bytes[position + 1] === LF) return 2;
  return 0;
}

/** What {@link scanStart} found. */
export interface CsvStart {
  /** Header names; undefined without a header, or when the file has no header line (it is empty). */
  names: string[] | undefined;
  /** Where the rows begin (after the BOM and the header). */
  position: number;
  /** Rows scanned into the scanner (the sample). */
  rows: number;
}

/**
 * Reads the header (if any) and up to `sampleRows` rows into the scanner. A UTF-8 byte order
 * mark and blank lines before the header are skipped; header names must be valid UTF-8.
 */
export async function scanStart(
  window: ByteWindow,
  scanner: CsvScanner,
  settings: CsvSettings,
  file: string,
  sampleRows: number,
): Promise<CsvStart> {
  let position = 0;
  let names: string[] | undefined;
  if (window.length === 0) await window.fill();
  while (window.length < 3 && !window.eof) await window.fill();
  if (window.bytes[0] === 0xef && window.bytes[1] === 0xbb && window.bytes[2] === 0xbf) position = 3;
  if (settings.header) {
    scanner.growable = true;
    while (true) {
      if (position >= window.length) {
        if (window.eof) break;
        await window.fill();
        continue;
      }
      const blank = isBlankLine(window.bytes, position, window.length);
      if (blank > 0) {
        position += blank;
        continue;
      }
      const next = scanner.scanRow(window.bytes, position, window.length, window.eof, 0, file, 0);
      if (next !== INCOMPLETE) {
        if (!validUtf8(window.bytes, position, next)) {
          const index = findInvalidCell(window.bytes, scanner.columns, 1)?.column ?? 0;
          throw invalidUtf8(file, `the header, column name ${index + 1}`);
        }
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
      await window.fill();
    }
    scanner.growable = false;
    if (!names) return { names: undefined, position, rows: 0 };
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
