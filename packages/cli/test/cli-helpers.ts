import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runCli } from '../src/main.ts';

/** Runs `honk …` in-process with captured output. */
export function honk(argv: string[], options: { cwd: string; env?: Record<string, string | undefined> }) {
  return runCli(argv, options);
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `honk-cli-${prefix}-`));
}

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    writeFileSync(join(root, name), content);
  }
}

/** A CSV with `rows` rows: id, name (with quotes/emoji), amount (decimal text), created_at. */
export function ordersCsv(rows: number, offset = 0): string {
  const lines = ['id,name,amount,created_at'];
  for (let i = offset; i < offset + rows; i++) {
    const name = i % 5 === 0 ? '"Smith, ""Jo"" 🦆"' : `customer ${i}`;
    lines.push(`${i},${name},${(i * 1.25).toFixed(2)},2026-01-0${(i % 9) + 1}T10:00:00Z`);
  }
  return `${lines.join('\n')}\n`;
}
