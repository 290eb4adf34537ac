import { fileURLToPath } from 'node:url';
import { Int32, Utf8 } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { type HonkError, isHonkError } from '../../../src/errors/honk-error.ts';
import { createTransforms, defineTransform, moduleTransform } from '../../../src/transfer/transforms/index.ts';
import { batchOf, column, context, valuesOf } from './helpers.ts';

const fixtures = fileURLToPath(new URL('../../fixtures/transforms/', import.meta.url));

const orders = () =>
  batchOf({
    id: column(new Int32(), [1, 2, 3]),
    email: column(new Utf8(), ['anna@example.com', null, 'bo.ek@example.se']),
  });

async function failure(action: () => unknown): Promise<HonkError> {
  try {
    await action();
  } catch (error) {
    expect(isHonkError(error)).toBe(true);
    return error as HonkError;
  }
  throw new Error('expected an error');
}

describe('moduleTransform', () => {
  it('loads a TypeScript export by name and applies it', async () => {
    const transform = moduleTransform('./orders.ts#maskEmails', { baseDir: fixtures });
    const input = orders();
    const schema = await transform.outputSchema(input.schema);
    expect(schema.fields.map((field) => field.name)).toEqual(['id', 'email']);
    const out = await transform.apply(input, context());
    expect(valuesOf(out, 'email')).toEqual(['****@example.com', null, '*****@example.se']);
    expect(valuesOf(input, 'email')).toEqual(['anna@example.com', null, 'bo.ek@example.se']);
  });

  it('derives the output schema of a plain function from a zero-row batch (default export)', async () => {
    const transform = moduleTransform('./orders.ts', { baseDir: fixtures });
    const schema = await transform.outputSchema(orders().schema);
    expect(schema.fields.map((field) => field.name)).toEqual(['id']);
    const out = await transform.apply(orders(), context());
    expect(valuesOf(out, 'id')).toEqual([1, 2, 3]);
  });

  it('loads a JavaScript object export with a declared outputSchema and sees rowOffset', async () => {
    const transform = moduleTransform('./row-numbers.mjs', { baseDir: fixtures });
    const schema = await transform.outputSchema(orders().schema);
    expect(schema.fields.map((field) => `${field.name}:${field.type}`)).toEqual([
      'id:Int32',
      'email:Utf8',
      'row_number:Int64',
    ]);
    const out = await transform.apply(orders(), context(100));
    expect(valuesOf(out, 'row_number')).toEqual([100n, 101n, 102n]);
  });

  it('resolves absolute paths too', async () => {
    const transform = moduleTransform(`${fixtures}row-numbers.mjs#default`, { baseDir: '/nonexistent' });
    expect((await transform.outputSchema(orders().schema)).fields).toHaveLength(3);
  });

  it('names the path of a missing file', async () => {
    const error = await failure(() =>
      moduleTransform('./nope.ts#x', { baseDir: fixtures }).outputSchema(orders().schema),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('nope.ts');
    expect(error.message).toContain('does not exist');
  });

  it('names a missing export and lists the exports there are', async () => {
    const error = await failure(() =>
      moduleTransform('./orders.ts#maskEmail', { baseDir: fixtures }).outputSchema(orders().schema),
    );
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('no export named "maskEmail"');
    expect(error.message).toContain('"maskEmails"');
  });

  it('rejects an export that is not a transform', async () => {
    const error = await failure(() =>
      moduleTransform('./row-numbers.mjs#notATransform', { baseDir: fixtures }).outputSchema(orders().schema),
    );
    expect(error.message).toContain('must be a function');
  });

  it('names the module when it returns something that is not a RecordBatch', async () => {
    const error = await failure(() =>
      moduleTransform('./row-numbers.mjs#broken', { baseDir: fixtures }).outputSchema(orders().schema),
    );
    expect(error.message).toContain(
      '"./row-numbers.mjs#broken" returned object instead of an Apache Arrow RecordBatch',
    );
  });

  it('fails when a module changes its schema after preflight', async () => {
    const transform = moduleTransform('./row-numbers.mjs#shapeShifter', { baseDir: fixtures });
    expect((await transform.outputSchema(orders().schema)).fields).toHaveLength(2);
    const error = await failure(() => transform.apply(orders(), context(7)));
    expect(error.code).toBe('SCHEMA_MISMATCH');
    expect(error.message).toContain('shapeShifter');
  });

  it('rejects unsupported file types', async () => {
    const error = await failure(() =>
      moduleTransform('./orders.py#f', { baseDir: fixtures }).outputSchema(orders().schema),
    );
    expect(error.message).toContain('.py');
  });

  it('defineTransform returns its argument unchanged', () => {
    const fn = defineTransform((batch) => batch);
    expect(defineTransform(fn)).toBe(fn);
  });
});

describe('createTransforms', () => {
  it('applies select → rename → cast → module in that order', async () => {
    const transforms = createTransforms(
      {
        module: './row-numbers.mjs',
        cast: { key: 'utf8' },
        rename: { id: 'key' },
        select: ['id'],
      },
      { baseDir: fixtures },
    );
    expect(transforms.map((transform) => transform.name)).toEqual([
      'select',
      'rename',
      'cast',
      'module:./row-numbers.mjs',
    ]);
    let schema = orders().schema;
    for (const transform of transforms) schema = await transform.outputSchema(schema);
    expect(schema.fields.map((field) => `${field.name}:${field.type}`)).toEqual(['key:Utf8', 'row_number:Int64']);
    let batch = orders();
    for (const transform of transforms) batch = await transform.apply(batch, context(10));
    expect(valuesOf(batch, 'key')).toEqual(['1', '2', '3']);
    expect(valuesOf(batch, 'row_number')).toEqual([10n, 11n, 12n]);
  });

  it('returns no transforms for an empty block and reports allowLossy without cast', async () => {
    expect(createTransforms({}, { baseDir: fixtures })).toEqual([]);
    const [stray] = createTransforms({ allowLossy: ['id'] }, { baseDir: fixtures });
    const error = await failure(() => stray?.outputSchema(orders().schema));
    expect(error.message).toContain('allowLossy');
  });
});
