/**
 * The `honk` executable as users start it: a separate Node process running the TypeScript
 * sources through Node's own type stripping (no compiler, no loader hooks). In-process tests
 * run under Vitest's transformer, which would hide what Node itself accepts.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { builtinConnectors } from '../src/load-connectors.ts';
import { tempDir, writeFiles } from './cli-helpers.ts';

const bin = fileURLToPath(new URL('../bin/honk.js', import.meta.url));

function honkProcess(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const spec = (module: string) => `version: 1
connections:
  legacy: { connector: file, root: ./legacy }
  lake: { connector: file, root: ./lake }
tasks:
  - id: people
    source: { connection: legacy, path: people.csv, format: csv }
    target: { connection: lake, path: people.ndjson }
    transform:
      module: ${module}
`;

// A transform in TypeScript with type annotations only: what type stripping runs as it is.
const upperTransform = `import type { RecordBatch } from 'apache-arrow';
type Context = { rowOffset: number };
export function keep(batch: RecordBatch, _context: Context): RecordBatch {
  return batch;
}
`;

// An enum is TypeScript that does not erase: Node refuses it, Honk says what to change.
const enumTransform = `import type { RecordBatch } from 'apache-arrow';
enum Mode { Keep }
export function keep(batch: RecordBatch): RecordBatch {
  return Mode.Keep === 0 ? batch : batch;
}
`;

describe('the honk executable on Node type stripping', () => {
  it('prints its version without loading a connector or @honk/core', async () => {
    const result = await honkProcess(['--version'], tempDir('version'));
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('runs a spec whose transform module is TypeScript, without a build step', async () => {
    const dir = tempDir('ts-module');
    await writeFiles(dir, {
      'honk.yaml': spec('./transforms/keep.ts#keep'),
      'transforms/keep.ts': upperTransform,
      'legacy/people.csv': 'id,name\n1,anna\n2,bo\n',
    });
    const result = await honkProcess(['run', 'honk.yaml'], dir);
    expect(result.stderr).not.toContain('ExperimentalWarning');
    expect(result.code).toBe(0);
    const lines = readFileSync(join(dir, 'lake/people.ndjson'), 'utf8').trim().split('\n');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { id: 1, name: 'anna' },
      { id: 2, name: 'bo' },
    ]);
  });

  it('refuses a module that is not erasable TypeScript with exit 2 and what to change', async () => {
    const dir = tempDir('enum-module');
    await writeFiles(dir, {
      'honk.yaml': spec('./transforms/keep.ts#keep'),
      'transforms/keep.ts': enumTransform,
      'legacy/people.csv': 'id,name\n1,anna\n',
    });
    const result = await honkProcess(['plan', 'honk.yaml'], dir);
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).toMatch(/transform\.module .*keep\.ts/);
    expect(result.stdout + result.stderr).toMatch(/erasable syntax/);
  });
});

describe('connector packages load on demand', () => {
  it('a spec naming only file connections loads no connector package', async () => {
    expect((await builtinConnectors(['file'])).map((connector) => connector.name)).toEqual(['file']);
  });

  it('a spec naming s3 loads that package and not postgres; an agent (no spec) loads all installed', async () => {
    expect((await builtinConnectors(['file', 's3', 'custom'])).map((connector) => connector.name)).toEqual([
      'file',
      's3',
    ]);
    expect((await builtinConnectors()).map((connector) => connector.name).sort()).toEqual([
      'bigquery',
      'file',
      'hdfs',
      'postgres',
      's3',
    ]);
  });

  it('a spec naming hdfs loads @honk/connectors-hdfs, with discovery', async () => {
    const loaded = await builtinConnectors(['hdfs']);
    expect(loaded.map((connector) => connector.name)).toEqual(['file', 'hdfs']);
    expect(loaded[1]?.discover).toBeTypeOf('function');
  });
});
