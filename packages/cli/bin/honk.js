#!/usr/bin/env node
// The `honk` command. A published package runs its compiled build; in the workspace Node runs
// the TypeScript sources directly (type stripping, Node ≥ 22.18). Node's compile cache keeps
// compiled (and type-stripped) modules between runs, so repeated starts skip that work.
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';

enableCompileCache?.();
const dist = new URL('../dist/main.js', import.meta.url);
const entry = existsSync(dist) ? dist.href : new URL('../src/main.ts', import.meta.url).href;
const { main, stopSignal } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
// Stopped by a signal and drained: exit now. Work a connector abandoned without honouring
// its abort (a socket that never answers) must not keep the process alive.
if (stopSignal()) process.exit();
