/**
 * What the CSV and NDJSON readers share around their scanners: the batch byte limit, the
 * empty-file refusal, the UTF-8 check of a batch and the building of a batch from cells.
 */
import type { DataType, RecordBatch, Schema } from 'apache-arrow';
import { makeRecordBatch } from '../arrow/column-data.ts';
import { HonkError } from '../errors/honk-error.ts';
import type { CellColumn, CellDecoder, CellOrigin } from './text-cells.ts';
import { rowName } from './text-cells.ts';
import { buildColumn } from './text-columns.ts';
import type { TextCompression } from './text-compression.ts';
import { findInvalidCell, invalidUtf8, validUtf8 } from './text-utf8.ts';

/**
 * A batch ends after about this many bytes of text even before `batchRows` rows, so a
 * batch's memory follows bytes, not rows (65,536 rows of 1 KB would be ~80 MiB of Arrow).
 */
export const TEXT_BATCH_BYTES = 8 * 1024 * 1024;

/** The refusal of a file with nothing to read: never a dataset of zero columns. */
export function emptyFile(file: string, compression: TextCompression | undefined, fix: string): HonkError {
  return new HonkError(
    'DATA_CORRUPT',
    `${file} is empty${compression ? ` (after ${compression} decompression)` : ''}: ${fix}`,
    { details: { file } },
  );
}

/**
 * Throws DATA_CORRUPT when the batch's text `bytes[start, end)` is not valid UTF-8, naming
 * the first cell that is not (or, when none is, the row: a key or column name then).
 */
export function checkBatchUtf8(
  bytes: Uint8Array,
  start: number,
  end: number,
  columns: readonly CellColumn[],
  names: readonly string[],
  rows: number,
  origin: CellOrigin,
  elsewhere: () => HonkError,
): void {
  if (validUtf8(bytes, start, end)) return;
  const found = findInvalidCell(bytes, columns, rows);
  if (!found) throw elsewhere();
  const column = names[found.column] ?? `column ${found.column + 1}`;
  throw invalidUtf8(origin.file, `${rowName(origin, found.row)}, column "${column}"`, {
    row: rowNumber(origin, found.row),
    column,
  });
}

function rowNumber(origin: CellOrigin, row: number): number {
  return origin.lines ? (origin.lines[row] as number) : origin.firstRow + row;
}

/**
 * One batch from the scanned cells of `rows` rows. Columns not in `declared` were inferred:
 * their floats must be exact (a value the double would round is refused, not rounded).
 */
export function buildBatch(
  schema: Schema,
  bytes: Uint8Array,
  columns: readonly CellColumn[],
  rows: number,
  decoder: CellDecoder,
  origin: CellOrigin,
  declared: ReadonlyMap<string, DataType>,
): RecordBatch {
  const data = schema.fields.map((field, index) =>
    buildColumn(field, bytes, columns[index] as CellColumn, rows, decoder, origin, !declared.has(field.name)),
  );
  return makeRecordBatch(schema, data, rows);
}
