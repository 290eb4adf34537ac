/**
 * Which TaskStore a command uses. Every command finds it the same way: `--store <url>`, then
 * the `HONK_STORE` environment variable, then the default — the embedded journal in `.honk/`
 * beside the spec for commands that take a spec, in the working directory for the others.
 *
 *   memory:                   in-process only, gone when the command ends
 *   journal:<dir> | <dir>     the embedded journal in <dir>
 *   postgres://… | postgresql://…   the distributed PostgreSQL store (@honk/connectors-postgres)
 *
 * A store that is busy (an embedded store another process holds) or unreachable is a
 * StoreUnavailableError (`STORE_UNAVAILABLE`, exit 3): nothing is wrong with the input.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  ConfigError,
  createMemoryTaskStore,
  isHonkError,
  openJournalTaskStore,
  redactText,
  StoreUnavailableError,
  type TaskStore,
  toHonkError,
} from '@honk/core';

export interface OpenStoreOptions {
  /** Directory of the spec; the default journal lives in its `.honk/`. */
  specDir?: string;
  cwd: string;
  /** Where `HONK_STORE` is read. Default: none (only `--store` and the default count). */
  env?: Record<string, string | undefined>;
  /**
   * Refuse to create the default store when it does not exist yet (commands that only read
   * or change existing tasks: an empty store made up on the spot would hide where the tasks are).
   */
  mustExist?: boolean;
}

/** Where the store of a command came from. */
export type StoreOrigin = '--store' | 'HONK_STORE' | 'default';

/** A resolved store location. */
export interface StoreLocation {
  /** The URL as given, or the default journal (`journal:<absolute dir>`). */
  url: string;
  from: StoreOrigin;
  /** Printable: journal directories absolute, passwords masked. */
  description: string;
}

/** Resolves `--store`, then `HONK_STORE`, then the default. */
export function resolveStore(url: string | undefined, options: OpenStoreOptions): StoreLocation {
  const fromEnv = options.env?.HONK_STORE?.trim();
  if (url !== undefined) return located(url, '--store', options.cwd);
  if (fromEnv) return located(fromEnv, 'HONK_STORE', options.cwd);
  return located(`journal:${join(options.specDir ?? options.cwd, '.honk')}`, 'default', options.cwd);
}

function located(url: string, from: StoreOrigin, cwd: string): StoreLocation {
  const directory = journalDirectory(url, cwd);
  return { url, from, description: directory !== undefined ? `journal:${directory}` : redactText(url) };
}

/** The absolute directory of a journal store URL, or undefined for other stores. */
function journalDirectory(url: string, cwd: string): string | undefined {
  if (url === 'memory' || url === 'memory:' || /^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    return url.startsWith('file://') ? resolve(cwd, url.slice('file://'.length)) : undefined;
  }
  return resolve(cwd, url.replace(/^journal:/, ''));
}

/** A printable description of the store a command uses, without credentials. */
export function describeStoreUrl(url: string | undefined, options: OpenStoreOptions): string {
  return resolveStore(url, options).description;
}

/** Opens the store `--store`, `HONK_STORE` or the default names (see the module documentation). */
export async function openStore(url: string | undefined, options: OpenStoreOptions): Promise<TaskStore> {
  const location = resolveStore(url, options);
  try {
    return await openLocation(location, options);
  } catch (error) {
    throw unavailable(error, location);
  }
}

async function openLocation(location: StoreLocation, options: OpenStoreOptions): Promise<TaskStore> {
  const { url } = location;
  if (url === 'memory' || url === 'memory:') return createMemoryTaskStore();
  if (/^postgres(ql)?:\/\//.test(url)) {
    const module = (await import('@honk/connectors-postgres')) as Record<string, unknown>;
    const create = module.createPostgresTaskStore as ((options: { url: string }) => Promise<TaskStore>) | undefined;
    if (typeof create !== 'function') {
      throw new ConfigError(
        `Store ${location.description}: this installation of @honk/connectors-postgres has no task store. Upgrade it, or use the embedded store (omit --store).`,
      );
    }
    return create({ url });
  }
  const directory = journalDirectory(url, options.cwd);
  if (directory === undefined) {
    throw new ConfigError(
      `Store ${location.description} (from ${location.from}): unknown store URL. Use memory:, journal:<dir>, a directory, or postgres://user@host/db.`,
    );
  }
  if (options.mustExist && location.from === 'default' && !existsSync(directory)) {
    throw new ConfigError(
      `No task store at ${directory} (the default: .honk/ in the working directory). A spec's default store is .honk/ beside the spec file; name the store with --store <dir or URL> or set HONK_STORE, the same way for every command.`,
    );
  }
  return openJournalTaskStore(directory);
}

/** Busy or unreachable stores become STORE_UNAVAILABLE (exit 3); invalid input stays as it is. */
function unavailable(error: unknown, location: StoreLocation): unknown {
  if (isHonkError(error) && (error.code === 'STORE_UNAVAILABLE' || !error.retryable)) return error;
  const honk = toHonkError(error);
  if (!honk.retryable) return honk;
  return new StoreUnavailableError(
    `Task store ${location.description} (from ${location.from}) is unreachable: ${redactText(honk.message)} Check that it is running and reachable from here; nothing was changed, run the command again later.`,
    { cause: error, details: { store: location.description } },
  );
}
