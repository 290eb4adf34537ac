/**
 * The scaffolder action `honk:migration:start`: starts the migration of one or more dataset
 * entities through the honk backend's routes, on behalf of the user who runs the template
 * (so the honk permissions apply to that user, not to the scaffolder).
 *
 * - Dry run (`isDryRun`, the template editor): the backend builds and validates the tasks
 *   and enqueues nothing; the output shows what would run.
 * - Checkpoint: the enqueue runs inside `ctx.checkpoint`, keyed by the selection, so a step
 *   the scaffolder retries after a crash returns the recorded result instead of enqueueing
 *   again (with `rerun: true` a second enqueue would start the migration a second time).
 */
import { createHash } from 'node:crypto';
import type { AuthService, DiscoveryService } from '@backstage/backend-plugin-api';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { HonkClient, type StartResponse } from '@honk/backstage-plugin-honk-common';

export const START_MIGRATION_ACTION_ID = 'honk:migration:start';

export function createStartMigrationAction(options: { auth: AuthService; discovery: DiscoveryService }) {
  const client = new HonkClient({ discoveryApi: options.discovery });
  return createTemplateAction({
    id: START_MIGRATION_ACTION_ID,
    description:
      'Starts Honk migrations of dataset entities (by ref), optionally not before an instant, inside a daily window, with a priority.',
    supportsDryRun: true,
    schema: {
      input: {
        entityRefs: (z) =>
          z
            .array(z.string().min(1))
            .min(1)
            .describe('Dataset entities to migrate, e.g. resource:default/warehouse.shop.orders'),
        notBefore: (z) => z.string().optional().describe('Do not start before this instant (ISO 8601 with a zone)'),
        window: (z) =>
          z
            .object({ start: z.string(), end: z.string(), timezone: z.string().optional() })
            .optional()
            .describe(
              'Daily window the migrations may start in, e.g. { start: "01:00", end: "05:00", timezone: "Europe/Stockholm" }',
            ),
        priority: (z) => z.number().int().optional().describe('Higher runs first'),
        rerun: (z) => z.boolean().optional().describe('Run again even when the same definition already succeeded'),
      },
      output: {
        taskIds: (z) => z.array(z.string()).describe('The Honk task ids, one per entity'),
        outcomes: (z) =>
          z.array(z.string()).describe('What the store did with each: created, unchanged, requeued … or dry-run'),
      },
    },
    async handler(ctx) {
      const { entityRefs, notBefore, window, priority, rerun } = ctx.input;
      const request = {
        entityRefs,
        ...(notBefore !== undefined ? { notBefore } : {}),
        ...(window !== undefined ? { window } : {}),
        ...(priority !== undefined ? { priority } : {}),
        ...(rerun !== undefined ? { rerun } : {}),
      };
      const start = async (dryRun: boolean): Promise<StartResponse> => {
        const { token } = await options.auth.getPluginRequestToken({
          onBehalfOf: await ctx.getInitiatorCredentials(),
          targetPluginId: 'honk',
        });
        return client.startBulk({ ...request, ...(dryRun ? { dryRun } : {}) }, { token });
      };
      let response: StartResponse;
      if (ctx.isDryRun) {
        response = await start(true);
      } else {
        const key = `honk-migration-start-${createHash('sha256').update(JSON.stringify(request)).digest('hex').slice(0, 16)}`;
        response = (await ctx.checkpoint({
          key,
          fn: async () => JSON.parse(JSON.stringify(await start(false))),
        })) as unknown as StartResponse;
      }
      for (const result of response.results)
        ctx.logger.info(`${result.entityRef}: task ${result.taskId} ${result.outcome}`);
      ctx.output(
        'taskIds',
        response.results.map((result) => result.taskId),
      );
      ctx.output(
        'outcomes',
        response.results.map((result) => result.outcome),
      );
    },
  });
}
