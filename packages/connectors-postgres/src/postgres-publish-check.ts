/**
 * The bug guard every publish runs before COMMIT: the table the catalog holds under exactly
 * the target's schema and name must be the one the rows went into (`expectedOid`: the staging
 * table after a replace, the locked target for append/merge), and an INSERT must have taken
 * the rows it was given (`inserted` against `expected`; `inserted` null when no INSERT ran).
 * After a replace the target *is* the staged table, whose row count COPY reported and
 * validation read back. Anything else — a trigger or rule that swallowed rows, an event
 * trigger that renamed the table, a name resolved to another table — fails the task with
 * nothing published, never a success for a table Honk did not write.
 */
import { type PublishMode, ValidationFailedError } from '@honk/core';
import { findTable } from './postgres-catalog.ts';
import type { Queryable } from './postgres-types.ts';
import { quoteTable, type TableName } from './table-name.ts';

export async function verifyPublished(
  client: Queryable,
  check: {
    target: TableName;
    mode: PublishMode;
    connection: string;
    expectedOid: number | null;
    inserted: number | null;
    expected: number;
  },
): Promise<void> {
  const { target, inserted, expected } = check;
  const found = await findTable(client, target);
  const problems: string[] = [];
  if (found === null) problems.push(`no table named exactly ${quoteTable(target)} exists after publishing`);
  else if (found !== check.expectedOid) {
    problems.push(`the table now named ${quoteTable(target)} is not the one the rows were written to`);
  }
  if (inserted !== null && inserted !== expected) {
    problems.push(`${expected} staged rows were to be inserted, but the INSERT reported ${inserted}`);
  }
  if (problems.length === 0) return;
  throw new ValidationFailedError(
    `PostgreSQL connection "${check.connection}": publishing (${check.mode}) into ` +
      `${quoteTable(target)} failed its check: ${problems.join('; ')}. Nothing was published (the transaction was ` +
      'rolled back). A trigger, rule or event trigger on the target changes what is written; Honk publishes only ' +
      'what it can prove landed in the named table.',
    {
      details: {
        table: quoteTable(target),
        check: 'published-target',
        stagedRows: expected,
        ...(inserted !== null ? { insertedRows: inserted } : {}),
      },
    },
  );
}
