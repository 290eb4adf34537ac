/**
 * `honk backstage generate|start|status`: the catalog side of Honk from a terminal or a CI job,
 * through the honk backend plugin of a running Backstage (its `/api/honk` routes, with the
 * same permission checks as the portal). The Backstage URL comes from `--url` or
 * `HONK_BACKSTAGE_URL`; the token only from `HONK_BACKSTAGE_TOKEN` (a Backstage static
 * external-access token or a user token), never from an argument, so it stays out of shell
 * history and process listings.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import {
  type BulkStartRequest,
  type CatalogFilter,
  HonkApiError,
  HonkClient,
  type HonkRequestOptions,
  type MigrationStatus,
  type StartResponse,
  type TaskTemplate,
} from '@honk/backstage-plugin-honk-common';
import { AuthError, ConfigError, NotFoundError, registerSecret, TransientError } from '@honk/core';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type CliIo, EXIT } from '../cli-io.ts';
import { textTable } from '../text-table.ts';

export interface BackstageConnectionOptions {
  url?: string;
}

export interface BackstageSelectOptions extends BackstageConnectionOptions {
  filter?: string[];
  entity?: string[];
  template?: string;
}

export interface BackstageGenerateOptions extends BackstageSelectOptions {
  out?: string;
  json?: boolean;
}

export interface BackstageStartOptions extends BackstageSelectOptions {
  notBefore?: string;
  window?: string;
  timezone?: string;
  priority?: number;
  dryRun?: boolean;
  rerun?: boolean;
  json?: boolean;
}

export interface BackstageStatusOptions extends BackstageConnectionOptions {
  status?: string[];
  entity?: string[];
  limit?: number;
  json?: boolean;
}

interface Backstage {
  client: HonkClient;
  /** What every call sends: the token, when there is one. */
  request: HonkRequestOptions;
  base: string;
}

function connect(options: BackstageConnectionOptions, io: CliIo): Backstage {
  const raw = options.url ?? io.env.HONK_BACKSTAGE_URL;
  if (!raw) {
    throw new ConfigError(
      'Give the Backstage URL with --url or HONK_BACKSTAGE_URL (e.g. https://backstage.example.com).',
      {
        details: { option: '--url' },
      },
    );
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`--url "${raw}" is not a URL; give Backstage's base URL, e.g. http://localhost:7007.`, {
      details: { option: '--url' },
    });
  }
  if (url.username || url.password) {
    throw new ConfigError('Do not put credentials in --url; set HONK_BACKSTAGE_TOKEN instead.', {
      details: { option: '--url' },
    });
  }
  const token = io.env.HONK_BACKSTAGE_TOKEN || undefined;
  if (token) registerSecret(token);
  const base = url.href.replace(/\/+$/, '');
  const client = new HonkClient({ discoveryApi: { getBaseUrl: async (pluginId) => `${base}/api/${pluginId}` } });
  return { client, request: token ? { token } : {}, base };
}

/** `key=value` pairs into one catalog filter: the same key twice accepts either value. */
function catalogFilter(pairs: readonly string[]): CatalogFilter {
  const filter: Record<string, string | string[]> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) {
      throw new ConfigError(
        `--filter "${pair}" is not key=value; e.g. --filter metadata.tags=migration --filter spec.owner=group:default/sales.`,
        { details: { option: '--filter' } },
      );
    }
    const key = pair.slice(0, at);
    const value = pair.slice(at + 1);
    const seen = filter[key];
    filter[key] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return filter;
}

async function readTemplate(path: string | undefined, io: CliIo): Promise<TaskTemplate | undefined> {
  if (!path) return undefined;
  const file = resolve(io.cwd, path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`--template ${file} cannot be read (${(error as Error).message}).`, {
      details: { option: '--template' },
    });
  }
  let parsed: unknown;
  try {
    parsed = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`--template ${file} is not valid ${extname(file) || 'YAML'}: ${(error as Error).message}`, {
      details: { option: '--template' },
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`--template ${file} must hold an object (target, transform, validate, retry …).`, {
      details: { option: '--template' },
    });
  }
  return parsed as TaskTemplate;
}

/** What to select: entity refs, or a catalog filter (at least one). */
function selection(options: BackstageSelectOptions): Pick<BulkStartRequest, 'entityRefs' | 'filter'> {
  const entityRefs = options.entity ?? [];
  const filters = options.filter ?? [];
  if (entityRefs.length === 0 && filters.length === 0) {
    throw new ConfigError('Select datasets with --entity <ref> or --filter key=value (both repeatable).', {
      details: { option: '--filter' },
    });
  }
  return {
    ...(entityRefs.length > 0 ? { entityRefs } : {}),
    ...(filters.length > 0 ? { filter: catalogFilter(filters) } : {}),
  };
}

/** A daily window `HH:MM-HH:MM`, in `--timezone` (default UTC). */
function parseWindow(value: string | undefined, timezone: string | undefined): BulkStartRequest['window'] {
  if (value === undefined) {
    if (timezone !== undefined) {
      throw new ConfigError('--timezone applies to --window; give the window too.', {
        details: { option: '--timezone' },
      });
    }
    return undefined;
  }
  const match = /^(\d{2}:\d{2})-(\d{2}:\d{2})$/.exec(value);
  if (!match) {
    throw new ConfigError(`--window "${value}" is not HH:MM-HH:MM (e.g. 00:00-06:00).`, {
      details: { option: '--window' },
    });
  }
  return { start: match[1]!, end: match[2]!, ...(timezone ? { timezone } : {}) };
}

/** Backstage's answers as Honk errors, so exit codes follow the CLI's contract. */
async function call<T>(backstage: Backstage, what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof HonkApiError) {
      const said = `${what}: Backstage answered ${error.status}${error.errorName ? ` ${error.errorName}` : ''}`;
      const reason = (error.body as { error?: { message?: string } } | undefined)?.error?.message ?? error.message;
      if (error.status === 400) throw new ConfigError(`${said}: ${reason}`);
      if (error.status === 401) {
        throw new AuthError(`${said}: set HONK_BACKSTAGE_TOKEN to a token Backstage accepts (${reason}).`);
      }
      if (error.status === 403) {
        throw new AuthError(`${said}: the token's principal lacks the honk permission for this (${reason}).`);
      }
      if (error.status === 404) {
        throw new NotFoundError(
          `${said}: ${reason} (is the honk backend plugin installed at ${backstage.base}/api/honk?)`,
        );
      }
      throw new TransientError(`${said}: ${reason}`);
    }
    throw new TransientError(
      `${what}: Backstage at ${backstage.base} cannot be reached (${(error as Error).message}); try again when it is up.`,
      { cause: error },
    );
  }
}

export async function backstageGenerateCommand(options: BackstageGenerateOptions, io: CliIo): Promise<number> {
  const backstage = connect(options, io);
  const { filter } = selection(options);
  if (options.entity) {
    throw new ConfigError('generate selects by --filter only (it builds a spec for a catalog selection).', {
      details: { option: '--entity' },
    });
  }
  const template = await readTemplate(options.template, io);
  const { spec } = await call(backstage, 'generate tasks', () =>
    backstage.client.generateTasks({ filter: filter!, ...(template ? { template } : {}) }, backstage.request),
  );
  const asJson = options.json || (options.out !== undefined && extname(options.out).toLowerCase() === '.json');
  const text = asJson ? `${JSON.stringify(spec, null, 2)}\n` : stringifyYaml(spec);
  if (options.out) {
    const file = resolve(io.cwd, options.out);
    await writeFile(file, text);
    const count = (spec as { tasks?: unknown[] }).tasks?.length ?? 0;
    io.stderr(`honk: wrote ${count} task(s) to ${file}; run them with honk run or honk enqueue.\n`);
  } else {
    io.stdout(text);
  }
  return EXIT.ok;
}

function startTable(response: StartResponse): string {
  return textTable([
    ['ENTITY', 'TASK', 'OUTCOME', 'STATE'],
    ...response.results.map((result) => [result.entityRef, result.taskId, result.outcome, result.state ?? '']),
  ]);
}

export async function backstageStartCommand(options: BackstageStartOptions, io: CliIo): Promise<number> {
  const backstage = connect(options, io);
  const template = await readTemplate(options.template, io);
  const window = parseWindow(options.window, options.timezone);
  if (options.notBefore !== undefined && Number.isNaN(Date.parse(options.notBefore))) {
    throw new ConfigError(
      `--not-before "${options.notBefore}" is not an ISO 8601 instant (e.g. 2026-12-24T00:00:00Z).`,
      {
        details: { option: '--not-before' },
      },
    );
  }
  const request: BulkStartRequest = {
    ...selection(options),
    ...(template ? { template } : {}),
    ...(options.notBefore ? { notBefore: options.notBefore } : {}),
    ...(window ? { window } : {}),
    ...(options.priority !== undefined ? { priority: options.priority } : {}),
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.rerun ? { rerun: true } : {}),
  };
  const response = await call(backstage, 'start migrations', () =>
    backstage.client.startBulk(request, backstage.request),
  );
  if (options.json) io.stdout(`${JSON.stringify(response, null, 2)}\n`);
  else if (response.results.length === 0) io.stdout('No dataset matched the selection; nothing was started.\n');
  else io.stdout(`${startTable(response)}\n`);
  return EXIT.ok;
}

export async function backstageStatusCommand(options: BackstageStatusOptions, io: CliIo): Promise<number> {
  const backstage = connect(options, io);
  const response = await call(backstage, 'list migrations', () =>
    backstage.client.listMigrations(
      {
        ...(options.status ? { status: options.status as MigrationStatus[] } : {}),
        ...(options.entity ? { entityRef: options.entity } : {}),
        limit: options.limit ?? 100,
      },
      backstage.request,
    ),
  );
  if (options.json) {
    io.stdout(`${JSON.stringify(response, null, 2)}\n`);
    return EXIT.ok;
  }
  const counts = Object.entries(response.counts)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${status} ${count}`);
  io.stdout(
    `Backstage ${backstage.base}: ${response.totalItems} migration(s)${counts.length ? ` — ${counts.join(', ')}` : ''}\n`,
  );
  if (response.items.length > 0) {
    io.stdout(
      `${textTable([
        ['TASK', 'ENTITY', 'STATUS', 'ATTEMPTS', 'UPDATED', 'LAST ERROR'],
        ...response.items.map((item) => [
          item.taskId,
          item.entityRef ?? '',
          item.status,
          `${item.attempts}/${item.maxAttempts}`,
          item.updatedAt,
          item.lastError ? `${item.lastError.code}: ${item.lastError.message}` : '',
        ]),
      ])}\n`,
    );
  }
  if (response.items.length < response.totalItems) {
    io.stdout(`(${response.items.length} of ${response.totalItems} shown; raise --limit or filter with --status)\n`);
  }
  return EXIT.ok;
}
