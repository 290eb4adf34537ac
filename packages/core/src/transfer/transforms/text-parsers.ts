/**
 * Strict parsers for the string → value casts. Surrounding whitespace is ignored; anything
 * else that does not match the documented grammar is unparseable (see docs/transforms.md).
 */
import { daysFromCivil, isValidDate } from './civil-time.ts';

/** Result of an exact-or-rounded integer computation. */
export interface RoundedInteger {
  value: bigint;
  /** False when non-zero digits were dropped (the value is rounded half away from zero). */
  exact: boolean;
}

/** `numerator / 10^digits`, rounded half away from zero. */
export function divideByPowerOfTen(numerator: bigint, digits: number): RoundedInteger {
  if (digits <= 0) return { value: numerator * 10n ** BigInt(-digits), exact: true };
  const divisor = 10n ** BigInt(digits);
  const quotient = numerator / divisor;
  const remainder = numerator - quotient * divisor;
  if (remainder === 0n) return { value: quotient, exact: true };
  const twice = (remainder < 0n ? -remainder : remainder) * 2n;
  const away = twice >= divisor;
  return { value: away ? quotient + (numerator < 0n ? -1n : 1n) : quotient, exact: false };
}

const DECIMAL = /^\s*([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?\s*$/;

/**
 * Parses decimal text (`-12.50`, `1e3`, `.5`) into an unscaled integer at `scale`
 * (value × 10^scale). Null when the text is not a number.
 */
export function parseDecimalText(text: string, scale: number): RoundedInteger | null {
  const match = DECIMAL.exec(text);
  if (!match) return null;
  const whole = match[2] ?? '';
  const fraction = match[3] ?? '';
  if (whole.length === 0 && fraction.length === 0) return null;
  const exponent = match[4] === undefined ? 0 : Number(match[4]);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > 10_000) return null;
  let digits = BigInt(`${whole}${fraction}` || '0');
  if (match[1] === '-') digits = -digits;
  // value = digits × 10^(exponent − fraction.length); unscaled = value × 10^scale
  return divideByPowerOfTen(digits, fraction.length - exponent - scale);
}

const FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOAT = /^([+-]?)(?:inf|infinity|nan)$/i;

/** Parses a float (decimal or exponent notation, `NaN`, `Infinity`, `inf`); NaN result with `ok: false` when unparseable. */
export function parseFloatText(raw: string): number | undefined {
  const text = raw.trim();
  if (FLOAT.test(text)) return Number(text);
  const special = SPECIAL_FLOAT.exec(text);
  if (!special) return undefined;
  if (/nan/i.test(text)) return Number.NaN;
  return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
}

/** `true/false`, `t/f`, `yes/no`, `y/n`, `1/0`, case-insensitive; undefined otherwise. */
export function parseBoolText(raw: string): boolean | undefined {
  switch (raw.trim().toLowerCase()) {
    case 'true':
    case 't':
    case 'yes':
    case 'y':
    case '1':
      return true;
    case 'false':
    case 'f':
    case 'no':
    case 'n':
    case '0':
      return false;
    default:
      return undefined;
  }
}

const DATE = /^\s*(\d{4})-(\d{2})-(\d{2})\s*$/;

/** `YYYY-MM-DD` → days since the epoch, or undefined. */
export function parseDateText(text: string): number | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (!isValidDate(year, month, day)) return undefined;
  return daysFromCivil(year, month, day);
}

const TIMESTAMP =
  /^\s*(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?\s*$/;

/** A parsed ISO 8601 timestamp: wall-clock parts plus the offset if the text had one. */
export interface ParsedTimestamp {
  /** Seconds since the epoch of the wall-clock time (as if it were UTC). */
  localSeconds: number;
  /** Fraction-of-second digits as written (may be longer than the target unit keeps). */
  fraction: string;
  /** Offset in seconds east of UTC, or null when the text had none (a wall-clock time). */
  offsetSeconds: number | null;
}

/**
 * `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM[:SS[.fffffffff]]` with an optional `Z` or `±HH[:MM]`.
 */
export function parseTimestampText(text: string): ParsedTimestamp | undefined {
  const match = TIMESTAMP.exec(text);
  if (!match) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = match[4] === undefined ? 0 : Number(match[4]);
  const minute = match[5] === undefined ? 0 : Number(match[5]);
  const second = match[6] === undefined ? 0 : Number(match[6]);
  if (!isValidDate(year, month, day) || hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetSeconds: number | null = null;
  if (match[8] !== undefined) offsetSeconds = 0;
  else if (match[9] !== undefined) {
    const offsetHours = Number(match[10]);
    const offsetMinutes = match[11] === undefined ? 0 : Number(match[11]);
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    offsetSeconds = (match[9] === '-' ? -1 : 1) * (offsetHours * 3600 + offsetMinutes * 60);
  }
  return {
    localSeconds: daysFromCivil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second,
    fraction: match[7] ?? '',
    offsetSeconds,
  };
}
