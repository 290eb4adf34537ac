/**
 * `table:` parsing by PostgreSQL's own rules for qualified names. The integration tests
 * (qualified-table-names.test.ts) check the same names against a real server.
 */
import { isHonkError } from '@honk/core';
import { describe, expect, it } from 'vitest';
import { parseTableName, quoteTable } from '../src/table-name.ts';

function configError(text: string): { code: string; message: string; details: Record<string, unknown> } {
  try {
    parseTableName(text);
  } catch (error) {
    if (!isHonkError(error)) throw error;
    return { code: error.code, message: error.message, details: error.details };
  }
  throw new Error(`parseTableName(${JSON.stringify(text)}) did not fail`);
}

describe('parseTableName', () => {
  it('splits schema and table on a dot outside quotes', () => {
    expect(parseTableName('public."My Table"')).toEqual({ schema: 'public', table: 'My Table' });
    expect(parseTableName('"Sales"."Q1; 2026"')).toEqual({ schema: 'Sales', table: 'Q1; 2026' });
    expect(parseTableName('"ÅÄÖ"."tåbell"')).toEqual({ schema: 'ÅÄÖ', table: 'tåbell' });
    expect(parseTableName('"my.schema"."a.b"')).toEqual({ schema: 'my.schema', table: 'a.b' });
  });

  it('doubles quotes inside quoted parts', () => {
    expect(parseTableName('"a""b"')).toEqual({ schema: 'public', table: 'a"b' });
    expect(parseTableName('"""".""""""')).toEqual({ schema: '"', table: '""' });
  });

  it('folds unquoted parts to lower case (ASCII only, as PostgreSQL does in UTF-8) and keeps quoted case', () => {
    expect(parseTableName('Sales.Orders')).toEqual({ schema: 'sales', table: 'orders' });
    expect(parseTableName('SALES."Orders"')).toEqual({ schema: 'sales', table: 'Orders' });
    expect(parseTableName('ÅÄÖ.Tåbell')).toEqual({ schema: 'ÅÄÖ', table: 'tåbell' });
    expect(parseTableName('orders_2026$v1')).toEqual({ schema: 'public', table: 'orders_2026$v1' });
  });

  it('takes the default schema for an unqualified name', () => {
    expect(parseTableName('orders', 'Staging Area')).toEqual({ schema: 'Staging Area', table: 'orders' });
  });

  it('allows whitespace around parts and dots', () => {
    expect(parseTableName('  "Sales" . "Q1; 2026"  ')).toEqual({ schema: 'Sales', table: 'Q1; 2026' });
    expect(parseTableName('\tpublic .\n orders ')).toEqual({ schema: 'public', table: 'orders' });
  });

  it('accepts database.schema.table and keeps the database for the connection check', () => {
    expect(parseTableName('Shop."Sales".orders')).toEqual({ database: 'shop', schema: 'Sales', table: 'orders' });
  });

  it('quotes the parsed parts back so PostgreSQL reads the same name', () => {
    expect(quoteTable(parseTableName('public."My Table"'))).toBe('"public"."My Table"');
    expect(quoteTable(parseTableName('"a""b"'))).toBe('"public"."a""b"');
  });

  it.each([
    ['"Sales"."Q1', /unterminated quoted identifier/],
    ['"abc', /unterminated quoted identifier/],
    ['sales..orders', /empty part/],
    ['.orders', /empty part/],
    ['sales.', /empty part/],
    ['""', /empty part/],
    ['public.""', /empty part/],
    ['   ', /empty/],
    ['a.b.c.d', /4 parts/],
    ['my table', /double quotes/],
    ['sales.orders; DROP TABLE x', /double quotes/],
    ['we"ird', /double quotes/],
    ['"a"b', /after a quoted part/],
    ['1orders', /double quotes/],
    ['sales-orders', /double quotes/],
  ])('refuses %j with a ConfigError naming table:', (text, pattern) => {
    const error = configError(text);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('table:');
    expect(error.message).toMatch(pattern);
    expect(error.details).toMatchObject({ option: 'table', value: text });
  });

  it('refuses parts longer than 63 bytes instead of letting PostgreSQL truncate them into another name', () => {
    const sixtyThree = 'x'.repeat(63);
    expect(parseTableName(`"${sixtyThree}"`).table).toBe(sixtyThree);
    expect(configError(`"${'x'.repeat(64)}"`).message).toMatch(/64 bytes.*at most 63/);
    // 32 two-byte characters: 64 bytes in UTF-8 although only 32 characters.
    expect(configError(`sales."${'å'.repeat(32)}"`).message).toMatch(/64 bytes/);
    expect(configError(`${'y'.repeat(70)}.orders`).message).toMatch(/70 bytes/);
  });

  it('refuses NUL bytes', () => {
    expect(configError('"a\u0000b"').message).toMatch(/NUL/);
  });
});
