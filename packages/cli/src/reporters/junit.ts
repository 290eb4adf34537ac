/**
 * JUnit XML for CI systems: one <testcase> per task; a dead or unfinished task is a
 * <failure> carrying the error code and message, a task skipped because it already
 * succeeded with the same definition is reported as passed with a note in system-out.
 */
import type { RunSummary } from './run-summary.ts';

function escapeXml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

export function toJUnit(summary: RunSummary): string {
  const failures = summary.tasks.filter((task) => task.state !== 'succeeded');
  const seconds = (Date.parse(summary.endedAt) - Date.parse(summary.startedAt)) / 1000;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="honk" tests="${summary.tasks.length}" failures="${failures.length}" time="${seconds.toFixed(3)}">`,
    `  <testsuite name="${escapeXml(summary.spec)}" tests="${summary.tasks.length}" failures="${failures.length}" time="${seconds.toFixed(3)}" timestamp="${summary.startedAt}">`,
  ];
  for (const task of summary.tasks) {
    const time = ((task.durationMs ?? 0) / 1000).toFixed(3);
    lines.push(`    <testcase classname="honk.migration" name="${escapeXml(task.id)}" time="${time}">`);
    if (task.state !== 'succeeded') {
      const code = task.error?.code ?? task.state.toUpperCase();
      const message = task.error?.message ?? `task ended in state ${task.state}`;
      lines.push(
        `      <failure type="${escapeXml(code)}" message="${escapeXml(message)}">${escapeXml(`${code}: ${message}`)}</failure>`,
      );
    }
    const notes = [`state=${task.state}`, `action=${task.action}`, `attempts=${task.attempts}`];
    if (task.rows !== undefined) notes.push(`rows=${task.rows}`);
    lines.push(`      <system-out>${escapeXml(notes.join(' '))}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}
