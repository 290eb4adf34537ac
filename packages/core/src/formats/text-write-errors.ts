/**
 * The values the CSV and NDJSON writers refuse rather than change, and how they name them.
 * Rows are 1-based and count every row written to the target, across its part files
 * (`FormatOptions.precedingRows`), so a message points at the same row whichever part file
 * it fell into. None of these are retryable: the same data fails the same way.
 */
import { isUtf8 } from 'node:buffer';
import { HonkError } from '../errors/honk-error.ts';

/** Where a value sits: its column and 1-based row in the data written to the target. */
export interface CellPlace {
  column: string;
  row: number;
}

function named(place: CellPlace): string {
  return `column "${place.column}", row ${place.row}`;
}

/** The first bytes of a value in hex, for a message about bytes that are not text. */
function hexPreview(bytes: Uint8Array, start: number, end: number): string {
  const shown = Array.from(bytes.subarray(start, Math.min(end, start + 16)), (byte) =>
    byte.toString(16).padStart(2, '0'),
  );
  return `${shown.join(' ')}${end - start > 16 ? ' …' : ''}`;
}

/** Throws when `bytes[start, end)` is not valid UTF-8 (the writers' cold path: a batch already failed the fast check). */
export function checkUtf8Value(bytes: Uint8Array, start: number, end: number, place: () => CellPlace): void {
  if (end > start && !isUtf8(bytes.subarray(start, end))) throw invalidUtf8Value(place(), bytes, start, end);
}

/**
 * A utf8 value that is not UTF-8 (Parquet and Arrow IPC files can hold one). Writing it as
 * text would replace the bad bytes with U+FFFD, a changed value the staged checksum then
 * reports as a mismatch; refused here, before anything is published, naming the row.
 */
export function invalidUtf8Value(place: CellPlace, bytes: Uint8Array, start: number, end: number): HonkError {
  return new HonkError(
    'DATA_CORRUPT',
    `${named(place)} (1-based, counting every row written to the target): not valid UTF-8 (bytes ${hexPreview(bytes, start, end)}). CSV and NDJSON hold UTF-8 text, so writing it would change the value (to U+FFFD). Fix the source data, cast the column to binary (written as base64), or write arrow, which keeps the bytes.`,
    { details: { column: place.column, row: place.row } },
  );
}

/** A date64 value with a time of day: written as a date it would lose that time. */
export function notWholeDay(place: CellPlace, millis: bigint): HonkError {
  return new HonkError(
    'DATA_CORRUPT',
    `${named(place)} holds the date64 value ${millis} ms, which is not a whole day (Arrow's date64 holds whole days), so it cannot be written as a date without losing its time of day. Cast the column to timestamp[ms] to keep it.`,
    { details: { column: place.column, row: place.row } },
  );
}

/** A dictionary index that points outside its dictionary: a malformed batch, never written as some other value. */
export function badDictionaryIndex(place: CellPlace, index: number, entries: number): HonkError {
  return new HonkError(
    'DATA_CORRUPT',
    `${named(place)}: dictionary index ${index} is outside its dictionary of ${entries} entries; the batch is malformed. Check the program that wrote the source file.`,
    { details: { column: place.column, row: place.row } },
  );
}
