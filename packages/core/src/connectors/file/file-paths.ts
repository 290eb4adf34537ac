/**
 * Path handling for the file connector: confinement under the root, source listing (file,
 * directory, glob), target kinds and the deterministic names of staging, aside and snapshot
 * places.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ConfigError, NotFoundError } from '../../errors/honk-error.ts';

/**
 * Resolves `relative` under `root`. Throws a ConfigError when the result leaves the root, so
 * a spec can never read or write outside the directory its connection names.
 */
export function resolveUnderRoot(root: string, relative: string, option = 'path'): string {
  const base = path.resolve(root);
  const resolved = path.resolve(base, relative);
  const inside = path.relative(base, resolved);
  if (inside.startsWith('..') || path.isAbsolute(inside)) {
    throw new ConfigError(
      `File connector: ${option} "${relative}" resolves outside the connection root "${base}". Use a path inside the root (no "..").`,
      { details: { option, path: relative } },
    );
  }
  return resolved;
}

const globCharacters = /[*?[]/;

/** True when the path has glob characters. */
export function isGlob(pattern: string): boolean {
  return globCharacters.test(pattern);
}

/**
 * One glob path segment as a RegExp: `*` and `?` stay within the segment, `[…]` is a
 * character class (`[!…]` negated). Shared with connectors that list remote file systems (HDFS).
 */
export function segmentPattern(segment: string): RegExp {
  let source = '';
  for (let index = 0; index < segment.length; index++) {
    const char = segment[index] as string;
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '[') {
      const close = segment.indexOf(']', index + 1);
      if (close < 0) source += '\\[';
      else {
        const body = segment.slice(index + 1, close).replace(/\\/g, '\\\\');
        source += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        index = close;
      }
    } else source += char.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Names that are metadata or in-flight work, never data: `.honk-staging-…`, `_SUCCESS`, `.DS_Store`. */
export function isHiddenName(name: string): boolean {
  return name.startsWith('.') || name.startsWith('_');
}

/**
 * The files a source path denotes, absolute and sorted by name (by path for globs).
 * Throws NotFoundError naming the resolved path when nothing matches.
 */
export async function listSourceFiles(root: string, relative: string): Promise<string[]> {
  if (isGlob(relative)) {
    const base = path.resolve(root);
    const pattern = resolveUnderRoot(root, relative);
    const segments = path.relative(base, pattern).split(path.sep);
    let current = [base];
    for (const [index, segment] of segments.entries()) {
      const last = index === segments.length - 1;
      const next: string[] = [];
      for (const directory of current) {
        if (!isGlob(segment)) {
          next.push(path.join(directory, segment));
          continue;
        }
        const matcher = segmentPattern(segment);
        let entries: import('node:fs').Dirent[];
        try {
          entries = await fs.readdir(directory, { withFileTypes: true });
        } catch {
          continue;
        }
        for (const entry of entries) {
          if (isHiddenName(entry.name) && !segment.startsWith('.')) continue;
          if (!matcher.test(entry.name)) continue;
          if (last ? entry.isFile() || entry.isSymbolicLink() : entry.isDirectory()) {
            next.push(path.join(directory, entry.name));
          }
        }
      }
      current = next;
    }
    const files: string[] = [];
    for (const file of current) {
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat?.isFile()) files.push(file);
    }
    if (files.length === 0) {
      throw new NotFoundError(`File connector: no file matches "${pattern}". Check the path and the glob.`, {
        details: { path: pattern },
      });
    }
    return files.sort();
  }
  const resolved = resolveUnderRoot(root, relative);
  const stat = await fs.stat(resolved).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (!stat) {
    throw new NotFoundError(`File connector: "${resolved}" does not exist. Check the path and the connection root.`, {
      details: { path: resolved },
    });
  }
  if (stat.isFile()) return [resolved];
  if (!stat.isDirectory()) {
    throw new ConfigError(`File connector: "${resolved}" is neither a file nor a directory.`);
  }
  const entries = await fs.readdir(resolved, { withFileTypes: true });
  const files = entries
    .filter((entry) => !isHiddenName(entry.name) && (entry.isFile() || entry.isSymbolicLink()))
    .map((entry) => path.join(resolved, entry.name))
    .sort();
  if (files.length === 0) {
    throw new NotFoundError(`File connector: directory "${resolved}" holds no data files.`, {
      details: { path: resolved },
    });
  }
  return files;
}

/**
 * A file-system-safe rendering of a task id: readable characters kept, the rest replaced,
 * plus a short hash of the original so distinct ids never share a name (`a/b` vs `a_b`).
 */
export function safeName(taskId: string): string {
  const readable = taskId.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  const hash = createHash('sha256').update(taskId).digest('hex').slice(0, 8);
  return `${readable}-${hash}`;
}

/** A target path with an extension is one file; without one, or ending in `/`, a directory. */
export function isDirectoryTarget(relative: string): boolean {
  if (relative.endsWith('/') || relative.endsWith(path.sep)) return true;
  return path.extname(relative) === '';
}

/** The places a sink uses beside its target, all derived from the task id. */
export interface TargetPlaces {
  /** The absolute target path. */
  target: string;
  /** The directory holding the target. */
  parent: string;
  /** The staging directory: `<parent>/.honk-staging-<task>-<name>/`. */
  staging: string;
  /** Where a directory publish parks the old target: `<parent>/.honk-aside-<task>-<name>`. */
  aside: string;
  /** Whether the target is a directory of parts. */
  directory: boolean;
}

export function targetPlaces(root: string, relative: string, taskId: string): TargetPlaces {
  const target = resolveUnderRoot(root, relative);
  if (target === path.resolve(root)) {
    throw new ConfigError(
      'File connector: a target path must name a file or directory inside the root, not the root itself.',
    );
  }
  const parent = path.dirname(target);
  const name = path.basename(target);
  const task = safeName(taskId);
  return {
    target,
    parent,
    staging: path.join(parent, `.honk-staging-${task}-${name}`),
    aside: path.join(parent, `.honk-aside-${task}-${name}`),
    directory: isDirectoryTarget(relative),
  };
}

/** fsyncs a directory so renames and new entries in it survive a crash. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await fs.open(directory, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems refuse fsync on directories; durability then rests on the OS.
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL' && (error as NodeJS.ErrnoException).code !== 'EISDIR')
      throw error;
  } finally {
    await handle.close();
  }
}

/** True when the path exists (file, directory or link). */
export async function exists(target: string): Promise<boolean> {
  try {
    await fs.lstat(target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
