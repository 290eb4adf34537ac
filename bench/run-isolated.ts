/**
 * One measurement per process. A suite's main process spawns a fresh child for every
 * engine × scenario, so the peak RSS reported is that engine's own (DuckDB's native heap
 * never inflates Honk's figure, a previous scenario's garbage never inflates the next) and
 * JIT warm-up is paid the same way by every contender.
 *
 * The child is the suite's own module started with `HONK_BENCH_JOB` set to a JSON job; it
 * calls {@link serveIsolatedJob}, which times the job and prints one `{"isolated": …}` line.
 *
 * `BENCH_CPU_PROF=<dir>` adds `--cpu-prof` to every child whose job name contains
 * `BENCH_CPU_PROF_MATCH` (default: every child), writing V8 `.cpuprofile` files into dir.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Every job names itself, for profiles and error messages. */
export interface IsolatedJob {
  name: string;
}

/** What the child measured around the job only (module loading excluded from time). */
export interface IsolatedResult<T = unknown> {
  /** Wall-clock seconds of the job. */
  seconds: number;
  /** User + system CPU seconds of the whole process during the job (all threads: DuckDB's too). */
  cpuSeconds: number;
  /** Peak resident set size of the child over its lifetime, in MiB (kernel maxrss: exact, not sampled). */
  peakRssMb: number;
  /** Peak RSS before the job started: node + the modules the job imports. */
  baselineRssMb: number;
  /** Whatever the job returned (JSON). */
  value: T;
}

const MARK = '{"isolated":';

/** Runs `job` in a fresh `node <module>` child and returns its measurement. */
export function runIsolated<T>(moduleUrl: string, job: IsolatedJob): Promise<IsolatedResult<T>> {
  const profileDir = process.env.BENCH_CPU_PROF;
  const profile = profileDir && job.name.includes(process.env.BENCH_CPU_PROF_MATCH ?? '');
  const args = [
    '--expose-gc',
    ...(profile
      ? ['--cpu-prof', '--cpu-prof-dir', resolve(profileDir), '--cpu-prof-name', `${slug(job.name)}.cpuprofile`]
      : []),
    fileURLToPath(moduleUrl),
  ];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, HONK_BENCH_CHILD: '1', HONK_BENCH_JOB: JSON.stringify(job) },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const line = out.split('\n').find((text) => text.startsWith(MARK));
      if (code === 0 && line) {
        resolvePromise((JSON.parse(line) as { isolated: IsolatedResult<T> }).isolated);
        return;
      }
      const tail = out.trim().split('\n').slice(-5).join('\n');
      reject(new Error(`bench job "${job.name}" exited with ${signal ?? code}${tail ? `:\n${tail}` : ''}`));
    });
  });
}

function slug(name: string): string {
  return name.replace(/[^a-zA-Z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** The job this process was started for, or undefined in the suite's main process. */
export function isolatedJob<J extends IsolatedJob>(): J | undefined {
  const text = process.env.HONK_BENCH_JOB;
  return text ? (JSON.parse(text) as J) : undefined;
}

function maxRssMb(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Child side: runs `job`, prints the `{"isolated": …}` line, exits non-zero on failure. */
export async function serveIsolatedJob<T>(run: () => Promise<T>): Promise<void> {
  globalThis.gc?.();
  const baselineRssMb = maxRssMb();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const result: IsolatedResult<T> = {
    seconds,
    cpuSeconds: (used.user + used.system) / 1e6,
    peakRssMb: maxRssMb(),
    baselineRssMb,
    value,
  };
  process.stdout.write(`${JSON.stringify({ isolated: result })}\n`);
}

/**
 * How many times each measurement runs (`BENCH_REPEAT`, default 2): the fastest run is
 * reported, the least disturbed by other processes on a shared machine, and the peak RSS
 * is the highest of all runs.
 */
export function benchRepeat(): number {
  return Math.max(1, Number(process.env.BENCH_REPEAT ?? 2));
}

/** Runs `measure` {@link benchRepeat} times; keeps the fastest, with the highest peak RSS seen. */
export async function bestOf<R extends { seconds: number; peakRssMb?: number }>(measure: () => Promise<R>): Promise<R> {
  let best: R | undefined;
  let peak = 0;
  for (let run = 0; run < benchRepeat(); run++) {
    const result = await measure();
    peak = Math.max(peak, result.peakRssMb ?? 0);
    if (!best || result.seconds < best.seconds) best = result;
  }
  const chosen = best as R;
  return chosen.peakRssMb === undefined ? chosen : { ...chosen, peakRssMb: peak };
}
