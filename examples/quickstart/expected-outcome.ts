/**
 * What a correct quickstart run looks like: every task succeeds except `ledger`, which is
 * broken on purpose and must be dead-lettered with SCHEMA_MISMATCH (see honk.yaml). Shared by
 * run.ts and the test, so both judge a run the same way.
 */

/** The fields of `honk run --report` this check reads (see @honk/cli's RunSummary). */
export interface RunReport {
  tasks: Array<{
    id: string;
    state: string;
    action: string;
    rows?: number;
    error?: { code: string; message: string };
  }>;
}

/** Task id → the error code it must be dead-lettered with. */
export const EXPECTED_DEAD: Readonly<Record<string, string>> = { ledger: 'SCHEMA_MISMATCH' };

/** Lists every way `report` differs from the expected outcome; empty when it is exactly as expected. */
export function unexpectedOutcomes(report: RunReport): string[] {
  const problems: string[] = [];
  for (const task of report.tasks) {
    const deadCode = EXPECTED_DEAD[task.id];
    if (deadCode === undefined && task.state !== 'succeeded') {
      problems.push(
        `${task.id} should have succeeded but is ${task.state}${task.error ? ` (${task.error.code}: ${task.error.message})` : ''}`,
      );
    } else if (deadCode !== undefined && (task.state !== 'dead' || task.error?.code !== deadCode)) {
      problems.push(
        `${task.id} should be dead with ${deadCode} but is ${task.state}${task.error ? ` (${task.error.code})` : ''}`,
      );
    }
  }
  for (const id of Object.keys(EXPECTED_DEAD)) {
    if (!report.tasks.some((task) => task.id === id)) problems.push(`task ${id} is missing from the run`);
  }
  return problems;
}
