/**
 * Full file systems (ENOSPC, EDQUOT): the NO_SPACE error and its message, and turning a raw
 * error into a HonkError where the caller can afford to look around — the message then says
 * how much room is left, read with `statfs` (on the path, or its nearest existing parent:
 * the file that failed may be gone by now, removed with the staging).
 *
 * The class lives in honk-error.ts with the others; this module only builds instances, so
 * honk-error.ts can use it without a cycle at evaluation time.
 */
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import {
  type ErrorOrigin,
  type HonkError,
  isHonkError,
  NoSpaceError,
  type NoSpaceFields,
  toHonkError,
} from './honk-error.ts';
import { findSystemError } from './system-error-codes.ts';

const MIB = 1024 * 1024;

/** Bytes as a short human figure: `512 B`, `3.4 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < MIB) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  return `${(bytes / (1024 * MIB)).toFixed(2)} GiB`;
}

/** Builds the NoSpaceError for an ENOSPC/EDQUOT error; `fields` may add what statfs found. */
export function noSpaceError(error: unknown, origin: ErrorOrigin = {}, fields: NoSpaceFields = {}): NoSpaceError {
  const match = findSystemError(error);
  const carrier = (match?.error ?? error) as { path?: unknown; code?: unknown };
  const systemCode = fields.systemCode ?? (typeof carrier.code === 'string' ? carrier.code : 'ENOSPC');
  const path = fields.path ?? (typeof carrier.path === 'string' ? carrier.path : origin.path);
  const neededBytes = fields.neededBytes ?? origin.neededBytes;
  const writtenBytes = fields.writtenBytes ?? origin.writtenBytes;
  const what = systemCode === 'EDQUOT' ? 'Disk quota exceeded' : 'No space left on device';
  const parts = [`${what} (${systemCode})`];
  if (origin.connector)
    parts.push(`in connector "${origin.connector}"${origin.operation ? ` ${origin.operation}` : ''}`);
  parts.push(path ? `while writing ${path}` : 'while writing (the path was not reported)');
  let message = `${parts.join(' ')}.`;
  if (fields.freeBytes !== undefined) {
    message += ` That file system has ${formatBytes(fields.freeBytes)} free${fields.totalBytes !== undefined ? ` of ${formatBytes(fields.totalBytes)}` : ''}.`;
  }
  if (neededBytes !== undefined) message += ` The write that failed needed about ${formatBytes(neededBytes)} more.`;
  if (writtenBytes !== undefined && writtenBytes > 0) {
    message += ` ${formatBytes(writtenBytes)} had been written in this attempt; staging is removed.`;
  }
  message +=
    ' Free space there (or raise the quota), or move the target; the task is retried after a pause, so another agent or a later attempt may have room.';
  return new NoSpaceError(
    message,
    {
      ...fields,
      systemCode,
      ...(path !== undefined ? { path } : {}),
      ...(neededBytes !== undefined ? { neededBytes } : {}),
      ...(writtenBytes !== undefined ? { writtenBytes } : {}),
    },
    { cause: error, ...(origin.connector ? { details: { connector: origin.connector } } : {}) },
  );
}

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
