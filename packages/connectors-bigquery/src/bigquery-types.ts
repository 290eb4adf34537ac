/**
 * The type mapping between BigQuery columns and Arrow, both ways. README.md holds the same
 * table for users; the round-trip tests check every row of it.
 *
 * | BigQuery | Arrow (read) | written from Arrow |
 * | --- | --- | --- |
 * | INT64 | int64 | int8…int64, uint8…uint32 |
 * | NUMERIC | decimal128(38, 9); NUMERIC(P, S) → decimal128(P, S) | decimal(p, s) with s ≤ 9 and p − s ≤ 29 |
 * | BIGNUMERIC | decimal256(76, 38); BIGNUMERIC(P, S) → decimal256(P, S) | other decimals with s ≤ 38 and p − s ≤ 38 |
 * | FLOAT64 | float64 | float16, float32, float64 |
 * | BOOL | bool | bool |
 * | STRING | utf8 | utf8, large_utf8 |
 * | BYTES | binary | binary, large_binary, fixed_size_binary |
 * | DATE | date32 | date32, date64 |
 * | DATETIME | timestamp[us] (no zone) | timestamp[s/ms/us] without zone |
 * | TIME | time64[us] | time32/time64 in s, ms, us |
 * | TIMESTAMP | timestamp[us, UTC] | timestamp[s/ms/us] with a zone (the instant is kept) |
 * | JSON | utf8, field metadata `bigquery.type: JSON` | utf8 with that metadata |
 * | GEOGRAPHY | utf8 (WKT), metadata `bigquery.type: GEOGRAPHY` | utf8 with that metadata |
 * | ARRAY<T> (REPEATED) | list<T>, items non-null | list<T> (no NULL list, no NULL item: refused per row) |
 * | STRUCT (RECORD) | struct | struct |
 * | RANGE<T> | struct<start: T, end: T>, metadata `bigquery.type: RANGE` | that struct with that metadata |
 *
 * Refused at plan time, naming the column: INTERVAL and unknown BigQuery types; Arrow
 * uint64 (values past 2⁶³ do not fit INT64), nanosecond timestamps and times (BigQuery keeps
 * microseconds), decimals beyond BIGNUMERIC, lists of lists, maps, unions, durations,
 * intervals, null-type columns.
 */
import { SchemaMismatchError } from '@honk/core';
import {
  Binary,
  Bool,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Float64,
  Int64,
  List,
  Schema,
  Struct,
  TimeMicrosecond,
  Timestamp,
  TimeUnit,
  Type,
  Utf8,
} from 'apache-arrow';

/** A column of a BigQuery table schema, as the REST API describes it. */
export interface BigQueryField {
  name: string;
  type: string;
  mode?: 'NULLABLE' | 'REQUIRED' | 'REPEATED' | string;
  fields?: BigQueryField[];
  precision?: string;
  scale?: string;
  rangeElementType?: { type: string };
  description?: string;
}

/** The field metadata key that keeps a BigQuery type Arrow has no type for (JSON, GEOGRAPHY, RANGE). */
export const BIGQUERY_TYPE_METADATA = 'bigquery.type';

/** Canonical names for the API's aliases. */
export function canonicalType(type: string): string {
  switch (type.toUpperCase()) {
    case 'INTEGER':
      return 'INT64';
    case 'FLOAT':
      return 'FLOAT64';
    case 'BOOLEAN':
      return 'BOOL';
    case 'STRUCT':
      return 'RECORD';
    default:
      return type.toUpperCase();
  }
}

function refuse(column: string, what: string, fix: string): SchemaMismatchError {
  return new SchemaMismatchError(`BigQuery: column "${column}" ${what}. ${fix}`, { details: { column } });
}

function decimalOf(field: BigQueryField, big: boolean): Decimal {
  const precision = field.precision ? Number(field.precision) : big ? 76 : 38;
  const scale = field.scale ? Number(field.scale) : field.precision ? 0 : big ? 38 : 9;
  return new Decimal(scale, precision, precision > 38 ? 256 : 128);
}

function scalarToArrow(type: string, field: BigQueryField, column: string): DataType {
  switch (type) {
    case 'INT64':
      return new Int64();
    case 'FLOAT64':
      return new Float64();
    case 'NUMERIC':
      return decimalOf(field, false);
    case 'BIGNUMERIC':
      return decimalOf(field, true);
    case 'BOOL':
      return new Bool();
    case 'STRING':
    case 'JSON':
    case 'GEOGRAPHY':
      return new Utf8();
    case 'BYTES':
      return new Binary();
    case 'DATE':
      return new DateDay();
    case 'DATETIME':
      return new Timestamp(TimeUnit.MICROSECOND);
    case 'TIME':
      return new TimeMicrosecond();
    case 'TIMESTAMP':
      return new Timestamp(TimeUnit.MICROSECOND, 'UTC');
    default:
      throw refuse(
        column,
        `has BigQuery type ${type}, which Honk cannot read`,
        type === 'INTERVAL'
          ? 'Read it through a `query:` that casts it, e.g. CAST(col AS STRING) or EXTRACT(DAY FROM col).'
          : 'Read it through a `query:` that casts it to a supported type.',
      );
  }
}

/** The Arrow field of a BigQuery column. Throws SchemaMismatchError naming an unsupported column. */
export function arrowFieldOf(field: BigQueryField, parent = ''): Field {
  const column = parent ? `${parent}.${field.name}` : field.name;
  const type = canonicalType(field.type);
  const metadata = new Map<string, string>();
  let arrow: DataType;
  if (type === 'RECORD') {
    arrow = new Struct((field.fields ?? []).map((child) => arrowFieldOf(child, column)));
  } else if (type === 'RANGE') {
    const element = canonicalType(field.rangeElementType?.type ?? '');
    if (element !== 'DATE' && element !== 'DATETIME' && element !== 'TIMESTAMP') {
      throw refuse(
        column,
        `is a RANGE of ${element || 'an unknown type'}`,
        'BigQuery ranges hold DATE, DATETIME or TIMESTAMP.',
      );
    }
    const bound = scalarToArrow(element, field, column);
    arrow = new Struct([new Field('start', bound, true), new Field('end', bound, true)]);
    metadata.set(BIGQUERY_TYPE_METADATA, `RANGE<${element}>`);
  } else {
    arrow = scalarToArrow(type, field, column);
    if (type === 'JSON' || type === 'GEOGRAPHY') metadata.set(BIGQUERY_TYPE_METADATA, type);
  }
  if (field.mode === 'REPEATED') {
    return new Field(field.name, new List(new Field('item', arrow, false, metadata)), false);
  }
  return new Field(field.name, arrow, field.mode !== 'REQUIRED', metadata);
}

/** The Arrow schema of a BigQuery table schema. */
export function arrowSchemaOf(fields: readonly BigQueryField[]): Schema {
  return new Schema(fields.map((field) => arrowFieldOf(field)));
}

function bigQueryScalarOf(type: DataType, field: Field, column: string): Omit<BigQueryField, 'name' | 'mode'> {
  const t = type as any;
  const declared = field.metadata.get(BIGQUERY_TYPE_METADATA);
  switch (type.typeId as Type) {
    case Type.Int:
      if (t.bitWidth === 64 && !t.isSigned) {
        throw refuse(
          column,
          'is uint64, whose values past 2⁶³ do not fit BigQuery INT64',
          `Cast it in the task's transform: cast: { ${column}: "int64" } when the values fit, or "decimal(20,0)" (stored as NUMERIC) when they do not.`,
        );
      }
      return { type: 'INT64' };
    case Type.Float:
      return { type: 'FLOAT64' };
    case Type.Decimal: {
      const integerDigits = t.precision - t.scale;
      if (t.scale <= 9 && integerDigits <= 29) return { type: 'NUMERIC' };
      if (t.scale <= 38 && integerDigits <= 38) return { type: 'BIGNUMERIC' };
      throw refuse(
        column,
        `is decimal(${t.precision}, ${t.scale}), beyond BIGNUMERIC (at most 38 digits before and 38 after the point)`,
        "Cast it to a smaller decimal in the task's transform if the values fit, or to utf8 to keep them as text.",
      );
    }
    case Type.Bool:
      return { type: 'BOOL' };
    case Type.Utf8:
    case Type.LargeUtf8:
      if (declared === 'JSON' || declared === 'GEOGRAPHY') return { type: declared };
      return { type: 'STRING' };
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return { type: 'BYTES' };
    case Type.Date:
      return { type: 'DATE' };
    case Type.Timestamp:
      if (t.unit === TimeUnit.NANOSECOND) {
        throw refuse(
          column,
          'is a nanosecond timestamp; BigQuery keeps microseconds, so the last three digits would be lost',
          `Cast it in the task's transform: cast: { ${column}: "timestamp[us${t.timezone ? `, ${t.timezone}` : ''}]" } once you accept the rounding.`,
        );
      }
      return { type: t.timezone ? 'TIMESTAMP' : 'DATETIME' };
    case Type.Time:
      if (t.unit === TimeUnit.NANOSECOND) {
        throw refuse(
          column,
          'is a nanosecond time of day; BigQuery TIME keeps microseconds',
          'Convert it in a module transform to time64[us] (or to text) to keep what matters.',
        );
      }
      return { type: 'TIME' };
    case Type.Struct: {
      const children = (type.children as Field[]).map((child) => bigQueryFieldOf(child, column));
      if (declared?.startsWith('RANGE<')) {
        return { type: 'RANGE', rangeElementType: { type: declared.slice(6, -1) } };
      }
      return { type: 'RECORD', fields: children };
    }
    case Type.Dictionary:
      return bigQueryScalarOf(t.dictionary, field, column);
    default:
      throw refuse(
        column,
        `has Arrow type ${String(type)}, which BigQuery cannot hold`,
        'Drop it (select:) or convert it in a module transform (to utf8, a struct or a supported scalar).',
      );
  }
}

/** The BigQuery column for an Arrow field. Throws SchemaMismatchError naming an unsupported column. */
export function bigQueryFieldOf(field: Field, parent = ''): BigQueryField {
  const column = parent ? `${parent}.${field.name}` : field.name;
  const typeId = field.type.typeId as Type;
  if (typeId === Type.List || typeId === Type.LargeList || typeId === Type.FixedSizeList) {
    const item = (field.type.children as Field[])[0] as Field;
    const itemType = item.type.typeId as Type;
    if (itemType === Type.List || itemType === Type.LargeList || itemType === Type.FixedSizeList) {
      throw refuse(
        column,
        'is a list of lists; BigQuery has no arrays of arrays',
        'Wrap the inner list in a struct in a module transform (ARRAY<STRUCT<items ARRAY<…>>> in BigQuery).',
      );
    }
    return { name: field.name, mode: 'REPEATED', ...bigQueryScalarOf(item.type, item, `${column}[]`) };
  }
  return {
    name: field.name,
    mode: field.nullable ? 'NULLABLE' : 'REQUIRED',
    ...bigQueryScalarOf(field.type, field, column),
  };
}

/** The BigQuery table schema for an Arrow schema (the sink's plan-time check). */
export function bigQuerySchemaOf(schema: Schema): BigQueryField[] {
  return schema.fields.map((field) => bigQueryFieldOf(field));
}

/** `INT64`, `ARRAY<STRING>`, `RANGE<DATE>`, `STRUCT<…>` for messages. */
export function describeBigQueryType(field: BigQueryField): string {
  const type = canonicalType(field.type);
  const base =
    type === 'RECORD'
      ? `STRUCT<${(field.fields ?? []).map((child) => `${child.name} ${describeBigQueryType(child)}`).join(', ')}>`
      : type === 'RANGE'
        ? `RANGE<${field.rangeElementType?.type ?? '?'}>`
        : type;
  return field.mode === 'REPEATED' ? `ARRAY<${base}>` : base;
}
