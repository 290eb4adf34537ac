import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { markedOptionPaths, pathOption, secretOption } from '../../src/connector/option-marks.ts';

describe('option marks', () => {
  const schema = z
    .object({
      root: pathOption(z.string().min(1)),
      auth: z
        .union([
          z.object({ kind: z.literal('key'), key: secretOption(z.string()) }).strict(),
          z.object({ kind: z.literal('none') }).strict(),
        ])
        .optional(),
      replicas: z.array(z.object({ password: secretOption(z.string()).optional() })).default([]),
      headers: z.record(z.string(), secretOption(z.string())).optional(),
    })
    .strict();

  it('finds marked values through optional, default, union, array and record schemas', () => {
    const value = {
      root: './data',
      auth: { kind: 'key', key: 'k' },
      replicas: [{}, { password: 'p' }],
      headers: { authorization: 'Bearer x' },
    };
    expect(markedOptionPaths(schema, value, 'secret')).toEqual([
      ['auth', 'key'],
      ['replicas', 1, 'password'],
      ['headers', 'authorization'],
    ]);
    expect(markedOptionPaths(schema, value, 'path')).toEqual([['root']]);
  });

  it('reports nothing for values that are absent', () => {
    expect(markedOptionPaths(schema, { root: '/x' }, 'secret')).toEqual([]);
  });
});
