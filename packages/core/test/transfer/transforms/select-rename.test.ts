import { Int32, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { type ConfigError, isHonkError } from '../../../src/errors/honk-error.ts';
import { renameTransform, selectTransform } from '../../../src/transfer/transforms/index.ts';
import { batchOf, column, context, run, valuesOf } from './helpers.ts';

const input = () =>
  batchOf({
    id: column(new Int32(), [1, 2, 3]),
    email: column(new Utf8(), ['a@x.se', null, 'c@y.se']),
    amount: column(new Int32(), [10, 20, null]),
  });

async function configError(action: () => unknown): Promise<ConfigError> {
  try {
    await action();
  } catch (error) {
    expect(isHonkError(error)).toBe(true);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('selectTransform', () => {
  it('keeps the listed columns in the listed order, sharing their data', async () => {
    const batch = input();
    const out = await run(selectTransform(['amount', 'id']), batch);
    expect(out.schema.fields.map((field) => field.name)).toEqual(['amount', 'id']);
    expect(valuesOf(out, 'amount')).toEqual([10, 20, null]);
    expect(out.getChild('id')?.data[0]).toBe(batch.getChild('id')?.data[0]);
    expect(batch.schema.fields.map((field) => field.name)).toEqual(['id', 'email', 'amount']);
  });

  it('names an unknown column and lists the available ones at preflight', async () => {
    const error = await configError(() => selectTransform(['id', 'amuont']).outputSchema(input().schema));
    expect(error.message).toContain('"amuont"');
    expect(error.message).toContain('"id", "email", "amount"');
  });

  it('rejects a repeated column and an empty list', async () => {
    expect((await configError(() => selectTransform(['id', 'id']).outputSchema(input().schema))).message).toContain(
      'twice',
    );
    expect((await configError(() => selectTransform([]).outputSchema(input().schema))).message).toContain('empty');
  });
});

describe('renameTransform', () => {
  it('renames columns and keeps types, order and data', async () => {
    const out = await run(renameTransform({ amount: 'amount_cents' }), input());
    expect(out.schema.fields.map((field) => field.name)).toEqual(['id', 'email', 'amount_cents']);
    expect(String(out.schema.fields[2]?.type)).toBe('Int32');
    expect(valuesOf(out, 'amount_cents')).toEqual([10, 20, null]);
  });

  it('names an unknown column and lists the available ones', async () => {
    const error = await configError(() => renameTransform({ ammount: 'x' }).outputSchema(input().schema));
    expect(error.message).toContain('"ammount"');
    expect(error.message).toContain('Available columns: "id", "email", "amount"');
  });

  it('rejects a rename that leaves two columns with one name', async () => {
    const error = await configError(() => renameTransform({ amount: 'id' }).outputSchema(input().schema));
    expect(error.message).toContain('two columns named "id"');
  });

  it('allows swapping names', async () => {
    const out = await renameTransform({ id: 'amount', amount: 'id' }).apply(input(), context());
    expect(out.schema.fields.map((field) => field.name)).toEqual(['amount', 'email', 'id']);
    expect(valuesOf(out, 'amount')).toEqual([1, 2, 3]);
  });
});
