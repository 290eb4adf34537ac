/**
 * A process killed in the middle of a publish leaves the old or the new version, never a
 * mix: the emulator holds one step of the publish protocol unanswered (a RENAME or the
 * journal's DELETE), the child is SIGKILLed while it waits, and readers then see exactly the
 * old rows, exactly the new ones, or (while the target is renamed aside) a transient
 * SOURCE_CHANGED, never a mixture. Running the task again completes it and leaves nothing
 * of the protocol behind.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHdfsClient } from '../src/hdfs-connector.ts';
import { hdfsConnectionSchema } from '../src/hdfs-options.ts';
import { listSourceFiles } from '../src/hdfs-paths.ts';
import { createHdfsSource } from '../src/hdfs-source.ts';
import { type EmulatorFault, startWebHdfsEmulator, type WebHdfsEmulator } from '../src/testing/index.ts';
import { expectedRows, summarise } from './helpers/test-batches.ts';

const child = fileURLToPath(new URL('./helpers/publish-child.ts', import.meta.url));
const ROOT = '/kill';

let emulator: WebHdfsEmulator;
beforeAll(async () => {
  emulator = await startWebHdfsEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

interface ChildArgs {
  path: string;
  batches: number;
  salt: number;
  from?: number;
  taskId: string;
  mode?: 'replace' | 'append';
}

/** Runs the child to the end, or, with `hold`, SIGKILLs it once the held request has arrived. */
async function runChild(args: ChildArgs, hold?: EmulatorFault): Promise<'published' | 'killed'> {
  if (hold) emulator.faults.push({ ...hold, hang: true });
  const process_ = spawn(
    process.execPath,
    [child, JSON.stringify({ url: emulator.url, root: ROOT, from: 0, mode: 'replace', ...args })],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => process_.once('exit', resolve));
  let published = false;
  createInterface({ input: process_.stdout }).on('line', (line) => {
    if (line === 'published') published = true;
  });
  if (hold) {
    // The fault leaves the list when a request matches it: the child now waits for an answer.
    while (emulator.faults.length > 0 && process_.exitCode === null)
      await new Promise((resolve) => setTimeout(resolve, 20));
    process_.kill('SIGKILL');
  }
  const code = await exited;
  if (published) return 'published';
  if (code === null) return 'killed';
  throw new Error(`publish child exited with ${code} before publishing`);
}

const options = () => hdfsConnectionSchema.parse({ url: emulator.url, user: 'reader', root: ROOT });

async function readTarget(path: string): Promise<string[] | 'SOURCE_CHANGED'> {
  const client = createHdfsClient(options(), 'reader');
  const source = createHdfsSource({
    client,
    endpoint: { path },
    retries: 2,
    list: () => listSourceFiles(client, ROOT, path, 'reader'),
  });
  try {
    return await summarise(source.read({ signal: new AbortController().signal, batchRows: 1000 }));
  } catch (error) {
    if ((error as { code?: string }).code === 'SOURCE_CHANGED') return 'SOURCE_CHANGED';
    throw error;
  }
}

async function leftovers(directory: string): Promise<string[]> {
  const names: string[] = [];
  for await (const status of createHdfsClient(options(), 'check').listStatus(`${ROOT}/${directory}`))
    names.push(status.pathSuffix);
  return names.filter((name) => name.startsWith('.honk-'));
}

describe('kill during a replace publish', () => {
  const cases: [string, EmulatorFault, 'old' | 'new' | 'SOURCE_CHANGED'][] = [
    ['before the old directory is renamed aside', { op: 'RENAME', skip: 0 }, 'old'],
    ['between the two renames', { op: 'RENAME', skip: 1 }, 'SOURCE_CHANGED'],
    ['after both renames, before the journal is removed', { op: 'DELETE', skip: 2 }, 'new'],
  ];
  for (const [index, [when, hold, seen]] of cases.entries()) {
    it(`killed ${when}: readers see ${seen === 'SOURCE_CHANGED' ? 'a transient SOURCE_CHANGED' : `only the ${seen} rows`}; a re-run completes`, async () => {
      const path = `replace-${index}/ds/`;
      expect(await runChild({ path, batches: 3, salt: 0, taskId: `old-${index}` })).toBe('published');
      expect(await readTarget(path)).toEqual(expectedRows(3, 0));

      expect(await runChild({ path, batches: 5, salt: 3, taskId: `new-${index}` }, hold)).toBe('killed');
      const after = await readTarget(path);
      expect(after).toEqual(
        seen === 'old' ? expectedRows(3, 0) : seen === 'new' ? expectedRows(5, 3) : 'SOURCE_CHANGED',
      );

      expect(await runChild({ path, batches: 5, salt: 3, taskId: `new-${index}` })).toBe('published');
      expect(await readTarget(path)).toEqual(expectedRows(5, 3));
      expect(await leftovers(`replace-${index}`)).toEqual([]);
    });
  }
});

describe('kill during an append publish', () => {
  it('killed after one of three part files moved in: readers get SOURCE_CHANGED; a re-run appends exactly once', async () => {
    const path = 'append/ds/';
    expect(await runChild({ path, batches: 2, salt: 0, taskId: 'base' })).toBe('published');
    const append = { path, batches: 3, salt: 7, from: 1000, taskId: 'append-1', mode: 'append' as const };
    expect(await runChild(append, { op: 'RENAME', skip: 1 })).toBe('killed');
    expect(await readTarget(path)).toBe('SOURCE_CHANGED');

    expect(await runChild(append)).toBe('published');
    const both = [...expectedRows(2, 0), ...expectedRows(3, 7, 1000)].sort();
    expect(await readTarget(path)).toEqual(both);
    // Running the same append task again by mistake never duplicates its rows.
    expect(await runChild(append)).toBe('published');
    expect(await readTarget(path)).toEqual(both);
    expect(await leftovers('append')).toEqual([]);
  });
});
