/**
 * Daily time windows: a task with `window: { start: "00:00", end: "06:00", timezone:
 * Europe/Stockholm }` may only start while the wall clock in that zone reads between start
 * (inclusive) and end (exclusive). An end before the start crosses midnight
 * (`22:00`–`04:00`). The queue asks {@link windowAllows} when claiming and
 * {@link nextWindowStart} to know when a waiting task becomes claimable.
 *
 * Wall-clock semantics around daylight saving time follow from that definition: on the
 * spring-forward day a window starting inside the skipped hour opens at the first instant
 * after the jump; on the fall-back day the repeated hour is inside a window twice. Time
 * zone arithmetic uses `Intl.DateTimeFormat`, so it follows the runtime's tz database.
 */
import { zoneFormatter } from '../arrow/zone-formatter.ts';

/** A daily window. Times are `HH:MM` (24-hour); `end` may be `24:00`. */
export interface TaskWindow {
  start: string;
  end: string;
  /** IANA time zone, e.g. `Europe/Stockholm`. Default `UTC`. */
  timezone?: string;
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Minutes after midnight for `HH:MM` (accepts `24:00` = 1440). */
export function parseTimeOfDay(text: string): number {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (!match) throw new RangeError(`invalid time of day ${JSON.stringify(text)}: expected HH:MM`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  if (minutes > 1440) throw new RangeError(`invalid time of day ${JSON.stringify(text)}: after 24:00`);
  return minutes;
}

/** True when `zone` is an IANA time zone this runtime knows. */
export function isValidTimeZone(zone: string): boolean {
  try {
    zoneFormatter(zone);
    return true;
  } catch {
    return false;
  }
}

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function wallClock(zone: string, instant: number): WallClock {
  const parts: Record<string, number> = {};
  for (const part of zoneFormatter(zone).formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    // Some ICU versions print midnight as 24 even with h23.
    hour: parts.hour! % 24,
    minute: parts.minute!,
    second: parts.second!,
  };
}

/** The wall-clock reading at `instant`, encoded as if it were a UTC timestamp (second precision). */
function wallAsUtc(zone: string, instant: number): number {
  const w = wallClock(zone, instant);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

function offsetAt(zone: string, instant: number): number {
  return wallAsUtc(zone, instant) - Math.floor(instant / 1000) * 1000;
}

function zoneOf(window: TaskWindow): string {
  return window.timezone ?? 'UTC';
}

/** True when the window is open at `date`: start ≤ wall time < end (crossing midnight when end < start). */
export function windowAllows(window: TaskWindow, date: Date): boolean {
  const start = parseTimeOfDay(window.start);
  const end = parseTimeOfDay(window.end);
  const wall = wallClock(zoneOf(window), date.getTime());
  const minute = wall.hour * 60 + wall.minute;
  if (start === end) return true;
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/**
 * The earliest instant at or after `date` at which the window is open: `date` itself when
 * the window is open now, otherwise the next opening (DST-aware, see the module notes).
 */
export function nextWindowStart(window: TaskWindow, date: Date): Date {
  if (windowAllows(window, date)) return new Date(date.getTime());
  const zone = zoneOf(window);
  const start = parseTimeOfDay(window.start);
  const now = date.getTime();
  const today = wallClock(zone, now);
  // A window opens at most once per local day; a week covers any run of DST oddities.
  for (let days = 0; days <= 7; days++) {
    const wall = Date.UTC(today.year, today.month - 1, today.day + days, 0, start);
    const candidate = firstInstantAtWall(zone, wall);
    if (candidate > now && windowAllows(window, new Date(candidate))) return new Date(candidate);
  }
  throw new RangeError(`window ${window.start}-${window.end} (${zone}) never opens`);
}

/**
 * The first instant whose wall clock reads `wall` (encoded as UTC). When that wall time is
 * repeated (fall back) the earlier one; when it is skipped (spring forward) the instant of
 * the jump, which is the first moment the clock reads later than `wall`.
 */
function firstInstantAtWall(zone: string, wall: number): number {
  // Offsets two days either side bracket any single transition near `wall`.
  const offsets = new Set([offsetAt(zone, wall - 2 * DAY), offsetAt(zone, wall), offsetAt(zone, wall + 2 * DAY)]);
  const candidates = [...offsets].map((offset) => wall - offset);
  const exact = candidates.filter((instant) => wallAsUtc(zone, instant) === wall).sort((a, b) => a - b);
  if (exact.length > 0) return exact[0]!;
  // Skipped: binary search (minute resolution) for the first instant reading later than `wall`.
  let low = Math.min(...candidates);
  let high = Math.max(...candidates);
  while (high - low > MINUTE) {
    const middle = low + Math.floor((high - low) / MINUTE / 2) * MINUTE;
    if (wallAsUtc(zone, middle) > wall) high = middle;
    else low = middle;
  }
  return high;
}
