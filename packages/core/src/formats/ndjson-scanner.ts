/**
 * The NDJSON scanner: a byte-level pass over each line that records where each key's value
 * lies (a cell); text-columns.ts converts the ranges. Keys are matched against the
 * expected column in order first, so a line costs no string per key.
 */
import { HonkError } from '../errors/honk-error.ts';
import type { ByteWindow } from './byte-window.ts';
import {
  CELL_ESCAPED,
  CELL_JSON,
  CELL_NULL,
  CELL_QUOTED,
  CELL_RAW,
  CellColumn,
  type CellDecoder,
} from './text-cells.ts';
import { invalidUtf8, validUtf8 } from './text-utf8.ts';

/** Lines sampled from the first file to infer columns and types. */
export const NDJSON_SAMPLE_ROWS = 1000;

/** #column: a key not among the columns; a key that is not UTF-8. */
const UNKNOWN_KEY = -1;
const INVALID_KEY = -2;

// Not exported: the scan loops compare against them per byte, and V8 folds a module's own
// constants but reads exported bindings through their module cell.
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
export class NdjsonScanner implements CellDecoder {
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
    // A key is decoded only when it is not the expected one: check its bytes then, so a
    // column is never named after replacement characters.
    if (!validUtf8(bytes, start, end)) return INVALID_KEY;
    const name = escaped
      ? (JSON.parse(`"${Buffer.from(bytes.subarray(start, end)).toString('utf8')}"`) as string)
      : Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('utf8');
    const found = this.#index.get(name);
    if (found !== undefined) return found;
    if (this.growable) return this.#add(name);
    return UNKNOWN_KEY; // the caller reports
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
      if (column === INVALID_KEY) throw invalidUtf8(file, `line ${rowNumber}, a key (column name)`, { row: rowNumber });
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

/** Where a scan of lines stands: the window position and the lines seen so far. */
export interface LineState {
  position: number;
  rowNumber: number;
}

/**
 * Iterates the lines of a window, filling a batch of up to `limit` rows or about
 * `maxBytes` bytes of text; `lines[row]` receives each row's line number.
 */
export async function scanLines(
  window: ByteWindow,
  scanner: NdjsonScanner,
  state: LineState,
  limit: number,
  maxBytes: number,
  lines: Int32Array,
  file: string,
): Promise<number> {
  let rows = 0;
  const start = state.position;
  while (rows < limit && state.position - start < maxBytes) {
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
      lines[rows] = state.rowNumber;
      rows++;
    }
    state.position = lineEnd + 1;
  }
  return rows;
}
