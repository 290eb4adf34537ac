import { type Decimal, type Timestamp, TimeUnit, Type } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { parseTypeName, typeName } from '../../src/arrow/type-names.ts';

describe('parseTypeName / typeName', () => {
  it('parses every documented name and prints a canonical name that parses back', () => {
    const names = [
      'int8',
      'int16',
      'int32',
      'int64',
      'uint8',
      'uint16',
      'uint32',
      'uint64',
      'float32',
      'float64',
      'bool',
      'utf8',
      'large_utf8',
      'binary',
      'date32',
      'timestamp[s]',
      'timestamp[ms]',
      'timestamp[us]',
      'timestamp[ns]',
      'timestamp[us, UTC]',
      'timestamp[ms, Europe/Stockholm]',
      'decimal(38,4)',
      'list<int32>',
      'list<list<utf8>>',
    ];
    for (const name of names) {
      expect(typeName(parseTypeName(name))).toBe(name);
    }
  });

  it('accepts aliases', () => {
    expect(typeName(parseTypeName('string'))).toBe('utf8');
    expect(typeName(parseTypeName('date'))).toBe('date32');
    expect(typeName(parseTypeName('timestamp'))).toBe('timestamp[us]');
    expect(typeName(parseTypeName('Decimal128(12, 2)'))).toBe('decimal(12,2)');
    expect(typeName(parseTypeName('boolean'))).toBe('bool');
  });

  it('builds the right Arrow parameters', () => {
    const decimal = parseTypeName('decimal(12,2)') as Decimal;
    expect([decimal.typeId, decimal.precision, decimal.scale, decimal.bitWidth]).toEqual([Type.Decimal, 12, 2, 128]);
    const timestamp = parseTypeName('timestamp[ms, Europe/Stockholm]') as Timestamp;
    expect([timestamp.unit, timestamp.timezone]).toEqual([TimeUnit.MILLISECOND, 'Europe/Stockholm']);
  });

  it('rejects unknown names with a ConfigError listing the accepted ones', () => {
    expect(() => parseTypeName('varchar')).toThrow(/Accepted type names/);
    expect(() => parseTypeName('decimal(40,2)')).toThrow(/precision/);
    expect(() => parseTypeName('timestamp[h]')).toThrow(/unit/);
  });
});
