/**
 * The publish protocol for a dataset under a prefix, shared by the sink's `publish()` and
 * the snapshot's `restore()`:
 *
 * 1. Copy every file of the new version into place, server-side. Part names carry the
 *    version (`part-00000-<version>.parquet`), so the files of the current version are not
 *    touched and a reader following the current manifest keeps reading a consistent set.
 * 2. Write `_honk_manifest.json` (one PutObject, atomic): the commit point. Before it,
 *    Honk's readers see the old version; after it, the new one. A crash anywhere leaves the
 *    old or the new manifest, never a mix, and a re-run completes the publish.
 * 3. Delete the objects of earlier versions that the new manifest does not list: the files
 *    of the previous manifest and Honk part files left by crashed publishes. Other objects
 *    under the prefix are never touched.
 *
 * Readers that ignore the manifest and list the prefix themselves (Spark, DuckDB globbing
 * `*.parquet` …) see, during steps 1–3, the old version's files plus some or all of the new
 * version's (duplicates), and after step 3 only the new version. Point them at the manifest,
 * or publish to a fresh prefix per version, if they must never see that window.
 *
 * The same data always gives the same version and so the same keys: re-running a task
 * rewrites identical objects and deletes nothing.
 */

import { copyObjects, deleteKeys } from './s3-copy.ts';
import { listPinned, type S3Location } from './s3-listing.ts';
import { MANIFEST_NAME, PART_NAME, readManifest, type S3Manifest, writeManifest } from './s3-manifest.ts';

export interface PublishDatasetOptions {
  /** Target prefix (normalised, e.g. `lake/orders/`). */
  prefix: string;
  manifest: S3Manifest;
  /** Where each manifest file comes from: its key (and version) today. */
  sourceOf: (relativeKey: string) => { key: string; versionId?: string };
  concurrency: number;
}

/** Runs the three steps above. Idempotent: safe to re-run after a crash at any point. */
export async function publishDataset(location: S3Location, options: PublishDatasetOptions): Promise<void> {
  const { prefix, manifest } = options;
  const previous = await readManifest(location, `${prefix}${MANIFEST_NAME}`);
  await copyObjects(
    location,
    manifest.files.map((file) => {
      const source = options.sourceOf(file.key);
      return {
        from: source.key,
        to: `${prefix}${file.key}`,
        size: file.size,
        ...(source.versionId ? { versionId: source.versionId } : {}),
      };
    }),
    options.concurrency,
  );
  await writeManifest(location, `${prefix}${MANIFEST_NAME}`, manifest);
  const keep = new Set(manifest.files.map((file) => file.key));
  const stale = new Set<string>();
  for (const file of previous?.manifest.files ?? []) if (!keep.has(file.key)) stale.add(`${prefix}${file.key}`);
  for (const object of await listPinned(location, prefix)) {
    const relative = object.key.slice(prefix.length);
    if (PART_NAME.test(relative) && !keep.has(relative)) stale.add(object.key);
  }
  await deleteKeys(location, [...stale], options.concurrency);
}
