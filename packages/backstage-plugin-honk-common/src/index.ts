/**
 * @honk/backstage-plugin-honk-common — what the honk backend plugin, its modules and frontends
 * share: dataset annotations, permissions, route types and the typed API client.
 */
export * from './annotations.ts';
export * from './honk-client.ts';
export * from './migration-types.ts';
export * from './permissions.ts';
