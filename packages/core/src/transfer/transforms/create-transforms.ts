/**
 * Turns a task's `transform:` block into the ordered list of batch transforms the pipeline
 * runs: select → rename → cast → module. Names in `rename` refer to columns after `select`,
 * names in `cast` and `allowLossy` to columns after `rename`.
 */
import type { BatchTransform, TransformOptions } from '../transform.ts';
import { castTransform } from './cast-transform.ts';
import { moduleTransform } from './module-transform.ts';
import { renameTransform } from './rename-transform.ts';
import { selectTransform } from './select-transform.ts';

export interface CreateTransformsOptions {
  /** Directory that `module:` paths resolve against (the spec file's directory). */
  baseDir: string;
}

/**
 * The transforms for `options`, in application order; steps that are not configured are
 * left out, so an empty block gives an empty list. Nothing is validated or loaded here:
 * each transform checks its options against the schema in `outputSchema` (preflight).
 */
export function createTransforms(options: TransformOptions, context: CreateTransformsOptions): BatchTransform[] {
  const transforms: BatchTransform[] = [];
  if (options.select !== undefined) transforms.push(selectTransform(options.select));
  if (options.rename !== undefined && Object.keys(options.rename).length > 0)
    transforms.push(renameTransform(options.rename));
  if (options.cast !== undefined && Object.keys(options.cast).length > 0) {
    transforms.push(castTransform(options.cast, { allowLossy: options.allowLossy ?? false }));
  } else if (Array.isArray(options.allowLossy) && options.allowLossy.length > 0) {
    // allowLossy without cast is almost certainly a mistake; the cast transform reports it.
    transforms.push(castTransform({}, { allowLossy: options.allowLossy }));
  }
  if (options.module !== undefined) transforms.push(moduleTransform(options.module, { baseDir: context.baseDir }));
  return transforms;
}
