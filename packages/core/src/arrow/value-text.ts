/**
 * Text encodings of Arrow values shared by text formats (CSV, NDJSON) and messages: parsing
 * straight from bytes into typed-array slots, and formatting typed-array slots as text.
 * Parsers return `false` when the text is not a valid value, so callers can name the
 * column and row in their error.
 *
 * 64-bit and 128-bit values are written as 32-bit words (little-endian, like Arrow's
 * buffers) through a Uint32Array view; the Number fast path covers |v| < 2^53 and BigInt is
 * used only beyond it, so the common case allocates nothing.
 */
const TWO_32 = 4294967296;
const SAFE_DIGITS = 15;

const CHAR_0 = 48;
const CHAR_9 = 57;
const CHAR_MINUS = 45;
const CHAR_PLUS = 43;
const CHAR_DOT = 46;

/** Writes an integral Number (|v| < 2^53) into a two-word slot of a Uint32Array. */
export function writeInt64Number(words: Uint32Array, index: number, value: number): void {
  words[index * 2] = value >>> 0;
  words[index * 2 + 1] = Math.floor(value / TWO_32) >>> 0;
}

/** Writes a BigInt into a two-word slot of a Uint32Array (two's complement). */
export function writeInt64BigInt(words: Uint32Array, index: number, value: bigint): void {
  const unsigned = BigInt.asUintN(64, value);
  words[index * 2] = Number(unsigned & 0xffffffffn);
  words[index * 2 + 1] = Number(unsigned >> 32n);
}

function isDigit(code: number): boolean {
  return code >= CHAR_0 && code <= CHAR_9;
}

/**
 * Parses an optionally signed decimal integer in `bytes[start, end)` into slot `index` of a
 * 64-bit column viewed as words. Returns false if the text is not an integer or overflows
 * (`unsigned` selects the uint64 range).
 */
export function parseInt64Into(
  bytes: Uint8Array,
  start: number,
  end: number,
  words: Uint32Array,
  index: number,
  unsigned = false,
): boolean {
  let position = start;
  let negative = false;
  if (position < end && (bytes[position] === CHAR_MINUS || bytes[position] === CHAR_PLUS)) {
    negative = bytes[position] === CHAR_MINUS;
    position++;
  }
  const digits = end - position;
  if (digits <= 0) return false;
  if (digits <= SAFE_DIGITS) {
    let value = 0;
    for (let at = position; at < end; at++) {
      const code = bytes[at] as number;
      if (!isDigit(code)) return false;
      value = value * 10 + (code - CHAR_0);
    }
    if (negative && unsigned && value !== 0) return false;
    writeInt64Number(words, index, negative ? -value : value);
    return true;
  }
  for (let at = position; at < end; at++) if (!isDigit(bytes[at] as number)) return false;
  let value = BigInt(latin1(bytes, position, end));
  if (negative) value = -value;
  if (unsigned ? value < 0n || value > 0xffffffffffffffffn : value < -(2n ** 63n) || value > 2n ** 63n - 1n) {
    return false;
  }
  writeInt64BigInt(words, index, value);
  return true;
}

/** Parses a small integer (int8..int32, uint8..uint32) or returns NaN. */
export function parseSmallInt(bytes: Uint8Array, start: number, end: number): number {
  let position = start;
  let negative = false;
  if (position < end && (bytes[position] === CHAR_MINUS || bytes[position] === CHAR_PLUS)) {
    negative = bytes[position] === CHAR_MINUS;
    position++;
  }
  if (position >= end || end - position > 10) return Number.NaN;
  let value = 0;
  for (let at = position; at < end; at++) {
    const code = bytes[at] as number;
    if (!isDigit(code)) return Number.NaN;
    value = value * 10 + (code - CHAR_0);
  }
  return negative ? -value : value;
}

/** Decodes `bytes[start, end)` as Latin-1 (exact for the ASCII text numbers are made of). */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (end - start < 24) {
    let text = '';
    for (let at = start; at < end; at++) text += String.fromCharCode(bytes[at] as number);
    return text;
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString('latin1');
}

const POW10_EXACT: number[] = [];
for (let power = 0, value = 1; power <= 22; power++, value *= 10) POW10_EXACT.push(value);

let lastSlowFloatText: string | null = null;

/**
 * The trimmed text the last {@link parseFloatText} call parsed through `Number()`, or null
 * when it took the fast path (at most 15 digits, no exponent: always exact). A module slot,
 * so exactness checks (see {@link sameNumber}) only look at the rare long spellings.
 */
export function slowFloatText(): string | null {
  return lastSlowFloatText;
}

/** Parses a float; accepts what `Number()` accepts plus NaN/Infinity spellings. */
export function parseFloatText(bytes: Uint8Array, start: number, end: number): number {
  // Fast path for plain decimals (`-12.5`) of at most 15 digits: the digits are an exact
  // integer and 10^k (k <= 22) an exact double, so one division is correctly rounded, the
  // same double Number() gives, without making a string.
  let position = start;
  let negative = false;
  if (position < end && (bytes[position] === CHAR_MINUS || bytes[position] === CHAR_PLUS)) {
    negative = bytes[position] === CHAR_MINUS;
    position++;
  }
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  let dot = false;
  for (; position < end; position++) {
    const code = bytes[position] as number;
    if (isDigit(code)) {
      mantissa = mantissa * 10 + (code - CHAR_0);
      digits++;
      if (dot) fraction++;
    } else if (code === CHAR_DOT && !dot) dot = true;
    else break;
  }
  if (position === end && digits > 0 && digits <= SAFE_DIGITS) {
    lastSlowFloatText = null;
    const value = fraction === 0 ? mantissa : mantissa / (POW10_EXACT[fraction] as number);
    return negative ? -value : value;
  }
  const text = latin1(bytes, start, end).trim();
  lastSlowFloatText = text;
  if (text === '') return Number.NaN;
  const value = Number(text);
  if (Number.isNaN(value) && text !== 'NaN') return Number.NaN;
  return value;
}

const numberPattern = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/;

/** Sign, significant digits and exponent of a decimal spelling (`-12.50e3` → `-125e2`); undefined when it is none. */
function canonicalNumber(text: string): string | undefined {
  if (text === 'Infinity' || text === '+Infinity') return 'Infinity';
  if (text === '-Infinity') return text;
  const match = numberPattern.exec(text);
  if (!match) return undefined;
  const whole = match[2] as string;
  const fraction = match[3] ?? '';
  const all = `${whole}${fraction}`;
  if (all === '') return undefined;
  let first = 0;
  while (first < all.length && all.charCodeAt(first) === CHAR_0) first++;
  const sign = match[1] === '-' ? '-' : '';
  if (first === all.length) return `${sign}0`;
  let last = all.length;
  while (all.charCodeAt(last - 1) === CHAR_0) last--;
  const exponent = Number(match[4] ?? '0') - fraction.length + (all.length - last);
  return `${sign}${all.slice(first, last)}e${exponent}`;
}

/**
 * True when `text` spells exactly the float `value`: the same number as the value's shortest
 * round-trip spelling (`1.10` is 1.1; `9007199254740993` is not 2^53, `1e400` is not
 * Infinity). Negative zero and NaN count as themselves.
 */
export function sameNumber(text: string, value: number): boolean {
  if (Number.isNaN(value)) return text === 'NaN';
  // Most values are written in their shortest spelling already (`1.25`): no need to compare digits.
  if (value !== 0 && String(value) === text) return true;
  const spelled = canonicalNumber(text);
  return spelled !== undefined && spelled === canonicalNumber(value === 0 && 1 / value < 0 ? '-0' : String(value));
}

/**
 * Parses a decimal number (`-123.45`, no exponent) with at most `scale` fractional digits
 * into a 128-bit slot (four words) holding the unscaled integer. Returns false when the text
 * is not a decimal, needs more fractional digits than `scale` (which would lose digits), or
 * exceeds `precision` digits.
 */
export function parseDecimalInto(
  bytes: Uint8Array,
  start: number,
  end: number,
  words: Uint32Array,
  index: number,
  precision: number,
  scale: number,
): boolean {
  let position = start;
  let negative = false;
  if (position < end && (bytes[position] === CHAR_MINUS || bytes[position] === CHAR_PLUS)) {
    negative = bytes[position] === CHAR_MINUS;
    position++;
  }
  let fractionDigits = 0;
  let seenDot = false;
  let seenDigit = false;
  let small = 0;
  let significant = 0;
  for (let at = position; at < end; at++) {
    const code = bytes[at] as number;
    if (code === CHAR_DOT) {
      if (seenDot) return false;
      seenDot = true;
      continue;
    }
    if (!isDigit(code)) return false;
    seenDigit = true;
    if (seenDot) {
      fractionDigits++;
      if (fractionDigits > scale) {
        if (code !== CHAR_0) return false;
        continue;
      }
    }
    if (significant > 0 || code !== CHAR_0) significant++;
    small = small * 10 + (code - CHAR_0);
  }
  if (!seenDigit) return false;
  const usedFraction = Math.min(fractionDigits, scale);
  // Digits before the point (leading zeros aside) plus the scale must fit the precision.
  if (significant - usedFraction > precision - scale && significant > usedFraction) return false;
  const padding = scale - usedFraction;
  const base = index * 4;
  if (significant + padding <= SAFE_DIGITS) {
    let value = small * 10 ** padding;
    if (negative) value = -value;
    words[base] = value >>> 0;
    const high = Math.floor(value / TWO_32);
    words[base + 1] = high >>> 0;
    const extension = value < 0 ? 0xffffffff : 0;
    words[base + 2] = extension;
    words[base + 3] = extension;
    return true;
  }
  // Slow path: rebuild the digit string without the point and let BigInt do the arithmetic.
  let digits = '';
  let fractionSeen = 0;
  let dot = false;
  for (let at = position; at < end; at++) {
    const code = bytes[at] as number;
    if (code === CHAR_DOT) {
      dot = true;
      continue;
    }
    if (dot) {
      fractionSeen++;
      if (fractionSeen > scale) continue;
    }
    digits += String.fromCharCode(code);
  }
  let value = BigInt(digits) * 10n ** BigInt(padding);
  if (negative) value = -value;
  writeDecimalBigInt(words, index, value);
  return true;
}

/** Writes a BigInt into a four-word (128-bit) slot. */
export function writeDecimalBigInt(words: Uint32Array, index: number, value: bigint): void {
  let unsigned = BigInt.asUintN(128, value);
  const base = index * 4;
  for (let word = 0; word < 4; word++) {
    words[base + word] = Number(unsigned & 0xffffffffn);
    unsigned >>= 32n;
  }
}

/** Reads a 128-bit slot as a BigInt. */
export function readDecimalBigInt(words: Uint32Array, index: number): bigint {
  const base = index * 4;
  let value = 0n;
  for (let word = 3; word >= 0; word--) value = (value << 32n) | BigInt(words[base + word] as number);
  return BigInt.asIntN(128, value);
}

/** Formats a 128-bit slot holding an unscaled integer as a decimal string with `scale` digits after the point. */
export function formatDecimal(words: Uint32Array, index: number, scale: number): string {
  const base = index * 4;
  const low = words[base] as number;
  const high = words[base + 1] as number;
  const word2 = words[base + 2] as number;
  const word3 = words[base + 3] as number;
  let digits: string;
  let negative = false;
  // Fast path: the value fits in 53 bits (words 2 and 3 are pure sign extension).
  if (word2 === 0 && word3 === 0 && high < 0x200000) {
    digits = String(high * TWO_32 + low);
  } else if (word2 === 0xffffffff && word3 === 0xffffffff && high >= 0xffe00000) {
    const value = (high - TWO_32) * TWO_32 + low;
    negative = true;
    digits = String(-value);
  } else {
    const value = readDecimalBigInt(words, index);
    negative = value < 0n;
    digits = (negative ? -value : value).toString();
  }
  if (scale > 0) {
    if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
    digits = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  }
  return negative ? `-${digits}` : digits;
}

/** Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/** The inverse of {@link daysFromCivil}: `[year, month, day]`. */
export function civilFromDays(days: number): [number, number, number] {
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
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

/**
 * A float as text that reads back to the same bits: JavaScript's shortest round-trip
 * spelling, except negative zero, which `String()` spells `0`: it is `-0.0` (a float
 * spelling, so inference keeps it a float).
 */
export function formatFloat(value: number): string {
  return value === 0 && 1 / value < 0 ? '-0.0' : String(value);
}
