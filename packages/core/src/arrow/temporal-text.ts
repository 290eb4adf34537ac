/**
 * Dates and timestamps as text for the text formats (CSV, NDJSON): ISO 8601, parsed from
 * bytes into typed-array slots and formatted from them. Years outside 0000–9999 use ISO
 * 8601's expanded form (`+010000-01-01`, `-000001-01-01`), so the whole range of date32,
 * date64 and int64 timestamps of every unit writes and reads back exactly; a value beyond a
 * type's range is refused, never wrapped.
 */
import { TimeUnit } from 'apache-arrow';
import { civilFromDays, daysFromCivil, writeInt64BigInt, writeInt64Number } from './value-text.ts';

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_MINUS = 45;
const CHAR_PLUS = 43;
const CHAR_DOT = 46;

function isDigit(code: number): boolean {
  return code >= CHAR_0 && code <= CHAR_9;
}

function digitsAt(bytes: Uint8Array, start: number, count: number): number {
  let value = 0;
  for (let at = start; at < start + count; at++) {
    const code = bytes[at] as number;
    if (!isDigit(code)) return -1;
    value = value * 10 + (code - CHAR_0);
  }
  return value;
}

/** Most year digits read: 12 cover every timestamp in seconds (about ±292 billion years). */
const MAX_YEAR_DIGITS = 12;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

/** Where the date read by the last {@link parseDatePrefix} ended (a module slot: no tuple per cell). */
let dateEnd = 0;

/**
 * Parses the date at `bytes[start…]`: `YYYY-MM-DD`, or an ISO 8601 expanded year (a sign and
 * at least four digits: `+10000-01-01`, `-000001-01-01`), into days since the epoch; NaN when
 * there is none or the day does not exist (`2023-02-29`). Sets `dateEnd`.
 */
function parseDatePrefix(bytes: Uint8Array, start: number, end: number): number {
  let position = start;
  const first = bytes[position];
  const signed = first === CHAR_PLUS || first === CHAR_MINUS;
  if (signed) position++;
  let year = 0;
  let count = 0;
  while (position < end && isDigit(bytes[position] as number)) {
    if (++count > MAX_YEAR_DIGITS) return Number.NaN;
    year = year * 10 + ((bytes[position] as number) - CHAR_0);
    position++;
  }
  if (signed ? count < 4 : count !== 4) return Number.NaN;
  if (first === CHAR_MINUS) year = -year;
  if (end - position < 6 || bytes[position] !== CHAR_MINUS || bytes[position + 3] !== CHAR_MINUS) return Number.NaN;
  const month = digitsAt(bytes, position + 1, 2);
  const day = digitsAt(bytes, position + 4, 2);
  if (month < 1 || month > 12 || day < 1) return Number.NaN;
  const monthDays = month === 2 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[month] as number);
  if (day > monthDays) return Number.NaN;
  dateEnd = position + 6;
  return daysFromCivil(year, month, day);
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Parses a date (`YYYY-MM-DD` or an expanded year, see {@link formatYear}) into days since the epoch, or NaN. */
export function parseDateDays(bytes: Uint8Array, start: number, end: number): number {
  const days = parseDatePrefix(bytes, start, end);
  return dateEnd === end ? days : Number.NaN;
}

/** {@link parseDateDays} within date32's range (days in an int32), else NaN. */
export function parseDateText(bytes: Uint8Array, start: number, end: number): number {
  const days = parseDateDays(bytes, start, end);
  return days < INT32_MIN || days > INT32_MAX ? Number.NaN : days;
}

/**
 * The year as ISO 8601 writes it: four digits for 0000–9999, else the expanded form — a sign
 * and at least six digits (`+010000`, `-000001`), which JavaScript's Date, Java's time API
 * and this module's parser all read; a bare five-digit year would be ambiguous.
 */
export function formatYear(year: number): string {
  if (year >= 0 && year <= 9999) return String(year).padStart(4, '0');
  return `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
}

/** Formats days since the epoch as `YYYY-MM-DD` (years outside 0000–9999 expanded, see {@link formatYear}). */
export function formatDate(days: number): string {
  const [year, month, day] = civilFromDays(days);
  return `${formatYear(year)}-${pad(month, 2)}-${pad(day, 2)}`;
}

function pad(value: number, width: number): string {
  const text = String(Math.abs(value)).padStart(width, '0');
  return value < 0 ? `-${text}` : text;
}

/** Ticks per second of each Arrow time unit. */
export const unitPerSecond: Readonly<Record<number, number>> = {
  [TimeUnit.SECOND]: 1,
  [TimeUnit.MILLISECOND]: 1e3,
  [TimeUnit.MICROSECOND]: 1e6,
  [TimeUnit.NANOSECOND]: 1e9,
};
/** Fraction digits of each Arrow time unit. */
export const unitDigits: Readonly<Record<number, number>> = {
  [TimeUnit.SECOND]: 0,
  [TimeUnit.MILLISECOND]: 3,
  [TimeUnit.MICROSECOND]: 6,
  [TimeUnit.NANOSECOND]: 9,
};

/** What {@link parseTimestampInto} found: 0 invalid, 1 no zone designator, 2 with `Z` or an offset. */
export type TimestampParse = 0 | 1 | 2;

/**
 * Parses ISO 8601 `YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z|±HH[:]MM]` (or a bare date; years
 * may be expanded, see {@link formatYear}) into slot `index` of a 64-bit column in `unit`. An
 * offset is applied, so the stored value is the UTC instant; without one the wall time is
 * stored as is. Fraction digits beyond the unit must be zero, and the value must fit int64
 * (no silent truncation or wrapping). Seconds run 00–59: a leap second is refused (see
 * {@link hasLeapSecond}).
 */
export function parseTimestampInto(
  bytes: Uint8Array,
  start: number,
  end: number,
  words: Uint32Array,
  index: number,
  unit: TimeUnit,
): TimestampParse {
  if (end - start < 10) return 0;
  const days = parseDatePrefix(bytes, start, end);
  if (Number.isNaN(days)) return 0;
  let position = dateEnd;
  let secondOfDay = 0;
  let fraction = 0;
  let zoned: TimestampParse = 1;
  if (position < end) {
    const separator = bytes[position];
    if (separator !== 84 /* T */ && separator !== 32 /* space */) return 0;
    position++;
    if (end - position < 5 || bytes[position + 2] !== 58 /* : */) return 0;
    const hours = digitsAt(bytes, position, 2);
    const minutes = digitsAt(bytes, position + 3, 2);
    if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59) return 0;
    secondOfDay = hours * 3600 + minutes * 60;
    position += 5;
    if (position < end && bytes[position] === 58) {
      const secs = digitsAt(bytes, position + 1, 2);
      // 60 (a leap second) is refused: see hasLeapSecond.
      if (secs < 0 || secs > 59 || position + 3 > end) return 0;
      secondOfDay += secs;
      position += 3;
      if (position < end && bytes[position] === CHAR_DOT) {
        position++;
        const wanted = unitDigits[unit] as number;
        let count = 0;
        while (position < end && isDigit(bytes[position] as number)) {
          const digit = (bytes[position] as number) - CHAR_0;
          if (count < wanted) fraction = fraction * 10 + digit;
          else if (digit !== 0) return 0;
          count++;
          position++;
        }
        if (count === 0) return 0;
        for (let pad = Math.min(count, wanted); pad < wanted; pad++) fraction *= 10;
      }
    }
    if (position < end) {
      const zone = bytes[position];
      if (zone === 90 /* Z */ || zone === 122 /* z */) {
        if (position + 1 !== end) return 0;
        zoned = 2;
      } else if (zone === CHAR_PLUS || zone === CHAR_MINUS) {
        const sign = zone === CHAR_MINUS ? -1 : 1;
        const rest = end - position - 1;
        let offsetHours: number;
        let offsetMinutes: number;
        if (rest === 5 && bytes[position + 3] === 58) {
          offsetHours = digitsAt(bytes, position + 1, 2);
          offsetMinutes = digitsAt(bytes, position + 4, 2);
        } else if (rest === 4) {
          offsetHours = digitsAt(bytes, position + 1, 2);
          offsetMinutes = digitsAt(bytes, position + 3, 2);
        } else if (rest === 2) {
          offsetHours = digitsAt(bytes, position + 1, 2);
          offsetMinutes = 0;
        } else return 0;
        if (offsetHours < 0 || offsetMinutes < 0) return 0;
        secondOfDay -= sign * (offsetHours * 3600 + offsetMinutes * 60);
        zoned = 2;
      } else return 0;
    }
  }
  const perSecond = unitPerSecond[unit] as number;
  const seconds = days * 86400 + secondOfDay;
  const value = seconds * perSecond + fraction;
  if (Math.abs(value) < Number.MAX_SAFE_INTEGER) writeInt64Number(words, index, value);
  else {
    // Far from the epoch: exact arithmetic, and a value beyond int64 is refused, not wrapped.
    const exact = (BigInt(days) * 86400n + BigInt(secondOfDay)) * BigInt(perSecond) + BigInt(fraction);
    if (exact < INT64_MIN || exact > INT64_MAX) return 0;
    writeInt64BigInt(words, index, exact);
  }
  return zoned;
}

/**
 * True when `text` is an ISO 8601 timestamp whose seconds are 60: a leap second
 * (`2016-12-31T23:59:60Z`). Arrow timestamps count seconds since the epoch without leap
 * seconds (POSIX time), so no value of any unit is that instant: reading it as 23:59:59 or
 * as the next second would change it, so the readers refuse it and say why.
 */
export function hasLeapSecond(text: string): boolean {
  return /^\s*[+-]?\d{4,}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:60(?:[.,]\d*)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?\s*$/.test(text);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Formats a timestamp slot as ISO 8601 with as many fraction digits as the unit has
 * (`2024-05-01T12:00:00.000000`), appending `Z` when the column has a time zone (the stored
 * value is then a UTC instant).
 */
export function formatTimestamp(value: bigint, unit: TimeUnit, zoned: boolean): string {
  const perSecond = BigInt(unitPerSecond[unit] as number);
  let seconds = value / perSecond;
  let fraction = value % perSecond;
  if (fraction < 0n) {
    fraction += perSecond;
    seconds -= 1n;
  }
  // Seconds of int64 timestamps reach 2^63: days and the second of the day in BigInt, each
  // of which then fits a Number exactly.
  let days = seconds / 86400n;
  let secondOfDay = Number(seconds - days * 86400n);
  if (secondOfDay < 0) {
    secondOfDay += 86400;
    days -= 1n;
  }
  const hours = Math.floor(secondOfDay / 3600);
  const minutes = Math.floor((secondOfDay % 3600) / 60);
  const secs = secondOfDay % 60;
  const digits = unitDigits[unit] as number;
  const fractionText = digits > 0 ? `.${fraction.toString().padStart(digits, '0')}` : '';
  return `${formatDate(Number(days))}T${pad(hours, 2)}:${pad(minutes, 2)}:${pad(secs, 2)}${fractionText}${zoned ? 'Z' : ''}`;
}
