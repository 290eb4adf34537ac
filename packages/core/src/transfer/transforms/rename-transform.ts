/**
 * `rename:` gives columns new names (`{ old: new }`); types, data and order are unchanged.
 */
import { Field, type RecordBatch, Schema } from 'apache-arrow';
import { ConfigError } from '../../errors/honk-error.ts';
import type { BatchTransform } from '../transform.ts';
import { assembleBatch, assertUniqueNames, fieldIndex, unknownColumnError } from './schema-helpers.ts';

/**
 * Renames columns. Preflight fails with a ConfigError for an old name the input lacks (the
 * message lists the available columns), an empty new name, or a rename that would leave two
 * columns with the same name.
 */
export function renameTransform(map: Readonly<Record<string, string>>): BatchTransform {
  const entries = Object.entries(map);
  const renamedFields = (schema: Schema): Field[] => {
    const index = fieldIndex(schema);
    const names = schema.fields.map((field) => field.name);
    for (const [from, to] of entries) {
      const position = index.get(from);
      if (position === undefined) throw unknownColumnError(`rename.${from}`, from, schema);
      if (typeof to !== 'string' || to.trim() === '') {
        throw new ConfigError(`transform.rename.${from} must be a non-empty column name.`, {
          details: { option: `transform.rename.${from}`, column: from },
        });
      }
      names[position] = to;
    }
    const fields = schema.fields.map(
      (field, i) => new Field(names[i] ?? field.name, field.type, field.nullable, field.metadata),
    );
    assertUniqueNames('rename', fields);
    return fields;
  };
  return {
    name: 'rename',
    outputSchema(input: Schema): Schema {
      return new Schema(renamedFields(input), input.metadata);
    },
    apply(batch: RecordBatch): RecordBatch {
      return assembleBatch(renamedFields(batch.schema), batch.schema.metadata, batch.numRows, [...batch.data.children]);
    },
  };
}
