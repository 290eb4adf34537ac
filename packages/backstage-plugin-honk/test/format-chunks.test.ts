/** How a chunked task's chunks read on the card (pure formatting, as `honk status` says it). */
import { describe, expect, it } from 'vitest';
import { formatChunks, readChunks } from '../src/format.ts';

describe('chunk counts', () => {
  it('reads the backend summary and says succeeded of total, the other states running first, and the rows', () => {
    const chunks = readChunks({ total: 10, states: { pending: 1, succeeded: 7, running: 2 }, rows: 3_500_000 });
    expect(chunks).toEqual({
      total: 10,
      succeeded: 7,
      others: [
        ['running', 2],
        ['pending', 1],
      ],
      rows: 3_500_000,
    });
    expect(formatChunks(chunks!)).toBe('chunks 7/10 succeeded (2 running, 1 pending; 3,500,000 rows)');
  });

  it('says only the rows when every chunk succeeded, and counts none succeeded when none did', () => {
    expect(formatChunks(readChunks({ total: 3, states: { succeeded: 3 }, rows: 500 })!)).toBe(
      'chunks 3/3 succeeded (500 rows)',
    );
    expect(formatChunks(readChunks({ total: 4, states: { pending: 3, dead: 1 }, rows: 0 })!)).toBe(
      'chunks 0/4 succeeded (3 pending, 1 dead; 0 rows)',
    );
  });

  it('gives undefined, never a guess, for anything that is not a chunk summary', () => {
    expect(readChunks(undefined)).toBeUndefined();
    expect(readChunks({ total: 0, states: {}, rows: 0 })).toBeUndefined();
    expect(readChunks({ total: 3, rows: 1 })).toBeUndefined();
    expect(readChunks('3/3')).toBeUndefined();
  });
});
