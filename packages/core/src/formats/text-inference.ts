/**
 * Type inference for CSV and NDJSON from a sample of cells. The rule (documented in
 * docs/file-connector.md) is deliberately conservative: a column gets a non-string type only
 * when every non-null sampled value has that type's exact text form AND the type holds the
 * value exactly, so a type is never guessed from a partial match (`007` stays text: a leading
 * zero is information) and never rounds (float64 only when every value's text round-trips
 * through a double; integers beyond int64 become decimal128, never float64). Binary is never
 * inferred: base64 cannot be told apart from text.
 */
import {
  Bool,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Float64,
  Int64,
  List,
  Timestamp,
  TimeUnit,
  Utf8,
} from 'apache-arrow';
import { parseDateText, parseTimestampInto } from '../arrow/temporal-text.ts';
import { sameNumber } from '../arrow/value-text.ts';
import { CELL_ESCAPED, CELL_JSON, CELL_NULL, CELL_RAW, CellColumn, type CellDecoder } from './text-cells.ts';

const BOOL = 1;
const INT = 2;
const FLOAT = 4;
const DATE = 8;
const TS_NAIVE = 16;
const TS_ZONED = 32;
const LIST = 64;
const DECIMAL = 128;
const ALL = BOOL | INT | FLOAT | DATE | TS_NAIVE | TS_ZONED | LIST | DECIMAL;

/** decimal128's most digits. */
const MAX_DECIMAL_PRECISION = 38;

const scratch = new Uint32Array(2);
// No leading zeros (`007` is an identifier, not a number) in any numeric pattern.
const integerPattern = /^[-+]?(0|[1-9]\d*)$/;
const decimalPattern = /^[-+]?(0|[1-9]\d*)(\.\d+)?$/;
const floatPattern = /^[-+]?((0|[1-9]\d*)(\.\d*)?([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|NaN|Infinity)$/;
/** Negative zero (`-0`, `-0.00`): only a float holds its sign. */
const negativeZeroPattern = /^-0*\.?0*([eE][-+]?\d+)?$/;

/**
 * Infers the Arrow type of one column from `rows` sampled cells. `json` says the cells come
 * from NDJSON, where quoting is typing: a JSON string is never a number or a boolean.
 */
export function inferColumnType(
  bytes: Uint8Array,
  cells: CellColumn,
  rows: number,
  decoder: CellDecoder,
  json: boolean,
): DataType {
  let candidates = ALL;
  let seen = 0;
  let integersOnly = true;
  let integerDigits = 0;
  let scale = 0;
  const elements = new CellColumn(16);
  let elementCount = 0;
  for (let row = 0; row < rows && candidates !== 0; row++) {
    const kind = cells.kind[row];
    if (kind === CELL_NULL) continue;
    seen++;
    const start = cells.start[row] as number;
    const end = cells.end[row] as number;
    if (kind === CELL_JSON) {
      if (bytes[start] === 91 /* [ */ && decoder.splitArray) {
        candidates &= LIST;
        elementCount = decoder.splitArray(bytes, start, end, elements, elementCount);
      } else candidates = 0;
      continue;
    }
    candidates &= ~LIST;
    if (start === end) {
      candidates = 0; // an empty string that is not NULL is text
      continue;
    }
    let source = bytes;
    let from = start;
    let to = end;
    if (kind === CELL_ESCAPED) {
      source = decoder.unescape(bytes, start, end);
      from = 0;
      to = source.length;
    }
    const text =
      kind === CELL_ESCAPED || to - from < 64 ? Buffer.from(source.subarray(from, to)).toString('latin1') : '';
    const numeric = !json || kind === CELL_RAW;
    const stringy = !json || kind !== CELL_RAW;
    if (candidates & BOOL && !(numeric && /^(true|false)$/i.test(text))) candidates &= ~BOOL;
    if (candidates & (INT | FLOAT | DECIMAL)) {
      const number = numeric && floatPattern.test(text);
      const negativeZero = number && negativeZeroPattern.test(text);
      const integer = number && !negativeZero && integerPattern.test(text);
      if (!integer) integersOnly = false;
      if (candidates & INT && !(integer && fitsInt64(text))) candidates &= ~INT;
      if (candidates & FLOAT && !(number && sameNumber(text, Number(text)))) candidates &= ~FLOAT;
      if (candidates & DECIMAL) {
        if (number && !negativeZero && decimalPattern.test(text)) {
          const unsigned = text.replace(/^[-+]/, '');
          const point = unsigned.indexOf('.');
          const whole = point < 0 ? unsigned : unsigned.slice(0, point);
          integerDigits = Math.max(integerDigits, whole === '0' ? 0 : whole.length);
          scale = Math.max(scale, point < 0 ? 0 : unsigned.length - point - 1);
          if (integerDigits + scale > MAX_DECIMAL_PRECISION) candidates &= ~DECIMAL;
        } else candidates &= ~DECIMAL;
      }
    }
    const days = stringy ? parseDateText(source, from, to) : Number.NaN;
    if (candidates & DATE && Number.isNaN(days)) candidates &= ~DATE;
    if (candidates & (TS_NAIVE | TS_ZONED)) {
      const parsed = stringy ? parseTimestampInto(source, from, to, scratch, 0, TimeUnit.MICROSECOND) : 0;
      // A bare date also parses as a timestamp; it only counts as one when it has a time part.
      if (parsed !== 1 || !Number.isNaN(days)) candidates &= ~TS_NAIVE;
      if (parsed !== 2) candidates &= ~TS_ZONED;
    }
  }
  if (seen === 0) return new Utf8();
  if (candidates & LIST) {
    const child = inferColumnType(bytes, elements, elementCount, decoder, json);
    return new List(new Field('item', child, true));
  }
  if (candidates & BOOL) return new Bool();
  if (candidates & INT) return new Int64();
  // Integers beyond int64 stay integers: a decimal of scale 0, even where a double happens to hold them.
  if (candidates & DECIMAL && integersOnly) return new Decimal(0, Math.max(1, integerDigits), 128);
  if (candidates & FLOAT) return new Float64();
  if (candidates & DECIMAL) return new Decimal(scale, Math.max(1, integerDigits + scale), 128);
  if (candidates & DATE) return new DateDay();
  if (candidates & TS_NAIVE) return new Timestamp(TimeUnit.MICROSECOND);
  if (candidates & TS_ZONED) return new Timestamp(TimeUnit.MICROSECOND, 'UTC');
  return new Utf8();
}

function fitsInt64(text: string): boolean {
  if (text.replace(/^[-+]/, '').length < 19) return true;
  const value = BigInt(text);
  return value >= -(2n ** 63n) && value < 2n ** 63n;
}
