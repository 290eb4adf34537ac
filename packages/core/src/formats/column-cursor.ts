/**
 * ColumnCursor: one column of a batch unpacked for the text writers' row loops (text-output.ts
 * formats from it): its kind, validity bits, values and 64/128-bit words, read straight from
 * Arrow's typed arrays.
 */
import { isUtf8 } from 'node:buffer';
import { type Data, type DataType, type Decimal, type Timestamp, TimeUnit, Type } from 'apache-arrow';
import { unitDigits, unitPerSecond } from '../arrow/temporal-text.ts';
import { HonkError } from '../errors/honk-error.ts';

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

/** Where a column's values sit in the file being written, for error messages. */
export interface ColumnOrigin {
  column: string;
  /** 1-based row number of the batch's first row in the file. */
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
  /** Int/Float/Date values, bool bits, utf8/binary bytes. */
  readonly values: ArrayLike<number>;
  /** 64-bit and 128-bit values as 32-bit words (little-endian). */
  readonly words: Int32Array;
  /** Utf8/Binary offsets. */
  readonly offsets: Int32Array;
  /** Utf8 cells are known to be valid UTF-8 when this and the per-cell boundary check hold. */
  readonly utf8Valid: boolean;
  readonly scale: number;
  readonly unit: TimeUnit;
  readonly perSecond: number;
  readonly fractionDigits: number;
  readonly zoned: boolean;

  constructor(data: Data, rows: number, origin?: ColumnOrigin) {
    const type = data.type as DataType;
    this.data = data;
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
          checkWholeDays(this, rows, origin);
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
function checkWholeDays(cursor: ColumnCursor, rows: number, origin: ColumnOrigin | undefined): void {
  for (let row = 0; row < rows; row++) {
    if (cursor.isNull(row) || Number.isInteger(date64Days(cursor, row))) continue;
    const millis = String((cursor.data.values as BigInt64Array)[row]);
    const where = origin ? `column "${origin.column}" row ${origin.firstRow + row}` : `row ${row + 1} of a batch`;
    throw new HonkError(
      'DATA_CORRUPT',
      `${where} holds the date64 value ${millis} ms, which is not a whole day (Arrow's date64 holds whole days), so it cannot be written as a date without losing its time of day. Cast the column to timestamp[ms] to keep it.`,
      { details: origin ? { column: origin.column, row: origin.firstRow + row } : {} },
    );
  }
}
