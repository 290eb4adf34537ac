/**
 * PostgreSQL ⇄ Arrow type mapping (the table lives in README.md).
 *
 * Reading: a column's type OID and typmod are resolved through `pg_type` (domains to their
 * base type, arrays to their element, enums to text) into a {@link PgType}; each PgType has
 * one Arrow type and one binary COPY decoder. Unsupported types are a SchemaMismatchError at
 * `schema()` time, naming the column and its type, never a failure halfway through a read.
 *
 * Every field carries `honk.postgres.type` metadata with the declared type (`format_type`),
 * so a PostgreSQL sink can recreate json/jsonb/uuid/unbounded numeric/varchar(n) columns
 * from what would otherwise be plain utf8.
 */
import { SchemaMismatchError } from '@honk/core';
import {
  Binary,
  Bool,
  type DataType,
  DateDay,
  Decimal,
  Field,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  IntervalMonthDayNano,
  List,
  TimeMicrosecond,
  TimestampMicrosecond,
  Utf8,
} from 'apache-arrow';

/** Field metadata key holding the PostgreSQL type a column was read from (e.g. `jsonb`, `numeric(12,2)`). */
export const POSTGRES_TYPE_METADATA = 'honk.postgres.type';

/** Built-in type OIDs (stable across PostgreSQL versions). */
export const Oid = {
  bool: 16,
  bytea: 17,
  name: 19,
  int8: 20,
  int2: 21,
  int4: 23,
  text: 25,
  json: 114,
  xml: 142,
  float4: 700,
  float8: 701,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** Scalar kinds the codec handles; each has one binary wire format. */
export type ScalarKind =
  | 'bool'
  | 'int2'
  | 'int4'
  | 'int8'
  | 'float4'
  | 'float8'
  | 'text'
  | 'bytea'
  | 'uuid'
  | 'json'
  | 'jsonb'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamptz'
  | 'interval'
  | 'numeric';

/** A resolved column type. */
export type PgType =
  | { kind: Exclude<ScalarKind, 'numeric'>; oid: number }
  | { kind: 'numeric'; oid: number; precision?: number; scale?: number }
  | { kind: 'array'; oid: number; element: PgType };

const SCALAR_BY_OID = new Map<number, Exclude<ScalarKind, 'numeric'>>([
  [Oid.bool, 'bool'],
  [Oid.bytea, 'bytea'],
  [Oid.name, 'text'],
  [Oid.int8, 'int8'],
  [Oid.int2, 'int2'],
  [Oid.int4, 'int4'],
  [Oid.text, 'text'],
  [Oid.json, 'json'],
  [Oid.xml, 'text'],
  [Oid.float4, 'float4'],
  [Oid.float8, 'float8'],
  [Oid.bpchar, 'text'],
  [Oid.varchar, 'text'],
  [Oid.date, 'date'],
  [Oid.time, 'time'],
  [Oid.timestamp, 'timestamp'],
  [Oid.timestamptz, 'timestamptz'],
  [Oid.interval, 'interval'],
  [Oid.uuid, 'uuid'],
  [Oid.jsonb, 'jsonb'],
]);

/** Extension types whose binary send format is their text (citext). */
const TEXT_LIKE_EXTENSION_TYPES = new Set(['citext']);

/** A `pg_type` row, as much as resolution needs. */
export interface PgTypeRow {
  oid: number;
  typname: string;
  typtype: string;
  typcategory: string;
  typelem: number;
  typbasetype: number;
  typtypmod: number;
}

/** Something that can run a parameterised query (pg Client or Pool). */
export interface Queryable {
  query<R = any>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
}

/** Loads `pg_type` rows for the given OIDs and everything they refer to (domain bases, array elements). */
export async function loadTypeRows(client: Queryable, oids: Iterable<number>): Promise<Map<number, PgTypeRow>> {
  const rows = new Map<number, PgTypeRow>();
  let pending = [...new Set(oids)];
  while (pending.length > 0) {
    const result = await client.query<PgTypeRow>(
      `SELECT oid::int4 AS oid, typname, typtype, typcategory, typelem::int4 AS typelem,
              typbasetype::int4 AS typbasetype, typtypmod FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])`,
      [pending],
    );
    const next: number[] = [];
    for (const row of result.rows) {
      rows.set(row.oid, row);
      for (const ref of [row.typelem, row.typbasetype]) if (ref !== 0 && !rows.has(ref)) next.push(ref);
    }
    pending = [...new Set(next)].filter((oid) => !rows.has(oid));
  }
  return rows;
}

/** Precision and scale from a numeric typmod; undefined when unbounded. */
export function numericTypmod(typmod: number): { precision: number; scale: number } | undefined {
  if (typmod < 4) return undefined;
  const value = typmod - 4;
  const precision = (value >> 16) & 0xffff;
  // PostgreSQL 15 allows negative scales, stored as an 11-bit two's complement number.
  const scale = ((value & 0x7ff) ^ 1024) - 1024;
  return { precision, scale };
}

/**
 * Resolves a column's type. Throws SchemaMismatchError naming the column for types the codec
 * cannot carry (geometric, network, range, composite, bit strings, money …).
 */
export function resolveType(
  rows: Map<number, PgTypeRow>,
  oid: number,
  typmod: number,
  column: string,
  declared: string,
): PgType {
  const row = rows.get(oid);
  const scalar = SCALAR_BY_OID.get(oid);
  if (scalar) return { kind: scalar, oid };
  if (oid === Oid.numeric) {
    const bounds = numericTypmod(typmod);
    return bounds ? { kind: 'numeric', oid, ...bounds } : { kind: 'numeric', oid };
  }
  if (row) {
    if (row.typtype === 'd')
      return resolveType(rows, row.typbasetype, row.typtypmod >= 0 ? row.typtypmod : typmod, column, declared);
    if (row.typtype === 'e') return { kind: 'text', oid };
    if (TEXT_LIKE_EXTENSION_TYPES.has(row.typname)) return { kind: 'text', oid };
    if (row.typcategory === 'A' && row.typelem !== 0) {
      const element = resolveType(rows, row.typelem, typmod, column, declared);
      if (element.kind === 'array') throw unsupported(column, declared);
      return { kind: 'array', oid, element };
    }
  }
  throw unsupported(column, declared);
}

function unsupported(column: string, declared: string): SchemaMismatchError {
  return new SchemaMismatchError(
    `Column "${column}" has PostgreSQL type "${declared}", which Honk cannot map to Arrow. ` +
      `Read it through a query that casts it (e.g. query: SELECT …, "${column}"::text AS "${column}" FROM …) ` +
      'or leave the column out.',
    { details: { column, type: declared } },
  );
}

/** The Arrow type a PgType is read as. */
export function arrowTypeOf(type: PgType): DataType {
  switch (type.kind) {
    case 'bool':
      return new Bool();
    case 'int2':
      return new Int16();
    case 'int4':
      return new Int32();
    case 'int8':
      return new Int64();
    case 'float4':
      return new Float32();
    case 'float8':
      return new Float64();
    case 'text':
    case 'uuid':
    case 'json':
    case 'jsonb':
      return new Utf8();
    case 'bytea':
      return new Binary();
    case 'date':
      return new DateDay();
    case 'time':
      return new TimeMicrosecond();
    case 'timestamp':
      return new TimestampMicrosecond();
    case 'timestamptz':
      return new TimestampMicrosecond('UTC');
    case 'interval':
      return new IntervalMonthDayNano();
    case 'numeric':
      return isDecimal(type) ? new Decimal(type.scale!, type.precision!, 128) : new Utf8();
    case 'array':
      return new List(new Field('item', arrowTypeOf(type.element), true));
  }
}

/** numeric(p,s) with 1 ≤ p ≤ 38 and 0 ≤ s ≤ p reads as decimal128(p,s); others as exact text. */
export function isDecimal(type: PgType): boolean {
  return (
    type.kind === 'numeric' &&
    type.precision !== undefined &&
    type.scale !== undefined &&
    type.precision >= 1 &&
    type.precision <= 38 &&
    type.scale >= 0 &&
    type.scale <= type.precision
  );
}

/** An Arrow field for a column, with the declared PostgreSQL type as metadata. */
export function arrowField(name: string, type: PgType, nullable: boolean, declared: string): Field {
  return new Field(name, arrowTypeOf(type), nullable, new Map([[POSTGRES_TYPE_METADATA, declared]]));
}
