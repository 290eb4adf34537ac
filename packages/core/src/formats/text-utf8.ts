/**
 * UTF-8 checks for the text readers. Text files must be UTF-8: a utf8 column holding
 * invalid bytes would be written differently by every target (replaced, refused, copied),
 * so the readers refuse it at once, naming file, row and column. The check is one
 * `isUtf8` (SIMD) pass over the bytes of a whole batch; only a batch that fails is scanned
 * cell by cell to say where.
 */
import { isUtf8 } from 'node:buffer';
import { HonkError } from '../errors/honk-error.ts';
import { CELL_NULL, type CellColumn } from './text-cells.ts';

/** True when `bytes[start, end)` is valid UTF-8. */
export function validUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  return end <= start || isUtf8(bytes.subarray(start, end));
}

/** The first cell (row, then column) of `rows` rows whose bytes are not valid UTF-8. */
export function findInvalidCell(
  bytes: Uint8Array,
  columns: readonly CellColumn[],
  rows: number,
): { row: number; column: number } | undefined {
  for (let row = 0; row < rows; row++) {
    for (const [column, cells] of columns.entries()) {
      if (row >= cells.kind.length || cells.kind[row] === CELL_NULL) continue;
      if (!validUtf8(bytes, cells.start[row] as number, cells.end[row] as number)) return { row, column };
    }
  }
  return undefined;
}

/**
 * The error for invalid UTF-8 at `where` (e.g. `data row 7, column "name"`). Not retryable:
 * the bytes will be the same next time.
 */
export function invalidUtf8(file: string, where: string, details: Record<string, unknown> = {}): HonkError {
  return new HonkError(
    'DATA_CORRUPT',
    `${file}, ${where}: not valid UTF-8. Text files must be UTF-8: convert the file (for example \`iconv -f windows-1252 -t utf-8\`) and run again.`,
    { details: { file, ...details } },
  );
}
