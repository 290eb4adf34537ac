/**
 * The Arrow schema Honk reads a Parquet file as, from parquet-wasm's schema and Honk's own
 * reading of the footer:
 * - `string_view` / `binary_view` become `utf8` / `binary`: arrow-rs announces views when the
 *   embedded Arrow schema says so but hands over plain arrays, so the announced schema must
 *   say what the batches hold (the values are the same; the schema check treats the string
 *   and binary families alike).
 * - INT96 timestamps (Spark, Hive, Impala) are read at a unit that holds every value: arrow-rs
 *   reads them as nanoseconds and silently wraps anything outside 1677–2262 (Spark's
 *   9999-12-31 sentinel becomes a date in 1816). Honk hands arrow-rs a read hint, an embedded
 *   Arrow schema naming the unit (`int96: 'us'` by default, years 0001–9999 fit), through a
 *   virtual footer; see parquet-reader.ts for the check that no digit is lost.
 * - Columns annotated GEOMETRY / GEOGRAPHY (Parquet 2.11) carry GeoArrow's field metadata
 *   (`ARROW:extension:name` `geoarrow.wkb`, CRS and edges in `ARROW:extension:metadata`),
 *   which arrow-rs does not add; the Parquet writer turns it back into the annotation.
 */
import {
  Binary,
  type DataType,
  Dictionary,
  Field,
  Schema,
  Struct,
  Table,
  Timestamp,
  TimeUnit,
  Type,
  tableToIPC,
  Utf8,
} from 'apache-arrow';
import { HonkError } from '../errors/honk-error.ts';
import { LogicalTypeId, type ParquetFooter, ParquetPhysicalType } from './parquet-metadata.ts';
import { ThriftStruct, ThriftType, thriftText } from './thrift-compact.ts';

/** GeoArrow's extension name for WKB geometries. */
export const GEOARROW_WKB = 'geoarrow.wkb';
export const EXTENSION_NAME = 'ARROW:extension:name';
export const EXTENSION_METADATA = 'ARROW:extension:metadata';

/** The unit INT96 timestamps are read at. */
export type Int96Unit = 'us' | 'ns';

function withoutViews(type: DataType): DataType {
  switch (type.typeId as Type) {
    case Type.Utf8View:
      return new Utf8();
    case Type.BinaryView:
      return new Binary();
    case Type.Dictionary: {
      const t = type as Dictionary;
      const values = withoutViews(t.dictionary);
      return values === t.dictionary ? type : new Dictionary(values, t.indices, t.id, t.isOrdered);
    }
    default: {
      const children = type.children as Field[] | undefined;
      if (!children || children.length === 0) return type;
      const mapped = children.map((child) => withoutViews(child.type));
      if (mapped.every((child, index) => child === (children[index] as Field).type)) return type;
      const fields = children.map((child, index) => child.clone({ type: mapped[index] as DataType }));
      if (type.typeId === Type.Struct) return new Struct(fields);
      const t = type as any;
      const Constructor = type.constructor as new (...args: unknown[]) => DataType;
      if (type.typeId === Type.FixedSizeList) return new Constructor(t.listSize, fields[0]);
      if (type.typeId === Type.Map) return new Constructor(fields[0], t.keysSorted);
      return new Constructor(fields[0]);
    }
  }
}

/** GeoArrow metadata for a GEOMETRY / GEOGRAPHY logical type, or undefined for any other. */
function geoMetadata(logicalType: ThriftStruct | undefined): Map<string, string> | undefined {
  const geometry = logicalType?.struct(LogicalTypeId.GEOMETRY);
  const geography = logicalType?.struct(LogicalTypeId.GEOGRAPHY);
  if (!geometry && !geography) return undefined;
  const details: Record<string, unknown> = {};
  const crs = (geometry ?? geography)?.text(1);
  if (crs !== undefined) {
    try {
      details.crs = JSON.parse(crs);
    } catch {
      details.crs = crs; // an identifier such as "OGC:CRS84" rather than PROJJSON
    }
  }
  if (geography) {
    const algorithms = ['spherical', 'vincenty', 'thomas', 'andoyer', 'karney'];
    details.edges = algorithms[geography.number(2) ?? 0] ?? 'spherical';
  }
  return new Map([
    [EXTENSION_NAME, GEOARROW_WKB],
    [EXTENSION_METADATA, JSON.stringify(details)],
  ]);
}

/** The Parquet logical type for a GeoArrow field written by Honk (the inverse of {@link geoMetadata}). */
export function geoLogicalType(field: Field): ThriftStruct | undefined {
  if (field.metadata.get(EXTENSION_NAME) !== GEOARROW_WKB) return undefined;
  let details: { crs?: unknown; edges?: string } = {};
  try {
    details = JSON.parse(field.metadata.get(EXTENSION_METADATA) ?? '{}') ?? {};
  } catch {
    // No usable metadata: a GEOMETRY with the default CRS.
  }
  const crs =
    details.crs === undefined ? undefined : typeof details.crs === 'string' ? details.crs : JSON.stringify(details.crs);
  const inner = new ThriftStruct();
  if (crs !== undefined) inner.set(1, ThriftType.BINARY, thriftText(crs));
  const union = new ThriftStruct();
  if (details.edges === undefined || details.edges === 'planar') {
    union.set(LogicalTypeId.GEOMETRY, ThriftType.STRUCT, inner);
  } else {
    const algorithms = ['spherical', 'vincenty', 'thomas', 'andoyer', 'karney'];
    inner.set(2, ThriftType.I32, Math.max(0, algorithms.indexOf(details.edges)));
    union.set(LogicalTypeId.GEOGRAPHY, ThriftType.STRUCT, inner);
  }
  return union;
}

/** How one file is read: the schema batches carry and, for INT96 columns, the read hints. */
export interface ParquetReadSchema {
  schema: Schema;
  /** Top-level INT96 columns (read at `int96Unit`, checked against a read at the other unit). */
  int96Columns: string[];
  /** The embedded Arrow schema (base64) that makes arrow-rs read INT96 at `unit`, per unit. */
  hint(unit: Int96Unit): string;
}

/** The base64 `ARROW:schema` value for `schema`: its IPC schema message, as arrow-rs reads it. */
function arrowSchemaValue(schema: Schema): string {
  const ipc = tableToIPC(new Table(schema), 'stream');
  const view = new DataView(ipc.buffer, ipc.byteOffset, ipc.byteLength);
  const length = view.getInt32(4, true);
  return Buffer.from(ipc.subarray(0, 8 + length)).toString('base64');
}

/**
 * Builds the read schema from parquet-wasm's Arrow schema (`decoded`) and the footer.
 * Throws a SchemaMismatchError-like HonkError for INT96 inside nested columns.
 */
export function readSchemaOf(
  decoded: Schema,
  footer: ParquetFooter,
  file: string,
  int96Unit: Int96Unit,
): ParquetReadSchema {
  const int96Columns: string[] = [];
  const topLevel = new Map<string, ThriftStruct | undefined>();
  for (const leaf of footer.leaves) {
    if (!leaf.path.includes('.')) topLevel.set(leaf.path, leaf.element.logicalType);
    if (leaf.element.physicalType !== ParquetPhysicalType.INT96) continue;
    if (leaf.path.includes('.')) {
      throw new HonkError(
        'SCHEMA_MISMATCH',
        `${file}: column "${leaf.path}" holds INT96 timestamps inside a nested column, which Honk cannot read without risking wrapped values. Rewrite the file with INT64 timestamps (Spark: spark.sql.parquet.outputTimestampType=TIMESTAMP_MICROS).`,
        { details: { file, column: leaf.path } },
      );
    }
    int96Columns.push(leaf.path);
  }
  const fields = decoded.fields.map((field) => {
    let type = withoutViews(field.type);
    if (int96Columns.includes(field.name) && type.typeId === Type.Timestamp) {
      type = new Timestamp(
        int96Unit === 'us' ? TimeUnit.MICROSECOND : TimeUnit.NANOSECOND,
        (type as Timestamp).timezone,
      );
    }
    const geo =
      type.typeId === Type.Binary || type.typeId === Type.LargeBinary
        ? geoMetadata(topLevel.get(field.name))
        : undefined;
    if (type === field.type && !geo) return field;
    return new Field(field.name, type, field.nullable, geo ? new Map([...field.metadata, ...geo]) : field.metadata);
  });
  const schema = new Schema(fields, decoded.metadata);
  const hint = (unit: Int96Unit): string =>
    arrowSchemaValue(
      new Schema(
        schema.fields.map((field) =>
          int96Columns.includes(field.name)
            ? field.clone({
                type: new Timestamp(
                  unit === 'us' ? TimeUnit.MICROSECOND : TimeUnit.NANOSECOND,
                  (field.type as Timestamp).timezone,
                ),
              })
            : field,
        ),
        schema.metadata,
      ),
    );
  return { schema, int96Columns, hint };
}
