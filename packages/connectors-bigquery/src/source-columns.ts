/**
 * Column selection shared by both read paths of the source: the columns an endpoint's
 * `columns` names, and batches put into the order asked for (the APIs send the table's).
 */
import { ConfigError } from '@honk/core';
import { makeData, RecordBatch, type Schema, Struct } from 'apache-arrow';
import { arrowSchemaOf, type BigQueryField } from './bigquery-types.ts';

/**
 * The columns `columns` names, in the table's order (what `tabledata.list` and the Storage
 * Read API send) and in the order asked for (what the source yields). Unknown names are a
 * ConfigError naming them.
 */
export function selectFields(
  fields: readonly BigQueryField[],
  columns: readonly string[] | undefined,
  where: string,
): { stored: BigQueryField[]; listed: BigQueryField[] } {
  if (!columns) return { stored: [...fields], listed: [...fields] };
  const find = (name: string) => fields.find((field) => field.name.toLowerCase() === name.toLowerCase());
  const missing = columns.filter((name) => !find(name));
  if (missing.length > 0) {
    throw new ConfigError(
      `${where} has no column ${missing.map((name) => `"${name}"`).join(', ')} (it has ${fields.map((field) => field.name).join(', ')}). Fix the endpoint's \`columns\`.`,
      { details: { columns: missing } },
    );
  }
  const listed = columns.map((name) => find(name) as BigQueryField);
  return { stored: fields.filter((field) => listed.includes(field)), listed };
}

/** The REST path's schema of a session's columns, in the order the session sends them. */
export function sessionSchemaOf(at: { fields: BigQueryField[]; session: { columns: readonly string[] } }): Schema {
  const position = (field: BigQueryField) =>
    at.session.columns.findIndex((name) => name.toLowerCase() === field.name.toLowerCase());
  return arrowSchemaOf([...at.fields].sort((a, b) => position(a) - position(b)));
}

/** A batch of the stored column order as one in `schema`'s order (the same columns). */
export function reorder(schema: Schema, batch: RecordBatch): RecordBatch {
  const children = schema.fields.map((field) => batch.getChild(field.name)?.data[0] as never);
  return new RecordBatch(
    schema,
    makeData({ type: new Struct(schema.fields), length: batch.numRows, nullCount: 0, children }),
  );
}
