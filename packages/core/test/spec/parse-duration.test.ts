import { describe, expect, it } from 'vitest';
import { isDuration, parseDuration } from '../../src/spec/parse-duration.ts';

describe('parseDuration', () => {
  it.each([
    ['7d', 7 * 86_400_000],
    ['12h', 12 * 3_600_000],
    ['30m', 30 * 60_000],
    ['45s', 45_000],
    ['500ms', 500],
    ['0s', 0],
  ])('%s is %d ms', (text, ms) => {
    expect(isDuration(text)).toBe(true);
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['7', '7 d', '1w', '1.5h', '-1d', 'd', '', '7D', '10sec'])(
    'rejects %j naming the value and the units',
    (text) => {
      expect(isDuration(text)).toBe(false);
      expect(() => parseDuration(text, 'defaults.snapshot.keepFor')).toThrow(
        `defaults.snapshot.keepFor: invalid duration ${JSON.stringify(text)}: expected a whole number and a unit (ms, s, m, h, d)`,
      );
    },
  );

  it('rejects durations beyond safe integers', () => {
    expect(() => parseDuration('99999999999999999d')).toThrow(/too large/);
  });
});
