/**
 * Values BigQuery would store differently, refused per row before they are encoded: a NULL
 * list (BigQuery has no NULL arrays and loads it as `[]`), a NULL item in a list (BigQuery
 * rejects the row), and for merges a NULL key (`T.k = S.k` never matches NULL, so a re-run
 * would insert the row again).
 */
import { SchemaMismatchError } from '@honk/core';
import { type Data, type Field, type RecordBatch, Type } from 'apache-arrow';

function isNull(data: Data, index: number): boolean {
  if (data.nullCount === 0) return false;
  return !data.getValid(index);
}

function firstNull(data: Data, from: number, to: number): number {
  if (data.nullCount === 0) return -1;
  for (let i = from; i < to; i++) if (isNull(data, i)) return i;
  return -1;
}

function checkLists(field: Field, data: Data, column: string, rowBase: number): void {
  const typeId = field.type.typeId as Type;
  if (typeId === Type.List || typeId === Type.LargeList || typeId === Type.FixedSizeList) {
    const nullRow = firstNull(data, 0, data.length);
    if (nullRow >= 0) {
      throw new SchemaMismatchError(
        `BigQuery: column "${column}" is NULL in row ${rowBase + nullRow}. BigQuery arrays cannot be NULL (a NULL would be stored as an empty array). Replace NULL lists by empty ones in a module transform if that is what they mean.`,
        { details: { column, row: rowBase + nullRow } },
      );
    }
    const child = data.children[0] as Data;
    const itemNull = firstNull(child, 0, child.length);
    if (itemNull >= 0) {
      const offsets = data.valueOffsets as Int32Array | undefined;
      let row = 0;
      if (offsets) while (row < data.length && (offsets[row + 1] as number) - (offsets[0] as number) <= itemNull) row++;
      throw new SchemaMismatchError(
        `BigQuery: column "${column}" has a NULL item in row ${rowBase + row}. BigQuery arrays cannot hold NULL items; drop or replace them in a module transform.`,
        { details: { column, row: rowBase + row } },
      );
    }
    return;
  }
  if (typeId === Type.Struct) {
    (field.type.children as Field[]).forEach((child, index) => {
      checkLists(child, data.children[index] as Data, `${column}.${child.name}`, rowBase);
    });
  }
}

/** Whether a schema has a column {@link checkBatch} has to look at. */
export function hasRepeated(fields: readonly Field[]): boolean {
  return fields.some((field) => {
    const typeId = field.type.typeId as Type;
    if (typeId === Type.List || typeId === Type.LargeList || typeId === Type.FixedSizeList) return true;
    return typeId === Type.Struct && hasRepeated(field.type.children as Field[]);
  });
}

/**
 * Throws SchemaMismatchError naming the column and row (1-based, counted over all the rows
 * written, `rowBase` being the number of the batch's first row) of the first value
 * BigQuery would change or reject.
 */
export function checkBatch(batch: RecordBatch, rowBase: number, keys: readonly string[]): void {
  for (const [index, field] of batch.schema.fields.entries()) {
    const data = batch.data.children[index] as Data;
    checkLists(field, data, field.name, rowBase);
    if (keys.includes(field.name)) {
      const nullRow = firstNull(data, 0, data.length);
      if (nullRow >= 0) {
        throw new SchemaMismatchError(
          `BigQuery: merge key column "${field.name}" is NULL in row ${rowBase + nullRow}. A NULL key never matches in MERGE, so the row would be inserted again on every run; fill or filter it before merging.`,
          { details: { column: field.name, row: rowBase + nullRow } },
        );
      }
    }
  }
}
