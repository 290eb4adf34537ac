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
export const INVALID_INPUT_CODES: ReadonlySet<string> = new Set([
  'CONFIG_INVALID',
  'CONNECTOR_UNKNOWN',
  'MODULE_NOT_ALLOWED',
]);

/**
 * Error codes that mean "could not run now" (exit 3): the store is busy or unreachable, or a
 * service the command talks to (Backstage) is unreachable or answered with a server error.
 */
export const UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['STORE_UNAVAILABLE', 'TRANSIENT']);

/** The exit code for an error that ended a command: 2 invalid input, 3 unavailable, else 1. */
export function exitCodeForError(code: string): number {
  if (UNAVAILABLE_CODES.has(code)) return EXIT.unavailable;
  return INVALID_INPUT_CODES.has(code) ? EXIT.invalid : EXIT.failed;
}

/** Exit codes of every command (DESIGN §5). */
export const EXIT = {
  /** Everything succeeded. */
  ok: 0,
  /** A task failed or was dead-lettered, or an operation failed. */
  failed: 1,
  /** The spec or the arguments are invalid (found before any data moves). */
  invalid: 2,
  /**
   * Could not run now: the store is busy (an embedded store another process holds) or
   * unreachable, or a service the command needs (Backstage) is unreachable.
   */
  unavailable: 3,
  /**
   * `honk run` was stopped by SIGINT (Ctrl-C): 128 + 2, the shell convention. Running tasks
   * were released back to the store (not failed, not succeeded); a re-run resumes them.
   */
  interrupted: 130,
  /** `honk run` was stopped by SIGTERM: 128 + 15. Running tasks were released, as for SIGINT. */
  terminated: 143,
} as const;

/** The exit code of a run stopped by `signal`. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  return signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
}

let stoppedBy: NodeJS.Signals | undefined;

/**
 * Records that a command is shutting down because of a signal. Once the command has drained
 * and returned, `bin/honk.js` exits at once rather than waiting for the event loop to empty:
 * a connector that ignored the abort (a socket that never answers) must not keep a stopped
 * process alive past its drain timeout.
 */
export function noteStopSignal(signal: NodeJS.Signals): void {
  stoppedBy ??= signal;
}

/** The signal a command stopped for, if any (see {@link noteStopSignal}). */
export function stopSignal(): NodeJS.Signals | undefined {
  return stoppedBy;
}
