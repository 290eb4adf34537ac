/**
 * The byte side of the CSV and NDJSON writers: values are formatted straight from Arrow's
 * typed arrays into one growing byte buffer (digits by hand, utf8 copied as bytes), which is
 * handed to the sink in ~1 MiB chunks. No per-cell strings or closures on the common paths:
 * that is what made the string-building writers slow and heavy on the garbage collector.
 *
 * Every fast path spells a value exactly as text-values.ts's formatters do (the readers
 * parse those spellings); values outside a fast path's range (int64 beyond 2^53, years
 * outside 0000–9999, nanosecond timestamps far from the epoch) go through those
 * formatters, so the output is the same byte for byte. Utf8 that is not UTF-8 is refused
 * (text-write-errors.ts), never replaced.
 */
import { formatDate, formatTimestamp } from '../arrow/temporal-text.ts';
import { formatDecimal, formatFloat } from '../arrow/value-text.ts';
import {
  type ColumnCursor,
  date64Days,
  KIND_BOOL,
  KIND_DATE,
  KIND_DATE64,
  KIND_DECIMAL,
  KIND_FLOAT,
  KIND_INT,
  KIND_INT64,
  KIND_TIMESTAMP,
  KIND_UINT64,
} from './column-cursor.ts';
import type { ByteSink } from './format-codec.ts';
import { CompressingSink, type TextCompression } from './text-compression.ts';

/** A chunk goes to the sink once this many bytes are formatted (after the row that crossed it). */
export const TEXT_CHUNK_BYTES = 1024 * 1024;
/** Room for a chunk plus the row that crosses it (a wider row grows the buffer). */
const INITIAL_BYTES = TEXT_CHUNK_BYTES + 64 * 1024;

const TWO_32 = 4294967296;
/** A 64-bit word pair whose high word is within ±2^21 holds a value of magnitude below 2^53. */
const SAFE_HIGH = 0x200000;
const CHAR_0 = 48;
const CHAR_MINUS = 45;

const POW10: number[] = [];
for (let digits = 0, value = 1; digits <= 16; digits++, value *= 10) POW10.push(value);

/** Digits of a non-negative integer below 2^53. */
function digitCount(value: number): number {
  let count = 1;
  while (count < 16 && value >= (POW10[count] as number)) count++;
  return count;
}

/**
 * A byte buffer the writers format into, flushed to the sink in chunks. Writes never
 * check capacity: callers `reserve()` the most a value can take first.
 */
export class TextOutput {
  bytes: Buffer;
  length = 0;
  /** Text bytes flushed (before compression). */
  written = 0;
  readonly #sink: ByteSink;
  readonly #compressing: CompressingSink | undefined;

  /** `compression`: the text goes through gzip or zstd on its way to `sink`. */
  constructor(sink: ByteSink, compression?: TextCompression) {
    this.#compressing = compression ? new CompressingSink(sink, compression) : undefined;
    this.#sink = this.#compressing ?? sink;
    this.bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  }

  /** Bytes that reached the sink: compressed bytes when compressing (what a part-file size limit measures). */
  get sinkBytes(): number {
    return this.#compressing ? this.#compressing.bytes : this.written;
  }

  /** Flushes the rest and, when compressing, the compressed tail. */
  async finish(): Promise<void> {
    await this.flush();
    await this.#compressing?.finish();
  }

  /** Drops what the compressor still holds. */
  abort(): void {
    this.length = 0;
    this.#compressing?.abort();
  }

  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  /** True when a chunk's worth is buffered. */
  get full(): boolean {
    return this.length >= TEXT_CHUNK_BYTES;
  }

  /**
   * Hands what is buffered to the sink, which then owns it. A buffer at least half full is
   * handed over as is and replaced; a smaller chunk (the end of a small batch) is copied
   * and the buffer reused, so a sink that keeps chunks (multipart parts) never pins a
   * mostly empty megabyte per small write.
   */
  async flush(): Promise<void> {
    const length = this.length;
    if (length === 0) return;
    let chunk: Buffer;
    if (length * 2 >= this.bytes.length) {
      chunk = this.bytes.subarray(0, length);
      this.bytes = Buffer.allocUnsafe(INITIAL_BYTES);
    } else {
      chunk = Buffer.allocUnsafe(length);
      this.bytes.copy(chunk, 0, 0, length);
    }
    this.length = 0;
    this.written += length;
    await this.#sink.write(chunk);
  }

  byte(code: number): void {
    this.bytes[this.length++] = code;
  }

  /** Copies `source[start, end)`; short ranges in a loop, which beats `set` of a subarray. */
  copy(source: Uint8Array, start: number, end: number): void {
    const bytes = this.bytes;
    let at = this.length;
    if (end - start < 48) {
      for (let index = start; index < end; index++) bytes[at++] = source[index] as number;
      this.length = at;
    } else {
      bytes.set(source.subarray(start, end), at);
      this.length = at + end - start;
    }
  }

  /** Writes a string of Latin-1/ASCII characters (numbers, base64). */
  ascii(text: string): void {
    const bytes = this.bytes;
    let at = this.length;
    if (text.length < 32) {
      for (let index = 0; index < text.length; index++) bytes[at++] = text.charCodeAt(index);
      this.length = at;
    } else this.length += bytes.write(text, at, 'latin1');
  }

  /** Writes any string as UTF-8 (reserve 3 bytes per UTF-16 unit). */
  utf8(text: string): void {
    this.length += this.bytes.write(text, this.length, 'utf8');
  }

  /** A non-negative integer below 2^53 (reserve 16). */
  unsigned(value: number): void {
    const bytes = this.bytes;
    const end = this.length + digitCount(value);
    let at = end;
    let rest = value;
    while (rest >= TWO_32 / 2) {
      const next = Math.floor(rest / 10);
      bytes[--at] = CHAR_0 + (rest - next * 10);
      rest = next;
    }
    let small = rest | 0;
    do {
      const next = (small / 10) | 0;
      bytes[--at] = CHAR_0 + small - next * 10;
      small = next;
    } while (small > 0);
    this.length = end;
  }

  /** `value` zero-padded to `width` digits (value below 10^width). */
  padded(value: number, width: number): void {
    const bytes = this.bytes;
    const end = this.length + width;
    let small = value;
    for (let at = end - 1; at >= this.length; at--) {
      const next = (small / 10) | 0;
      bytes[at] = CHAR_0 + small - next * 10;
      small = next;
    }
    this.length = end;
  }

  /** An integral Number of magnitude below 2^53 (reserve 17). */
  integer(value: number): void {
    if (value < 0) {
      this.bytes[this.length++] = CHAR_MINUS;
      this.unsigned(-value);
    } else this.unsigned(value);
  }

  /**
   * Formats row `row` of a non-text column (ints, floats, bool, decimal, date, timestamp)
   * as text-values.ts spells it. Reserves what it needs.
   */
  scalar(cursor: ColumnCursor, row: number): void {
    this.reserve(48);
    switch (cursor.kind) {
      case KIND_INT:
        this.integer(cursor.values[row] as number);
        return;
      case KIND_INT64: {
        const low = cursor.words[row * 2] as number;
        const high = cursor.words[row * 2 + 1] as number;
        if (high >= -SAFE_HIGH && high < SAFE_HIGH) this.integer(high * TWO_32 + (low >>> 0));
        else this.ascii(String((cursor.data.values as BigInt64Array)[row]));
        return;
      }
      case KIND_UINT64: {
        const low = cursor.words[row * 2] as number;
        const high = (cursor.words[row * 2 + 1] as number) >>> 0;
        if (high < SAFE_HIGH) this.unsigned(high * TWO_32 + (low >>> 0));
        else this.ascii(String((cursor.data.values as BigUint64Array)[row]));
        return;
      }
      case KIND_FLOAT:
        this.ascii(formatFloat(cursor.values[row] as number));
        return;
      case KIND_BOOL: {
        const position = cursor.bitOffset + row;
        if ((cursor.values[position >> 3] as number) & (1 << (position & 7))) this.ascii('true');
        else this.ascii('false');
        return;
      }
      case KIND_DECIMAL:
        this.#decimal(cursor, row);
        return;
      case KIND_DATE: {
        const days = cursor.values[row] as number;
        if (!this.#date(days)) this.ascii(formatDate(days));
        return;
      }
      case KIND_DATE64: {
        const days = date64Days(cursor, row);
        if (!this.#date(days)) this.ascii(formatDate(days));
        return;
      }
      case KIND_TIMESTAMP:
        this.#timestamp(cursor, row);
        return;
      default:
        throw new Error(`scalar() cannot format column kind ${cursor.kind}`);
    }
  }

  #decimal(cursor: ColumnCursor, row: number): void {
    const words = cursor.words;
    const base = row * 4;
    const low = (words[base] as number) >>> 0;
    const high = words[base + 1] as number;
    const word2 = words[base + 2] as number;
    const word3 = words[base + 3] as number;
    let magnitude: number;
    // Fits in 53 bits: words 2 and 3 are pure sign extension (formatDecimal's fast path).
    if (word2 === 0 && word3 === 0 && high >= 0 && high < SAFE_HIGH) magnitude = high * TWO_32 + low;
    else if (word2 === -1 && word3 === -1 && high < 0 && high >= -SAFE_HIGH) {
      magnitude = -(high * TWO_32 + low);
      this.bytes[this.length++] = CHAR_MINUS;
    } else {
      const text = formatDecimal(new Uint32Array(words.buffer, words.byteOffset, words.length), row, cursor.scale);
      this.reserve(text.length);
      this.ascii(text);
      return;
    }
    const scale = cursor.scale;
    if (scale <= 0) {
      this.unsigned(magnitude);
      return;
    }
    const digits = digitCount(magnitude);
    this.reserve(scale + 20);
    if (digits <= scale) {
      // 0.00ddd
      this.bytes[this.length++] = CHAR_0;
      this.bytes[this.length++] = 46;
      for (let pad = digits; pad < scale; pad++) this.bytes[this.length++] = CHAR_0;
      this.unsigned(magnitude);
      return;
    }
    const start = this.length;
    this.unsigned(magnitude);
    const point = start + digits - scale;
    this.bytes.copyWithin(point + 1, point, this.length);
    this.bytes[point] = 46;
    this.length++;
  }

  /** `YYYY-MM-DD` for years 0000–9999; false (nothing written) otherwise. */
  #date(days: number): boolean {
    // Howard Hinnant's civil_from_days, as value-text.ts's civilFromDays.
    const z = days + 719468;
    const era = Math.floor(z / 146097);
    const dayOfEra = z - era * 146097;
    const yearOfEra = Math.floor(
      (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365,
    );
    const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
    const monthPrime = Math.floor((5 * dayOfYear + 2) / 153);
    const day = dayOfYear - Math.floor((153 * monthPrime + 2) / 5) + 1;
    const month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9;
    const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
    if (year < 0 || year > 9999) return false;
    this.padded(year, 4);
    this.bytes[this.length++] = CHAR_MINUS;
    this.padded(month, 2);
    this.bytes[this.length++] = CHAR_MINUS;
    this.padded(day, 2);
    return true;
  }

  #timestamp(cursor: ColumnCursor, row: number): void {
    const low = (cursor.words[row * 2] as number) >>> 0;
    const high = cursor.words[row * 2 + 1] as number;
    if (high >= -SAFE_HIGH && high < SAFE_HIGH) {
      const value = high * TWO_32 + low;
      const perSecond = cursor.perSecond;
      // Floor division, corrected for the rounding of the double quotient.
      let seconds = Math.floor(value / perSecond);
      let fraction = value - seconds * perSecond;
      if (fraction < 0) {
        seconds -= 1;
        fraction += perSecond;
      } else if (fraction >= perSecond) {
        seconds += 1;
        fraction -= perSecond;
      }
      const days = Math.floor(seconds / 86400);
      const start = this.length;
      if (this.#date(days)) {
        const secondOfDay = seconds - days * 86400;
        const hours = Math.floor(secondOfDay / 3600);
        const minutes = Math.floor((secondOfDay % 3600) / 60);
        this.bytes[this.length++] = 84; // T
        this.padded(hours, 2);
        this.bytes[this.length++] = 58;
        this.padded(minutes, 2);
        this.bytes[this.length++] = 58;
        this.padded(secondOfDay % 60, 2);
        if (cursor.fractionDigits > 0) {
          this.bytes[this.length++] = 46;
          this.padded(fraction, cursor.fractionDigits);
        }
        if (cursor.zoned) this.bytes[this.length++] = 90; // Z
        return;
      }
      this.length = start;
    }
    const text = formatTimestamp((cursor.data.values as BigInt64Array)[row] as bigint, cursor.unit, cursor.zoned);
    this.reserve(text.length);
    this.ascii(text);
  }
}
