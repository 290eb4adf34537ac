/**
 * The example's Backstage backend (new backend system): the app (serves dist/), auth with the
 * guest provider, the catalog, permissions with the example policy, Honk's backend plugin, its
 * catalog module, the scaffolder with Honk's action `honk:migration:start`, and an in-process
 * Honk agent. Configured by app-config.yaml plus the files
 * start.ts writes (ports, database, the spec).
 */
import { createBackend } from '@backstage/backend-defaults';
import { rootConfigServiceFactory } from '@backstage/backend-defaults/rootConfig';
import type { BackendFeature } from '@backstage/backend-plugin-api';
import { honkAgentPlugin } from './honk-agent-plugin.ts';
import { permissionModuleHonkExamplePolicy } from './permission-policy.ts';

/**
 * Backstage's plugins are CommonJS: imported from ESM, Node hands over `module.exports` as the
 * default export, and the feature is that object's own `default`.
 */
async function commonJs(
  module: Promise<{ default: { default: BackendFeature } }>,
): Promise<{ default: BackendFeature }> {
  return { default: (await module).default.default };
}

export function createExampleBackend(configFiles: readonly string[]) {
  const backend = createBackend();
  backend.add(rootConfigServiceFactory({ argv: configFiles.flatMap((file) => ['--config', file]) }));
  backend.add(commonJs(import('@backstage/plugin-app-backend')));
  backend.add(commonJs(import('@backstage/plugin-auth-backend')));
  backend.add(commonJs(import('@backstage/plugin-auth-backend-module-guest-provider')));
  backend.add(commonJs(import('@backstage/plugin-catalog-backend')));
  backend.add(commonJs(import('@backstage/plugin-permission-backend')));
  backend.add(permissionModuleHonkExamplePolicy);
  backend.add(import('@honk/backstage-plugin-honk-backend'));
  backend.add(import('@honk/backstage-plugin-catalog-backend-module-honk'));
  backend.add(commonJs(import('@backstage/plugin-scaffolder-backend')));
  // The catalog learns the Template kind (the example's template in catalog/).
  backend.add(commonJs(import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model')));
  backend.add(import('@honk/backstage-plugin-scaffolder-backend-module-honk'));
  backend.add(honkAgentPlugin);
  return backend;
}
