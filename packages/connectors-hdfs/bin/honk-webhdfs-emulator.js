#!/usr/bin/env node
// The WebHDFS emulator as a command. A published package runs its compiled build; in the
// workspace Node runs the TypeScript sources directly (type stripping).
import { existsSync } from 'node:fs';

const dist = new URL('../dist/testing/emulator-main.js', import.meta.url);
const entry = existsSync(dist) ? dist.href : new URL('../src/testing/emulator-main.ts', import.meta.url).href;
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
