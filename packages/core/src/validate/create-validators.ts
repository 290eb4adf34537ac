/** Built-in validators from a task's `validate:` block. */
import { ConfigError } from '../errors/honk-error.ts';
import { checksumValidator } from './checksum-validator.ts';
import { rowCountValidator } from './row-count-validator.ts';
import { sampleValidator } from './sample-validator.ts';
import { schemaValidator } from './schema-validator.ts';
import type { ValidateOptions, Validator } from './validator.ts';

/** Defaults of the `validate:` block: every built-in check on, 100 sampled rows. */
export const defaultValidateOptions: Readonly<Required<Omit<ValidateOptions, 'key'>>> = Object.freeze({
  rowCount: true,
  checksum: true,
  sample: 100,
  schema: true,
});

/**
 * The built-in validators the options ask for, in report order: schema, row-count,
 * checksum, sample (cheapest and most explanatory first).
 */
export function createValidators(options: ValidateOptions = {}): Validator[] {
  const resolved = { ...defaultValidateOptions, ...stripUndefined(options) };
  const sample = resolved.sample;
  if (!Number.isInteger(sample) || sample < 0) {
    throw new ConfigError(
      `validate.sample must be a whole number of rows ≥ 0 (0 turns it off), got ${String(sample)}.`,
    );
  }
  if (options.key !== undefined && (!Array.isArray(options.key) || options.key.some((k) => typeof k !== 'string'))) {
    throw new ConfigError('validate.key must be a list of column names.');
  }
  const validators: Validator[] = [];
  if (resolved.schema) validators.push(schemaValidator());
  if (resolved.rowCount) validators.push(rowCountValidator());
  if (resolved.checksum) validators.push(checksumValidator());
  if (sample > 0) validators.push(sampleValidator({ rows: sample, ...(options.key ? { key: options.key } : {}) }));
  return validators;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
