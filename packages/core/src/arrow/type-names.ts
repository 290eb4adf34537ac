/**
 * Textual Arrow type names, shared by explicit file schemas (`schema: { id: int64 }`), the
 * `cast:` transform and messages. One grammar everywhere, so a type a user writes in one
 * place is accepted in every other.
 *
 * Accepted names (case-insensitive, spaces around punctuation ignored):
 *
 * | name                                   | Arrow type                                   |
 * |----------------------------------------|----------------------------------------------|
 * | `int8` `int16` `int32` `int64`         | signed integers                              |
 * | `uint8` `uint16` `uint32` `uint64`     | unsigned integers                            |
 * | `float32` `float64` (`float`, `double`)| floating point                               |
 * | `bool` (`boolean`)                     | Bool                                         |
 * | `utf8` (`string`)                      | Utf8                                         |
 * | `large_utf8` (`large_string`)          | LargeUtf8                                    |
 * | `binary`                               | Binary                                       |
 * | `date32` (`date`)                      | Date32 (days since the epoch)                |
 * | `timestamp`                            | Timestamp, microseconds, no zone             |
 * | `timestamp[s|ms|us|ns]`                | Timestamp with that unit, no zone            |
 * | `timestamp[unit, Zone]`                | Timestamp with unit and IANA zone or offset, e.g. `timestamp[us, UTC]`, `timestamp[ms, Europe/Stockholm]` |
 * | `decimal(p,s)` (`decimal128(p,s)`)     | Decimal128, precision 1..38, scale 0..p      |
 * | `list<type>`                           | List whose items are `type` (nullable)       |
 *
 * {@link typeName} prints the canonical spelling (first name in each row), and
 * `parseTypeName(typeName(t))` equals `t` for every type above.
 */
import {
  Binary,
  Bool,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  LargeUtf8,
  List,
  Timestamp,
  TimeUnit,
  Type,
  Uint8,
  Uint16,
  Uint32,
  Uint64,
  Utf8,
} from 'apache-arrow';
import { ConfigError } from '../errors/honk-error.ts';

const simple: Record<string, () => DataType> = {
  int8: () => new Int8(),
  int16: () => new Int16(),
  int32: () => new Int32(),
  int64: () => new Int64(),
  uint8: () => new Uint8(),
  uint16: () => new Uint16(),
  uint32: () => new Uint32(),
  uint64: () => new Uint64(),
  float32: () => new Float32(),
  float: () => new Float32(),
  float64: () => new Float64(),
  double: () => new Float64(),
  bool: () => new Bool(),
  boolean: () => new Bool(),
  utf8: () => new Utf8(),
  string: () => new Utf8(),
  large_utf8: () => new LargeUtf8(),
  large_string: () => new LargeUtf8(),
  binary: () => new Binary(),
  date32: () => new DateDay(),
  date: () => new DateDay(),
  timestamp: () => new Timestamp(TimeUnit.MICROSECOND),
};

const units: Record<string, TimeUnit> = {
  s: TimeUnit.SECOND,
  ms: TimeUnit.MILLISECOND,
  us: TimeUnit.MICROSECOND,
  ns: TimeUnit.NANOSECOND,
};

const unitNames: Record<number, string> = {
  [TimeUnit.SECOND]: 's',
  [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us',
  [TimeUnit.NANOSECOND]: 'ns',
};

const ACCEPTED =
  'int8..int64, uint8..uint64, float32, float64, bool, utf8 (string), large_utf8, binary, date32 (date), timestamp, timestamp[s|ms|us|ns], timestamp[unit, Zone], decimal(p,s), list<type>';

function invalid(name: string, why: string): ConfigError {
  return new ConfigError(`Unknown type name "${name}": ${why}. Accepted type names: ${ACCEPTED}.`, {
    details: { typeName: name },
  });
}

/**
 * Parses a type name (see the table in this module's doc comment) into an Arrow DataType.
 * Throws a ConfigError naming the input and listing the accepted names.
 */
export function parseTypeName(name: string): DataType {
  const text = name.trim();
  const lower = text.toLowerCase().replace(/\s+/g, '');
  const plain = simple[lower];
  if (plain) return plain();

  const timestamp = /^timestamp\[\s*([a-z]+)\s*(?:,\s*(.+?)\s*)?\]$/i.exec(text);
  if (timestamp) {
    const unit = units[(timestamp[1] ?? '').toLowerCase()];
    if (unit === undefined) throw invalid(name, `timestamp unit must be one of s, ms, us, ns`);
    const zone = timestamp[2];
    return new Timestamp(unit, zone === undefined || zone === '' ? null : zone);
  }

  const decimal = /^decimal(?:128)?\((\d+),(\d+)\)$/.exec(lower);
  if (decimal) {
    const precision = Number(decimal[1]);
    const scale = Number(decimal[2]);
    if (precision < 1 || precision > 38) throw invalid(name, 'decimal precision must be between 1 and 38');
    if (scale > precision) throw invalid(name, 'decimal scale must not exceed its precision');
    // Arrow's constructor takes (scale, precision, bitWidth): the order is easy to get wrong.
    return new Decimal(scale, precision, 128);
  }

  const list = /^list\s*<(.+)>$/i.exec(text);
  if (list) {
    const inner = parseTypeName(list[1] ?? '');
    return new List(new Field('item', inner, true));
  }
  throw invalid(name, 'not a recognised type');
}

/**
 * The canonical name of an Arrow type, accepted back by {@link parseTypeName}. Types outside
 * the grammar (structs, maps, unions …) get Arrow's own description so messages stay useful;
 * those names do not parse.
 */
export function typeName(type: DataType): string {
  switch (type.typeId) {
    case Type.Int: {
      const int = type as unknown as { isSigned: boolean; bitWidth: number };
      return `${int.isSigned ? 'int' : 'uint'}${int.bitWidth}`;
    }
    case Type.Float: {
      const precision = (type as unknown as { precision: number }).precision;
      return precision === 2 ? 'float64' : precision === 1 ? 'float32' : 'float16';
    }
    case Type.Bool:
      return 'bool';
    case Type.Utf8:
      return 'utf8';
    case Type.LargeUtf8:
      return 'large_utf8';
    case Type.Binary:
      return 'binary';
    case Type.Date: {
      const unit = (type as unknown as { unit: number }).unit;
      return unit === 0 ? 'date32' : 'date64';
    }
    case Type.Timestamp: {
      const timestamp = type as unknown as Timestamp;
      const unit = unitNames[timestamp.unit] ?? 'us';
      return timestamp.timezone ? `timestamp[${unit}, ${timestamp.timezone}]` : `timestamp[${unit}]`;
    }
    case Type.Decimal: {
      const decimal = type as unknown as Decimal;
      return decimal.bitWidth === 128
        ? `decimal(${decimal.precision},${decimal.scale})`
        : `decimal${decimal.bitWidth}(${decimal.precision},${decimal.scale})`;
    }
    case Type.List: {
      const child = (type as unknown as List).valueType as DataType;
      return `list<${typeName(child)}>`;
    }
    default:
      return String(type);
  }
}
