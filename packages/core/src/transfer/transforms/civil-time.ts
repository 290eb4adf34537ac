/**
 * Calendar arithmetic and time-zone offsets for the temporal casts, without Date objects on
 * the hot path: proleptic Gregorian day numbers (days since 1970-01-01) and zone offsets
 * from Intl, cached per zone.
 */

import { civilFromDays, daysFromCivil } from '../../arrow/value-text.ts';
import { zoneFormatter } from '../../arrow/zone-formatter.ts';
import { ConfigError } from '../../errors/honk-error.ts';

export { daysFromCivil };

export const MS_PER_DAY = 86_400_000;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** True when the parts name a real calendar date. */
export function isValidDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

/** `YYYY-MM-DD`; years outside 0..9999 use ISO 8601's expanded form (`+012345`, `-000001`). */
export function formatDate(days: number): string {
  const [year, month, day] = civilFromDays(days);
  const yearText = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
  return `${yearText}-${pad(month, 2)}-${pad(day, 2)}`;
}

// --- time zones --------------------------------------------------------------------------

const FIXED_OFFSET = /^([+-])(\d{2}):?(\d{2})$/;

function isUtc(zone: string): boolean {
  const upper = zone.toUpperCase();
  return upper === 'UTC' || upper === 'Z' || upper === 'ETC/UTC' || upper === 'GMT';
}

/**
 * Checks that a timestamp's zone is usable: `UTC`, a fixed offset (`+01:00`) or an IANA
 * name the runtime knows. Called at preflight so a typo fails before any data moves.
 */
export function assertTimeZone(zone: string, where: string): void {
  if (isUtc(zone) || FIXED_OFFSET.test(zone)) return;
  try {
    zoneFormatter(zone);
  } catch (error) {
    throw new ConfigError(
      `${where}: unknown time zone "${zone}". Use UTC, a fixed offset such as +01:00, or an IANA zone name such as Europe/Stockholm.`,
      { cause: error, details: { timeZone: zone } },
    );
  }
}

/** Milliseconds to add to a UTC instant to get the wall-clock time in `zone` at that instant. */
export function zoneOffsetMs(zone: string, utcMs: number): number {
  if (isUtc(zone)) return 0;
  const fixed = FIXED_OFFSET.exec(zone);
  if (fixed) return (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 3_600_000 + Number(fixed[3]) * 60_000);
  // Intl works on whole seconds of a Date; the offset never depends on the sub-second part.
  const floored = Math.floor(utcMs / 1000) * 1000;
  const parts = zoneFormatter(zone).formatToParts(new Date(floored));
  let year = 0;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let bc = false;
  for (const part of parts) {
    switch (part.type) {
      case 'year':
        year = Number(part.value);
        break;
      case 'month':
        month = Number(part.value);
        break;
      case 'day':
        day = Number(part.value);
        break;
      case 'hour':
        hour = Number(part.value);
        break;
      case 'minute':
        minute = Number(part.value);
        break;
      case 'second':
        second = Number(part.value);
        break;
      case 'era':
        bc = part.value.startsWith('B');
        break;
    }
  }
  if (bc) year = 1 - year;
  const local = daysFromCivil(year, month, day) * MS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000;
  return local - floored;
}

/**
 * The UTC instant of a wall-clock time in `zone`. In a DST gap the wall time is moved forward
 * by the gap; in an overlap the earlier instant wins (the usual, documented choice).
 */
export function localToUtcMs(zone: string, localMs: number): number {
  const first = zoneOffsetMs(zone, localMs);
  const guess = localMs - first;
  const second = zoneOffsetMs(zone, guess);
  if (second === first) {
    // Overlap: an earlier instant with the other offset may map to the same wall time.
    const earlier = localMs - zoneOffsetMs(zone, guess - 3_600_000);
    return earlier < guess && earlier + zoneOffsetMs(zone, earlier) === localMs ? earlier : guess;
  }
  const adjusted = localMs - second;
  return adjusted + zoneOffsetMs(zone, adjusted) === localMs ? adjusted : localMs - first;
}
