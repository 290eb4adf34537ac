/**
 * A corpus of malformed specs: each must fail with a SpecError whose issues name the exact
 * path of the problem (and, coming from YAML, its line), with a message saying what was
 * expected.
 */
import { describe, expect, it } from 'vitest';
import { isHonkError } from '../../src/errors/honk-error.ts';
import { parseSpec } from '../../src/spec/load-spec.ts';
import { SpecError } from '../../src/spec/spec-error.ts';
import { malformedSpecCases as cases } from './malformed-corpus.ts';

describe('malformed specs', () => {
  it('has a corpus of at least 50 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(50);
  });

  it.each(cases)('$name', ({ yaml, paths, message }) => {
    let caught: unknown;
    try {
      parseSpec(yaml, { sourceName: 'broken.yaml' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SpecError);
    const error = caught as SpecError;
    expect(isHonkError(error)).toBe(true);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.retryable).toBe(false);
    const found = error.issues.map((issue) => issue.path);
    for (const path of paths) {
      expect(found, error.message).toContain(path);
      const issue = error.issues.find((candidate) => candidate.path === path)!;
      // Every issue from a YAML file carries its position.
      expect(issue.line, error.message).toBeGreaterThan(0);
      expect(error.message).toContain(`${path || '(document)'}: ${issue.message}`);
    }
    if (message) expect(error.message).toMatch(message);
    expect(error.message).toContain('broken.yaml');
  });
});
