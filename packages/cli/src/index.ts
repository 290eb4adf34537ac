export { type CliIo, EXIT, processIo } from './cli-io.ts';
export { buildProgram, main } from './main.ts';
export { openStore } from './open-store.ts';
