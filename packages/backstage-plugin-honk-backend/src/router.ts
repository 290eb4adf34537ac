/**
 * The HTTP routes of the honk plugin (mounted at `/api/honk`). Every route but `/health`
 * authenticates the caller through `httpAuth` (users and services) and asks the permission
 * framework before doing anything; a denied caller gets 403 and nothing changes.
 *
 *   GET  /health                          open: the plugin is up and its store answers
 *   GET  /migrations?status=&entityRef=&limit=&offset=   read
 *   GET  /migrations/:taskId              read: history, validation report, snapshot, sign-off
 *   GET  /entity-migration?entityRef=     read: the latest migration of a dataset entity
 *   POST /migrations                      start: one entity (dryRun, rerun, notBefore, window, priority)
 *   POST /migrations/bulk                 start: entityRefs or a catalog filter, with a window
 *   POST /tasks/generate                  start: a Honk spec for a catalog filter, nothing enqueued
 *   POST /migrations/:taskId/requeue      requeue
 *   POST /migrations/:taskId/cancel       cancel
 *   POST /migrations/:taskId/rollback     rollback
 *   POST /migrations/:taskId/sign-off     sign-off
 */
import type {
  BackstageCredentials,
  HttpAuthService,
  LoggerService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError } from '@backstage/errors';
import { AuthorizeResult, type BasicPermission } from '@backstage/plugin-permission-common';
import {
  honkMigrationCancelPermission,
  honkMigrationReadPermission,
  honkMigrationRequeuePermission,
  honkMigrationRollbackPermission,
  honkMigrationSignOffPermission,
  honkMigrationStartPermission,
  MIGRATION_STATUSES,
} from '@honk/backstage-plugin-honk-common';
import { redact } from '@honk/core';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { HonkService } from './honk-service.ts';

const windowSchema = z.strictObject({
  start: z.string().regex(/^\d\d:\d\d$/),
  end: z.string().regex(/^\d\d:\d\d$/),
  timezone: z.string().min(1).optional(),
});
const templateSchema = z
  .strictObject({
    target: z.looseObject({ connection: z.string().min(1) }).optional(),
    transform: z.unknown().optional(),
    validate: z.unknown().optional(),
    retry: z.unknown().optional(),
    snapshot: z.unknown().optional(),
    priority: z.int().optional(),
    labels: z.record(z.string(), z.string()).optional(),
  })
  .optional();
const filterSchema = z.record(z.string(), z.union([z.string(), z.array(z.string())]));
const scheduling = {
  notBefore: z.iso.datetime({ offset: true }).optional(),
  window: windowSchema.optional(),
  priority: z.int().optional(),
  template: templateSchema,
  dryRun: z.boolean().optional(),
  rerun: z.boolean().optional(),
};
const startSchema = z.strictObject({ entityRef: z.string().min(1), ...scheduling });
const bulkSchema = z
  .strictObject({
    entityRefs: z.array(z.string().min(1)).min(1).optional(),
    filter: z.union([filterSchema, z.array(filterSchema).min(1)]).optional(),
    ...scheduling,
  })
  .refine((body) => (body.entityRefs === undefined) !== (body.filter === undefined), {
    message: 'give exactly one of entityRefs or filter',
  });
const generateSchema = z.strictObject({
  filter: z.union([filterSchema, z.array(filterSchema).min(1)]),
  template: templateSchema,
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
  throw new InputError(`Invalid ${what}: ${problems.join('; ')}.`);
}

function list(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value : [value]).flatMap((item) => String(item).split(','));
}

function count(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InputError(`${name} must be a whole number of at least 0.`);
  return parsed;
}

/** Who acted: the user entity ref, or the calling service's subject. */
export function actorOf(credentials: BackstageCredentials): string {
  const principal = credentials.principal as { type?: string; userEntityRef?: string; subject?: string };
  return principal.userEntityRef ?? principal.subject ?? 'unknown';
}

/** A spec's literal credentials masked; `${env:…}` references (what agents resolve) kept. */
function maskLiterals(value: unknown): unknown {
  if (typeof value === 'string') return value.includes('${env:') ? value : redact(value);
  if (Array.isArray(value)) return value.map(maskLiterals);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const keep = typeof item === 'string' && /^(\$\{env:[A-Za-z_][A-Za-z0-9_]*\})+$/.test(item);
      out[key] = keep ? item : (redact({ [key]: maskLiterals(item) }) as Record<string, unknown>)[key];
    }
    return out;
  }
  return value;
}

export interface RouterOptions {
  service: HonkService;
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  logger: LoggerService;
}

export function createRouter(options: RouterOptions): express.Router {
  const { service, httpAuth, permissions } = options;
  const router = express.Router();
  router.use(express.json({ limit: '2mb' }));

  /** Authenticates and authorises; throws NotAllowedError (403) when the policy denies. */
  const authorize = async (request: Request, permission: BasicPermission): Promise<BackstageCredentials> => {
    const credentials = await httpAuth.credentials(request, { allow: ['user', 'service'] });
    const [decision] = await permissions.authorize([{ permission }], { credentials });
    if (decision?.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(`${actorOf(credentials)} may not ${permission.name}.`);
    }
    return credentials;
  };

  // Express 4 does not pass rejected promises on; every handler goes through this.
  const handle =
    (handler: (request: Request, response: Response) => Promise<unknown>) =>
    (request: Request, response: Response, next: NextFunction) => {
      handler(request, response).then(
        (body) => {
          if (!response.headersSent) response.json(body);
        },
        (error: unknown) => next(error),
      );
    };

  router.get(
    '/health',
    handle(async () => {
      await service.store.counts();
      return { status: 'ok', store: service.store.name.replace(/\/\/[^@/]*@/, '//…@') };
    }),
  );

  router.get(
    '/migrations',
    handle(async (request) => {
      await authorize(request, honkMigrationReadPermission);
      const status = list(request.query.status);
      const unknown = status?.filter((item) => !(MIGRATION_STATUSES as readonly string[]).includes(item)) ?? [];
      if (unknown.length > 0) {
        throw new InputError(`Unknown status ${unknown.join(', ')}; use ${MIGRATION_STATUSES.join(', ')}.`);
      }
      const limit = count(request.query.limit, 'limit');
      const offset = count(request.query.offset, 'offset');
      const entityRef = list(request.query.entityRef);
      return service.list({
        ...(status ? { status: status as never } : {}),
        ...(entityRef ? { entityRef } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(offset !== undefined ? { offset } : {}),
      });
    }),
  );

  router.get(
    '/migrations/:taskId',
    handle(async (request) => {
      await authorize(request, honkMigrationReadPermission);
      return service.detail(String(request.params.taskId));
    }),
  );

  router.get(
    '/entity-migration',
    handle(async (request) => {
      await authorize(request, honkMigrationReadPermission);
      const ref = request.query.entityRef;
      if (typeof ref !== 'string' || ref === '') throw new InputError('Give the dataset entity as ?entityRef=.');
      return service.entityMigration(ref);
    }),
  );

  router.post(
    '/migrations',
    handle(async (request, response) => {
      const credentials = await authorize(request, honkMigrationStartPermission);
      const { entityRef, ...rest } = parse(startSchema, request.body, 'start request');
      const result = await service.start({ ...rest, entityRefs: [entityRef] } as never, credentials);
      response.status(rest.dryRun ? 200 : 202);
      return result;
    }),
  );

  router.post(
    '/migrations/bulk',
    handle(async (request, response) => {
      const credentials = await authorize(request, honkMigrationStartPermission);
      const body = parse(bulkSchema, request.body, 'bulk start request');
      const result = await service.start(body as never, credentials);
      response.status(body.dryRun ? 200 : 202);
      return result;
    }),
  );

  router.post(
    '/tasks/generate',
    handle(async (request) => {
      const credentials = await authorize(request, honkMigrationStartPermission);
      const body = parse(generateSchema, request.body, 'generate request');
      const generated = await service.generate(body.filter, body.template as never, credentials);
      const spec = generated.spec as { connections?: unknown };
      return { spec: { ...spec, connections: maskLiterals(spec.connections) } };
    }),
  );

  const action = (
    path: string,
    permission: BasicPermission,
    run: (taskId: string, actor: string) => Promise<unknown>,
  ) =>
    router.post(
      `/migrations/:taskId/${path}`,
      handle(async (request) => {
        const credentials = await authorize(request, permission);
        const result = await run(String(request.params.taskId), actorOf(credentials));
        options.logger.info(`honk ${path} of task ${request.params.taskId} by ${actorOf(credentials)}`);
        return result;
      }),
    );
  action('requeue', honkMigrationRequeuePermission, (taskId) => service.requeue(taskId));
  action('cancel', honkMigrationCancelPermission, (taskId) => service.cancel(taskId));
  action('rollback', honkMigrationRollbackPermission, (taskId, actor) => service.rollback(taskId, actor));
  action('sign-off', honkMigrationSignOffPermission, (taskId, actor) => service.signOff(taskId, actor));

  return router;
}
