/** The `checksum` validator: order-independent 64-bit sum of canonical row hashes. */
import type { Json } from '../connector/connector.ts';
import { Checksum, ROW_HASH_VERSION } from './row-hash.ts';
import type { ValidationCheck, Validator } from './validator.ts';

const MASK_64 = (1n << 64n) - 1n;

/** Summary of one side; JSON so it can be stored in a report and compared later. */
export interface ChecksumSummary {
  [key: string]: Json;
  /** {@link ROW_HASH_VERSION} the sum was computed with. */
  version: number;
  rows: number;
  /** Sum of row hashes mod 2^64, 16 hex digits. */
  sum: string;
  // `encoding` (optional string): raw rows hashed as encoded (raw-row-hash.ts), e.g.
  // `postgres-binary-copy`; absent when values were hashed. Read with `summaryEncoding`.
}

/** The encoding a summary's rows were hashed in: a raw encoding's name, or `values`. */
export function summaryEncoding(summary: Json): string {
  const encoding = typeof summary === 'object' && summary !== null && !Array.isArray(summary) ? summary.encoding : null;
  return typeof encoding === 'string' ? encoding : 'values';
}

/**
 * Compares {@link Checksum}s: equal when both sides hold the same multiset of rows by value
 * (row order, batch split and physical types such as int32 vs int64 do not matter; see
 * `row-hash.ts` for the canonical encoding).
 */
export function checksumValidator(): Validator {
  return {
    specificationVersion: 'v1',
    name: 'checksum',
    accumulator() {
      const checksum = new Checksum();
      return {
        observe(batch) {
          checksum.add(batch);
        },
        result: (): ChecksumSummary => ({ version: ROW_HASH_VERSION, rows: checksum.rows, sum: checksum.sum }),
      };
    },
    combine(summaries): ChecksumSummary {
      const parts = summaries as ChecksumSummary[];
      let sum = 0n;
      let rows = 0;
      for (const part of parts) {
        sum = (sum + BigInt(`0x${part.sum}`)) & MASK_64;
        rows += part.rows;
      }
      const encoding = parts[0] === undefined ? 'values' : summaryEncoding(parts[0]);
      return {
        version: parts[0]?.version ?? ROW_HASH_VERSION,
        ...(encoding === 'values' ? {} : { encoding }),
        rows,
        sum: sum.toString(16).padStart(16, '0'),
      };
    },
    compare({ source, staged }): ValidationCheck[] {
      const expected = source as ChecksumSummary;
      const actual = staged as ChecksumSummary;
      if (summaryEncoding(source) !== summaryEncoding(staged)) {
        return [
          {
            name: 'checksum',
            expected: source,
            actual: staged,
            ok: false,
            message: `The two sides were hashed in different encodings (${summaryEncoding(source)} vs ${summaryEncoding(staged)}); this is a defect in how the run read them, please report it.`,
          },
        ];
      }
      if (expected.version !== actual.version) {
        return [
          {
            name: 'checksum',
            expected: source,
            actual: staged,
            ok: false,
            message: `The two sides were hashed with different row-hash versions (${expected.version} vs ${actual.version}); run the source and the staged read with the same Honk version.`,
          },
        ];
      }
      const ok = expected.sum === actual.sum && expected.rows === actual.rows;
      return [
        {
          name: 'checksum',
          expected: source,
          actual: staged,
          ok,
          ...(ok
            ? {}
            : {
                message: `The staged rows differ from the source rows by value (checksum ${actual.sum} over ${actual.rows} rows, expected ${expected.sum} over ${expected.rows}); see the sample check for an example row.`,
              }),
        },
      ];
    },
  };
}
