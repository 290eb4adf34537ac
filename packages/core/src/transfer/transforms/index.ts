export { type CastTransformOptions, castTransform } from './cast-transform.ts';
export { type CreateTransformsOptions, createTransforms } from './create-transforms.ts';
export {
  defineTransform,
  type ModuleTransformExport,
  type ModuleTransformFunction,
  type ModuleTransformObject,
  type ModuleTransformOptions,
  moduleTransform,
} from './module-transform.ts';
export { renameTransform } from './rename-transform.ts';
export { selectTransform } from './select-transform.ts';
