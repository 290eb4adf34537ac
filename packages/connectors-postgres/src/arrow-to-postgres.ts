/**
 * The reverse mapping: which PostgreSQL column type a new table gets for an Arrow field.
 * Fields read from PostgreSQL carry `honk.postgres.type` metadata; for utf8 fields whose
 * declared type is json, jsonb, uuid, numeric or varchar/char(n) the original type is
 * recreated, so PostgreSQL → PostgreSQL keeps those types. Everything else follows the table
 * in README.md.
 */
import { SchemaMismatchError } from '@honk/core';
import { type DataType, type Field, Type } from 'apache-arrow';
import { Oid, type PgType, POSTGRES_TYPE_METADATA } from './postgres-types.ts';

/** A planned column: resolved type and its DDL. */
export interface PlannedColumn {
  name: string;
  type: PgType;
  ddl: string;
}

const SCALAR_DDL: Record<string, [PgType, string]> = {
  bool: [{ kind: 'bool', oid: Oid.bool }, 'boolean'],
  int2: [{ kind: 'int2', oid: Oid.int2 }, 'smallint'],
  int4: [{ kind: 'int4', oid: Oid.int4 }, 'integer'],
  int8: [{ kind: 'int8', oid: Oid.int8 }, 'bigint'],
  float4: [{ kind: 'float4', oid: Oid.float4 }, 'real'],
  float8: [{ kind: 'float8', oid: Oid.float8 }, 'double precision'],
  text: [{ kind: 'text', oid: Oid.text }, 'text'],
  bytea: [{ kind: 'bytea', oid: Oid.bytea }, 'bytea'],
  date: [{ kind: 'date', oid: Oid.date }, 'date'],
  time: [{ kind: 'time', oid: Oid.time }, 'time'],
  timestamp: [{ kind: 'timestamp', oid: Oid.timestamp }, 'timestamp'],
  timestamptz: [{ kind: 'timestamptz', oid: Oid.timestamptz }, 'timestamptz'],
  interval: [{ kind: 'interval', oid: Oid.interval }, 'interval'],
  json: [{ kind: 'json', oid: Oid.json }, 'json'],
  jsonb: [{ kind: 'jsonb', oid: Oid.jsonb }, 'jsonb'],
  uuid: [{ kind: 'uuid', oid: Oid.uuid }, 'uuid'],
};

/** The declared type of a utf8 field that we may recreate, as [type, ddl]. */
function fromMetadata(declared: string | undefined): [PgType, string] | undefined {
  if (!declared) return undefined;
  const text = declared.trim();
  if (text === 'json' || text === 'jsonb' || text === 'uuid') return SCALAR_DDL[text];
  if (text === 'numeric') return [{ kind: 'numeric', oid: Oid.numeric }, 'numeric'];
  const numeric = /^numeric\((\d+),(-?\d+)\)$/.exec(text);
  if (numeric) {
    return [{ kind: 'numeric', oid: Oid.numeric, precision: Number(numeric[1]), scale: Number(numeric[2]) }, text];
  }
  const varchar = /^(character varying|character)\((\d+)\)$/.exec(text);
  if (varchar) return [{ kind: 'text', oid: varchar[1] === 'character' ? Oid.bpchar : Oid.varchar }, text];
  if (text === 'character varying') return [{ kind: 'text', oid: Oid.varchar }, text];
  return undefined;
}

function plan(name: string, type: DataType, declared: string | undefined): [PgType, string] {
  const id = type.typeId;
  const t = type as any;
  switch (id) {
    case Type.Bool:
      return SCALAR_DDL.bool!;
    case Type.Int: {
      if (t.isSigned) return SCALAR_DDL[t.bitWidth <= 16 ? 'int2' : t.bitWidth === 32 ? 'int4' : 'int8']!;
      if (t.bitWidth <= 8) return SCALAR_DDL.int2!;
      if (t.bitWidth === 16) return SCALAR_DDL.int4!;
      if (t.bitWidth === 32) return SCALAR_DDL.int8!;
      return [{ kind: 'numeric', oid: Oid.numeric, precision: 20, scale: 0 }, 'numeric(20,0)'];
    }
    case Type.Float:
      if (t.precision === 1) return SCALAR_DDL.float4!;
      if (t.precision === 2) return SCALAR_DDL.float8!;
      break;
    case Type.Decimal:
      return [
        { kind: 'numeric', oid: Oid.numeric, precision: t.precision, scale: t.scale },
        `numeric(${t.precision},${t.scale})`,
      ];
    case Type.Utf8:
    case Type.LargeUtf8:
      return fromMetadata(declared) ?? SCALAR_DDL.text!;
    case Type.Dictionary:
      if (t.dictionary.typeId === Type.Utf8 || t.dictionary.typeId === Type.LargeUtf8) return SCALAR_DDL.text!;
      break;
    case Type.Binary:
    case Type.LargeBinary:
    case Type.FixedSizeBinary:
      return SCALAR_DDL.bytea!;
    case Type.Date:
      return SCALAR_DDL.date!;
    case Type.Time:
      return SCALAR_DDL.time!;
    case Type.Timestamp:
      return SCALAR_DDL[t.timezone ? 'timestamptz' : 'timestamp']!;
    case Type.Interval:
      if (t.unit === 2) return SCALAR_DDL.interval!;
      break;
    case Type.List:
    case Type.LargeList:
    case Type.FixedSizeList: {
      const child = t.children[0] as Field;
      const elementDeclared = declared?.endsWith('[]') ? declared.slice(0, -2) : undefined;
      const [element, ddl] = plan(name, child.type, elementDeclared ?? child.metadata.get(POSTGRES_TYPE_METADATA));
      if (element.kind === 'array') break;
      return [{ kind: 'array', oid: 0, element }, `${ddl}[]`];
    }
  }
  throw new SchemaMismatchError(
    `Column "${name}" has Arrow type ${type}, which has no PostgreSQL column type in Honk's mapping. ` +
      'Cast it in the task (transform.cast) to a supported type, e.g. utf8.',
    { details: { column: name, type: String(type) } },
  );
}

/** Plans the columns of a new table for an Arrow schema. Throws SchemaMismatchError listing every unsupported column. */
export function planColumns(fields: readonly Field[]): PlannedColumn[] {
  const problems: string[] = [];
  const planned: PlannedColumn[] = [];
  for (const field of fields) {
    try {
      const [type, ddl] = plan(field.name, field.type, field.metadata.get(POSTGRES_TYPE_METADATA));
      planned.push({ name: field.name, type, ddl });
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new SchemaMismatchError(problems.join(' '), { details: { problems } });
  return planned;
}
