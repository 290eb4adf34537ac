/**
 * Daily windows in a time zone, including crossing midnight and both DST transitions in
 * Europe/Stockholm (2026: clocks go 02:00 → 03:00 on March 29 at 01:00Z, and 03:00 → 02:00
 * on October 25 at 01:00Z).
 */
import { describe, expect, it } from 'vitest';
import { isValidTimeZone, nextWindowStart, parseTimeOfDay, windowAllows } from '../../src/spec/task-window.ts';

const at = (iso: string) => new Date(iso);
const next = (window: Parameters<typeof nextWindowStart>[0], iso: string) =>
  nextWindowStart(window, at(iso)).toISOString();

describe('windowAllows', () => {
  const night = { start: '00:00', end: '06:00', timezone: 'Europe/Stockholm' };

  it('uses the wall clock of the window’s zone (start inclusive, end exclusive)', () => {
    // Winter: Stockholm is UTC+1.
    expect(windowAllows(night, at('2026-01-14T22:59:59Z'))).toBe(false); // 23:59:59 local
    expect(windowAllows(night, at('2026-01-14T23:00:00Z'))).toBe(true); // 00:00 local
    expect(windowAllows(night, at('2026-01-15T04:59:00Z'))).toBe(true); // 05:59 local
    expect(windowAllows(night, at('2026-01-15T05:00:00Z'))).toBe(false); // 06:00 local
    // Summer: UTC+2.
    expect(windowAllows(night, at('2026-07-14T22:00:00Z'))).toBe(true); // 00:00 local
    expect(windowAllows(night, at('2026-07-15T04:00:00Z'))).toBe(false); // 06:00 local
  });

  it('defaults to UTC', () => {
    const window = { start: '00:00', end: '06:00' };
    expect(windowAllows(window, at('2026-01-15T05:59:00Z'))).toBe(true);
    expect(windowAllows(window, at('2026-01-15T06:00:00Z'))).toBe(false);
  });

  it('crosses midnight when end is before start', () => {
    const window = { start: '22:00', end: '04:00', timezone: 'UTC' };
    expect(windowAllows(window, at('2026-03-01T21:59:00Z'))).toBe(false);
    expect(windowAllows(window, at('2026-03-01T22:00:00Z'))).toBe(true);
    expect(windowAllows(window, at('2026-03-01T23:59:00Z'))).toBe(true);
    expect(windowAllows(window, at('2026-03-02T00:00:00Z'))).toBe(true);
    expect(windowAllows(window, at('2026-03-02T03:59:00Z'))).toBe(true);
    expect(windowAllows(window, at('2026-03-02T04:00:00Z'))).toBe(false);
    expect(windowAllows(window, at('2026-03-02T12:00:00Z'))).toBe(false);
  });

  it('accepts 24:00 as the end of the day', () => {
    const window = { start: '18:00', end: '24:00', timezone: 'UTC' };
    expect(windowAllows(window, at('2026-03-01T23:59:59Z'))).toBe(true);
    expect(windowAllows(window, at('2026-03-02T00:00:00Z'))).toBe(false);
  });

  it('on the fall-back day, the repeated hour is inside the window twice', () => {
    const window = { start: '02:00', end: '03:00', timezone: 'Europe/Stockholm' };
    expect(windowAllows(window, at('2026-10-24T23:59:00Z'))).toBe(false); // 01:59 CEST
    expect(windowAllows(window, at('2026-10-25T00:30:00Z'))).toBe(true); // 02:30 CEST
    expect(windowAllows(window, at('2026-10-25T01:30:00Z'))).toBe(true); // 02:30 CET
    expect(windowAllows(window, at('2026-10-25T02:00:00Z'))).toBe(false); // 03:00 CET
  });
});

describe('nextWindowStart', () => {
  const night = { start: '00:00', end: '06:00', timezone: 'Europe/Stockholm' };

  it('is the date itself when the window is open', () => {
    expect(next(night, '2026-01-15T01:23:45.678Z')).toBe('2026-01-15T01:23:45.678Z');
  });

  it('is the next local start, later today or tomorrow', () => {
    expect(next(night, '2026-01-15T12:00:00Z')).toBe('2026-01-15T23:00:00.000Z');
    expect(next(night, '2026-07-15T12:00:00Z')).toBe('2026-07-15T22:00:00.000Z');
    const evening = { start: '20:00', end: '21:00', timezone: 'UTC' };
    expect(next(evening, '2026-01-15T08:00:00Z')).toBe('2026-01-15T20:00:00.000Z');
    expect(next(evening, '2026-01-15T21:00:00Z')).toBe('2026-01-16T20:00:00.000Z');
  });

  it('handles windows crossing midnight', () => {
    const window = { start: '22:00', end: '04:00', timezone: 'Europe/Stockholm' };
    expect(next(window, '2026-01-15T02:59:00Z')).toBe('2026-01-15T02:59:00.000Z'); // 03:59 local: open
    expect(next(window, '2026-01-15T03:00:00Z')).toBe('2026-01-15T21:00:00.000Z'); // 04:00 local: closed until 22:00
    expect(next(window, '2026-01-15T22:30:00Z')).toBe('2026-01-15T22:30:00.000Z'); // 23:30 local: open
  });

  it('across the spring-forward night, the start follows the new offset', () => {
    // 2026-03-28 12:00Z (13:00 CET) → the window opens at 00:00 on March 29, still CET.
    expect(next(night, '2026-03-28T12:00:00Z')).toBe('2026-03-28T23:00:00.000Z');
    // Mar 29 12:00Z (14:00 CEST) → next opening is 00:00 CEST on March 30 = 22:00Z.
    expect(next(night, '2026-03-29T12:00:00Z')).toBe('2026-03-29T22:00:00.000Z');
  });

  it('a start inside the skipped hour opens at the jump', () => {
    const window = { start: '02:30', end: '04:00', timezone: 'Europe/Stockholm' };
    // 02:30 does not exist on March 29; the clock jumps from 02:00 CET to 03:00 CEST at 01:00Z.
    expect(next(window, '2026-03-28T12:00:00Z')).toBe('2026-03-29T01:00:00.000Z');
    expect(windowAllows(window, at('2026-03-29T00:59:00Z'))).toBe(false); // 01:59 CET
    expect(windowAllows(window, at('2026-03-29T01:00:00Z'))).toBe(true); // 03:00 CEST
  });

  it('a window entirely inside the skipped hour opens the next day', () => {
    const window = { start: '02:00', end: '02:30', timezone: 'Europe/Stockholm' };
    expect(next(window, '2026-03-28T12:00:00Z')).toBe('2026-03-30T00:00:00.000Z'); // 02:00 CEST on March 30
  });

  it('a start inside the repeated hour opens at its first occurrence', () => {
    const window = { start: '02:30', end: '05:00', timezone: 'Europe/Stockholm' };
    // 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET): the earlier one counts.
    expect(next(window, '2026-10-24T12:00:00Z')).toBe('2026-10-25T00:30:00.000Z');
    // The day after, CET: 02:30 local = 01:30Z.
    expect(next(window, '2026-10-25T12:00:00Z')).toBe('2026-10-26T01:30:00.000Z');
  });

  it('across the fall-back night, the start follows the new offset', () => {
    expect(next(night, '2026-10-24T12:00:00Z')).toBe('2026-10-24T22:00:00.000Z'); // 00:00 CEST
    expect(next(night, '2026-10-25T12:00:00Z')).toBe('2026-10-25T23:00:00.000Z'); // 00:00 CET
  });

  it('works for zones with non-hour offsets', () => {
    const window = { start: '01:00', end: '02:00', timezone: 'Asia/Kolkata' }; // UTC+05:30
    expect(next(window, '2026-01-15T00:00:00Z')).toBe('2026-01-15T19:30:00.000Z');
  });
});

describe('helpers', () => {
  it('parses times of day and checks zones', () => {
    expect(parseTimeOfDay('00:00')).toBe(0);
    expect(parseTimeOfDay('06:30')).toBe(390);
    expect(parseTimeOfDay('24:00')).toBe(1440);
    expect(() => parseTimeOfDay('24:01')).toThrow(RangeError);
    expect(() => parseTimeOfDay('6:00')).toThrow(RangeError);
    expect(isValidTimeZone('Europe/Stockholm')).toBe(true);
    expect(isValidTimeZone('UTC')).toBe(true);
    expect(isValidTimeZone('Mars/Olympus')).toBe(false);
  });
});
