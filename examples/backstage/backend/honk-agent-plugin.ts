/**
 * A Honk agent inside the example's backend, so that migrations started from Backstage run
 * without a separate process. It claims from the same PostgreSQL task store the honk plugin
 * enqueues into (`honk.store`), with the file and PostgreSQL connectors, and drains on
 * shutdown. In production, agents run apart from Backstage (`honk agent --store …`, see
 * examples/fleet); nothing else changes.
 *
 * ```yaml
 * honkExample:
 *   agent: { concurrency: 2 }   # tasks at a time; 0 disables the agent
 * ```
 */
import { dirname } from 'node:path';
import { coreServices, createBackendPlugin, type LoggerService } from '@backstage/backend-plugin-api';
import { readHonkConfig } from '@honk/backstage-plugin-honk-node';
import { createPostgresTaskStore, postgresConnector } from '@honk/connectors-postgres';
import { Agent, ConnectorRegistry, fileConnector, type Logger } from '@honk/core';

/** Honk logs (fields, message); Backstage's logger takes (message, fields). */
function honkLogger(logger: LoggerService): Logger {
  const fields = (object: Record<string, unknown>) => JSON.parse(JSON.stringify(object));
  return {
    debug: (object, message) => logger.debug(message ?? '', fields(object)),
    info: (object, message) => logger.info(message ?? '', fields(object)),
    warn: (object, message) => logger.warn(message ?? '', fields(object)),
    error: (object, message) => logger.error(message ?? '', fields(object)),
  };
}

export const honkAgentPlugin = createBackendPlugin({
  pluginId: 'honk-agent',
  register(env) {
    env.registerInit({
      deps: { config: coreServices.rootConfig, logger: coreServices.logger, lifecycle: coreServices.lifecycle },
      async init({ config, logger, lifecycle }) {
        const concurrency = config.getOptionalNumber('honkExample.agent.concurrency') ?? 2;
        if (concurrency === 0) {
          logger.info('honk agent disabled (honkExample.agent.concurrency: 0)');
          return;
        }
        const honk = readHonkConfig(config);
        const store = await createPostgresTaskStore({ url: honk.storeUrl, schema: honk.storeSchema });
        const agent = new Agent({
          store,
          connectors: new ConnectorRegistry([fileConnector, postgresConnector]),
          concurrency,
          logger: honkLogger(logger),
          // Relative paths of stored spec tasks resolve against the spec's directory.
          ...(honk.specPath ? { baseDir: dirname(honk.specPath) } : {}),
        });
        lifecycle.addStartupHook(() => {
          agent.start();
          logger.info(`honk agent running ${concurrency} task(s) at a time from ${store.name}`);
        });
        lifecycle.addShutdownHook(async () => {
          await agent.stop({ drain: true, timeoutMs: 10_000 });
          await store.close();
        });
      },
    });
  },
});
