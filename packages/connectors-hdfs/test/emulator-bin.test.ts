/**
 * `honk-webhdfs-emulator` as users start it: a process that prints the name node's URL when
 * ready, serves a directory that already holds data, and stops on SIGTERM.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { createWebHdfsClient } from '../src/webhdfs-client.ts';

const bin = fileURLToPath(new URL('../bin/honk-webhdfs-emulator.js', import.meta.url));

it('prints the name-node URL, serves --root over WebHDFS and exits 0 on SIGTERM', async () => {
  const root = mkdtempSync(join(tmpdir(), 'honk-emulator-bin-'));
  mkdirSync(join(root, 'data'));
  writeFileSync(join(root, 'data', 'hello.csv'), 'id\n1\n');
  const child = spawn(process.execPath, [bin, '--port', '0', '--root', root], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const client = createWebHdfsClient({ namenodes: [url], user: 'dev' });
  expect(Buffer.from(await client.read('/data/hello.csv', 0, 100)).toString()).toBe('id\n1\n');
  await client.mkdirs('/data/new');
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});

it('refuses a bad argument with exit code 2 and the usage', async () => {
  const child = spawn(process.execPath, [bin, '--port', 'many'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  expect(code).toBe(2);
  expect(stderr).toMatch(/usage: honk-webhdfs-emulator/);
});
