/**
 * `honk manifests <blueprint.yaml>`: the Kubernetes objects of an agent fleet
 * (@honk/kubernetes), as one YAML stream on stdout or, with `--out <dir>`, one file per
 * object. An invalid blueprint exits 2 with every problem named by its path in the file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CliIo } from '../cli-io.ts';
import { EXIT } from '../cli-io.ts';

export interface ManifestsCommandOptions {
  /** Write one `<kind>-<name>.yaml` per object into this directory instead of stdout. */
  out?: string;
}

export async function manifestsCommand(
  blueprintPath: string,
  options: ManifestsCommandOptions,
  io: CliIo,
): Promise<number> {
  const { loadBlueprint, manifestFileName, manifestsToYaml, renderManifests } = await import('@honk/kubernetes');
  const blueprint = await loadBlueprint(resolve(io.cwd, blueprintPath), blueprintPath);
  const objects = renderManifests(blueprint);
  if (options.out === undefined) {
    io.stdout(manifestsToYaml(objects));
    return EXIT.ok;
  }
  const dir = resolve(io.cwd, options.out);
  await mkdir(dir, { recursive: true });
  for (const object of objects) await writeFile(join(dir, manifestFileName(object)), manifestsToYaml([object]));
  io.stderr(`honk manifests: ${objects.length} objects written to ${options.out}\n`);
  return EXIT.ok;
}
