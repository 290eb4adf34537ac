/** Where the CLI reads and writes; injectable so tests run commands in-process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Progress bars only on a terminal; plain lines otherwise. */
  isTTY: boolean;
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stderr.isTTY),
  };
}

/** Error codes that mean "the input is wrong" (exit 2) rather than "the work failed" (exit 1). */
export const INVALID_INPUT_CODES: ReadonlySet<string> = new Set(['CONFIG_INVALID', 'CONNECTOR_UNKNOWN']);

/** Exit codes of every command (DESIGN §5). */
export const EXIT = {
  /** Everything succeeded. */
  ok: 0,
  /** A task failed or was dead-lettered, or an operation failed. */
  failed: 1,
  /** The spec or the arguments are invalid. */
  invalid: 2,
} as const;
