/**
 * Reading what the backend stores as free-form JSON (progress, validation report, snapshot
 * ref) into what the UI shows, and formatting numbers, rates and durations. Pure functions:
 * unknown shapes give `undefined`, never a guess.
 */
import type { MigrationStatus } from '@honk/backstage-plugin-honk-common';

/** The progress an agent stores with each heartbeat (`{ phase, rows, bytes, batches, elapsedMs, rowsPerSecond }`). */
export interface MigrationProgress {
  phase?: string;
  rows: number;
  bytes?: number;
  elapsedMs?: number;
  rowsPerSecond?: number;
}

/** One check of a validation report. */
export interface ValidationCheckView {
  name: string;
  expected: unknown;
  actual: unknown;
  ok: boolean;
  message?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function readProgress(progress: unknown): MigrationProgress | undefined {
  if (!isRecord(progress)) return undefined;
  const rows = finite(progress.rows);
  if (rows === undefined) return undefined;
  const out: MigrationProgress = { rows };
  if (typeof progress.phase === 'string') out.phase = progress.phase;
  const bytes = finite(progress.bytes);
  if (bytes !== undefined) out.bytes = bytes;
  const elapsedMs = finite(progress.elapsedMs);
  if (elapsedMs !== undefined) out.elapsedMs = elapsedMs;
  const rate = finite(progress.rowsPerSecond);
  if (rate !== undefined) out.rowsPerSecond = rate;
  return out;
}

/** The checks of a task report (`report.validation.checks`), or of a bare validation report. */
export function readChecks(report: unknown): ValidationCheckView[] | undefined {
  if (!isRecord(report)) return undefined;
  const validation = isRecord(report.validation) ? report.validation : report;
  if (!Array.isArray(validation.checks)) return undefined;
  return validation.checks.filter(isRecord).map((check) => ({
    name: String(check.name ?? '?'),
    expected: check.expected,
    actual: check.actual,
    ok: check.ok === true,
    ...(typeof check.message === 'string' ? { message: check.message } : {}),
  }));
}

/** A chunked task's chunks in sum, as the backend sends them (`MigrationSummary.chunks`). */
export interface ChunkCounts {
  total: number;
  succeeded: number;
  /** The other states with chunks in them, in a fixed order (running first), e.g. `[['running', 2]]`. */
  others: [string, number][];
  rows: number;
}

const CHUNK_STATE_ORDER = ['running', 'pending', 'failed', 'dead', 'cancelled'];

export function readChunks(chunks: unknown): ChunkCounts | undefined {
  if (!isRecord(chunks)) return undefined;
  const total = finite(chunks.total);
  if (total === undefined || total <= 0 || !isRecord(chunks.states)) return undefined;
  const states = Object.entries(chunks.states).filter(
    (entry): entry is [string, number] => finite(entry[1]) !== undefined && (entry[1] as number) > 0,
  );
  const rank = (state: string) => {
    const at = CHUNK_STATE_ORDER.indexOf(state);
    return at < 0 ? CHUNK_STATE_ORDER.length : at;
  };
  return {
    total,
    succeeded: states.find(([state]) => state === 'succeeded')?.[1] ?? 0,
    others: states
      .filter(([state]) => state !== 'succeeded')
      .sort((a, b) => rank(a[0]) - rank(b[0]) || a[0].localeCompare(b[0])),
    rows: finite(chunks.rows) ?? 0,
  };
}

/** `chunks 7/10 succeeded (2 running, 1 pending; 3,500,000 rows)`, as `honk status` says it. */
export function formatChunks(chunks: ChunkCounts): string {
  const others = chunks.others.map(([state, count]) => `${formatCount(count)} ${state}`).join(', ');
  const rows = `${formatCount(chunks.rows)} rows`;
  return `chunks ${formatCount(chunks.succeeded)}/${formatCount(chunks.total)} succeeded (${others ? `${others}; ` : ''}${rows})`;
}

/** Rows still to move divided by the current rate, in seconds; undefined when either is unknown. */
export function etaSeconds(progress: MigrationProgress, totalRows: number | undefined): number | undefined {
  if (totalRows === undefined || !progress.rowsPerSecond || progress.rowsPerSecond <= 0) return undefined;
  const left = Math.max(0, totalRows - progress.rows);
  return left / progress.rowsPerSecond;
}

export function formatCount(value: number): string {
  return new Intl.NumberFormat('en-US').format(Math.round(value));
}

export function formatRate(rowsPerSecond: number): string {
  return `${formatCount(rowsPerSecond)} rows/s`;
}

export function formatDuration(seconds: number): string {
  if (seconds < 1) return 'under a second';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${rest} s`;
  return `${rest} s`;
}

/** A JSON value on one line, for expected/actual cells and the snapshot ref. */
export function formatValue(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** An ISO instant as the viewer's local date and time, with the zone, so it is never ambiguous. */
export function formatInstant(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  // (dateStyle/timeStyle cannot be combined with timeZoneName.)
  return date.toLocaleString('en-GB', {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'short',
  });
}

/** How each status reads in the UI. */
export const STATUS_LABELS: Record<MigrationStatus, string> = {
  'not-started': 'not started',
  pending: 'pending',
  running: 'running',
  failed: 'failed (will retry)',
  dead: 'dead',
  cancelled: 'cancelled',
  succeeded: 'succeeded (awaiting sign-off)',
  'rolled-back': 'rolled back',
  migrated: 'migrated',
};
