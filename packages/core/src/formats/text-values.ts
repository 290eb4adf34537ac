/**
 * Formatting Arrow values as text for the CSV and NDJSON writers, reading the typed arrays
 * directly (Vector.get() is slow and lossy for int64/decimal). Each formatter handles sliced
 * data. The encodings match what the readers parse, so an explicit schema round-trips.
 *
 * A dictionary-encoded column holds values of its value type: it is written as those values
 * (NULLs kept) and read back as the value type ({@link decodedType}).
 */
import { isUtf8 } from 'node:buffer';
import {
  type Data,
  type DataType,
  type Decimal,
  type Dictionary,
  Field,
  List,
  type Timestamp,
  Type,
} from 'apache-arrow';
import { isValid } from '../arrow/column-data.ts';
import { formatDate, formatTimestamp } from '../arrow/temporal-text.ts';
import { typeName } from '../arrow/type-names.ts';
import { formatDecimal, formatFloat } from '../arrow/value-text.ts';
import { SchemaMismatchError } from '../errors/honk-error.ts';
import { chunkHolding } from './column-cursor.ts';
import { badDictionaryIndex, type CellPlace, checkUtf8Value, notWholeDay } from './text-write-errors.ts';

/** Returns the text of row `index`, or null for NULL. */
export type CellFormatter = (index: number) => string | null;

/** How a value is spelled in JSON: bare (numbers, booleans, arrays) or as a JSON string. */
export type JsonSpelling = 'bare' | 'string';

/** Whether a type is written bare in NDJSON. */
export function jsonSpelling(type: DataType): JsonSpelling {
  switch (type.typeId) {
    case Type.Int:
    case Type.Float:
    case Type.Bool:
    case Type.List:
      return 'bare';
    case Type.Dictionary:
      return jsonSpelling((type as unknown as Dictionary).dictionary);
    default:
      return 'string';
  }
}

/** True when text formats can write this type (`lists` for NDJSON). */
export function textWritable(type: DataType, lists: boolean): boolean {
  switch (type.typeId) {
    case Type.Int:
    case Type.Bool:
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary:
    case Type.Timestamp:
      return true;
    case Type.Float:
      return (type as unknown as { precision: number }).precision !== 0;
    case Type.Date:
      return true;
    case Type.Decimal:
      return (type as unknown as Decimal).bitWidth === 128;
    case Type.List:
      return lists && textWritable((type as unknown as List).valueType, lists);
    case Type.Dictionary: {
      const values = (type as unknown as Dictionary).dictionary;
      return values.typeId !== Type.Dictionary && textWritable(values, lists);
    }
    default:
      return false;
  }
}

/**
 * The type a text reader reads a written column back as: dictionaries (also inside lists)
 * become their value type, since the writers write the values.
 */
export function decodedType(type: DataType): DataType {
  if (type.typeId === Type.Dictionary) return decodedType((type as unknown as Dictionary).dictionary);
  if (type.typeId === Type.List) {
    const child = (type as unknown as List).children[0] as Field;
    const decoded = decodedType(child.type);
    if (decoded !== child.type) return new List(new Field(child.name, decoded, child.nullable, child.metadata));
  }
  return type;
}

/** Throws a SchemaMismatchError naming the first column the format cannot hold. */
export function checkTextWritable(fields: readonly { name: string; type: DataType }[], format: 'csv' | 'ndjson'): void {
  for (const field of fields) {
    if (!textWritable(field.type, format === 'ndjson')) {
      throw new SchemaMismatchError(
        `column "${field.name}" has type ${typeName(field.type)}, which ${format} cannot hold. Write parquet or arrow instead, or cast the column (e.g. to utf8).`,
        { details: { column: field.name, type: typeName(field.type), format } },
      );
    }
  }
}

const decoder = new TextDecoder();

/**
 * A formatter for one column. `json` selects NDJSON spellings: list values become JSON
 * arrays and non-finite floats are spelled as strings by the caller. `place(index)` names
 * value `index` in messages (the row holding it): values the writers refuse (utf8 that is
 * not UTF-8, a date64 that is not a whole day) are refused naming it.
 */
export function cellFormatter(data: Data, json: boolean, place: (index: number) => CellPlace): CellFormatter {
  const type = data.type as DataType;
  const valid = (index: number) => isValid(data, index);
  switch (type.typeId) {
    case Type.Utf8:
    case Type.LargeUtf8:
    case Type.Binary: {
      const offsets = data.valueOffsets as Int32Array | BigInt64Array;
      const bytes = data.values as Uint8Array;
      const binary = type.typeId === Type.Binary;
      const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      // One pass over the bytes of all values; cell by cell only when it fails.
      const checked =
        binary || data.length === 0 || isUtf8(bytes.subarray(Number(offsets[0]), Number(offsets[data.length])));
      return (index) => {
        if (!valid(index)) return null;
        const start = Number(offsets[index]);
        const end = Number(offsets[index + 1]);
        if (binary) return buffer.toString('base64', start, end);
        if (!checked) checkUtf8Value(bytes, start, end, () => place(index));
        return buffer.toString('utf8', start, end);
      };
    }
    case Type.Int: {
      const values = data.values as ArrayLike<number | bigint>;
      return (index) => (valid(index) ? String(values[index]) : null);
    }
    case Type.Float: {
      const values = data.values as Float64Array;
      return (index) => (valid(index) ? formatFloat(values[index] as number) : null);
    }
    case Type.Bool: {
      const bits = data.values as Uint8Array;
      return (index) => {
        if (!valid(index)) return null;
        const position = data.offset + index;
        return (bits[position >> 3] as number) & (1 << (position & 7)) ? 'true' : 'false';
      };
    }
    case Type.Decimal: {
      const words = data.values as Uint32Array;
      const scale = (type as unknown as Decimal).scale;
      return (index) => (valid(index) ? formatDecimal(words, index, scale) : null);
    }
    case Type.Date: {
      if ((type as unknown as { unit: number }).unit === 0) {
        const days = data.values as Int32Array;
        return (index) => (valid(index) ? formatDate(days[index] as number) : null);
      }
      const millis = data.values as BigInt64Array;
      return (index) => {
        if (!valid(index)) return null;
        const value = millis[index] as bigint;
        if (value % 86_400_000n !== 0n) throw notWholeDay(place(index), value);
        return formatDate(Number(value / 86_400_000n));
      };
    }
    case Type.Timestamp: {
      const values = data.values as BigInt64Array;
      const timestamp = type as unknown as Timestamp;
      const zoned = Boolean(timestamp.timezone);
      return (index) => (valid(index) ? formatTimestamp(values[index] as bigint, timestamp.unit, zoned) : null);
    }
    case Type.List: {
      const offsets = data.valueOffsets as Int32Array;
      const child = data.children[0] as Data;
      // Elements are named by the row of the list being formatted.
      let row = 0;
      const childFormat = cellFormatter(child, json, () => place(row));
      const spelling = jsonSpelling(child.type as DataType);
      return (index) => {
        if (!valid(index)) return null;
        row = index;
        const parts: string[] = [];
        for (let at = offsets[index] as number; at < (offsets[index + 1] as number); at++) {
          const text = childFormat(at);
          parts.push(text === null ? 'null' : spelling === 'bare' ? bareJson(text) : JSON.stringify(text));
        }
        return `[${parts.join(',')}]`;
      };
    }
    case Type.Dictionary:
      return dictionaryFormatter(data, json, place);
    default:
      throw new SchemaMismatchError(`cannot write type ${typeName(type)} as text.`);
  }
}

/** Formats each row as the dictionary entry its index points at (the entries may come in several chunks). */
function dictionaryFormatter(data: Data, json: boolean, place: (index: number) => CellPlace): CellFormatter {
  const chunks = (data.dictionary?.data ?? []) as Data[];
  let row = 0;
  const formats = chunks.map((chunk) => cellFormatter(chunk, json, () => place(row)));
  const starts = new Float64Array(chunks.length);
  let entries = 0;
  for (const [chunk, entry] of chunks.entries()) {
    starts[chunk] = entries;
    entries += entry.length;
  }
  const indices = data.values as ArrayLike<number | bigint>;
  return (index) => {
    if (!isValid(data, index)) return null;
    const position = Number(indices[index]);
    if (!(position >= 0 && position < entries)) throw badDictionaryIndex(place(index), position, entries);
    const chunk = chunkHolding(starts, position);
    row = index;
    return (formats[chunk] as CellFormatter)(position - (starts[chunk] as number));
  };
}

/** Numbers that JSON cannot spell bare (NaN, ±Infinity) become strings. */
export function bareJson(text: string): string {
  return text === 'NaN' || text === 'Infinity' || text === '-Infinity' ? `"${text}"` : text;
}

export { decoder as utf8Decoder };
