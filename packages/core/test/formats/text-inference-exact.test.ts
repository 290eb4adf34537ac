/**
 * Property test of the inference rule: whatever type CSV or NDJSON inference picks for a
 * column, reading the column gives back every value exactly (its canonical text equals the
 * input's), or the read refuses with DATA_CORRUPT naming file, column, row and value. Inputs
 * are random and boundary numbers (int64 bounds, ±2^53±1, 19-digit negatives, integers
 * beyond int64 and decimal128, long decimals, exponents, negative zero) mixed in columns.
 */
import { type Data, type Decimal, type RecordBatch, Type } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { typeName } from '../../src/arrow/type-names.ts';
import { formatDecimal } from '../../src/arrow/value-text.ts';
import { isHonkError } from '../../src/errors/honk-error.ts';
import { csvCodec } from '../../src/formats/csv-codec.ts';
import type { FormatCodec } from '../../src/formats/format-codec.ts';
import { ndjsonCodec } from '../../src/formats/ndjson-codec.ts';
import { memoryInput, readInput, seededRandom } from './text-helpers.ts';

const boundaries = [
  '9223372036854775807',
  '-9223372036854775808',
  '9223372036854775808',
  '-9223372036854775809',
  '18446744073709551615',
  '9007199254740993',
  '-9007199254740993',
  '9007199254740991',
  '-9007199254740991',
  '9007199254740992',
  '-1234567890123456789',
  '1234567890123456789',
  '0',
  '-0',
  '-0.0',
  '1',
  '-1',
  '0.1',
  '1.10',
  '1e5',
  '1.5e-7',
  '2.5E+10',
  '1e400',
  '-1e400',
  '1e-400',
  '123456789012345678901234567890123456789',
  '99999999999999999999999999999999999999',
  '-99999999999999999999999999999999999999',
  '0.30000000000000004',
  '0.10000000000000001',
  '3.141592653589793238462643383279',
  '1.7976931348623157e308',
  '5e-324',
  '4.9e-324',
  'NaN',
  'Infinity',
  '-Infinity',
];

type Generator = (random: () => number) => string;

function digits(random: () => number, count: number, leading = true): string {
  let text = '';
  for (let index = 0; index < count; index++) {
    text += String(index === 0 && leading ? 1 + Math.floor(random() * 9) : Math.floor(random() * 10));
  }
  return text;
}

const sign = (random: () => number) => (random() < 0.5 ? '-' : '');

const generators: Generator[] = [
  (random) => boundaries[Math.floor(random() * boundaries.length)] as string,
  (random) => sign(random) + digits(random, 1 + Math.floor(random() * 40)),
  (random) => sign(random) + digits(random, 15 + Math.floor(random() * 6)),
  (random) => {
    const whole = Math.floor(random() * 25);
    return `${sign(random)}${whole === 0 ? '0' : digits(random, whole)}.${digits(random, 1 + Math.floor(random() * 25), false)}`;
  },
  (random) => `${sign(random)}${digits(random, 1 + Math.floor(random() * 20))}e${Math.floor(random() * 800) - 400}`,
  (random) => (sign(random) === '-' ? '-' : '') + (random() * 1e6).toFixed(Math.floor(random() * 8)),
  (random) => {
    const words = new Uint32Array([Math.floor(random() * 2 ** 32), Math.floor(random() * 2 ** 32)]);
    const value = new Float64Array(words.buffer)[0] as number;
    return Object.is(value, -0) ? '-0.0' : String(value);
  },
  (random) => sign(random) + String(Math.floor(random() * 1000)),
  () => 'x1',
];

interface Column {
  values: string[];
  /** How many leading values the inference sample sees. */
  sampled: number;
}

function generateColumn(random: () => number): Column {
  const first = generators[Math.floor(random() * generators.length)] as Generator;
  const second = generators[Math.floor(random() * generators.length)] as Generator;
  if (random() < 1 / 6) {
    // A long column: the sample sees 1000 values of one kind, later rows hold another kind.
    const values = Array.from({ length: 1000 }, () => first(random));
    for (let extra = 1 + Math.floor(random() * 3); extra > 0; extra--) values.push(second(random));
    return { values, sampled: 1000 };
  }
  const length = 1 + Math.floor(random() * 40);
  const values = Array.from({ length }, () => (random() < 0.7 ? first(random) : second(random)));
  return { values, sampled: length };
}

/** Sign, significant digits and exponent of a numeric text; undefined when it is not a number. */
function numericCanonical(text: string): string | undefined {
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return text;
  const match = /^([-+]?)(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(text);
  if (!match || `${match[2]}${match[3] ?? ''}` === '') return undefined;
  const negative = match[1] === '-';
  const fraction = match[3] ?? '';
  let significant = `${match[2]}${fraction}`.replace(/^0+/, '');
  if (significant === '') return negative ? '-0' : '0';
  let exponent = BigInt(match[4] ?? '0') - BigInt(fraction.length);
  const trimmed = significant.replace(/0+$/, '');
  exponent += BigInt(significant.length - trimmed.length);
  significant = trimmed;
  return `${negative ? '-' : ''}${significant}e${exponent}`;
}

/** The canonical text of row `row` of a column as read. */
function readBack(data: Data, row: number): string {
  const type = data.type;
  switch (type.typeId) {
    case Type.Utf8: {
      const offsets = data.valueOffsets as Int32Array;
      return Buffer.from(data.values as Uint8Array)
        .subarray(offsets[row] as number, offsets[row + 1] as number)
        .toString('utf8');
    }
    case Type.Int:
      return numericCanonical(String((data.values as BigInt64Array)[row])) as string;
    case Type.Float: {
      const value = (data.values as Float64Array)[row] as number;
      return Object.is(value, -0) ? '-0' : (numericCanonical(String(value)) as string);
    }
    case Type.Decimal:
      return numericCanonical(formatDecimal(data.values as Uint32Array, row, (type as Decimal).scale)) as string;
    default:
      throw new Error(`unexpected inferred type ${typeName(type)}`);
  }
}

function expectedText(value: string, type: Data['type']): string {
  return type.typeId === Type.Utf8 ? value : (numericCanonical(value) ?? `not a number: ${value}`);
}

/** A JSON line for one value: bare when it is a JSON number, else a JSON string. */
function jsonLine(value: string): string {
  return /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(value) ? `{"v":${value}}` : `{"v":${JSON.stringify(value)}}`;
}

const formats: [string, FormatCodec, (values: string[]) => string][] = [
  ['csv', csvCodec, (values) => `v\n${values.join('\n')}\n`],
  ['ndjson', ndjsonCodec, (values) => `${values.map(jsonLine).join('\n')}\n`],
];

describe.each(formats)('%s inference keeps every value exactly', (format, codec, encode) => {
  it('for random and boundary columns (seeded)', async () => {
    const random = seededRandom(0x5eed + format.length);
    for (let iteration = 0; iteration < 400; iteration++) {
      const column = generateColumn(random);
      const name = `column-${iteration}.${format}`;
      const input = memoryInput(name, encode(column.values), 4096);
      let batches: RecordBatch[];
      try {
        batches = (await readInput(codec, input, {}, 257)).batches;
      } catch (error) {
        // Refusing is allowed only for a value the sample did not see, and must say where.
        if (!isHonkError(error) || error.code !== 'DATA_CORRUPT') throw error;
        const row = Number(/(?:row|line) (\d+)/.exec(error.message)?.[1]);
        expect(row, `${name}: ${error.message}`).toBeGreaterThan(column.sampled);
        expect(error.message).toContain(name);
        expect(error.message).toContain('"v"');
        expect(error.message).toContain(column.values[row - 1]);
        continue;
      }
      const actual: string[] = [];
      const expected: string[] = [];
      let row = 0;
      for (const batch of batches) {
        const data = batch.getChildAt(0)?.data[0] as Data;
        for (let index = 0; index < batch.numRows; index++, row++) {
          actual.push(readBack(data, index));
          expected.push(expectedText(column.values[row] as string, data.type));
        }
      }
      expect(actual, `${name} inferred as ${typeName(batches[0]?.schema.fields[0]?.type as never)}`).toEqual(expected);
    }
  });

  it('refuses a value beyond the sample that its inferred float64 would round', async () => {
    const values = [...Array.from({ length: 1000 }, (_, index) => `${index}.5`), '9007199254740993'];
    const input = memoryInput(`late.${format}`, encode(values));
    await expect(readInput(codec, input)).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      retryable: false,
      message: expect.stringMatching(/9007199254740993.*"v".*(row|line) 1001/),
    });
  });

  it('infers exact types: int64 with its bounds, decimal beyond int64, float only when it round-trips', async () => {
    const cases: [string[], string][] = [
      [['-9223372036854775808', '9007199254740993', '9223372036854775807'], 'int64'],
      [['-1234567890123456789', '9007199254740993'], 'int64'],
      [['9223372036854775808', '1'], 'decimal(19,0)'],
      [['-99999999999999999999999999999999999999', '5'], 'decimal(38,0)'],
      [['999999999999999999999999999999999999999'], 'utf8'],
      [['1.5', '0.1', '1e300'], 'float64'],
      [['1.5', '0.10000000000000001'], 'decimal(18,17)'],
      [['-0.0', '1'], 'float64'],
      [['1e400'], 'utf8'],
    ];
    for (const [values, type] of cases) {
      const { schema } = await readInput(codec, memoryInput(`t.${format}`, encode(values)));
      expect(`${values.join(',')} → ${typeName(schema.fields[0]?.type as never)}`).toBe(
        `${values.join(',')} → ${type}`,
      );
    }
  });
});
