/**
 * `--store <url>`: which TaskStore a command uses.
 *
 *   (absent)                  the embedded journal in `.honk/` beside the spec (or cwd)
 *   memory:                   in-process only, gone when the command ends
 *   journal:<dir> | <dir>     the embedded journal in <dir>
 *   postgres://… | postgresql://…   the distributed PostgreSQL store (@honk/connectors-postgres)
 */
import { join, resolve } from 'node:path';
import { ConfigError, createMemoryTaskStore, openJournalTaskStore, redactText, type TaskStore } from '@honk/core';

export interface OpenStoreOptions {
  /** Directory of the spec; the default journal lives in its `.honk/`. */
  specDir?: string;
  cwd: string;
}

/** A printable description of a store URL, without credentials. */
export function describeStoreUrl(url: string | undefined, options: OpenStoreOptions): string {
  if (url === undefined) return `journal:${join(options.specDir ?? options.cwd, '.honk')}`;
  return redactText(url);
}

export async function openStore(url: string | undefined, options: OpenStoreOptions): Promise<TaskStore> {
  if (url === undefined) return openJournalTaskStore(join(options.specDir ?? options.cwd, '.honk'));
  if (url === 'memory' || url === 'memory:') return createMemoryTaskStore();
  if (/^postgres(ql)?:\/\//.test(url)) {
    const module = (await import('@honk/connectors-postgres')) as Record<string, unknown>;
    const create = module.createPostgresTaskStore as ((options: { url: string }) => Promise<TaskStore>) | undefined;
    if (typeof create !== 'function') {
      throw new ConfigError(
        `--store ${redactText(url)}: this installation of @honk/connectors-postgres has no task store. Upgrade it, or use the embedded store (omit --store).`,
      );
    }
    return create({ url });
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
    throw new ConfigError(
      `--store ${redactText(url)}: unknown store URL. Use memory:, journal:<dir>, a directory, or postgres://user@host/db.`,
    );
  }
  const dir = url.replace(/^journal:/, '').replace(/^file:\/\//, '');
  return openJournalTaskStore(resolve(options.cwd, dir));
}
