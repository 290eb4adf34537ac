/**
 * The `schema` validator: column names, order and logical types.
 *
 * Types are compared by logical meaning with the same equivalences as the row hash, so a
 * sink that stores a value in another physical type still passes: any integer width or
 * signedness, int ↔ decimal(p,0), utf8 ↔ large_utf8 ↔ utf8_view, the binary family,
 * list ↔ large_list ↔ fixed_size_list, dictionary ↔ plain, date32 ↔ date64.
 * Nullability is ignored (many sinks make every column nullable).
 *
 * Decisions on precision (documented contract):
 * - A change that can lose precision FAILS even if this run's data happens to survive it:
 *   a coarser timestamp, time or duration unit (µs → ms), a smaller decimal scale,
 *   decimal with a fraction → integer, a narrower float (float64 → float32).
 * - The same or a finer unit passes (ms → µs; a finer unit with a note, since it is how
 *   Parquet stores `timestamp[s]` and `time32[s]`, see docs/file-connector.md). date64 ↔
 *   date32 passes with a note (Parquet stores dates as days). Integer narrowing passes with
 *   a note: the checksum proves every value survived, and sinks commonly pick their own widths.
 * - A timestamp zone annotation naming another zone passes with a note (the instants are
 *   the same), but zoned ↔ naive fails: it changes what the stored value means.
 * - A source column of type Null (all nulls) matches any staged type.
 */
import { DataType, DateUnit, type Field, IntervalUnit, Precision, type Schema, TimeUnit, Type } from 'apache-arrow';
import type { Json } from '../connector/connector.ts';
import type { ValidationCheck, Validator } from './validator.ts';

const UNIT_NAMES: Record<number, string> = {
  [TimeUnit.SECOND]: 's',
  [TimeUnit.MILLISECOND]: 'ms',
  [TimeUnit.MICROSECOND]: 'us',
  [TimeUnit.NANOSECOND]: 'ns',
};

/** A stable, readable name for an Arrow type, e.g. `timestamp[us, UTC]`, `list<int32>`. */
export function describeType(type: DataType): string {
  const t = type as any;
  switch (type.typeId as Type) {
    case Type.Null:
      return 'null';
    case Type.Bool:
      return 'bool';
    case Type.Int:
      return `${t.isSigned ? 'int' : 'uint'}${t.bitWidth}`;
    case Type.Float:
      return t.precision === Precision.HALF ? 'float16' : t.precision === Precision.SINGLE ? 'float32' : 'float64';
    case Type.Decimal:
      return `decimal${t.bitWidth === 128 ? '' : t.bitWidth}(${t.precision},${t.scale})`;
    case Type.Date:
      return t.unit === DateUnit.DAY ? 'date32' : 'date64';
    case Type.Time:
      return `time${t.bitWidth}[${UNIT_NAMES[t.unit]}]`;
    case Type.Timestamp:
      return `timestamp[${UNIT_NAMES[t.unit]}${t.timezone ? `, ${t.timezone}` : ''}]`;
    case Type.Duration:
      return `duration[${UNIT_NAMES[t.unit]}]`;
    case Type.Interval:
      return `interval[${IntervalUnit[t.unit as IntervalUnit]?.toLowerCase()}]`;
    case Type.Utf8:
      return 'utf8';
    case Type.LargeUtf8:
      return 'large_utf8';
    case Type.Utf8View:
      return 'utf8_view';
    case Type.Binary:
      return 'binary';
    case Type.LargeBinary:
      return 'large_binary';
    case Type.BinaryView:
      return 'binary_view';
    case Type.FixedSizeBinary:
      return `fixed_size_binary[${t.byteWidth}]`;
    case Type.List:
      return `list<${describeType(t.children[0].type)}>`;
    case Type.LargeList:
      return `large_list<${describeType(t.children[0].type)}>`;
    case Type.FixedSizeList:
      return `fixed_size_list<${describeType(t.children[0].type)}>[${t.listSize}]`;
    case Type.Struct:
      return `struct<${(t.children as Field[]).map((f) => `${f.name}: ${describeType(f.type)}`).join(', ')}>`;
    case Type.Map:
      return `map<${(t.children[0].type.children as Field[]).map((f) => describeType(f.type)).join(', ')}>`;
    case Type.Dictionary:
      return `dictionary<${describeType(t.dictionary)}>`;
    case Type.Union:
      return `union<${(t.children as Field[]).map((f) => describeType(f.type)).join(', ')}>`;
    default:
      return String(type);
  }
}

/** JSON view of a schema for reports: names and type names in order. */
export function describeSchema(schema: Schema): Json {
  return schema.fields.map((field) => ({ name: field.name, type: describeType(field.type) }));
}

interface Verdict {
  errors: string[];
  notes: string[];
}

function unwrap(type: DataType): DataType {
  return DataType.isDictionary(type) ? unwrap((type as any).dictionary) : type;
}

const STRING_FAMILY = new Set<Type>([Type.Utf8, Type.LargeUtf8, Type.Utf8View]);
const BINARY_FAMILY = new Set<Type>([Type.Binary, Type.LargeBinary, Type.BinaryView, Type.FixedSizeBinary]);
const LIST_FAMILY = new Set<Type>([Type.List, Type.LargeList, Type.FixedSizeList]);

/** Compares one source type with one staged type at `path`; pushes problems into `verdict`. */
function compareTypes(source: DataType, staged: DataType, path: string, verdict: Verdict): void {
  const from = unwrap(source) as any;
  const to = unwrap(staged) as any;
  const a = from.typeId as Type;
  const b = to.typeId as Type;
  const changed = `column ${path}: ${describeType(from)} became ${describeType(to)}`;
  if (a === Type.Null) {
    if (b !== Type.Null) verdict.notes.push(`${changed} (the source column holds only nulls)`);
    return;
  }
  if ((a === Type.Int || a === Type.Decimal) && (b === Type.Int || b === Type.Decimal)) {
    const fromScale = a === Type.Decimal ? (from.scale as number) : 0;
    const toScale = b === Type.Decimal ? (to.scale as number) : 0;
    if (toScale < fromScale) {
      verdict.errors.push(`${changed}, which drops ${fromScale - toScale} decimal digit(s) of precision`);
    } else if (a === Type.Int && b === Type.Int && to.bitWidth < from.bitWidth) {
      verdict.notes.push(`${changed} (narrower; every value is verified by the checksum)`);
    }
    return;
  }
  if (a === Type.Float && b === Type.Float) {
    if (to.precision < from.precision) verdict.errors.push(`${changed}, which loses floating-point precision`);
    return;
  }
  if (a === Type.Timestamp && b === Type.Timestamp) {
    if (to.unit < from.unit) verdict.errors.push(`${changed}, a coarser unit that truncates instants`);
    else if (to.unit > from.unit) verdict.notes.push(`${changed} (a finer unit holding the same instants)`);
    const fromZone = (from.timezone as string | null | undefined) || null;
    const toZone = (to.timezone as string | null | undefined) || null;
    if ((fromZone === null) !== (toZone === null)) {
      verdict.errors.push(
        `${changed}: ${fromZone === null ? 'a local (zone-less) timestamp became zoned' : 'a zoned timestamp became local (zone-less)'}, which changes what the values mean; cast it explicitly in the task's transform`,
      );
    } else if (fromZone !== toZone) {
      verdict.notes.push(`${changed} (zone annotation only; the instants are unchanged)`);
    }
    return;
  }
  if ((a === Type.Time && b === Type.Time) || (a === Type.Duration && b === Type.Duration)) {
    if (to.unit < from.unit) verdict.errors.push(`${changed}, a coarser unit that truncates values`);
    else if (to.unit > from.unit) verdict.notes.push(`${changed} (a finer unit holding the same values)`);
    return;
  }
  if (a === Type.Interval && b === Type.Interval) {
    if (from.unit !== to.unit) verdict.errors.push(changed);
    return;
  }
  if ((STRING_FAMILY.has(a) && STRING_FAMILY.has(b)) || (BINARY_FAMILY.has(a) && BINARY_FAMILY.has(b))) return;
  if (a === Type.Date && b === Type.Date) {
    if (from.unit !== to.unit) verdict.notes.push(`${changed} (the same days; every value verified by the checksum)`);
    return;
  }
  if (a === Type.Bool && b === Type.Bool) return;
  if (LIST_FAMILY.has(a) && LIST_FAMILY.has(b)) {
    compareTypes(from.children[0].type, to.children[0].type, `${path}[]`, verdict);
    return;
  }
  if (a === Type.Map && b === Type.Map) {
    compareTypes(from.children[0].type, to.children[0].type, `${path}{}`, verdict);
    return;
  }
  if (a === Type.Struct && b === Type.Struct) {
    compareFields(from.children as Field[], to.children as Field[], `${path}.`, verdict);
    return;
  }
  if (a === Type.Union && b === Type.Union && describeType(from) === describeType(to)) return;
  verdict.errors.push(changed);
}

function compareFields(source: readonly Field[], staged: readonly Field[], prefix: string, verdict: Verdict): void {
  const sourceNames = source.map((f) => f.name);
  const stagedNames = staged.map((f) => f.name);
  const missing = sourceNames.filter((name) => !stagedNames.includes(name));
  const extra = stagedNames.filter((name) => !sourceNames.includes(name));
  for (const name of missing) verdict.errors.push(`column ${prefix}${name} is missing from the staged data`);
  for (const name of extra) verdict.errors.push(`column ${prefix}${name} is in the staged data but not in the source`);
  if (missing.length === 0 && extra.length === 0 && sourceNames.some((name, i) => stagedNames[i] !== name)) {
    verdict.errors.push(
      `columns ${prefix === '' ? '' : `of ${prefix.slice(0, -1)} `}are in a different order: expected ${sourceNames.join(', ')}, found ${stagedNames.join(', ')}`,
    );
  }
  for (const field of source) {
    const other = staged.find((f) => f.name === field.name);
    if (other !== undefined) compareTypes(field.type, other.type, `${prefix}${field.name}`, verdict);
  }
}

/** Creates the `schema` validator (see the module comment for which differences pass). */
export function schemaValidator(): Validator {
  return {
    specificationVersion: 'v1',
    name: 'schema',
    light: true,
    accumulator(schema) {
      // The schema is known up front; observing batches adds nothing.
      const summary = describeSchema(schema);
      return { observe() {}, result: () => summary };
    },
    // Every part of a side has the side's schema.
    combine: (summaries) => summaries[0] ?? null,
    compare({ sourceSchema, stagedSchema }): ValidationCheck[] {
      const verdict: Verdict = { errors: [], notes: [] };
      compareFields(sourceSchema.fields, stagedSchema.fields, '', verdict);
      const ok = verdict.errors.length === 0;
      const message = ok
        ? verdict.notes.length > 0
          ? `Schemas match; tolerated: ${verdict.notes.join('; ')}.`
          : undefined
        : `The staged schema does not match the source: ${verdict.errors.join('; ')}.${verdict.notes.length > 0 ? ` Also noted: ${verdict.notes.join('; ')}.` : ''}`;
      return [
        {
          name: 'schema',
          expected: describeSchema(sourceSchema),
          actual: describeSchema(stagedSchema),
          ok,
          ...(message === undefined ? {} : { message }),
        },
      ];
    },
  };
}
