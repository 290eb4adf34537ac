/**
 * Discovery for the file connector: the datasets under a folder of the connection root.
 *
 * A dataset is what a file source can read as one: a single data file (known format by its
 * extension), or a part folder, a directory whose visible entries are data files of one
 * format and nothing else. Other directories are walked into; hidden names (`.honk-staging-…`,
 * `_SUCCESS`) and files of unknown formats are skipped. Only directory listings and `stat`
 * are used: no file is opened, so discovery costs the same for a 1 KB and a 1 TB dataset.
 * Symbolic links to directories are not followed (a link loop must not hang discovery).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DatasetInfo, DiscoverScope } from '../../connector/connector.ts';
import { ConfigError, NotFoundError, throwIfAborted } from '../../errors/honk-error.ts';
import { type FileFormatName, type FileOptions, formatOfName } from './file-options.ts';
import { isHiddenName, resolveUnderRoot } from './file-paths.ts';

interface DataFile {
  name: string;
  format: FileFormatName;
  bytes: number;
  modifiedMs: number;
}

/** The datasets under `scope.within` (default: the root): each folder's files, then its subfolders, by name. */
export async function discoverFiles(options: FileOptions, scope: DiscoverScope): Promise<DatasetInfo[]> {
  const root = path.resolve(options.root);
  const within = scope.within ?? '';
  const start = resolveUnderRoot(root, within, 'within');
  const stat = await fs.stat(start).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
  if (!stat) {
    throw new NotFoundError(
      `File connector: cannot discover datasets in "${start}": it does not exist. Check \`within\` and the connection root.`,
      { details: { path: start } },
    );
  }
  if (!stat.isDirectory()) {
    throw new ConfigError(
      `File connector: \`within\` must name a directory under the root; "${start}" is a file. Name its folder instead.`,
      { details: { option: 'within', path: start } },
    );
  }
  const limit = scope.limit ?? Number.POSITIVE_INFINITY;
  const found: DatasetInfo[] = [];
  await walk(root, start, true, found, limit, scope.signal);
  return found;
}

async function walk(
  root: string,
  directory: string,
  isStart: boolean,
  found: DatasetInfo[],
  limit: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  throwIfAborted(signal);
  const entries = (await fs.readdir(directory, { withFileTypes: true }))
    .filter((entry) => !isHiddenName(entry.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: DataFile[] = [];
  const folders: string[] = [];
  let otherFiles = 0;
  for (const entry of entries) {
    if (entry.isDirectory()) {
      folders.push(entry.name);
      continue;
    }
    const format = entry.isFile() || entry.isSymbolicLink() ? formatOfName(entry.name) : undefined;
    if (format === undefined) {
      otherFiles++;
      continue;
    }
    const stat = await fs.stat(path.join(directory, entry.name)).catch(() => undefined);
    if (stat?.isFile()) files.push({ name: entry.name, format, bytes: stat.size, modifiedMs: stat.mtimeMs });
  }
  const relative = path.relative(root, directory).split(path.sep).join('/');
  const formats = new Set(files.map((file) => file.format));
  // A folder of parts is read as one dataset by a file source; anything else beside the parts
  // (subfolders, other formats) would make that read fail or miss data, so those are listed file by file.
  if (!isStart && files.length > 0 && folders.length === 0 && otherFiles === 0 && formats.size === 1) {
    const format = files[0]!.format;
    found.push({
      name: `${relative}/`,
      kind: 'directory',
      endpoint: { path: `${relative}/`, format },
      bytes: files.reduce((sum, file) => sum + file.bytes, 0),
      modifiedAt: new Date(Math.max(...files.map((file) => file.modifiedMs))).toISOString(),
    });
    return;
  }
  for (const file of files) {
    if (found.length >= limit) return;
    const name = relative === '' ? file.name : `${relative}/${file.name}`;
    found.push({
      name,
      kind: 'file',
      endpoint: { path: name, format: file.format },
      bytes: file.bytes,
      modifiedAt: new Date(file.modifiedMs).toISOString(),
    });
  }
  for (const folder of folders) {
    if (found.length >= limit) return;
    await walk(root, path.join(directory, folder), false, found, limit, signal);
  }
}
