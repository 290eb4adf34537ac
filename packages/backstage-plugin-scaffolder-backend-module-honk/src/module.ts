/** The scaffolder module `honk`: registers `honk:migration:start`. */
import { coreServices, createBackendModule } from '@backstage/backend-plugin-api';
import { scaffolderActionsExtensionPoint } from '@backstage/plugin-scaffolder-node';
import { createStartMigrationAction } from './start-migration-action.ts';

export const scaffolderModuleHonk = createBackendModule({
  pluginId: 'scaffolder',
  moduleId: 'honk',
  register(env) {
    env.registerInit({
      deps: { scaffolder: scaffolderActionsExtensionPoint, auth: coreServices.auth, discovery: coreServices.discovery },
      async init({ scaffolder, auth, discovery }) {
        scaffolder.addActions(createStartMigrationAction({ auth, discovery }));
      },
    });
  },
});
