/** Small shared Arrow helpers: type names, column builders. */
export * from './type-names.ts';
