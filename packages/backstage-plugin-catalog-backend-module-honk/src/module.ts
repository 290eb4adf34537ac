/**
 * The catalog module `honk`: registers the dataset entity provider, runs it on a schedule
 * and follows migration status from the task store.
 *
 * ```yaml
 * honk:
 *   store: { url: postgres://… }
 *   spec: ./honk/datasets.yaml
 *   catalog:
 *     owner: group:default/data-platform   # required: every Resource has an owner
 *     system: data-platform                # optional
 *     namespace: default
 *     fromSpec: true                       # the sources of the spec's tasks (default true)
 *     discover:                            # connections of the spec to discover
 *       - { connection: warehouse, within: shop, limit: 10000 }
 *     facts: { region: eu-west-1, retention: 90d, compliance-deadline: '2027-06-30' }
 *     schedule: { frequency: { minutes: 30 }, timeout: { minutes: 10 } }
 * ```
 */
import {
  coreServices,
  createBackendModule,
  readSchedulerServiceTaskScheduleDefinitionFromConfig,
} from '@backstage/backend-plugin-api';
import { catalogProcessingExtensionPoint } from '@backstage/plugin-catalog-node';
import {
  HonkTaskBuilder,
  MigrationLedger,
  MigrationStatusWatcher,
  readHonkConfig,
} from '@honk/backstage-plugin-honk-node';
import { createPostgresTaskStore } from '@honk/connectors-postgres';
import { type DiscoverTarget, HonkEntityProvider } from './honk-entity-provider.ts';

export const catalogModuleHonk = createBackendModule({
  pluginId: 'catalog',
  moduleId: 'honk',
  register(env) {
    env.registerInit({
      deps: {
        catalog: catalogProcessingExtensionPoint,
        config: coreServices.rootConfig,
        logger: coreServices.logger,
        scheduler: coreServices.scheduler,
        lifecycle: coreServices.lifecycle,
      },
      async init({ catalog, config, logger, scheduler, lifecycle }) {
        const honk = readHonkConfig(config);
        const section = config.getConfig('honk.catalog');
        const store = await createPostgresTaskStore({ url: honk.storeUrl, schema: honk.storeSchema });
        const ledger = await MigrationLedger.open({ url: honk.storeUrl, schema: honk.ledgerSchema });
        const facts: Record<string, string> = {};
        const factsConfig = section.getOptionalConfig('facts');
        for (const key of factsConfig?.keys() ?? []) facts[key] = factsConfig!.getString(key);
        const provider = new HonkEntityProvider({
          id: section.getOptionalString('id') ?? 'datasets',
          store,
          ledger,
          builder: new HonkTaskBuilder(honk.specPath ? { specPath: honk.specPath } : {}),
          logger,
          fromSpec: section.getOptionalBoolean('fromSpec') ?? true,
          discover: (section.getOptionalConfigArray('discover') ?? []).map(
            (item): DiscoverTarget => ({
              connection: item.getString('connection'),
              ...(item.getOptionalString('within') !== undefined ? { within: item.getString('within') } : {}),
              ...(item.getOptionalNumber('limit') !== undefined ? { limit: item.getNumber('limit') } : {}),
            }),
          ),
          namespace: section.getOptionalString('namespace') ?? 'default',
          owner: section.getString('owner'),
          ...(section.getOptionalString('system') ? { system: section.getString('system') } : {}),
          facts,
        });
        catalog.addEntityProvider(provider);
        const watcher = new MigrationStatusWatcher({ store, ledger, pollMs: honk.statusPollMs, logger });
        watcher.onChange((summary) => {
          provider
            .statusChanged(summary)
            .catch((error: Error) => logger.warn(`honk: status update failed: ${error.message}`));
        });
        const schedule = section.has('schedule')
          ? readSchedulerServiceTaskScheduleDefinitionFromConfig(section.getConfig('schedule'))
          : { frequency: { minutes: 30 }, timeout: { minutes: 10 } };
        await scheduler.scheduleTask({
          id: `${provider.getProviderName()}:refresh`,
          ...schedule,
          fn: async () => {
            await provider.refresh();
          },
        });
        lifecycle.addStartupHook(() => watcher.start());
        lifecycle.addShutdownHook(async () => {
          await watcher.stop();
          await store.close();
          await ledger.close();
        });
      },
    });
  },
});
