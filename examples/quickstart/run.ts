/**
 * The quickstart: `pnpm quickstart` (or `node examples/quickstart/run.ts`).
 *
 * 1. Generates the legacy exports under data/legacy once (two dozen CSV/NDJSON datasets, three
 *    of them 1M rows). `HONK_QUICKSTART_SCALE=0.1` makes them smaller.
 * 2. Runs `honk run honk.yaml --agents 4` through the CLI's `main()` in this process, with
 *    progress, exactly as the `honk` command would.
 * 3. Explains the outcome. Exits 0 when it is exactly the expected one: every task succeeded
 *    except `ledger`, which is broken on purpose and must be dead-lettered.
 *
 * `--fresh` deletes data/lake and the task store (.honk) first, so everything runs again.
 */
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main, processIo } from '@honk/cli';
import { EXPECTED_DEAD, type RunReport, unexpectedOutcomes } from './expected-outcome.ts';
import { generateLegacyData } from './generate-legacy-data.ts';

const here = dirname(fileURLToPath(import.meta.url));
const cwd = process.cwd();
const show = (path: string) => relative(cwd, path) || '.';
const spec = join(here, 'honk.yaml');
const legacy = join(here, 'data', 'legacy');
const lake = join(here, 'data', 'lake');
const store = join(here, '.honk');
const reportFile = join(store, 'last-run.json');
const honkBin = `node ${show(join(here, '..', '..', 'packages', 'cli', 'bin', 'honk.js'))}`;

const scale = Number(process.env.HONK_QUICKSTART_SCALE ?? '1');
if (!(scale > 0)) {
  console.error(`HONK_QUICKSTART_SCALE must be a positive number, got "${process.env.HONK_QUICKSTART_SCALE}".`);
  process.exit(2);
}

if (process.argv.includes('--fresh')) {
  await rm(lake, { recursive: true, force: true });
  await rm(store, { recursive: true, force: true });
  console.log(`--fresh: removed ${show(lake)} and ${show(store)}`);
}

// Generate the legacy data once per scale. The marker's name starts with "." so it is not a dataset.
const marker = join(legacy, '.generated.json');
const generated = existsSync(marker) ? (JSON.parse(await readFile(marker, 'utf8')) as { scale: number }) : undefined;
if (generated?.scale !== scale) {
  console.log(`Generating legacy exports in ${show(legacy)} (scale ${scale}; once) …`);
  const started = performance.now();
  await rm(legacy, { recursive: true, force: true });
  const datasets = await generateLegacyData(legacy, { scale });
  await writeFile(marker, `${JSON.stringify({ scale, datasets }, null, 2)}\n`);
  const rows = datasets.reduce((sum, dataset) => sum + dataset.rows, 0);
  console.log(
    `  ${datasets.length} datasets, ${rows.toLocaleString('en-US')} rows in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
}

console.log(`$ honk run ${show(spec)} --agents 4\n`);
const started = performance.now();
const code = await main(['run', spec, '--agents', '4', '--report', reportFile], processIo());
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (code === 2 || !existsSync(reportFile)) {
  console.error(`\nThe run did not start properly (honk exited with ${code}); see the messages above.`);
  process.exit(1);
}

const report = JSON.parse(await readFile(reportFile, 'utf8')) as RunReport;
const problems = unexpectedOutcomes(report);
const good = report.tasks.filter((task) => EXPECTED_DEAD[task.id] === undefined);
const ran = good.filter((task) => task.action === 'ran' && task.state === 'succeeded');
const skipped = good.filter((task) => task.action === 'skipped');
const rows = ran.reduce((sum, task) => sum + (task.rows ?? 0), 0);

const lines = ['', '─'.repeat(78), `What happened (${seconds} s, honk exited with ${code}):`, ''];
if (ran.length > 0) {
  lines.push(
    `  ✔ ${ran.length} tasks migrated ${rows.toLocaleString('en-US')} rows into ${show(lake)}, each validated`,
    '    (row count, checksum of every row, sample rows) before it was published atomically.',
  );
}
if (skipped.length > 0) {
  lines.push(
    `  ✔ ${skipped.length} tasks were skipped: they already succeeded with the same definition`,
    `    (the store in ${show(store)} remembers). Use --fresh to start over.`,
  );
}
for (const [id, errorCode] of Object.entries(EXPECTED_DEAD)) {
  const task = report.tasks.find((candidate) => candidate.id === id);
  if (task?.state !== 'dead') continue;
  lines.push(
    '',
    `  ✖ ${id} is dead-lettered with ${errorCode}. That is expected: the task is broken on purpose.`,
    '    Its account codes are meant to be numbers, but some rows are not ("ACC-17"), and casting',
    '    text to int64 without allowLossy refuses to turn them into NULLs. Nothing was published,',
    '    and it was not retried: retrying cannot fix data. Inspect it with',
    '',
    `      ${honkBin} dead-letter list --store ${show(store)}`,
    '',
    '    fix honk.yaml (cast to utf8, or allowLossy: [account_code]) and run again: only it runs.',
  );
}
lines.push(
  '',
  '  Run this again: everything that succeeded is skipped (a task re-runs only when its',
  '  definition changes), and an interrupted run resumes where it stopped.',
);
if (problems.length > 0) {
  lines.push('', '  ✖ But this is NOT the expected outcome:', ...problems.map((problem) => `    - ${problem}`));
}
lines.push('─'.repeat(78), '');
console.log(lines.join('\n'));
process.exit(problems.length === 0 ? 0 : 1);
