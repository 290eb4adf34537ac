/** The `row-count` validator: both sides must hold the same number of rows. */
import type { Json } from '../connector/connector.ts';
import type { ValidationCheck, Validator } from './validator.ts';

/** Compares row counts. The cheapest check, and the one whose message is easiest to act on. */
export function rowCountValidator(): Validator {
  return {
    specificationVersion: 'v1',
    name: 'row-count',
    light: true,
    accumulator() {
      let rows = 0;
      return {
        observe(batch) {
          rows += batch.numRows;
        },
        result: () => ({ rows }),
      };
    },
    combine: (summaries) => ({ rows: summaries.reduce<number>((sum, summary) => sum + rowsOf(summary), 0) }),
    compare({ source, staged }): ValidationCheck[] {
      const expected = rowsOf(source);
      const actual = rowsOf(staged);
      const ok = expected === actual;
      return [
        {
          name: 'row-count',
          expected,
          actual,
          ok,
          ...(ok
            ? {}
            : {
                message:
                  actual < expected
                    ? `The staged data has ${expected - actual} row(s) fewer than the source (${actual} of ${expected}).`
                    : `The staged data has ${actual - expected} row(s) more than the source (${actual} vs ${expected}); a re-run may have appended instead of replacing.`,
              }),
        },
      ];
    },
  };
}

function rowsOf(summary: Json): number {
  return typeof summary === 'object' && summary !== null && !Array.isArray(summary) && typeof summary.rows === 'number'
    ? summary.rows
    : Number.NaN;
}
