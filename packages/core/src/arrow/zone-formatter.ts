/**
 * One cached `Intl.DateTimeFormat` per IANA zone that breaks an instant into its wall-clock
 * parts (era, year … second, 24-hour). Time windows and temporal casts both read zones
 * through it, so the runtime's tz database is consulted one way everywhere.
 * Throws a RangeError for a zone the runtime does not know.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

export function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}
