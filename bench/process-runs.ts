/**
 * Measuring whole processes for `pnpm bench cli`: wall time from spawn to exit (start-up
 * included), the child's own peak RSS and CPU time, and interleaved rounds with medians so a
 * change in the machine's load hits every contender alike.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const honkBin = fileURLToPath(new URL('../packages/cli/bin/honk.js', import.meta.url));
/**
 * Preloaded into measured `honk` processes (`node --import <this> …`): at exit the process
 * writes its own resource usage (peak RSS, CPU time; worker threads included) as JSON to file
 * descriptor 3, which the bench opened as a pipe. Inline JavaScript, so any Node runs it (a
 * baseline build may run on a Node without type stripping).
 */
const rusagePreload = `data:text/javascript,${encodeURIComponent(
  'import { writeSync } from "node:fs"; process.on("exit", () => { try { writeSync(3, JSON.stringify(process.resourceUsage())); } catch {} });',
)}`;
/** Rounds per line (`BENCH_CLI_RUNS`, default 3). */
export const RUNS = Math.max(1, Number(process.env.BENCH_CLI_RUNS ?? 3));

export interface ProcessRun {
  seconds: number;
  peakRssMb?: number;
  cpuSeconds?: number;
}

/** Runs a command to completion; with `measured`, the child reports its rusage on fd 3. */
export function runProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; measured?: boolean } = {},
): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe', options.measured ? 'pipe' : 'ignore'],
    });
    let stderr = '';
    let usage = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    (child.stdio[3] as NodeJS.ReadableStream | null)?.on('data', (chunk: Buffer) => {
      usage += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code !== 0) {
        reject(
          new Error(
            `${command} ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join('\n')}`,
          ),
        );
        return;
      }
      if (!usage) {
        resolve({ seconds });
        return;
      }
      const measured = JSON.parse(usage) as { maxRSS: number; userCPUTime: number; systemCPUTime: number };
      resolve({
        seconds,
        peakRssMb: measured.maxRSS / 1024,
        cpuSeconds: (measured.userCPUTime + measured.systemCPUTime) / 1e6,
      });
    });
  });
}

/** `honk <args>` as users start it (plus the rusage preload). */
/** Which `honk` to run: this tree's on this Node, or another build to compare with. */
export interface HonkBuild {
  node: string;
  bin: string;
}

const current: HonkBuild = { node: process.execPath, bin: honkBin };

/**
 * Another honk to measure beside this one (`BENCH_BASELINE_BIN`, run with
 * `BENCH_BASELINE_NODE`, default `node` on PATH): e.g. a checkout of the commit before a
 * change, so its lines sit next to this tree's in the same run.
 */
export const baseline: HonkBuild | undefined = process.env.BENCH_BASELINE_BIN
  ? { node: process.env.BENCH_BASELINE_NODE ?? 'node', bin: process.env.BENCH_BASELINE_BIN }
  : undefined;

export function honk(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
  build: HonkBuild = current,
): Promise<ProcessRun> {
  return runProcess(build.node, ['--import', rusagePreload, build.bin, ...args], {
    cwd,
    env,
    measured: true,
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** One contender of a line: how to prepare and run one measurement. */
export interface Contender {
  name: string;
  run: () => Promise<ProcessRun>;
  /** Called before every run (drop the target, clear the store). */
  reset?: () => Promise<void> | void;
}

export interface Measured {
  seconds: number;
  peakRssMb?: number;
  cpuSeconds?: number;
  all: number[];
}

/** Runs the contenders interleaved, RUNS rounds; medians per contender (peak RSS: the highest). */
export async function interleaved(contenders: Contender[]): Promise<Map<string, Measured>> {
  const runs = new Map<string, ProcessRun[]>(contenders.map((contender) => [contender.name, []]));
  for (let round = 0; round < RUNS; round++) {
    for (const contender of contenders) {
      await contender.reset?.();
      runs.get(contender.name)?.push(await contender.run());
    }
  }
  const out = new Map<string, Measured>();
  for (const [name, list] of runs) {
    const peaks = list.map((run) => run.peakRssMb).filter((value): value is number => value !== undefined);
    const cpus = list.map((run) => run.cpuSeconds).filter((value): value is number => value !== undefined);
    out.set(name, {
      seconds: median(list.map((run) => run.seconds)),
      ...(peaks.length > 0 ? { peakRssMb: Math.max(...peaks) } : {}),
      ...(cpus.length > 0 ? { cpuSeconds: median(cpus) } : {}),
      all: list.map((run) => run.seconds),
    });
  }
  return out;
}
