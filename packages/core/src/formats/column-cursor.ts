/**
 * ColumnCursor: one column of a batch unpacked for the text writers' row loops (text-output.ts
 * formats from it): its kind, validity bits, values and 64/128-bit words, read straight from
 * Arrow's typed arrays. A dictionary-encoded column has the kind of its values and a
 * {@link DictionaryLookup} saying where each row's value sits in the dictionary.
 *
 * Checks that need the whole batch run here, once per batch, so the row loops stay plain:
 * one `isUtf8` (SIMD) pass over a utf8 column's bytes, date64 whole days, dictionary
 * indices within their dictionary.
 */
import { isUtf8 } from 'node:buffer';
import { type Data, type DataType, type Decimal, type Timestamp, TimeUnit, Type } from 'apache-arrow';
import { unitDigits, unitPerSecond } from '../arrow/temporal-text.ts';
import { HonkError } from '../errors/honk-error.ts';
import { badDictionaryIndex, type CellPlace, invalidUtf8Value, notWholeDay } from './text-write-errors.ts';

const TWO_32 = 4294967296;
/** A 64-bit word pair whose high word is within ±2^21 holds a value of magnitude below 2^53. */
const SAFE_HIGH = 0x200000;

/** How a column's values are read; the writers switch on it per cell. */
export const KIND_UTF8 = 0;
export const KIND_LARGE_UTF8 = 1;
export const KIND_BINARY = 2;
export const KIND_INT = 3;
export const KIND_INT64 = 4;
export const KIND_UINT64 = 5;
export const KIND_FLOAT = 6;
export const KIND_BOOL = 7;
export const KIND_DECIMAL = 8;
export const KIND_DATE = 9;
export const KIND_TIMESTAMP = 10;
/** Anything else (lists): formatted through text-values.ts's cellFormatter. */
export const KIND_OTHER = 11;
/** date64: milliseconds since the epoch, whole days (checked per batch), written as a date. */
export const KIND_DATE64 = 12;

const MS_PER_DAY = 86_400_000;

/** Where a column's values sit in the data written to the target, for error messages. */
export interface ColumnOrigin {
  column: string;
  /** 1-based row number of the batch's first row, counting every row written to the target. */
  firstRow: number;
}

/** One column of a batch, unpacked once per batch so the row loop reads plain fields. */
export class ColumnCursor {
  readonly kind: number;
  readonly data: Data;
  /** Validity bits, or null when every value is valid. */
  readonly bitmap: Uint8Array | null;
  /** Bit offset of row 0 in `bitmap` and in bool `values`. */
  readonly bitOffset: number;
  /** Int/Float/Date values, bool bits, utf8/binary bytes (dictionary columns: the indices). */
  readonly values: ArrayLike<number>;
  /** 64-bit and 128-bit values as 32-bit words (little-endian). */
  readonly words: Int32Array;
  /** Utf8/Binary offsets. */
  readonly offsets: Int32Array;
  /**
   * Utf8 cells are known to be valid UTF-8 when this and the per-cell boundary check hold;
   * when it is false a cell is checked on its own before it is written.
   */
  readonly utf8Valid: boolean;
  readonly scale: number;
  readonly unit: TimeUnit;
  readonly perSecond: number;
  readonly fractionDigits: number;
  readonly zoned: boolean;
  /** Dictionary-encoded columns: where each row's value sits. Null for plain columns. */
  readonly dictionary: DictionaryLookup | null;
  /** For messages; null for the entries of a dictionary, whose values are named by the rows using them. */
  readonly origin: ColumnOrigin | null;

  constructor(data: Data, rows: number, origin: ColumnOrigin | null) {
    const type = data.type as DataType;
    this.data = data;
    this.origin = origin;
    const bitmap = data.nullBitmap;
    this.bitmap = bitmap && bitmap.length > 0 && data.nullCount !== 0 ? bitmap : null;
    this.bitOffset = data.offset;
    this.values = (data.values ?? new Uint8Array(0)) as ArrayLike<number>;
    this.words = EMPTY_WORDS;
    this.offsets = EMPTY_WORDS;
    this.utf8Valid = true;
    this.scale = 0;
    this.unit = TimeUnit.SECOND;
    this.perSecond = 1;
    this.fractionDigits = 0;
    this.zoned = false;
    this.dictionary = null;
    switch (type.typeId) {
      case Type.Utf8:
      case Type.Binary: {
        this.kind = type.typeId === Type.Utf8 ? KIND_UTF8 : KIND_BINARY;
        this.offsets = data.valueOffsets as Int32Array;
        if (this.kind === KIND_UTF8 && rows > 0) {
          const bytes = data.values as Uint8Array;
          const from = this.offsets[0] as number;
          const to = this.offsets[rows] as number;
          this.utf8Valid = isUtf8(bytes.subarray(from, to));
          if (!this.utf8Valid && origin !== null) refuseInvalidUtf8(this, rows, origin);
        }
        break;
      }
      case Type.LargeUtf8:
        this.kind = KIND_LARGE_UTF8;
        break;
      case Type.Int: {
        const bitWidth = (type as unknown as { bitWidth: number }).bitWidth;
        const signed = (type as unknown as { isSigned: boolean }).isSigned;
        if (bitWidth === 64) {
          this.kind = signed ? KIND_INT64 : KIND_UINT64;
          this.words = wordsOf(data.values as BigInt64Array);
        } else this.kind = KIND_INT;
        break;
      }
      case Type.Float:
        this.kind = KIND_FLOAT;
        break;
      case Type.Bool:
        this.kind = KIND_BOOL;
        break;
      case Type.Decimal:
        this.kind = KIND_DECIMAL;
        this.words = wordsOf(data.values as Uint32Array);
        this.scale = (type as unknown as Decimal).scale;
        break;
      case Type.Date:
        if ((type as unknown as { unit: number }).unit === 0) this.kind = KIND_DATE;
        else {
          this.kind = KIND_DATE64;
          this.words = wordsOf(data.values as BigInt64Array);
          if (origin !== null) checkWholeDays(this, rows, origin);
        }
        break;
      case Type.Timestamp: {
        const timestamp = type as unknown as Timestamp;
        this.kind = KIND_TIMESTAMP;
        this.words = wordsOf(data.values as BigInt64Array);
        this.unit = timestamp.unit;
        this.perSecond = unitPerSecond[timestamp.unit] as number;
        this.fractionDigits = unitDigits[timestamp.unit] as number;
        this.zoned = Boolean(timestamp.timezone);
        break;
      }
      case Type.Dictionary: {
        const lookup = new DictionaryLookup(data, rows, origin ?? { column: '(dictionary)', firstRow: 1 });
        this.dictionary = lookup;
        this.kind = lookup.kind;
        break;
      }
      default:
        this.kind = KIND_OTHER;
    }
  }

  /** True when row `row` is NULL. */
  isNull(row: number): boolean {
    const bitmap = this.bitmap;
    if (bitmap === null) return false;
    const position = this.bitOffset + row;
    return ((bitmap[position >> 3] as number) & (1 << (position & 7))) === 0;
  }

  /** Where row `row` of this batch sits, for messages. */
  place(row: number): CellPlace {
    const origin = this.origin;
    return origin ? { column: origin.column, row: origin.firstRow + row } : { column: '(dictionary)', row: row + 1 };
  }
}

const EMPTY_WORDS = new Int32Array(0);

function wordsOf(values: ArrayBufferView): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.byteLength >> 2);
}

/** Whole days of the date64 value of row `row` (a fraction when it has a time of day). */
export function date64Days(cursor: ColumnCursor, row: number): number {
  const low = (cursor.words[row * 2] as number) >>> 0;
  const high = cursor.words[row * 2 + 1] as number;
  if (high >= -SAFE_HIGH && high < SAFE_HIGH) return (high * TWO_32 + low) / MS_PER_DAY;
  // Beyond 2^53 ms (±285,000 years) a double would round: divide exactly.
  const millis = (cursor.data.values as BigInt64Array)[row] as bigint;
  return millis % 86_400_000n === 0n ? Number(millis / 86_400_000n) : Number.NaN;
}

/**
 * Arrow's date64 holds whole days in milliseconds; a value with a time of day cannot be
 * written as a date without changing it, so it is refused, naming the column and row.
 */
function checkWholeDays(cursor: ColumnCursor, rows: number, origin: ColumnOrigin): void {
  for (let row = 0; row < rows; row++) {
    if (cursor.isNull(row) || Number.isInteger(date64Days(cursor, row))) continue;
    throw notWholeDay(
      { column: origin.column, row: origin.firstRow + row },
      (cursor.data.values as BigInt64Array)[row] as bigint,
    );
  }
}

/** True when utf8 cell `row` of `cursor` is valid UTF-8 on its own. */
function validCell(cursor: ColumnCursor, row: number): boolean {
  const start = cursor.offsets[row] as number;
  const end = cursor.offsets[row + 1] as number;
  return end <= start || isUtf8((cursor.values as Uint8Array).subarray(start, end));
}

/**
 * A batch whose utf8 bytes failed the whole-batch check: finds the first non-NULL cell that
 * is not UTF-8 and refuses it. Bytes under a NULL are no value, so they alone pass (the
 * row loop then checks cell by cell).
 */
function refuseInvalidUtf8(cursor: ColumnCursor, rows: number, origin: ColumnOrigin): void {
  for (let row = 0; row < rows; row++) {
    if (cursor.isNull(row) || validCell(cursor, row)) continue;
    const bytes = cursor.values as Uint8Array;
    throw invalidUtf8Value(
      { column: origin.column, row: origin.firstRow + row },
      bytes,
      cursor.offsets[row] as number,
      cursor.offsets[row + 1] as number,
    );
  }
}

/** A dictionary's entries are unpacked once per chunk (chunks repeat across batches), not per batch. */
const entryCursors = new WeakMap<Data, ColumnCursor>();

function entryCursor(chunk: Data): ColumnCursor {
  let cursor = entryCursors.get(chunk);
  if (cursor === undefined) {
    cursor = new ColumnCursor(chunk, chunk.length, null);
    entryCursors.set(chunk, cursor);
  }
  return cursor;
}

/**
 * Where each row of a dictionary-encoded column finds its value: `positions[row]` in the
 * dictionary chunk `sourceOf(row)`. A dictionary arrives as one or more chunks (a builder
 * that flushed, IPC delta dictionaries) and may change from batch to batch; each batch is
 * read through its own. Indices are checked against the dictionary once per batch.
 */
export class DictionaryLookup {
  /** The kind of the dictionary's values. */
  readonly kind: number;
  /** Position of each row's value within its chunk. */
  readonly positions: Int32Array;
  /** The chunk of each row; null when the dictionary is one chunk. */
  readonly chunkOf: Int32Array | null;
  readonly chunks: ColumnCursor[];

  constructor(data: Data, rows: number, origin: ColumnOrigin) {
    const dictionary = data.dictionary;
    if (dictionary === undefined) {
      throw new HonkError(
        'DATA_CORRUPT',
        `column "${origin.column}" is dictionary-encoded but a batch arrived without its dictionary; the batch is malformed.`,
        { details: { column: origin.column } },
      );
    }
    const chunks = (dictionary.data as Data[]).map(entryCursor);
    this.chunks = chunks;
    this.kind = chunks.length > 0 ? (chunks[0] as ColumnCursor).kind : KIND_OTHER;
    const bitmap = data.nullBitmap && data.nullBitmap.length > 0 && data.nullCount !== 0 ? data.nullBitmap : null;
    const offset = data.offset;
    const isNull = (row: number) =>
      bitmap !== null && ((bitmap[(offset + row) >> 3] as number) & (1 << ((offset + row) & 7))) === 0;
    const place = (row: number): CellPlace => ({ column: origin.column, row: origin.firstRow + row });
    const indices = data.values as ArrayLike<number | bigint>;
    const entries = dictionary.length;
    if (chunks.length <= 1) {
      this.chunkOf = null;
      // int32 indices (the usual kind) are the positions; other widths are copied.
      const same = indices instanceof Int32Array;
      const positions = same ? indices : new Int32Array(rows);
      for (let row = 0; row < rows; row++) {
        if (isNull(row)) continue;
        const index = Number(indices[row]);
        if (!(index >= 0 && index < entries)) throw badDictionaryIndex(place(row), index, entries);
        if (!same) positions[row] = index;
      }
      this.positions = positions;
    } else {
      const starts = new Float64Array(chunks.length);
      for (let chunk = 1; chunk < chunks.length; chunk++) {
        starts[chunk] = (starts[chunk - 1] as number) + ((chunks[chunk - 1] as ColumnCursor).data.length as number);
      }
      const positions = new Int32Array(rows);
      const chunkOf = new Int32Array(rows);
      for (let row = 0; row < rows; row++) {
        if (isNull(row)) continue;
        const index = Number(indices[row]);
        if (!(index >= 0 && index < entries)) throw badDictionaryIndex(place(row), index, entries);
        const chunk = chunkHolding(starts, index);
        chunkOf[row] = chunk;
        positions[row] = index - (starts[chunk] as number);
      }
      this.positions = positions;
      this.chunkOf = chunkOf;
    }
    this.#checkEntries(rows, isNull, place);
  }

  /** The dictionary chunk holding row `row`'s value. */
  sourceOf(row: number): ColumnCursor {
    const chunkOf = this.chunkOf;
    return (chunkOf === null ? this.chunks[0] : this.chunks[chunkOf[row] as number]) as ColumnCursor;
  }

  /** The checks plain columns run per batch, on the entries the rows use (an unused bad entry is not data). */
  #checkEntries(rows: number, isNull: (row: number) => boolean, place: (row: number) => CellPlace): void {
    const kind = this.kind;
    if (kind === KIND_UTF8 && this.chunks.every((chunk) => chunk.utf8Valid)) return;
    if (kind !== KIND_UTF8 && kind !== KIND_DATE64) return;
    for (let row = 0; row < rows; row++) {
      if (isNull(row)) continue;
      const source = this.sourceOf(row);
      const at = this.positions[row] as number;
      if (source.isNull(at)) continue;
      if (kind === KIND_UTF8) {
        if (!source.utf8Valid && !validCell(source, at)) {
          const bytes = source.values as Uint8Array;
          throw invalidUtf8Value(place(row), bytes, source.offsets[at] as number, source.offsets[at + 1] as number);
        }
      } else if (!Number.isInteger(date64Days(source, at))) {
        throw notWholeDay(place(row), (source.data.values as BigInt64Array)[at] as bigint);
      }
    }
  }
}

/** The chunk holding entry `index`: the last whose first entry (`starts`, ascending) is at or before it. */
export function chunkHolding(starts: Float64Array, index: number): number {
  let low = 0;
  let high = starts.length - 1;
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if ((starts[middle] as number) <= index) low = middle;
    else high = middle - 1;
  }
  return low;
}
