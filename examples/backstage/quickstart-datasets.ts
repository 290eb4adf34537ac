/**
 * The quickstart's datasets for Backstage: its legacy exports generated into a data directory
 * (once per scale) and its spec (examples/quickstart/honk.yaml) copied beside them, with the
 * transform module pointed back at the quickstart. Connection roots stay relative to the spec
 * (`./data/legacy`, `./data/lake`), so migrations started from Backstage write into this data
 * directory, never into the quickstart's own.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateLegacyData } from '../quickstart/generate-legacy-data.ts';

const quickstart = join(dirname(fileURLToPath(import.meta.url)), '..', 'quickstart');

export interface QuickstartDatasets {
  /** The spec the honk plugin and the catalog module read (`honk.spec`). */
  specPath: string;
  legacyDir: string;
  lakeDir: string;
  /** True when the legacy exports were written now (not found from an earlier start). */
  generated: boolean;
}

export async function prepareQuickstartDatasets(dataDir: string, scale: number): Promise<QuickstartDatasets> {
  const legacyDir = join(dataDir, 'data', 'legacy');
  const lakeDir = join(dataDir, 'data', 'lake');
  const marker = join(legacyDir, '.generated.json');
  const previous = existsSync(marker) ? (JSON.parse(await readFile(marker, 'utf8')) as { scale: number }) : undefined;
  const generated = previous?.scale !== scale;
  if (generated) {
    await rm(legacyDir, { recursive: true, force: true });
    const datasets = await generateLegacyData(legacyDir, { scale });
    await writeFile(marker, `${JSON.stringify({ scale, datasets }, null, 2)}\n`);
  }
  await mkdir(lakeDir, { recursive: true });
  const module = relative(dataDir, join(quickstart, 'transforms', 'mask-emails.ts'));
  const spec = (await readFile(join(quickstart, 'honk.yaml'), 'utf8')).replaceAll(
    './transforms/mask-emails.ts',
    module.startsWith('.') ? module : `./${module}`,
  );
  const specPath = join(dataDir, 'honk.yaml');
  await writeFile(specPath, `# Written by examples/backstage from examples/quickstart/honk.yaml.\n${spec}`);
  return { specPath, legacyDir, lakeDir, generated };
}
