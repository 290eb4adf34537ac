/**
 * The shared back half of the CSV and NDJSON readers: a parser records, per column, byte
 * ranges into its read buffer ("cells"); this module turns those ranges into Arrow columns
 * with typed arrays and `makeData`. No per-row objects: a batch of a million cells costs a
 * few typed arrays. A measured hot loop (CSV and NDJSON reads in `pnpm bench`): one
 * monomorphic loop per type, kept together in this file on purpose.
 */
import { type Data, type DataType, type Decimal, Field, type List, makeData, type Timestamp, Type } from 'apache-arrow';
import { ByteBuffer, makeVariableWidthData, ValidityBuilder } from '../arrow/column-data.ts';
import { hasLeapSecond, parseDateDays, parseDateText, parseTimestampInto } from '../arrow/temporal-text.ts';
import { typeName } from '../arrow/type-names.ts';
import {
  latin1,
  parseDecimalInto,
  parseFloatText,
  parseInt64Into,
  parseSmallInt,
  sameNumber,
  slowFloatText,
} from '../arrow/value-text.ts';
import { ConfigError, HonkError } from '../errors/honk-error.ts';
import {
  CELL_ESCAPED,
  CELL_JSON,
  CELL_NULL,
  CELL_RAW,
  CellColumn,
  type CellDecoder,
  type CellOrigin,
  rowName,
} from './text-cells.ts';

function badValue(field: Field, origin: CellOrigin, row: number, text: string, why?: string): HonkError {
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  const number = origin.lines ? (origin.lines[row] as number) : origin.firstRow + row;
  return new HonkError(
    'DATA_CORRUPT',
    `cannot read ${JSON.stringify(shown)} in column "${field.name}" (${rowName(origin, row)} of ${origin.file}) as ${typeName(field.type)}${why ? `: ${why}` : ''}. Fix the data, or declare the column's type with the endpoint option \`schema: { ${field.name}: utf8 }\`.`,
    { details: { file: origin.file, column: field.name, row: number } },
  );
}

/** The most days date64 (milliseconds in an int64) holds either side of the epoch. */
const DATE64_MAX_DAYS = 106_751_991_167;

// The current cell of a non-string column, as module slots rather than a returned tuple:
// a tuple per cell was most of the readers' garbage.
let cellSource: Uint8Array = new Uint8Array(0);
let cellStart = 0;
let cellEnd = 0;
let trimmedStart = 0;
let trimmedEnd = 0;

/** Loads the text of a non-string cell into the cell slots; escaped cells are rare there, so the slow path is fine. */
function loadCell(bytes: Uint8Array, cells: CellColumn, row: number, decoder: CellDecoder): void {
  const start = cells.start[row] as number;
  const end = cells.end[row] as number;
  if (cells.kind[row] === CELL_ESCAPED) {
    const decoded = decoder.unescape(bytes, start, end);
    cellSource = decoded;
    cellStart = 0;
    cellEnd = decoded.length;
    return;
  }
  cellSource = bytes;
  cellStart = start;
  cellEnd = end;
}

/** The loaded cell without leading and trailing spaces and tabs, into the trimmed slots. */
function trimCell(): void {
  const bytes = cellSource;
  let from = cellStart;
  let to = cellEnd;
  while (from < to && (bytes[from] === 32 || bytes[from] === 9)) from++;
  while (to > from && (bytes[to - 1] === 32 || bytes[to - 1] === 9)) to--;
  trimmedStart = from;
  trimmedEnd = to;
}

/**
 * Builds one Arrow column of `rows` rows from its cells. Text cells that are empty count as
 * NULL for every non-string type; for utf8 only CELL_NULL is NULL. `exactFloats` (inferred
 * columns): a float whose text a double cannot hold exactly is refused instead of rounded.
 */
export function buildColumn(
  field: Field,
  bytes: Uint8Array,
  cells: CellColumn,
  rows: number,
  decoder: CellDecoder,
  origin: CellOrigin,
  exactFloats = false,
): Data {
  const type = field.type as DataType;
  const validity = new ValidityBuilder(rows);
  const kinds = cells.kind;
  switch (type.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8: {
      const starts = cells.start;
      const ends = cells.end;
      // Cell bytes are an upper bound of the value bytes (unescaping only shrinks), so one
      // exact allocation replaces a growing buffer and its final copy.
      let total = 0;
      for (let row = 0; row < rows; row++) {
        if (kinds[row] !== CELL_NULL) total += (ends[row] as number) - (starts[row] as number);
      }
      let data = new Uint8Array(total);
      let at = 0;
      const large = type.typeId === Type.LargeUtf8;
      const offsets = large ? new BigInt64Array(rows + 1) : new Int32Array(rows + 1);
      const small = offsets as Int32Array;
      for (let row = 0; row < rows; row++) {
        const kind = kinds[row];
        if (kind === CELL_NULL) validity.setNull(row);
        else if (kind === CELL_ESCAPED) {
          const value = decoder.unescape(bytes, starts[row] as number, ends[row] as number);
          data.set(value, at);
          at += value.length;
        } else {
          const start = starts[row] as number;
          const end = ends[row] as number;
          if (end - start < 48) for (let index = start; index < end; index++) data[at++] = bytes[index] as number;
          else {
            data.set(bytes.subarray(start, end), at);
            at += end - start;
          }
        }
        if (large) (offsets as BigInt64Array)[row + 1] = BigInt(at);
        else small[row + 1] = at;
      }
      if (at < total) data = data.slice(0, at);
      return makeData({
        type,
        length: rows,
        valueOffsets: offsets,
        data,
        nullBitmap: validity.bitmap(),
        nullCount: validity.nullCount,
      } as never);
    }
    case Type.Binary: {
      const offsets = new Int32Array(rows + 1);
      const data = new ByteBuffer(Math.max(1024, rows * 8));
      for (let row = 0; row < rows; row++) {
        if (kinds[row] === CELL_NULL) validity.setNull(row);
        else {
          loadCell(bytes, cells, row, decoder);
          const source = cellSource;
          const start = cellStart;
          const end = cellEnd;
          const text = latin1(source, start, end);
          if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw badValue(field, origin, row, text, 'not base64');
          data.append(Buffer.from(text, 'base64'));
        }
        offsets[row + 1] = data.length;
      }
      return makeVariableWidthData(type, rows, offsets, data.take(), validity);
    }
    case Type.Int: {
      const int = type as unknown as {
        bitWidth: number;
        isSigned: boolean;
        ArrayType: new (n: number) => ArrayLike<number>;
      };
      if (int.bitWidth === 64) {
        const words = new Uint32Array(rows * 2);
        for (let row = 0; row < rows; row++) {
          if (kinds[row] === CELL_NULL || cells.start[row] === cells.end[row]) {
            validity.setNull(row);
            continue;
          }
          loadCell(bytes, cells, row, decoder);
          const source = cellSource;
          const start = cellStart;
          const end = cellEnd;
          trimCell();
          const from = trimmedStart;
          const to = trimmedEnd;
          if (!parseInt64Into(source, from, to, words, row, !int.isSigned)) {
            throw badValue(field, origin, row, latin1(source, start, end));
          }
        }
        const values = int.isSigned ? new BigInt64Array(words.buffer) : new BigUint64Array(words.buffer);
        return makeData({
          type,
          length: rows,
          data: values,
          nullBitmap: validity.bitmap(),
          nullCount: validity.nullCount,
        } as never);
      }
      const values = new int.ArrayType(rows) as unknown as Int32Array;
      const max = int.isSigned ? 2 ** (int.bitWidth - 1) - 1 : 2 ** int.bitWidth - 1;
      const min = int.isSigned ? -(2 ** (int.bitWidth - 1)) : 0;
      for (let row = 0; row < rows; row++) {
        if (kinds[row] === CELL_NULL || cells.start[row] === cells.end[row]) {
          validity.setNull(row);
          continue;
        }
        loadCell(bytes, cells, row, decoder);
        const source = cellSource;
        const start = cellStart;
        const end = cellEnd;
        trimCell();
        const from = trimmedStart;
        const to = trimmedEnd;
        const value = parseSmallInt(source, from, to);
        if (Number.isNaN(value) || value > max || value < min) {
          throw badValue(
            field,
            origin,
            row,
            latin1(source, start, end),
            Number.isNaN(value) ? undefined : 'out of range',
          );
        }
        values[row] = value;
      }
      return makeData({
        type,
        length: rows,
        data: values,
        nullBitmap: validity.bitmap(),
        nullCount: validity.nullCount,
      } as never);
    }
    case Type.Float: {
      const ArrayType = (type as unknown as { ArrayType: new (n: number) => Float64Array }).ArrayType;
      if ((type as unknown as { precision: number }).precision === 0) {
        throw new ConfigError(`float16 columns ("${field.name}") are not supported in text formats; use float32.`);
      }
      const values = new ArrayType(rows);
      for (let row = 0; row < rows; row++) {
        if (kinds[row] === CELL_NULL || cells.start[row] === cells.end[row]) {
          validity.setNull(row);
          continue;
        }
        loadCell(bytes, cells, row, decoder);
        const source = cellSource;
        const start = cellStart;
        const end = cellEnd;
        const value = parseFloatText(source, start, end);
        if (Number.isNaN(value) && latin1(source, start, end).trim() !== 'NaN') {
          throw badValue(field, origin, row, latin1(source, start, end));
        }
        if (exactFloats) {
          const text = slowFloatText();
          if (text !== null && !sameNumber(text, value)) {
            throw badValue(
              field,
              origin,
              row,
              text,
              `a double cannot hold it exactly (it would become ${value}); the sample the type was inferred from did not show such values, so declare the column as decimal(p,s) or utf8`,
            );
          }
        }
        values[row] = value;
      }
      return makeData({
        type,
        length: rows,
        data: values,
        nullBitmap: validity.bitmap(),
        nullCount: validity.nullCount,
      } as never);
    }
    case Type.Bool: {
      const values = new Uint8Array(((rows + 63) & ~63) >> 3);
      for (let row = 0; row < rows; row++) {
        if (kinds[row] === CELL_NULL || cells.start[row] === cells.end[row]) {
          validity.setNull(row);
          continue;
        }
        loadCell(bytes, cells, row, decoder);
        const source = cellSource;
        const start = cellStart;
        const end = cellEnd;
        const value = parseBool(source, start, end);
        if (value === undefined)
          throw badValue(field, origin, row, latin1(source, start, end), 'expected true/false, t/f or 1/0');
        if (value) values[row >> 3] = (values[row >> 3] as number) | (1 << (row & 7));
      }
      return makeData({
        type,
        length: rows,
        data: values,
        nullBitmap: validity.bitmap(),
        nullCount: validity.nullCount,
      } as never);
    }
    case Type.Decimal: {
      const decimal = type as unknown as Decimal;
      if (decimal.bitWidth !== 128) {
        throw new ConfigError(
          `column "${field.name}" is decimal${decimal.bitWidth}; text formats read decimal128 only.`,
        );
      }
      const words = new Uint32Array(rows * 4);
      for (let row = 0; row < rows; row++) {
        if (kinds[row] === CELL_NULL || cells.start[row] === cells.end[row]) {
          validity.setNull(row);
          continue;
        }
        loadCell(bytes, cells, row, decoder);
        const source = cellSource;
        const start = cellStart;
        const end = cellEnd;
        trimCell();
        const from = trimmedStart;
        const to = trimmedEnd;
        if (!parseDecimalInto(source, from, to, words, row, decimal.precision, decimal.scale)) {
          throw badValue(
            field,
            origin,
            row,
            latin1(source, start, end),
            `needs at most ${decimal.precision} digits, ${decimal.scale} after the point`,
          );
        }
      }
      return makeData({
        type,
        length: rows,
        data: words,
        nullBitmap: validity.bitmap(),
        nullCount: validity.nullCount,
      } as never);
    }
    case Type.Date: {
      const millis = (type as unknown as { unit: number }).unit !== 0;
      const days32 = millis ? undefined : new Int32Array(rows);
      const days64 = millis ? new BigInt64Array(rows) : undefined;
      for (let row = 0; row < rows; row++) {
        if (kinds[row] === CELL_NULL || cells.start[row] === cells.end[row]) {
          validity.setNull(row);
          continue;
        }
        loadCell(bytes, cells, row, decoder);
        const source = cellSource;
        const start = cellStart;
        const end = cellEnd;
        trimCell();
        const from = trimmedStart;
        const to = trimmedEnd;
        const days = millis ? parseDateDays(source, from, to) : parseDateText(source, from, to);
        if (Number.isNaN(days) || (millis && Math.abs(days) > DATE64_MAX_DAYS)) {
          throw badValue(
            field,
            origin,
            row,
            latin1(source, start, end),
            'expected an existing date YYYY-MM-DD (years outside 0000-9999 as +YYYYYY or -YYYYYY) within the range of the type',
          );
        }
        if (days32) days32[row] = days;
        else (days64 as BigInt64Array)[row] = BigInt(days) * 86_400_000n;
      }
      return makeData({
        type,
        length: rows,
        data: days32 ?? days64,
        nullBitmap: validity.bitmap(),
        nullCount: validity.nullCount,
      } as never);
    }
    case Type.Timestamp: {
      const timestamp = type as unknown as Timestamp;
      const words = new Uint32Array(rows * 2);
      for (let row = 0; row < rows; row++) {
        if (kinds[row] === CELL_NULL || cells.start[row] === cells.end[row]) {
          validity.setNull(row);
          continue;
        }
        loadCell(bytes, cells, row, decoder);
        const source = cellSource;
        const start = cellStart;
        const end = cellEnd;
        trimCell();
        const from = trimmedStart;
        const to = trimmedEnd;
        if (kinds[row] === CELL_RAW && isInteger(source, from, to)) {
          // A bare integer is a count of units since the epoch (NDJSON writers often do this).
          parseInt64Into(source, from, to, words, row);
          continue;
        }
        if (parseTimestampInto(source, from, to, words, row, timestamp.unit) === 0) {
          const text = latin1(source, start, end);
          throw badValue(
            field,
            origin,
            row,
            text,
            hasLeapSecond(text)
              ? 'it is a leap second (seconds = 60), which Arrow timestamps cannot hold: they count seconds without leap seconds, so reading it as :59 or as the next second would change the value'
              : 'expected ISO 8601 within the range of the type, e.g. 2024-05-01T12:00:00.123456Z',
          );
        }
      }
      return makeData({
        type,
        length: rows,
        data: new BigInt64Array(words.buffer),
        nullBitmap: validity.bitmap(),
        nullCount: validity.nullCount,
      } as never);
    }
    case Type.List: {
      const list = type as unknown as List;
      if (!decoder.splitArray) {
        throw new ConfigError(
          `column "${field.name}" is ${typeName(type)}; CSV cannot hold lists. Use parquet, arrow or ndjson.`,
        );
      }
      const offsets = new Int32Array(rows + 1);
      const child = new CellColumn(Math.max(16, rows));
      let count = 0;
      for (let row = 0; row < rows; row++) {
        const kind = kinds[row];
        if (kind === CELL_NULL) validity.setNull(row);
        else if (kind !== CELL_JSON) {
          loadCell(bytes, cells, row, decoder);
          const source = cellSource;
          const start = cellStart;
          const end = cellEnd;
          throw badValue(field, origin, row, latin1(source, start, end), 'expected a JSON array');
        } else {
          count = decoder.splitArray(bytes, cells.start[row] as number, cells.end[row] as number, child, count);
        }
        offsets[row + 1] = count;
      }
      // An element's errors name the row (line) holding it.
      const elementRows = new Int32Array(count);
      for (let row = 0; row < rows; row++) {
        const number = origin.lines ? (origin.lines[row] as number) : origin.firstRow + row;
        elementRows.fill(number, offsets[row] as number, offsets[row + 1] as number);
      }
      const elementOrigin: CellOrigin = { ...origin, lines: elementRows };
      // Named for messages only (`tags[]`); the list type keeps its own child field.
      const element = new Field(`${field.name}[]`, list.valueType, true);
      const values = buildColumn(element, bytes, child, count, decoder, elementOrigin, exactFloats);
      return makeData({
        type,
        length: rows,
        valueOffsets: offsets,
        child: values,
        nullBitmap: validity.bitmap(),
        nullCount: validity.nullCount,
      } as never);
    }
    default:
      throw new ConfigError(
        `column "${field.name}" has type ${typeName(type)}, which text formats cannot read. Use parquet or arrow, or declare a supported type in \`schema:\`.`,
      );
  }
}

function isInteger(bytes: Uint8Array, start: number, end: number): boolean {
  let position = start;
  if (position < end && bytes[position] === 45) position++;
  if (position >= end) return false;
  for (; position < end; position++) {
    const code = bytes[position] as number;
    if (code < 48 || code > 57) return false;
  }
  return true;
}

/** true/false (any case), t/f, 1/0; undefined when the text is none of them. */
export function parseBool(bytes: Uint8Array, start: number, end: number): boolean | undefined {
  const length = end - start;
  const first = (bytes[start] as number) | 0x20;
  if (length === 1) {
    if (first === 0x74 || bytes[start] === 49) return true;
    if (first === 0x66 || bytes[start] === 48) return false;
    return undefined;
  }
  // `| 0x20` folds ASCII case; only the two cases of each letter fold onto it.
  if (length === 4) {
    return first === 0x74 &&
      ((bytes[start + 1] as number) | 0x20) === 0x72 &&
      ((bytes[start + 2] as number) | 0x20) === 0x75 &&
      ((bytes[start + 3] as number) | 0x20) === 0x65
      ? true
      : undefined;
  }
  if (length === 5) {
    return first === 0x66 &&
      ((bytes[start + 1] as number) | 0x20) === 0x61 &&
      ((bytes[start + 2] as number) | 0x20) === 0x6c &&
      ((bytes[start + 3] as number) | 0x20) === 0x73 &&
      ((bytes[start + 4] as number) | 0x20) === 0x65
      ? false
      : undefined;
  }
  return undefined;
}
