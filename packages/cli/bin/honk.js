#!/usr/bin/env node
// The `honk` command. A published package runs its compiled build; in the workspace Node runs
// the TypeScript sources directly (type stripping, Node ≥ 22.18). Node's compile cache keeps
// compiled (and type-stripped) modules between runs, so repeated starts skip that work.
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
const dist = new URL('../dist/main.js', import.meta.url);
const entry = existsSync(dist) ? dist.href : new URL('../src/main.ts', import.meta.url).href;
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
