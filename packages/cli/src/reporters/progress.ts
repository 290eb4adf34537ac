/**
 * Live progress for `honk run`: bars on a terminal (cli-progress), one plain line per
 * notable event otherwise (CI logs, pipes). Fed by the agents' typed events; writes to
 * stderr so `--json` output on stdout stays machine-readable.
 */
import type { HonkEvents } from '@honk/core';
import cliProgress from 'cli-progress';

export interface ProgressDisplay {
  stop(): void;
}

function rate(rowsPerSecond: number): string {
  if (rowsPerSecond >= 1e6) return `${(rowsPerSecond / 1e6).toFixed(1)}M rows/s`;
  if (rowsPerSecond >= 1e3) return `${(rowsPerSecond / 1e3).toFixed(0)}k rows/s`;
  return `${Math.round(rowsPerSecond)} rows/s`;
}

/** Plain lines: one per claim, retry, success, dead-letter and release. */
export function createPlainProgress(events: HonkEvents, write: (line: string) => void): ProgressDisplay {
  const offs = [
    events.on('task-claimed', (e) => write(`▶ ${e.taskId} (attempt ${e.attempt}/${e.maxAttempts})`)),
    events.on('task-succeeded', (e) =>
      write(
        `✔ ${e.taskId}: ${e.stats.rows.toLocaleString('en-US')} rows in ${(e.durationMs / 1000).toFixed(1)}s (${rate(e.stats.rowsPerSecond)})`,
      ),
    ),
    events.on('task-retrying', (e) =>
      write(`↻ ${e.taskId}: ${e.error.code} — ${e.error.message} (retry in ${Math.round(e.delayMs / 1000)}s)`),
    ),
    events.on('task-dead', (e) =>
      write(`✖ ${e.taskId}: ${e.error.code} — ${e.error.message} [dead-lettered: ${e.reason}]`),
    ),
    events.on('task-released', (e) =>
      write(
        e.reason === 'chunked'
          ? `⑂ ${e.taskId}: split into ${e.chunks} chunks (any agent runs them; the task publishes once they are staged)`
          : `⏏ ${e.taskId}: released back to the store (${e.reason})`,
      ),
    ),
    events.on('connection-paused', (e) =>
      write(`⏸ connection ${e.connection} paused until ${e.until} after ${e.failures} ${e.code} failures`),
    ),
  ];
  return {
    stop: () => {
      for (const off of offs) off();
    },
  };
}

/** Terminal bars: an overall bar (tasks ended / total) and one line per running task. */
export function createBarProgress(events: HonkEvents, total: number): ProgressDisplay {
  const multibar = new cliProgress.MultiBar(
    {
      clearOnComplete: false,
      hideCursor: true,
      stream: process.stderr,
      format: ' {bar} {value}/{total} {label}',
      barsize: 24,
    },
    cliProgress.Presets.shades_grey,
  );
  const overall = multibar.create(total, 0, { label: 'tasks' });
  const running = new Map<string, cliProgress.SingleBar>();
  /** Chunks of chunked tasks: shown while they run, not counted as tasks. */
  const chunks = new Set<string>();
  let ended = 0;
  const drop = (taskId: string) => {
    const bar = running.get(taskId);
    if (bar) multibar.remove(bar);
    running.delete(taskId);
  };
  const end = (taskId: string, label: string) => {
    drop(taskId);
    if (chunks.delete(taskId)) {
      multibar.log(`${label}\n`);
      return;
    }
    ended++;
    overall.update(Math.min(ended, total), { label: 'tasks' });
    multibar.log(`${label}\n`);
  };
  const offs = [
    events.on('task-claimed', (e) => {
      if (e.chunkOf) chunks.add(e.taskId);
      running.set(e.taskId, multibar.create(1, 0, { label: `${e.taskId} starting` }, { format: '   {label}' }));
    }),
    events.on('task-released', (e) => {
      drop(e.taskId);
      if (e.reason === 'chunked') multibar.log(`⑂ ${e.taskId}: split into ${e.chunks} chunks\n`);
    }),
    events.on('task-progress', (e) => {
      running
        .get(e.taskId)
        ?.update(0, { label: `${e.taskId}: ${e.rows.toLocaleString('en-US')} rows, ${rate(e.rowsPerSecond)}` });
    }),
    events.on('task-phase', (e) => {
      if (e.phase !== 'transfer' && e.phase !== 'done')
        running.get(e.taskId)?.update(0, { label: `${e.taskId}: ${e.phase}` });
    }),
    events.on('task-succeeded', (e) => end(e.taskId, `✔ ${e.taskId}: ${e.stats.rows.toLocaleString('en-US')} rows`)),
    events.on('task-dead', (e) => end(e.taskId, `✖ ${e.taskId}: ${e.error.code} — ${e.error.message}`)),
    events.on('task-retrying', (e) => {
      const bar = running.get(e.taskId);
      if (bar) multibar.remove(bar);
      running.delete(e.taskId);
      multibar.log(`↻ ${e.taskId}: ${e.error.code} — ${e.error.message}\n`);
    }),
  ];
  return {
    stop: () => {
      for (const off of offs) off();
      multibar.stop();
    },
  };
}
