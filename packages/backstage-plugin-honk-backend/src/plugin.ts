/**
 * The backend plugin `honk` (new backend system): routes over the PostgreSQL task store the
 * fleet's agents use, configured under `honk:` in app-config (see @honk/backstage-plugin-honk-node).
 */
import { coreServices, createBackendPlugin } from '@backstage/backend-plugin-api';
import { catalogServiceRef } from '@backstage/plugin-catalog-node';
import { honkPermissions } from '@honk/backstage-plugin-honk-common';
import { HonkTaskBuilder, MigrationLedger, readHonkConfig } from '@honk/backstage-plugin-honk-node';
import { createPostgresTaskStore } from '@honk/connectors-postgres';
import { HonkService } from './honk-service.ts';
import { createRouter } from './router.ts';

export const honkPlugin = createBackendPlugin({
  pluginId: 'honk',
  register(env) {
    env.registerInit({
      deps: {
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        httpRouter: coreServices.httpRouter,
        httpAuth: coreServices.httpAuth,
        permissions: coreServices.permissions,
        permissionsRegistry: coreServices.permissionsRegistry,
        lifecycle: coreServices.lifecycle,
        catalog: catalogServiceRef,
      },
      async init({ config, logger, httpRouter, httpAuth, permissions, permissionsRegistry, lifecycle, catalog }) {
        const honk = readHonkConfig(config);
        const store = await createPostgresTaskStore({ url: honk.storeUrl, schema: honk.storeSchema });
        const ledger = await MigrationLedger.open({ url: honk.storeUrl, schema: honk.ledgerSchema });
        lifecycle.addShutdownHook(async () => {
          await store.close();
          await ledger.close();
        });
        permissionsRegistry.addPermissions(honkPermissions);
        const service = new HonkService({
          store,
          ledger,
          catalog,
          builder: new HonkTaskBuilder(honk.specPath ? { specPath: honk.specPath } : {}),
          template: honk.taskTemplate,
        });
        httpRouter.use(createRouter({ service, httpAuth, permissions, logger }));
        httpRouter.addAuthPolicy({ path: '/health', allow: 'unauthenticated' });
        logger.info(
          `honk: task store ${store.name}, ${honk.specPath ? `connections of ${honk.specPath}` : 'no spec configured'}`,
        );
      },
    });
  },
});
