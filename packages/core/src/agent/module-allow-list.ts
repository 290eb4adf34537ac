/**
 * The modules an agent trusts. A task in a shared queue names connector and transform
 * modules; anyone who can enqueue could name any file on the agent's disk, and importing a
 * module runs its code. So an agent imports a module only when its own configuration allows
 * it — never because a task asks — and checks before the import, not after.
 *
 * An entry is a package name (`@acme/honk-connectors`: the package and its subpaths) or an
 * absolute path: a directory (everything below it; write it with a trailing `/` or name an
 * existing directory) or one file. Paths are compared after resolving symbolic links, so a
 * link inside an allowed directory that points elsewhere does not pass.
 */
import { realpathSync, statSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { ConfigError, ModuleNotAllowedError } from '../errors/honk-error.ts';
import { isPathSpecifier } from '../spec/load-connector-modules.ts';

/** How to name the setting in messages; the CLI's flag and variable by default. */
const SETTING = '--allow-module <entry> (or HONK_ALLOWED_MODULES=<entry,…>)';

interface PathEntry {
  path: string;
  directory: boolean;
}

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The specifier part of a module reference (`/a/b.ts#x` → `/a/b.ts`). */
export function moduleSpecifier(module: string): string {
  const hash = module.lastIndexOf('#');
  return (hash > 0 ? module.slice(0, hash) : module).trim();
}

/** An agent's module allow-list. See the module documentation. */
export class ModuleAllowList {
  readonly entries: readonly string[];
  readonly #packages: string[] = [];
  readonly #paths: PathEntry[] = [];

  /** Throws a ConfigError for an entry that is neither a package name nor an absolute path. */
  constructor(entries: Iterable<string>) {
    const kept: string[] = [];
    for (const raw of entries) {
      const entry = raw.trim();
      if (entry === '') continue;
      kept.push(entry);
      if (isAbsolute(entry)) {
        this.#paths.push({
          path: real(entry),
          directory: entry.endsWith('/') || entry.endsWith(sep) || isDirectory(entry),
        });
      } else if (isPathSpecifier(entry) || entry.includes('\\') || entry.startsWith('file:')) {
        throw new ConfigError(
          `Module allow-list entry "${entry}" is a relative path: write an absolute directory or file path (/app/connectors/), or a package name (@acme/honk-connectors).`,
          { details: { option: 'allowModules', entry } },
        );
      } else {
        this.#packages.push(entry);
      }
    }
    this.entries = kept;
  }

  /** True when `module` (an absolute path or a package name, with or without `#export`) is trusted. */
  allows(module: string): boolean {
    const specifier = moduleSpecifier(module);
    if (isAbsolute(specifier)) {
      const file = real(specifier);
      return this.#paths.some((entry) =>
        entry.directory ? file === entry.path || file.startsWith(`${entry.path}${sep}`) : file === entry.path,
      );
    }
    // A relative path in a task record means nothing on this machine: never trusted.
    if (isPathSpecifier(specifier)) return false;
    return this.#packages.some((name) => specifier === name || specifier.startsWith(`${name}/`));
  }

  /** Throws a ModuleNotAllowedError (not retried) naming the module, the task and the setting to change. */
  check(module: string, use: string, taskId: string): void {
    if (this.allows(module)) return;
    const specifier = moduleSpecifier(module);
    const trusted = this.entries.length > 0 ? this.entries.join(', ') : '(nothing)';
    throw new ModuleNotAllowedError(
      `Task "${taskId}" needs ${use} "${specifier}", which this agent does not trust: agents load connector and transform modules only from their own allow-list (now: ${trusted}), never because a task names them. To run it here, add the module, its directory or its package to the agent's allow-list with ${SETTING}; otherwise run the task on agents that allow it.`,
      specifier,
      { details: { taskId, use } },
    );
  }
}
