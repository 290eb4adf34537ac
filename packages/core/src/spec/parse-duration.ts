/**
 * Durations in spec files are short strings (`7d`, `12h`, `30m`, `45s`, `500ms`) rather than
 * bare numbers, so a reader never has to guess the unit.
 */
import { ConfigError } from '../errors/honk-error.ts';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The accepted syntax: a whole number followed by one unit, no spaces. */
export const DURATION_PATTERN = /^(\d+)(ms|s|m|h|d)$/;

/** True when `text` is a duration the spec accepts. */
export function isDuration(text: string): boolean {
  return DURATION_PATTERN.test(text);
}

/**
 * Milliseconds in a duration string. Throws ConfigError naming the value and the accepted
 * units; `where` (a spec path such as `defaults.snapshot.keepFor`) is prefixed when given.
 */
export function parseDuration(text: string, where?: string): number {
  const match = DURATION_PATTERN.exec(text);
  if (!match) {
    throw new ConfigError(
      `${where ? `${where}: ` : ''}invalid duration ${JSON.stringify(text)}: expected a whole number and a unit (ms, s, m, h, d), e.g. "7d", "12h", "30m", "45s", "500ms".`,
    );
  }
  const amount = Number(match[1]);
  const ms = amount * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (!Number.isSafeInteger(ms)) {
    throw new ConfigError(`${where ? `${where}: ` : ''}duration ${JSON.stringify(text)} is too large.`);
  }
  return ms;
}
