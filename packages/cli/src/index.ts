export { type CliIo, EXIT, processIo } from './cli-io.ts';
export { buildProgram, type CliResult, main, runCli } from './main.ts';
export { openStore } from './open-store.ts';
