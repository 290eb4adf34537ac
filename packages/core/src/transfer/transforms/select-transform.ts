/**
 * `select:` keeps only the listed columns, in the listed order. The column Data is shared
 * with the input batch, not copied.
 */
import { type RecordBatch, Schema } from 'apache-arrow';
import { ConfigError } from '../../errors/honk-error.ts';
import type { BatchTransform } from '../transform.ts';
import { assembleBatch, fieldIndex, unknownColumnError } from './schema-helpers.ts';

/**
 * Keeps `columns` in that order. Preflight fails with a ConfigError when the list is empty,
 * repeats a column, or names one the input does not have (listing the available columns).
 */
export function selectTransform(columns: readonly string[]): BatchTransform {
  const wanted = [...columns];
  const resolve = (schema: Schema): number[] => {
    if (wanted.length === 0) {
      throw new ConfigError('transform.select is empty: list at least one column, or remove select to keep them all.', {
        details: { option: 'transform.select' },
      });
    }
    const seen = new Set<string>();
    const index = fieldIndex(schema);
    return wanted.map((name) => {
      if (seen.has(name)) {
        throw new ConfigError(`transform.select lists column "${name}" twice. List each column once.`, {
          details: { option: 'transform.select', column: name },
        });
      }
      seen.add(name);
      const position = index.get(name);
      if (position === undefined) throw unknownColumnError('select', name, schema);
      return position;
    });
  };
  return {
    name: 'select',
    outputSchema(input: Schema): Schema {
      const positions = resolve(input);
      // Not Schema.select(): that keeps the input order, and select promises the listed order.
      return new Schema(
        positions.map((position) => input.fields[position]!),
        input.metadata,
      );
    },
    apply(batch: RecordBatch): RecordBatch {
      const positions = resolve(batch.schema);
      const fields = positions.map((position) => batch.schema.fields[position] as (typeof batch.schema.fields)[number]);
      const children = positions.map(
        (position) => batch.data.children[position] as (typeof batch.data.children)[number],
      );
      return assembleBatch(fields, batch.schema.metadata, batch.numRows, children);
    },
  };
}
