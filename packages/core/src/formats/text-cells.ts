/**
 * Cells: what the CSV and NDJSON scanners record per column for the rows of a batch — where
 * each value lies in the read buffer and how it is quoted — and where they came from, for
 * messages. text-columns.ts turns cells into Arrow columns.
 */

/** No value (CSV: unquoted empty or `nullValue`; NDJSON: `null` or a missing key). */
export const CELL_NULL = 0;
/** Unquoted text (CSV) or a JSON number / true / false. */
export const CELL_RAW = 1;
/** Quoted text whose bytes need no unescaping. */
export const CELL_QUOTED = 2;
/** Quoted text with escapes (CSV doubled quotes, JSON backslashes): decode with the format's unescape. */
export const CELL_ESCAPED = 3;
/** A JSON array or object, kept as raw text (NDJSON only). */
export const CELL_JSON = 4;

/** Byte ranges of one column's cells for the rows of a batch; capacity grows as needed. */
export class CellColumn {
  start: Int32Array;
  end: Int32Array;
  kind: Uint8Array;

  constructor(capacity: number) {
    this.start = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
    this.kind = new Uint8Array(capacity);
  }

  ensure(capacity: number): void {
    if (capacity <= this.start.length) return;
    const size = Math.max(capacity, this.start.length * 2);
    const start = new Int32Array(size);
    start.set(this.start);
    const end = new Int32Array(size);
    end.set(this.end);
    const kind = new Uint8Array(size);
    kind.set(this.kind);
    this.start = start;
    this.end = end;
    this.kind = kind;
  }
}

/** How a format decodes its escaped cells and nested values. */
export interface CellDecoder {
  /** Bytes of an escaped text cell, unescaped. */
  unescape(bytes: Uint8Array, start: number, end: number): Uint8Array;
  /** Splits a JSON array cell into element cells (NDJSON); absent for CSV. */
  splitArray?(bytes: Uint8Array, start: number, end: number, into: CellColumn, at: number): number;
}

/** Where the cells came from, for error messages. */
export interface CellOrigin {
  file: string;
  /** 1-based number of the batch's first row. */
  firstRow: number;
  /** How messages count rows: CSV `data row` (the header is not counted), NDJSON `line`. */
  unit: 'data row' | 'line';
  /** NDJSON: the line of each row (blank lines make lines and rows differ). */
  lines?: Int32Array;
}

/** `data row 12` / `line 14`: row `row` of the batch as messages name it. */
export function rowName(origin: CellOrigin, row: number): string {
  return `${origin.unit} ${origin.lines ? (origin.lines[row] as number) : origin.firstRow + row}`;
}
