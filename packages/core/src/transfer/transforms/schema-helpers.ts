/**
 * Small helpers shared by the built-in transforms: consistent "unknown column" errors and
 * assembling a RecordBatch from column Data without copying.
 */
import {
  type Data,
  type DataType,
  type Decimal,
  type Field,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Type,
  util,
} from 'apache-arrow';
import { ConfigError } from '../../errors/honk-error.ts';

/** A ConfigError for a column an option names that the input does not have. */
export function unknownColumnError(option: string, column: string, schema: Schema): ConfigError {
  const available = schema.fields.map((field) => field.name);
  return new ConfigError(
    `transform.${option} names column "${column}", which the input does not have. Available columns: ${available.map((name) => `"${name}"`).join(', ') || '(none)'}.`,
    { details: { option: `transform.${option}`, column, available } },
  );
}

/** Throws a ConfigError when two output columns would share a name. */
export function assertUniqueNames(option: string, fields: readonly Field[]): void {
  const seen = new Set<string>();
  for (const field of fields) {
    if (seen.has(field.name)) {
      throw new ConfigError(
        `transform.${option} produces two columns named "${field.name}". Output column names must be unique: rename or drop one of them.`,
        { details: { option: `transform.${option}`, column: field.name } },
      );
    }
    seen.add(field.name);
  }
}

/** Index of each field name (first wins), for per-batch lookups. */
export function fieldIndex(schema: Schema): Map<string, number> {
  const index = new Map<string, number>();
  schema.fields.forEach((field, i) => {
    if (!index.has(field.name)) index.set(field.name, i);
  });
  return index;
}

/** A RecordBatch over existing column Data (no copy), keeping the schema metadata. */
export function assembleBatch(
  fields: Field[],
  metadata: Map<string, string>,
  length: number,
  children: Data[],
): RecordBatch {
  const schema = new Schema(fields, metadata);
  return new RecordBatch(schema, makeData({ type: new Struct(fields), length, nullCount: 0, children }));
}

/**
 * Type equality that also compares decimal precision and scale (Arrow JS's comparator treats
 * all decimals as equal, which would make `decimal(10,2)` → `decimal(10,3)` a no-op).
 */
export function sameType(a: DataType, b: DataType): boolean {
  if (a.typeId === Type.Decimal && b.typeId === Type.Decimal) {
    const x = a as Decimal;
    const y = b as Decimal;
    return x.precision === y.precision && x.scale === y.scale && x.bitWidth === y.bitWidth;
  }
  return util.compareTypes(a, b);
}

/** A zero-row column of any type, nested children included. */
function emptyData(type: DataType): Data {
  const children = (type.children ?? []) as Field[];
  switch (type.typeId) {
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList:
    case Type.Map:
      return makeData({
        type,
        length: 0,
        nullCount: 0,
        valueOffsets: new Int32Array(1),
        child: emptyData((children[0] as Field).type),
      } as never) as Data;
    case Type.Struct:
      return makeData({
        type,
        length: 0,
        nullCount: 0,
        children: children.map((field) => emptyData(field.type)),
      } as never) as Data;
    default:
      return makeData({ type, length: 0, nullCount: 0 } as never) as Data;
  }
}

/** A RecordBatch with `schema` and no rows: used to derive a module function's output schema. */
export function emptyBatch(schema: Schema): RecordBatch {
  return assembleBatch(
    [...schema.fields],
    schema.metadata,
    0,
    schema.fields.map((field) => emptyData(field.type)),
  );
}
