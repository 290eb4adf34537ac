/**
 * `cast:` converts columns to other Arrow types by name (`{ amount: "decimal(18,2)" }`),
 * exactly unless `allowLossy` says otherwise. The rules are in docs/transforms.md.
 */
import { type DataType, Field, type RecordBatch, Schema, type Timestamp, Type } from 'apache-arrow';
import { parseTypeName, typeName } from '../../arrow/type-names.ts';
import { ConfigError, isHonkError, SchemaMismatchError, throwIfAborted } from '../../errors/honk-error.ts';
import type { BatchTransform, CastTargetName, TransformContext } from '../transform.ts';
import { type CastKernel, planCast } from './cast-column.ts';
import { assertTimeZone } from './civil-time.ts';
import { assembleBatch, fieldIndex, unknownColumnError } from './schema-helpers.ts';

export interface CastTransformOptions {
  /**
   * Tolerate lossy values for all cast columns (`true`) or the listed ones: overflowing and
   * unparseable values become null, values that lose precision are rounded (half away from
   * zero; timestamp → date keeps the calendar day). Default: a lossy value fails the task
   * with a SchemaMismatchError naming column, row and value.
   */
  allowLossy?: boolean | readonly string[];
}

interface CastPlan {
  schema: Schema;
  /** Per input column: the kernel, or undefined to pass it through. */
  kernels: Array<{ kernel: CastKernel; column: string; from: string; to: string; lossy: boolean } | undefined>;
}

function targetType(column: string, name: CastTargetName): DataType {
  try {
    const type = parseTypeName(name);
    if (type.typeId === Type.Timestamp) {
      const zone = (type as Timestamp).timezone;
      if (zone) assertTimeZone(zone, `transform.cast.${column}`);
    }
    return type;
  } catch (error) {
    if (isHonkError(error) && error.code === 'CONFIG_INVALID' && !error.message.startsWith('transform.cast')) {
      throw new ConfigError(`transform.cast.${column}: ${error.message}`, {
        cause: error,
        details: { option: `transform.cast.${column}`, column },
      });
    }
    throw error;
  }
}

/**
 * Converts the named columns. Preflight (`outputSchema`) fails with a ConfigError for an
 * unknown column (listing the available ones), an unknown type name or time zone, or an
 * `allowLossy` entry that is not a cast column; and with a SchemaMismatchError naming
 * column, from-type and to-type when the pair is not supported.
 */
export function castTransform(
  casts: Readonly<Record<string, CastTargetName>>,
  options: CastTransformOptions = {},
): BatchTransform {
  const entries = Object.entries(casts);
  const allowLossy = options.allowLossy ?? false;
  const lossyFor = (column: string) =>
    allowLossy === true || (Array.isArray(allowLossy) && allowLossy.includes(column));
  const plans = new WeakMap<Schema, CastPlan>();
  let targets: Map<string, DataType> | undefined;

  const plan = (schema: Schema): CastPlan => {
    const cached = plans.get(schema);
    if (cached) return cached;
    if (Array.isArray(allowLossy)) {
      for (const column of allowLossy) {
        if (!(column in casts)) {
          throw new ConfigError(
            `transform.allowLossy lists "${column}", which is not a column in transform.cast. List only cast columns (by their name after rename): ${entries.map(([name]) => `"${name}"`).join(', ') || '(none)'}.`,
            { details: { option: 'transform.allowLossy', column } },
          );
        }
      }
    }
    targets ??= new Map(entries.map(([column, name]) => [column, targetType(column, name)]));
    const index = fieldIndex(schema);
    const kernels: CastPlan['kernels'] = schema.fields.map(() => undefined);
    const fields = [...schema.fields];
    for (const [column, to] of targets) {
      const position = index.get(column);
      if (position === undefined) throw unknownColumnError(`cast.${column}`, column, schema);
      const field = schema.fields[position] as Field;
      const kernel = planCast(field.type, to);
      const from = typeName(field.type);
      const toName = typeName(to);
      if (!kernel) {
        throw new SchemaMismatchError(
          `transform.cast.${column}: cannot cast column "${column}" from ${from} to ${toName}; this pair is not supported. See docs/transforms.md for the supported casts, or cast through utf8 in a module transform.`,
          { details: { option: `transform.cast.${column}`, column, from, to: toName } },
        );
      }
      const lossy = lossyFor(column);
      const fromText = field.type.typeId === Type.Utf8 || field.type.typeId === Type.LargeUtf8;
      // Lossy casts may null values, and blank strings cast to null: such outputs are nullable.
      const nullable = field.nullable || lossy || (fromText && to.typeId !== Type.Utf8 && to.typeId !== Type.LargeUtf8);
      fields[position] = new Field(field.name, to, nullable, field.metadata);
      kernels[position] = { kernel, column, from, to: toName, lossy };
    }
    const result = { schema: new Schema(fields, schema.metadata), kernels };
    plans.set(schema, result);
    return result;
  };

  return {
    name: 'cast',
    outputSchema(input: Schema): Schema {
      return plan(input).schema;
    },
    apply(batch: RecordBatch, context: TransformContext): RecordBatch {
      throwIfAborted(context.signal);
      const { schema, kernels } = plan(batch.schema);
      const children = batch.data.children.map((data, i) => {
        const step = kernels[i];
        if (!step) return data;
        return step.kernel(data, {
          column: step.column,
          from: step.from,
          to: step.to,
          rowOffset: context.rowOffset,
          allowLossy: step.lossy,
        });
      });
      return assembleBatch([...schema.fields], schema.metadata, batch.numRows, children);
    },
  };
}
