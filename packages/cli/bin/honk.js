#!/usr/bin/env node
// The `honk` command. In the workspace it runs the TypeScript sources through tsx; a
// published package runs its compiled build. tsx stays registered either way so spec
// files can name transform modules and custom connectors written in TypeScript.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

register();
const dist = new URL('../dist/main.js', import.meta.url);
const entry = existsSync(dist) ? dist.href : new URL('../src/main.ts', import.meta.url).href;
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
