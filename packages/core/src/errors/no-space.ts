/**
 * Turning a raw error into a HonkError where the caller can afford to look around: for a
 * full file system (ENOSPC, EDQUOT) the message then says how much room is left there, read
 * with `statfs` (on the path, or its nearest existing parent: the file that failed may be
 * gone by now, removed with the staging).
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { type ErrorOrigin, type HonkError, isHonkError, noSpaceError, toHonkError } from './honk-error.ts';
import { findSystemError } from './system-error-codes.ts';

/** Free (to this process) and total bytes of the file system holding `path`, or undefined. */
export async function fileSystemSpace(path: string): Promise<{ freeBytes: number; totalBytes: number } | undefined> {
  let current = path;
  for (;;) {
    try {
      const stats = await fs.statfs(current);
      return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
    } catch {
      const parent = dirname(current);
      if (parent === current) return undefined;
      current = parent;
    }
  }
}

/**
 * {@link toHonkError}, and for ENOSPC/EDQUOT a {@link NoSpaceError} that also names the free
 * and total space of the file system written to. HonkErrors pass through unchanged.
 */
export async function describeError(error: unknown, origin: ErrorOrigin = {}): Promise<HonkError> {
  if (isHonkError(error)) return error;
  const match = findSystemError(error);
  if (match?.kind !== 'no-space') return toHonkError(error, origin);
  const reported = (match.error as { path?: unknown }).path;
  const path = typeof reported === 'string' ? reported : origin.path;
  const space = path === undefined ? undefined : await fileSystemSpace(path);
  return noSpaceError(error, origin, { ...(path !== undefined ? { path } : {}), ...space });
}
