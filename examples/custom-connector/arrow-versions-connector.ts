/**
 * `arrow-versions`: tables kept as immutable versions (directories of Arrow IPC files) plus a
 * CURRENT file naming the live one. Publishing renames the staged directory to a new version,
 * then renames a new CURRENT over the old one: readers see one version or the other, never a
 * mix. Layout and design notes: README.md.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ConnectorContext, Source } from '@honk/core';
import { defineConnector, NotFoundError, TransientError, throwIfAborted } from '@honk/core';
import { type RecordBatch, RecordBatchReader, RecordBatchStreamWriter, type Schema, Table } from 'apache-arrow';
import { z } from 'zod';

type Args = { options: { root: string }; endpoint: { table: string }; context: ConnectorContext };
const tableDir = (a: Args) => resolve(a.context.baseDir ?? '.', a.options.root, a.endpoint.table);
const ipc = (data: Table | RecordBatch[]) => RecordBatchStreamWriter.writeAll(data as Table).toUint8Array(true);
const current = (table: string) => readFile(join(table, 'CURRENT'), 'utf8').catch(() => undefined);
const newVersion = () => `v-${Date.now()}-${randomUUID().slice(0, 8)}`;
const removeDir = (dir: string) => rm(dir, { recursive: true, force: true });
const load = (path: string) =>
  readFile(path).catch((cause: unknown) => {
    throw new TransientError(`arrow-versions: ${path} vanished during the read.`, { cause, code: 'SOURCE_CHANGED' });
  });

/** Reads one version directory (resolved lazily, once: the read is pinned to one version). */
function versionSource(dir: () => Promise<string>): Source {
  return {
    schema: async () => RecordBatchReader.from(await load(join(await dir(), 'schema.arrow'))).open().schema,
    async *read({ signal }) {
      const version = await dir();
      for (const part of (await readdir(version)).filter((name) => /^\d+\.arrow$/.test(name)).sort()) {
        throwIfAborted(signal);
        yield* RecordBatchReader.from(await load(join(version, part)));
      }
    },
  };
}

/** Points CURRENT at `version` with one rename, then drops the version it replaced. */
async function switchTo(table: string, version: string): Promise<void> {
  const previous = await current(table);
  await writeFile(join(table, `.CURRENT-${version}`), version);
  await rename(join(table, `.CURRENT-${version}`), join(table, 'CURRENT'));
  if (previous && previous !== version) await removeDir(join(table, previous));
}

/** Hard links: a snapshot costs no copy, and publishing never writes into an existing file. */
async function linkAll(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of await readdir(from)) await link(join(from, name), join(to, name));
}

export const arrowVersionsConnector = defineConnector({
  specificationVersion: 'v1',
  name: 'arrow-versions',
  optionsSchema: z.object({ root: z.string().min(1) }).strict(),
  endpointSchema: z.object({ table: z.string().regex(/^[\w.-]+$/, 'letters, digits, ".", "_" and "-"') }).strict(),
  capabilities: { snapshot: true },
  createSource: (args) => {
    let pinned: Promise<string> | undefined;
    return versionSource(() => {
      pinned ??= current(tableDir(args)).then((name) => {
        if (name) return join(tableDir(args), name);
        throw new NotFoundError(`arrow-versions: no table "${args.endpoint.table}" under ${args.options.root}.`);
      });
      return pinned;
    });
  },
  createSink: (args) => {
    const table = tableDir(args);
    const staging = join(table, `.staging-${args.context.taskId.replace(/[^\w.-]/g, '_')}`);
    return {
      describe: async () => {
        const name = await current(table);
        return name
          ? { exists: true, schema: await versionSource(async () => join(table, name)).schema() }
          : { exists: false };
      },
      open: async (schema: Schema) => {
        await removeDir(staging); // leftovers of a crashed attempt of this task
        await mkdir(staging, { recursive: true });
        await writeFile(join(staging, 'schema.arrow'), ipc(new Table(schema)));
        let parts = 0;
        let rows = 0;
        return {
          write: async (batch) => {
            await writeFile(join(staging, `${String(parts++).padStart(5, '0')}.arrow`), ipc([batch]));
            rows += batch.numRows;
          },
          stage: async () => ({ ref: { staging }, rows, reader: () => versionSource(async () => staging) }),
          publish: async () => {
            const version = newVersion();
            await rename(staging, join(table, version));
            await switchTo(table, version);
            return { ref: { table: args.endpoint.table, version } };
          },
          abort: () => removeDir(staging),
        };
      },
    };
  },
  createSnapshot: (args) => {
    const table = tableDir(args);
    const kept = (ref: Record<string, unknown>) => join(table, '.snapshots', String(ref.snapshot));
    return {
      take: async () => {
        const name = await current(table);
        if (!name) return null;
        const ref = { connector: 'arrow-versions', takenAt: new Date().toISOString(), snapshot: newVersion() };
        await linkAll(join(table, name), kept(ref));
        return ref;
      },
      restore: async (ref) => {
        const version = newVersion();
        await linkAll(kept(ref), join(table, version)).catch((cause: unknown) => {
          throw new NotFoundError(`arrow-versions: snapshot ${String(ref.snapshot)} of ${table} is gone.`, { cause });
        });
        await switchTo(table, version);
      },
      discard: (ref) => removeDir(kept(ref)),
    };
  },
});

export default arrowVersionsConnector;
