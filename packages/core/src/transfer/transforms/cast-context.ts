/**
 * What a cast kernel knows about the column it converts, and the one place a lossy value is
 * either reported or tolerated.
 */
import { SchemaMismatchError } from '../../errors/honk-error.ts';

export interface CastContext {
  /** Column name, as the output schema names it. */
  readonly column: string;
  /** Type names for messages, e.g. `utf8` and `timestamp[us, UTC]`. */
  readonly from: string;
  readonly to: string;
  /** Rows before this batch in the stream (TransformContext.rowOffset). */
  readonly rowOffset: number;
  /** True when `allowLossy` covers this column: lossy values become null or are rounded. */
  readonly allowLossy: boolean;
}

/** Why a value cannot be represented exactly; `precision` rounds under allowLossy, the rest become null. */
export type LossReason = 'overflow' | 'precision' | 'unparseable';

const MAX_VALUE_CHARS = 120;

function quote(value: string): string {
  const shown = value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}…` : value;
  return JSON.stringify(shown);
}

/**
 * Called by kernels for a value that cannot be converted exactly. Throws a
 * SchemaMismatchError naming the column, the absolute row and the value unless lossy casts
 * are allowed for the column, in which case it returns and the kernel nulls or rounds.
 * `describe` is only evaluated when throwing, so tolerated losses cost nothing extra.
 */
export function reportLoss(context: CastContext, index: number, reason: LossReason, describe: () => string): void {
  if (context.allowLossy) return;
  const row = context.rowOffset + index;
  const value = describe();
  const why =
    reason === 'overflow'
      ? `does not fit in ${context.to}`
      : reason === 'precision'
        ? `cannot be represented exactly as ${context.to} (it would be rounded)`
        : `cannot be parsed as ${context.to}`;
  throw new SchemaMismatchError(
    `Cannot cast column "${context.column}" from ${context.from} to ${context.to}: the value ${quote(value)} at row ${row} ${why}. ` +
      `Fix the source data, choose a wider type, or set transform.allowLossy to true (or list "${context.column}") to turn such values into null (overflow, unparseable) or round them (precision).`,
    {
      details: {
        column: context.column,
        row,
        value: value.slice(0, MAX_VALUE_CHARS),
        from: context.from,
        to: context.to,
        reason,
      },
    },
  );
}
