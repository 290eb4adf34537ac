/**
 * The window picker's pure parts: wall-clock times in a zone to instants (DST included), and
 * the form's checks, each problem naming the field and what to enter.
 */
import { describe, expect, it } from 'vitest';
import { schedulingFromForm, type WindowForm } from '../src/components/start-selected-dialog.tsx';
import { etaSeconds, formatDuration, readChecks, readProgress } from '../src/format.ts';
import { allowedActions } from '../src/migration-actions.ts';
import { isTimeZone, zonedTimeToIso } from '../src/time-zone.ts';

const empty: WindowForm = { notBefore: '', windowStart: '', windowEnd: '', timezone: 'UTC', priority: '' };

describe('zonedTimeToIso', () => {
  it('reads a wall-clock time in the zone, winter and summer', () => {
    expect(zonedTimeToIso('2030-01-01 02:00', 'Europe/Stockholm')).toBe('2030-01-01T01:00:00.000Z');
    expect(zonedTimeToIso('2030-07-01T02:00', 'Europe/Stockholm')).toBe('2030-07-01T00:00:00.000Z');
    expect(zonedTimeToIso('2030-07-01 02:00:30', 'America/New_York')).toBe('2030-07-01T06:00:30.000Z');
    expect(zonedTimeToIso('2030-01-01 02:00', 'UTC')).toBe('2030-01-01T02:00:00.000Z');
  });

  it('refuses what is not a date and time', () => {
    expect(zonedTimeToIso('tomorrow', 'UTC')).toBeUndefined();
    expect(zonedTimeToIso('2030-13-01 02:00', 'UTC')).toBeUndefined();
    expect(zonedTimeToIso('2030-01-01 25:00', 'UTC')).toBeUndefined();
    expect(isTimeZone('Europe/Stockholm')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
  });
});

describe('schedulingFromForm', () => {
  it('sends nothing for an empty form: start now, any time', () => {
    expect(schedulingFromForm(empty)).toEqual({ scheduling: {} });
  });

  it('builds notBefore in the zone, the window in the same zone, and the priority', () => {
    expect(
      schedulingFromForm({
        notBefore: '2030-01-01 02:00',
        windowStart: '22:00',
        windowEnd: '04:00',
        timezone: 'Europe/Stockholm',
        priority: '-3',
      }),
    ).toEqual({
      scheduling: {
        notBefore: '2030-01-01T01:00:00.000Z',
        window: { start: '22:00', end: '04:00', timezone: 'Europe/Stockholm' },
        priority: -3,
      },
    });
  });

  it('names each problem', () => {
    const result = schedulingFromForm({ ...empty, windowStart: '1:00', priority: '2.5', timezone: 'Nowhere/Land' });
    expect(result).toEqual({
      problems: [
        'Time zone "Nowhere/Land" is unknown; use an IANA name like Europe/Stockholm.',
        'A daily window needs both a start and an end time as HH:MM (24-hour), e.g. 01:00 and 05:00.',
        'Priority must be a whole number (higher runs first).',
      ],
    });
    expect(schedulingFromForm({ ...empty, windowStart: '02:00', windowEnd: '02:00' })).toEqual({
      problems: ['The daily window starts and ends at the same time; leave both empty for any time of day.'],
    });
    expect(schedulingFromForm({ ...empty, notBefore: 'soon' })).toEqual({
      problems: ['Not before must be a date and time as YYYY-MM-DD HH:MM, e.g. 2030-01-01 02:00.'],
    });
  });
});

describe('reading what agents store', () => {
  it('reads progress and the ETA against the row estimate', () => {
    const progress = readProgress({
      phase: 'transfer',
      rows: 4000,
      bytes: 1,
      batches: 2,
      elapsedMs: 2000,
      rowsPerSecond: 2000,
    });
    expect(progress).toEqual({ phase: 'transfer', rows: 4000, bytes: 1, elapsedMs: 2000, rowsPerSecond: 2000 });
    expect(etaSeconds(progress!, 10_000)).toBe(3);
    expect(etaSeconds(progress!, undefined)).toBeUndefined();
    expect(etaSeconds({ rows: 5 }, 10)).toBeUndefined();
    expect(readProgress({ phase: 'validate' })).toBeUndefined();
    expect(formatDuration(3)).toBe('3 s');
    expect(formatDuration(3725)).toBe('1 h 2 min');
  });

  it('reads the checks of a task report', () => {
    const report = {
      ok: false,
      validation: {
        ok: false,
        checks: [
          { name: 'row-count', expected: 10, actual: 10, ok: true },
          { name: 'checksum', expected: { sum: '1' }, actual: { sum: '2' }, ok: false, message: 'differ' },
        ],
      },
    };
    expect(readChecks(report)).toEqual([
      { name: 'row-count', expected: 10, actual: 10, ok: true },
      { name: 'checksum', expected: { sum: '1' }, actual: { sum: '2' }, ok: false, message: 'differ' },
    ]);
    expect(readChecks({ stats: {} })).toBeUndefined();
  });
});

describe('allowedActions', () => {
  const base = {
    taskId: 't',
    state: 'succeeded',
    attempts: 1,
    maxAttempts: 3,
    priority: 0,
    runAt: '2030-01-01T00:00:00Z',
    updatedAt: '2030-01-01T00:00:00Z',
    enqueuedAt: '2030-01-01T00:00:00Z',
  };
  it('follows the state', () => {
    expect(allowedActions(undefined)).toEqual(['start']);
    expect(allowedActions({ ...base, status: 'running' })).toEqual(['cancel']);
    expect(allowedActions({ ...base, status: 'dead' })).toEqual(['requeue']);
    expect(allowedActions({ ...base, status: 'succeeded' })).toEqual(['sign-off']);
    expect(allowedActions({ ...base, status: 'succeeded', snapshotRef: { version: 3 } })).toEqual([
      'sign-off',
      'rollback',
    ]);
    expect(allowedActions({ ...base, status: 'rolled-back' })).toEqual(['start']);
    expect(allowedActions({ ...base, status: 'migrated' })).toEqual([]);
  });
});
