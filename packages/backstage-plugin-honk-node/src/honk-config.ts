/**
 * The `honk:` section of Backstage's app-config, read once by the plugin and its modules:
 *
 * ```yaml
 * honk:
 *   store:
 *     url: postgres://honk@db:5432/honk   # the PostgreSQL task store the fleet's agents use
 *     schema: honk                        # default honk
 *   spec: ./honk/datasets.yaml            # connections (and spec datasets) tasks are built with
 *   taskTemplate:                         # what a task from a catalog entity uses besides its annotations
 *     target: { connection: lake, path: "migrated/{name}/", format: parquet }
 *   statusPollMs: 2000                    # how often status is polled besides store events
 *   ledgerSchema: honk_backstage          # where sign-offs and rollbacks are recorded
 * ```
 */
import { resolve } from 'node:path';
import type { RootConfigService } from '@backstage/backend-plugin-api';
import type { TaskTemplate } from '@honk/backstage-plugin-honk-common';

export interface HonkConfig {
  storeUrl: string;
  storeSchema: string;
  /** Absolute path of the Honk spec whose connections tasks use, when configured. */
  specPath?: string;
  taskTemplate: TaskTemplate;
  statusPollMs: number;
  ledgerSchema: string;
}

/** Reads `honk:`; throws Backstage's config error naming the missing key (`honk.store.url`). */
export function readHonkConfig(config: RootConfigService): HonkConfig {
  const honk = config.getConfig('honk');
  const spec = honk.getOptionalString('spec');
  return {
    storeUrl: honk.getString('store.url'),
    storeSchema: honk.getOptionalString('store.schema') ?? 'honk',
    ...(spec ? { specPath: resolve(spec) } : {}),
    taskTemplate: (honk.getOptional('taskTemplate') as TaskTemplate | undefined) ?? {},
    statusPollMs: honk.getOptionalNumber('statusPollMs') ?? 2000,
    ledgerSchema: honk.getOptionalString('ledgerSchema') ?? 'honk_backstage',
  };
}
