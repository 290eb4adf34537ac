/**
 * Incremental reads, part of the connector contract v1 (additive, optional members).
 *
 * An incremental task moves only the rows whose cursor column (`updated_at`, an identity
 * key) lies past the task's *high-water mark*: the highest cursor value an earlier run
 * published. The pieces:
 *
 * - The **sink** keeps the mark (`incrementalCommit` capability): {@link Sink.incrementalMark}
 *   reads it, and `publish()` commits the new one in the same atomic step that makes the
 *   increment visible — only over the mark the run started from, so a crash between publish
 *   and the task store, a retry or a concurrent run can never skip or repeat rows. The mark
 *   at the target is the truth; task records only show it.
 * - The **source** reads the increment (`incrementalRead` capability):
 *   {@link Source.incremental} finds, in the same point-in-time read as the data, the new
 *   upper bound and returns a source of just the rows between the two marks.
 * - **Core** checks the configuration at preflight, passes the stored mark to the source,
 *   validates the increment like any transfer, hands the new mark to the writer, and every
 *   `fullCheckEvery` runs compares the whole target with the source up to the mark.
 *
 * Cursor values are carried as canonical text so any source and any sink agree on them:
 * integers and decimals as decimal text (`-12`, `1234.50`), dates `YYYY-MM-DD`, timestamps
 * `YYYY-MM-DDTHH:MM:SS.ffffff` (microseconds), with a trailing `Z` when the column has a
 * time zone (the value is then in UTC).
 */
import type { Json, Source } from './connector.ts';

/** The high-water mark of an incremental task at its target. JSON; stored as is by the sink. */
export interface IncrementalMark {
  /** The cursor column, by its name at the source. */
  cursor: string;
  /** The highest cursor value published so far, as canonical text; null while no row was read. */
  value: string | null;
  /**
   * Increments published under this mark (1 after the first run). It is also the mark's
   * version: a publish commits only over the mark whose `runs` its run started from.
   */
  runs: number;
  /** The source the mark belongs to (connector and endpoint, no secrets): a mark never continues on another source. */
  source: string;
  /** Source-specific detail the source reads back next time (PostgreSQL: a fingerprint of the rows at `value`). */
  state?: Json;
}

/** What core asks of {@link Source.incremental}. */
export interface IncrementalRequest {
  /** The cursor column (checked by core to exist and be orderable: integer, decimal, date or timestamp). */
  cursor: string;
  /** The mark of the last published increment, or null on the first run (read everything). */
  after: IncrementalMark | null;
  /**
   * Timestamp cursors only: read only rows whose cursor is at most the source's clock minus
   * this many ms, so rows written by transactions still open (whose timestamps lie in the
   * past when they commit) are not overtaken by the mark.
   */
  lagMs?: number;
}

/** One increment, as the source found it in its point-in-time read. */
export interface IncrementalRead {
  /**
   * The new mark's value and state: the highest cursor value in the increment, or `after`'s
   * when there is nothing new. Core adds `cursor`, `runs` and `source`.
   */
  mark: Pick<IncrementalMark, 'value' | 'state'>;
  /**
   * Whether the rows whose cursor equals `after.value` are read again: rows may have arrived
   * with that very value since the last run. A sink must then not append them twice.
   */
  reread: boolean;
  /**
   * The increment's rows, read at the same point in time as the bound was found. Closing the
   * parent source releases it (its own `close()` may do nothing).
   */
  increment: Source;
  /** Every row up to the new mark, at the same point in time: the source side of a full check. */
  upToMark(): Source;
  /** The range in words, for reports and plans, e.g. `"updated_at" > '2026-…' AND "updated_at" <= '2026-…'`. */
  range: string;
}

/** What an incremental run asks the sink writer to commit with its publish (`WriteOptions.incremental`). */
export interface IncrementalCommit {
  /** Whose mark: the task id (scheduled runs share their task's). */
  key: string;
  /**
   * The mark the run started from (null: none was stored). The publish must fail with a
   * retryable error, publishing nothing, when the stored mark is another one by then
   * (compare `runs`): another run published in between, and a retry reads from its mark.
   */
  from: IncrementalMark | null;
  /** The mark to store, atomically with the publish. */
  to: IncrementalMark;
  /** The cursor column's name in the staged data (after renames). */
  column: string;
  /**
   * The rows at `from.value` were read again (see {@link IncrementalRead.reread}): an
   * `append` must not add a staged row with that cursor value that the target already holds.
   */
  reread: boolean;
}
