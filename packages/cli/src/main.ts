/**
 * The `honk` command line (DESIGN §5). `main(argv, io)` returns the exit code instead of
 * exiting, so the same code runs from `bin/honk.js`, tests and other programs.
 *
 * Exit codes: 0 everything succeeded; 1 a task failed or was dead-lettered (or an
 * operation failed); 2 the spec or the arguments are invalid (found before any data moves);
 * 3 could not run now (the store is busy or unreachable); 130 / 143 `honk run` was stopped
 * by SIGINT / SIGTERM (running tasks released back to the store).
 */

import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { type CliIo, EXIT, exitCodeForError, processIo } from './cli-io.ts';

export { stopSignal } from './cli-io.ts';

// Commands, @honk/core and the connectors load when a command runs, not at start-up: `honk
// --version` and `honk --help` cost little more than Node's own start, and a spec loads only
// the connectors it names (load-connectors.ts).
const runCommands = () => import('./commands/run-command.ts');
const planCommands = () => import('./commands/plan-command.ts');
const agentCommands = () => import('./commands/agent-command.ts');
const storeCommands = () => import('./commands/store-commands.ts');
const manifestsCommands = () => import('./commands/manifests-command.ts');
const discoverCommands = () => import('./commands/discover-command.ts');
const backstageCommands = () => import('./commands/backstage-command.ts');

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return parsed;
}

function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError('expected a whole number of at least 0');
  return parsed;
}

function idList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean),
  ];
}

export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('honk')
    .description('Verified, resumable dataset migrations.')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  const storeOption = '--store <url>';
  const storeHelp =
    'task store: memory:, journal:<dir>, a directory, or postgres://… (default: $HONK_STORE, else .honk/ beside the spec, or in the working directory)';

  program
    .command('run')
    .description('enqueue every task of a spec and run in-process agents until all have ended')
    .argument('<spec>', 'spec file (.yaml, .yml or .json)')
    .option('--agents <n>', 'in-process agents (each runs one task at a time)', positiveInteger, 4)
    .option(storeOption, storeHelp)
    .option('--only <ids>', 'only these task ids (comma-separated, repeatable)', idList)
    .option('--json', 'print the machine-readable report on stdout')
    .option('--report <file>', 'write the JSON report to a file')
    .option('--junit <file>', 'write a JUnit XML report (for CI)')
    .option('--lease-ms <ms>', 'lease length', positiveInteger)
    .option('--wait-for-ms <ms>', 'also wait for tasks due within this many ms', nonNegativeInteger)
    .option(
      '--drain-timeout-ms <ms>',
      'on SIGTERM/SIGINT, how long running tasks may finish before they are released (default 30000)',
      positiveInteger,
    )
    .action(async (spec: string, options) => setExit(await (await runCommands()).runCommand(spec, options, io)));

  program
    .command('plan')
    .description('validate a spec, read source schemas and show what would run; moves no data')
    .argument('<spec>', 'spec file')
    .option(storeOption, storeHelp)
    .option('--only <ids>', 'only these task ids', idList)
    .option('--json', 'machine-readable output')
    .action(async (spec: string, options) => setExit(await (await planCommands()).planCommand(spec, options, io)));

  program
    .command('agent')
    .description('run a long-lived agent against a store, with /healthz, /readyz and /metrics')
    .option(storeOption, storeHelp)
    .option('--concurrency <n>', 'tasks at the same time', positiveInteger, 2)
    .option('--port <port>', 'HTTP port for probes and metrics', nonNegativeInteger, 9464)
    .option('--host <host>', 'HTTP bind address', '0.0.0.0')
    .option('--lease-ms <ms>', 'lease length', positiveInteger)
    .option('--drain-timeout-ms <ms>', 'grace period for running tasks on SIGTERM', positiveInteger)
    .option('--no-scheduler', 'do not take the cron scheduler role')
    .option('--id <id>', 'agent id (default host:pid:random)')
    .option('--exit-when-idle', 'exit once nothing runs and the class has nothing left to claim (KEDA ScaledJob)')
    .option('--class <name>', 'agent class name, for logs and metrics (env HONK_AGENT_CLASS)')
    .option(
      '--label <key=value>',
      'a label of this agent, repeatable: it claims only tasks whose agentLabels it has (env HONK_AGENT_LABELS=region=eu,tier=gold)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--connections <names>',
      'claim only tasks whose connections are all in this comma-separated list (env HONK_AGENT_CONNECTIONS)',
    )
    .option(
      '--allow-module <entry>',
      'a connector or transform module this agent may load: a package name or an absolute file or directory path (repeatable; also HONK_ALLOWED_MODULES, comma-separated). Tasks needing any other module are dead-lettered',
      idList,
    )
    .action(async (options) => setExit(await (await agentCommands()).agentCommand(options, io)));

  program
    .command('enqueue')
    .description('add or update the tasks of a spec in a store (agents run them)')
    .argument('<spec>', 'spec file')
    .option(storeOption, storeHelp)
    .option('--only <ids>', 'only these task ids', idList)
    .option('--json', 'machine-readable output')
    .action(async (spec: string, options) => setExit(await (await storeCommands()).enqueueCommand(spec, options, io)));

  program
    .command('status')
    .description('task counts by state and the tasks of a store')
    .argument('[ids...]', 'only these task ids')
    .option(storeOption, storeHelp)
    .option('--state <state>', 'only tasks in this state (repeatable)', idList)
    .option('--chunks', 'also list the chunks of chunked tasks one by one (they are summed under their task)')
    .option('--json', 'machine-readable output')
    .action(async (ids: string[], options) => setExit(await (await storeCommands()).statusCommand(ids, options, io)));

  const deadLetter = program.command('dead-letter').description('inspect and requeue dead-lettered tasks');
  deadLetter
    .command('list')
    .option(storeOption, storeHelp)
    .option('--json', 'machine-readable output')
    .action(async (options) => setExit(await (await storeCommands()).deadLetterListCommand(options, io)));
  deadLetter
    .command('requeue')
    .argument('<id>', 'task id')
    .option(storeOption, storeHelp)
    .option('--keep-attempts', 'do not reset the attempt count')
    .action(async (id: string, options) => setExit(await (await storeCommands()).requeueCommand(id, options, io)));

  program
    .command('cancel')
    .description('cancel a pending, retrying or running task')
    .argument('<id>', 'task id')
    .option(storeOption, storeHelp)
    .action(async (id: string, options) => setExit(await (await storeCommands()).cancelCommand(id, options, io)));

  program
    .command('manifests')
    .description('render the Kubernetes objects of an agent fleet from its blueprint')
    .argument('<blueprint>', 'agent blueprint (.yaml, .yml or .json)')
    .option('--out <dir>', 'write one file per object into this directory instead of stdout')
    .action(async (blueprint: string, options) =>
      setExit(await (await manifestsCommands()).manifestsCommand(blueprint, options, io)),
    );

  program
    .command('discover')
    .description(
      'list the datasets a connection holds (tables, views, files, part folders, prefixes); reads metadata only',
    )
    .argument('<spec|connection>', 'a spec file, a postgres:// URL, an s3://bucket/prefix URL or a local directory')
    .option('--connection <names>', 'only these connections of the spec (comma-separated, repeatable)', idList)
    .option('--within <place>', 'where to look: a schema (PostgreSQL), a folder or key prefix (file, S3)')
    .option('--limit <n>', 'at most this many datasets per connection', positiveInteger)
    .option('--json', 'machine-readable output')
    .action(async (argument: string, options) =>
      setExit(await (await discoverCommands()).discoverCommand(argument, options, io)),
    );

  const backstage = program
    .command('backstage')
    .description(
      "the catalog side through a running Backstage's honk plugin (URL: --url or $HONK_BACKSTAGE_URL; token: $HONK_BACKSTAGE_TOKEN)",
    );
  const urlOption = '--url <url>';
  const urlHelp = "Backstage's base URL (default: $HONK_BACKSTAGE_URL)";
  const filterOption = '--filter <key=value>';
  const filterHelp =
    'catalog filter, e.g. metadata.tags=migration (repeatable; the same key twice accepts either value)';
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  backstage
    .command('generate')
    .description('build a Honk spec from the dataset entities a catalog filter selects; enqueues nothing')
    .option(urlOption, urlHelp)
    .option(filterOption, filterHelp, collect)
    .option('--template <file>', 'task template (YAML or JSON): target, transform, validate, retry, priority')
    .option('--out <file>', 'write the spec here (.json for JSON, else YAML) instead of stdout')
    .option('--json', 'print JSON instead of YAML')
    .action(async (options) => setExit(await (await backstageCommands()).backstageGenerateCommand(options, io)));
  backstage
    .command('start')
    .description('start the migrations of dataset entities (by ref or catalog filter), optionally in a window')
    .option(urlOption, urlHelp)
    .option('--entity <ref>', 'a dataset entity ref, e.g. resource:default/orders (repeatable)', collect)
    .option(filterOption, filterHelp, collect)
    .option('--template <file>', "task template merged over the backend's (YAML or JSON)")
    .option('--not-before <instant>', 'not before this ISO 8601 instant')
    .option('--window <HH:MM-HH:MM>', 'daily window the tasks may start in')
    .option('--timezone <zone>', 'time zone of --window (default UTC)')
    .option('--priority <n>', 'priority (higher first)', (value: string) => {
      const parsed = Number(value);
      if (!Number.isInteger(parsed)) throw new InvalidArgumentError('expected a whole number');
      return parsed;
    })
    .option('--dry-run', 'build and validate the tasks, enqueue nothing')
    .option('--rerun', 'run again even where the same definition already succeeded')
    .option('--json', 'machine-readable output')
    .action(async (options) => setExit(await (await backstageCommands()).backstageStartCommand(options, io)));
  backstage
    .command('status')
    .description('migrations as Backstage shows them, with counts by status')
    .option(urlOption, urlHelp)
    .option('--status <statuses>', 'only these statuses (comma-separated, repeatable)', idList)
    .option('--entity <ref>', 'only these dataset entities (repeatable)', collect)
    .option('--limit <n>', 'at most this many rows (default 100)', positiveInteger)
    .option('--json', 'machine-readable output')
    .action(async (options) => setExit(await (await backstageCommands()).backstageStatusCommand(options, io)));

  program
    .command('schema')
    .description('print the JSON Schema of spec files, or of agent blueprints (for editors)')
    .argument('[kind]', 'spec or blueprint', 'spec')
    .action(async (kind: string) => {
      if (kind !== 'spec' && kind !== 'blueprint') {
        throw new InvalidArgumentError(`unknown schema "${kind}": expected spec or blueprint`);
      }
      const schema =
        kind === 'blueprint'
          ? (await import('@honk/kubernetes')).blueprintJsonSchema()
          : (await import('@honk/core')).specJsonSchema();
      io.stdout(`${JSON.stringify(schema, null, 2)}\n`);
      setExit(EXIT.ok);
    });

  return program;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (exit) => {
    code = exit;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0
        ? EXIT.ok
        : EXIT.invalid;
    }
    const { isHonkError, redactText } = await import('@honk/core');
    if (isHonkError(error)) {
      io.stderr(`honk: ${redactText(error.message)}\n`);
      return exitCodeForError(error.code);
    }
    io.stderr(
      `honk: unexpected error: ${redactText(error instanceof Error ? (error.stack ?? error.message) : String(error))}\n`,
    );
    return EXIT.failed;
  }
}

/** What {@link runCli} returns: the exit code and everything written. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the CLI in-process with output collected in memory (no terminal, so plain progress
 * lines): for tests, and for programs that embed `honk` and inspect its output.
 */
export async function runCli(
  argv: readonly string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    env: options.env ?? {},
    cwd: options.cwd,
    isTTY: false,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
