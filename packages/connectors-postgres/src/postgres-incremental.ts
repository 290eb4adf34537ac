/**
 * Incremental reads (core's `Source.incremental`, see README "Incremental tasks").
 *
 * Everything happens in the source's one REPEATABLE READ transaction, so the bound and the
 * rows are one point in time:
 *
 *   upper   `max(cursor)` over the rows at or past the stored mark (and, with `lag`, at most
 *           `now() - lag`): with a btree index on the cursor this is one index probe.
 *   reread  the rows whose cursor equals the stored mark are fingerprinted (count and an md5
 *           over their row texts, sorted): when the fingerprint differs from the one stored
 *           with the mark, rows arrived at (or left) that very value since the last run, and
 *           the increment starts at `cursor >= mark` instead of `cursor > mark`. The sink
 *           then skips the re-read rows the target already holds.
 *   rows    `cursor > mark AND cursor <= upper` (or `>=`), NULL cursors never; an empty
 *           increment is `WHERE false` and reads nothing.
 *
 * Cursor values travel as canonical text (see core's incremental-mark.ts): produced here by
 * `to_char`/`::text` in a session set to UTC, and checked against a pattern before they go
 * back into SQL as a literal (COPY takes no parameters), so a mark read from a table can
 * never inject anything.
 */
import { ConfigError, type IncrementalMark, type IncrementalRequest, type Json } from '@honk/core';
import type { PgType, Queryable } from './postgres-types.ts';
import { quoteIdentifier } from './table-name.ts';

interface CursorKind {
  /** The base type a literal is cast to (no typmod: `timestamp(0)` would round the value). */
  cast: string;
  /** SQL giving the canonical text of an expression of this type. */
  text(expression: string): string;
  pattern: RegExp;
  timestamp: boolean;
}

const INTEGER: Omit<CursorKind, 'cast'> = {
  text: (expression) => `(${expression})::text`,
  pattern: /^-?\d+$/,
  timestamp: false,
};

const CURSOR_KINDS: Partial<Record<PgType['kind'], CursorKind>> = {
  int2: { cast: 'int2', ...INTEGER },
  int4: { cast: 'int4', ...INTEGER },
  int8: { cast: 'int8', ...INTEGER },
  numeric: { cast: 'numeric', text: INTEGER.text, pattern: /^-?\d+(\.\d+)?$/, timestamp: false },
  date: { cast: 'date', text: (e) => `to_char(${e}, 'YYYY-MM-DD')`, pattern: /^\d{4,}-\d{2}-\d{2}$/, timestamp: false },
  timestamp: {
    cast: 'timestamp',
    text: (e) => `to_char(${e}, 'YYYY-MM-DD"T"HH24:MI:SS.US')`,
    pattern: /^\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/,
    timestamp: true,
  },
  timestamptz: {
    cast: 'timestamptz',
    text: (e) => `to_char((${e}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    pattern: /^\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/,
    timestamp: true,
  },
};

/** A cursor column as the source and the sink see it. */
export interface CursorColumn {
  name: string;
  type: PgType;
  declared: string;
}

function kindOf(column: CursorColumn, where: string): CursorKind {
  const kind = CURSOR_KINDS[column.type.kind];
  if (!kind) {
    throw new ConfigError(
      `${where}: incremental.cursor "${column.name}" is ${column.declared}; a cursor must be smallint, integer, bigint, numeric, date, timestamp or timestamptz.`,
      { details: { option: 'incremental.cursor', cursor: column.name, type: column.declared } },
    );
  }
  return kind;
}

/** `'value'::type` for a cursor value in canonical text, after checking it has that form. */
export function cursorLiteral(column: CursorColumn, value: string, where: string): string {
  const kind = kindOf(column, where);
  if (!kind.pattern.test(value)) {
    throw new ConfigError(
      `${where}: the high-water mark ${JSON.stringify(value)} is not a ${column.declared} value of cursor "${column.name}" (was the column's type changed?). Delete the task's mark at the target to start over.`,
      { details: { option: 'incremental.cursor', cursor: column.name } },
    );
  }
  return `'${value}'::${kind.cast}`;
}

/** Count and md5 of the rows at one cursor value: tells whether rows arrived at (or left) it. */
interface Fingerprint {
  rows: number;
  hash: string;
}

function storedFingerprint(mark: IncrementalMark | null): Fingerprint | undefined {
  const state = mark?.state;
  if (state === null || typeof state !== 'object' || Array.isArray(state)) return undefined;
  const boundary = state.boundary;
  if (boundary === null || typeof boundary !== 'object' || Array.isArray(boundary)) return undefined;
  return typeof boundary.rows === 'number' && typeof boundary.hash === 'string'
    ? { rows: boundary.rows, hash: boundary.hash }
    : undefined;
}

/** An increment, planned in the source's transaction. */
export interface PlannedIncrement {
  mark: { value: string | null; state: Json };
  reread: boolean;
  /** WHERE condition of the increment's rows. */
  increment: string;
  /** WHERE condition of every row up to the new mark. */
  upToMark: string;
  range: string;
}

/**
 * Plans the increment after `request.after` over `from` (a FROM item aliased `honk_source`),
 * in the caller's transaction.
 */
export async function planIncrement(
  client: Queryable,
  from: string,
  column: CursorColumn,
  request: IncrementalRequest,
  where: string,
): Promise<PlannedIncrement> {
  const kind = kindOf(column, where);
  const c = quoteIdentifier(column.name);
  if (request.lagMs && !kind.timestamp) {
    throw new ConfigError(
      `${where}: incremental.lag applies to timestamp cursors; "${column.name}" is ${column.declared}.`,
      {
        details: { option: 'incremental.lag', cursor: column.name },
      },
    );
  }
  const after = request.after?.value ?? null;
  const lower = after === null ? null : cursorLiteral(column, after, where);
  const fingerprint = async (literal: string): Promise<Fingerprint> => {
    const result = await client.query<{ rows: string; hash: string }>(
      `SELECT count(*)::text AS rows, md5(coalesce(string_agg(h, '' ORDER BY h), '')) AS hash
         FROM (SELECT md5(honk_source::text) AS h FROM ${from} WHERE ${c} = ${literal}) AS honk_boundary`,
    );
    return { rows: Number(result.rows[0]!.rows), hash: result.rows[0]!.hash };
  };

  const bounds = [`${c} IS NOT NULL`];
  if (lower !== null) bounds.push(`${c} >= ${lower}`);
  if (request.lagMs) {
    const now = column.type.kind === 'timestamptz' ? 'now()' : 'localtimestamp';
    bounds.push(`${c} <= ${now} - ${Math.trunc(request.lagMs)} * interval '1 millisecond'`);
  }
  const found = await client.query<{ upper: string | null }>(
    `SELECT ${kind.text(`max(${c})`)} AS upper FROM ${from} WHERE ${bounds.join(' AND ')}`,
  );
  const upper = found.rows[0]?.upper ?? null;

  let reread = false;
  let previous: Fingerprint | undefined;
  if (lower !== null) {
    previous = await fingerprint(lower);
    const stored = storedFingerprint(request.after);
    reread = previous.rows > 0 && (stored?.rows !== previous.rows || stored.hash !== previous.hash);
  }
  const value = upper ?? after;
  const literal = value === null ? null : cursorLiteral(column, value, where);
  const boundary = literal === null ? null : value === after && previous ? previous : await fingerprint(literal);

  const upToMark = literal === null ? 'false' : `${c} <= ${literal}`;
  const nothingNew = literal === null || (value === after && !reread);
  const increment = nothingNew
    ? 'false'
    : [lower && `${c} ${reread ? '>=' : '>'} ${lower}`, upToMark].filter(Boolean).join(' AND ');
  const range = nothingNew ? `nothing new${after === null ? '' : ` after ${c} = '${after}'`}` : increment;
  return {
    mark: { value, state: boundary === null ? {} : { boundary: { rows: boundary.rows, hash: boundary.hash } } },
    reread,
    increment,
    upToMark,
    range,
  };
}
