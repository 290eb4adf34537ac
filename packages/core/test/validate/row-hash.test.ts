import {
  Binary,
  type Data,
  type DataType,
  DateDay,
  DateMillisecond,
  Decimal,
  Dictionary,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int8,
  Int16,
  Int32,
  Int64,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  makeData,
  Null,
  Struct,
  TimeMicrosecond,
  TimeMillisecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint8,
  Uint32,
  Uint64,
  Utf8,
  Vector,
  vectorFromArray,
} from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { Checksum, hashColumns, hashRows, ROW_HASH_VERSION, toHex64 } from '../../src/validate/row-hash.ts';
import { batchOf, bools, fixed, makeBenchBatch, variable } from './arrow-fixtures.ts';

/** Row hashes of the given columns as hex strings. */
function hashes(...columns: Data[]): string[] {
  const n = columns[0]!.length;
  const { hi, lo } = hashColumns(columns, n);
  return Array.from({ length: n }, (_, i) => toHex64(hi[i]!, lo[i]!));
}

/** A column through Arrow's own builder (tests only). */
function built(values: unknown[], type: DataType): Data {
  return vectorFromArray(values as any[], type as any).data[0]!;
}

/** Decimal column from unscaled bigint values (two's complement, little-endian words). */
function decimal(unscaled: bigint[], scale: number, precision: number, bitWidth = 128): Data {
  const stride = bitWidth / 32;
  const words = new Uint32Array(unscaled.length * stride);
  unscaled.forEach((v, i) => {
    let x = BigInt.asUintN(bitWidth, v);
    for (let j = 0; j < stride; j++) {
      words[i * stride + j] = Number(x & 0xffffffffn);
      x >>= 32n;
    }
  });
  return makeData({ type: new Decimal(scale, precision, bitWidth), data: words });
}

/** makeData props that rebuild `data` (flat types), so a validity bitmap can be added. */
function dataProps(data: Data): any {
  return {
    type: data.type,
    length: data.length,
    data: data.values,
    ...(data.valueOffsets ? { valueOffsets: data.valueOffsets } : {}),
  };
}

function checksumOf(...batches: ReturnType<typeof batchOf>[]): string {
  const checksum = new Checksum();
  for (const batch of batches) checksum.add(batch);
  return checksum.sum;
}

describe('Checksum', () => {
  const rows = 1000;
  const ids = new BigInt64Array(rows).map((_, i) => BigInt(i * 7919));
  const names = Array.from({ length: rows }, (_, i) => (i % 13 === 0 ? null : `name-${i}`));
  const full = batchOf({ id: fixed(new Int64(), ids), name: variable(new Utf8(), names) });

  it('is independent of row order and batch boundaries', () => {
    const order = Array.from({ length: rows }, (_, i) => i);
    for (let i = rows - 1; i > 0; i--) {
      const j = (i * 2654435761) % (i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const shuffled = batchOf({
      id: fixed(
        new Int64(),
        BigInt64Array.from(order, (i) => ids[i]!),
      ),
      name: variable(
        new Utf8(),
        order.map((i) => names[i]!),
      ),
    });
    const whole = checksumOf(full);
    expect(checksumOf(shuffled)).toBe(whole);
    expect(checksumOf(full.slice(0, 1), full.slice(1, 400), full.slice(400))).toBe(whole);
    expect(checksumOf(shuffled.slice(0, 999), shuffled.slice(999))).toBe(whole);
    expect(whole).toMatch(/^[0-9a-f]{16}$/);
  });

  it('counts duplicates and rows', () => {
    const once = new Checksum().add(full);
    const twice = new Checksum().add(full).add(full.slice(0, 1));
    expect(twice.rows).toBe(rows + 1);
    expect(twice.sum).not.toBe(once.sum);
    const merged = new Checksum().add(full.slice(0, 500)).merge(new Checksum().add(full.slice(500)));
    expect(merged.sum).toBe(once.sum);
    expect(merged.rows).toBe(rows);
  });

  it('carries from the low lane into the high lane (sum mod 2^64)', () => {
    const checksum = new Checksum();
    checksum.addHashes({ hi: Uint32Array.of(0xffffffff, 0), lo: Uint32Array.of(0xffffffff, 1) }, 2);
    expect(checksum.sum).toBe('0000000000000000');
    checksum.addHashes({ hi: Uint32Array.of(0), lo: Uint32Array.of(0xffffffff) }, 1);
    checksum.addHashes({ hi: Uint32Array.of(0), lo: Uint32Array.of(2) }, 1);
    expect(checksum.sum).toBe('0000000100000001');
  });
});

describe('canonical encoding', () => {
  it('keeps a version constant', () => {
    expect(ROW_HASH_VERSION).toBe(2);
  });

  it('hashes every integer width as the same integer', () => {
    const expected = hashes(fixed(new Int64(), BigInt64Array.of(0n, 1n, 127n, -1n, -128n)));
    expect(hashes(fixed(new Int8(), Int8Array.of(0, 1, 127, -1, -128)))).toEqual(expected);
    expect(hashes(fixed(new Int16(), Int16Array.of(0, 1, 127, -1, -128)))).toEqual(expected);
    expect(hashes(fixed(new Int32(), Int32Array.of(0, 1, 127, -1, -128)))).toEqual(expected);
    const unsigned = hashes(fixed(new Int64(), BigInt64Array.of(0n, 255n, 4294967295n)));
    expect(hashes(fixed(new Uint8(), Uint8Array.of(0, 255, 255)))[1]).toBe(unsigned[1]);
    expect(hashes(fixed(new Uint32(), Uint32Array.of(0, 255, 4294967295)))).toEqual(unsigned);
    expect(hashes(fixed(new Uint64(), BigUint64Array.of(0n, 255n, 4294967295n)))).toEqual(unsigned);
    // uint64 above 2^63 must not collide with the negative int64 of the same bits.
    const big = hashes(fixed(new Uint64(), BigUint64Array.of(2n ** 64n - 1n)))[0];
    expect(big).not.toBe(hashes(fixed(new Int64(), BigInt64Array.of(-1n)))[0]);
  });

  it('normalises decimal scale and matches integers', () => {
    const a = hashes(decimal([150n, -150n, 4200n, 0n], 2, 10));
    const b = hashes(decimal([15000n, -15000n, 420000n, 0n], 4, 38, 256));
    expect(b).toEqual(a);
    const ints = hashes(fixed(new Int32(), Int32Array.of(1, -1, 42, 0)));
    expect(a[2]).toBe(ints[2]);
    expect(a[3]).toBe(ints[3]);
    expect(a[0]).not.toBe(ints[0]);
    // 1.5 and 15 differ; 1.5 and -1.5 differ.
    expect(hashes(decimal([15n], 0, 10))[0]).not.toBe(a[0]);
    expect(a[0]).not.toBe(a[1]);
    // Negative scale: 5 × 10^2 = 500.
    expect(hashes(decimal([5n], -2, 10))[0]).toBe(hashes(fixed(new Int32(), Int32Array.of(500)))[0]);
    // Beyond 64 bits: equal across widths, different from nearby values.
    const huge = 10n ** 30n + 7n;
    expect(hashes(decimal([huge], 0, 38))).toEqual(hashes(decimal([huge * 100n], 2, 60, 256)));
    expect(hashes(decimal([huge + 1n], 0, 38))).not.toEqual(hashes(decimal([huge], 0, 38)));
  });

  it('hashes timestamps as the instant, whatever the unit and zone', () => {
    const ms = [0n, 1_700_000_000_123n, -86_400_001n];
    const expected = hashes(fixed(new TimestampMillisecond(), BigInt64Array.from(ms)));
    expect(
      hashes(
        fixed(
          new TimestampMicrosecond('UTC'),
          BigInt64Array.from(ms, (v) => v * 1000n),
        ),
      ),
    ).toEqual(expected);
    expect(
      hashes(
        fixed(
          new TimestampNanosecond('Europe/Stockholm'),
          BigInt64Array.from(ms, (v) => v * 1_000_000n),
        ),
      ),
    ).toEqual(expected);
    expect(hashes(fixed(new TimestampMicrosecond(), BigInt64Array.of(1_700_000_000_123_001n)))[0]).not.toBe(
      expected[1],
    );
  });

  it('rescales exactly without BigInt (checked against BigInt for many values)', () => {
    let x = 12345;
    const seconds: bigint[] = [];
    for (let i = 0; i < 500; i++) {
      x = (Math.imul(x, 1103515245) + 12345) | 0;
      const magnitude = BigInt(x) * BigInt((x >>> 3) % 2000) + BigInt(i);
      seconds.push(magnitude % 9_000_000_000n); // |s| × 10^9 fits in int64
    }
    seconds.push(-9_223_372_036n, 9_223_372_036n, -1n, 0n);
    const fromSeconds = hashes(fixed(new TimestampSecond(), BigInt64Array.from(seconds)));
    const fromNanos = hashes(
      fixed(
        new TimestampNanosecond(),
        BigInt64Array.from(seconds, (s) => s * 1_000_000_000n),
      ),
    );
    expect(fromSeconds).toEqual(fromNanos);
    // Instants beyond int64 nanoseconds (year 5138) still hash, distinctly.
    const far = hashes(
      fixed(new TimestampSecond(), BigInt64Array.of(100_000_000_000n, 100_000_000_001n, -100_000_000_000n)),
    );
    expect(new Set(far).size).toBe(3);
    expect(far[0]).toBe(hashes(fixed(new TimestampMillisecond(), BigInt64Array.of(100_000_000_000_000n)))[0]);
  });

  it('hashes dates as days and times as nanoseconds', () => {
    const days = hashes(fixed(new DateDay(), Int32Array.of(0, 19_000, -3)));
    expect(
      hashes(fixed(new DateMillisecond(), BigInt64Array.of(0n, 19_000n * 86_400_000n, -3n * 86_400_000n))),
    ).toEqual(days);
    expect(hashes(fixed(new DateMillisecond(), BigInt64Array.of(1n)))[0]).not.toBe(days[0]);
    expect(hashes(fixed(new TimeMillisecond(), Int32Array.of(1500)))).toEqual(
      hashes(fixed(new TimeMicrosecond(), BigInt64Array.of(1_500_000n))),
    );
    // A date is not the integer with the same number.
    expect(days[1]).not.toBe(hashes(fixed(new Int32(), Int32Array.of(19_000)))[0]);
  });

  it('canonicalises floats: widths and NaN; -0 and +0 stay apart', () => {
    const doubles = hashes(fixed(new Float64(), Float64Array.of(1.5, -0, Number.NaN, -2.25, 0)));
    expect(hashes(fixed(new Float32(), Float32Array.of(1.5, -0, Number.NaN, -2.25, 0)))).toEqual(doubles);
    // float16: 1.5 = 0x3e00, -0 = 0x8000, NaN = 0x7e01, -2.25 = 0xc080, +0 = 0
    expect(hashes(fixed(new Float16(), Uint16Array.of(0x3e00, 0x8000, 0x7e01, 0xc080, 0)))).toEqual(doubles);
    const otherNaN = new Float64Array(new Uint32Array([1, 0xfff00000]).buffer);
    expect(hashes(fixed(new Float64(), otherNaN))[0]).toBe(doubles[2]);
    expect(doubles[0]).not.toBe(hashes(fixed(new Int32(), Int32Array.of(1)))[0]);
    expect(hashes(fixed(new Float64(), Float64Array.of(1)))[0]).not.toBe(
      hashes(fixed(new Int32(), Int32Array.of(1)))[0],
    );
  });

  it('hashes -0.0 and +0.0 differently in every float path (a sink that loses the sign fails validation)', () => {
    const signs = Float64Array.of(-0, 0);
    // Top level (the fused float64 loop), float32 and float16 (the general path).
    const [negative, positive] = hashes(fixed(new Float64(), signs));
    expect(negative).not.toBe(positive);
    expect(hashes(fixed(new Float32(), Float32Array.of(-0, 0)))).toEqual([negative, positive]);
    expect(hashes(fixed(new Float16(), Uint16Array.of(0x8000, 0)))).toEqual([negative, positive]);
    // A NULL-bearing column, a dictionary, a list element and a struct field keep the sign too.
    const withNull = makeData({
      ...dataProps(fixed(new Float64(), Float64Array.of(-0, 0, 1))),
      nullBitmap: Uint8Array.of(0b011),
      nullCount: 1,
    });
    expect(hashes(withNull).slice(0, 2)).toEqual([negative, positive]);
    const dictionary = makeData({
      type: new Dictionary(new Float64(), new Int32()),
      length: 2,
      data: Int32Array.of(0, 1),
      dictionary: new Vector([fixed(new Float64(), signs)]),
    } as any);
    expect(hashes(dictionary)).toEqual([negative, positive]);
    const list = (value: number) =>
      makeData({
        type: new List(new Field('item', new Float64(), true)),
        length: 1,
        valueOffsets: Int32Array.of(0, 1),
        child: fixed(new Float64(), Float64Array.of(value)),
      } as any);
    expect(hashes(list(-0))[0]).not.toBe(hashes(list(0))[0]);
    const struct = (value: number) =>
      makeData({
        type: new Struct([new Field('x', new Float64(), true)]),
        length: 1,
        children: [fixed(new Float64(), Float64Array.of(value))],
      });
    expect(hashes(struct(-0))[0]).not.toBe(hashes(struct(0))[0]);
    // Every NaN is still one value.
    const payloadNaN = new Float64Array(new Uint32Array([1, 0xfff00000]).buffer);
    expect(hashes(fixed(new Float64(), payloadNaN))[0]).toBe(
      hashes(fixed(new Float64(), Float64Array.of(Number.NaN)))[0],
    );
  });

  it('hashes strings by their UTF-8 bytes, in any string layout', () => {
    const words = ['', 'a', 'héllo', '🦆 honk 🦆', 'abcd', 'abcd\u0000'];
    const utf8 = hashes(variable(new Utf8(), words));
    expect(new Set(utf8).size).toBe(words.length);
    expect(hashes(built(words, new LargeUtf8()))).toEqual(utf8);
    const dictionary = built(words, new Dictionary(new Utf8(), new Int32()));
    expect(hashes(dictionary)).toEqual(utf8);
    // A string is not the binary with the same bytes.
    expect(hashes(variable(new Binary(), words))).not.toEqual(utf8);
  });

  it('hashes binary in every binary layout', () => {
    const values = [Uint8Array.of(1, 2, 3, 4), Uint8Array.of(0, 0, 0, 0), Uint8Array.of(255, 1, 2, 3)];
    const binary = hashes(variable(new Binary(), values));
    expect(new Set(binary).size).toBe(3);
    expect(hashes(built(values, new LargeBinary()))).toEqual(binary);
    expect(
      hashes(makeData({ type: new FixedSizeBinary(4), data: Uint8Array.of(1, 2, 3, 4, 0, 0, 0, 0, 255, 1, 2, 3) })),
    ).toEqual(binary);
  });

  it('gives NULL its own marker', () => {
    const marks = [
      ...hashes(variable(new Utf8(), [null, ''])),
      ...hashes(fixed(new Int32(), Int32Array.of(0, 0), [true, false])),
      ...hashes(bools([null, false])),
      ...hashes(built([null, []], new List(new Field('item', new Int32(), true)))),
    ];
    const [nullString, empty, nullInt, zero, nullBool, no, nullList, emptyList] = marks;
    expect(new Set([empty, zero, no, emptyList, nullString]).size).toBe(5);
    // NULL is NULL whatever the column type, so a sink that changed the type of an all-null column still validates.
    expect(nullInt).toBe(nullString);
    expect(nullBool).toBe(nullString);
    expect(nullList).toBe(nullString);
    expect(hashes(makeData({ type: new Null(), length: 1 }))[0]).toBe(nullString);
  });

  it('hashes lists and structs recursively', () => {
    const int32List = new List(new Field('item', new Int32(), true));
    const lists = hashes(built([[1, 2], [2, 1], [], [1, null], null], int32List));
    expect(new Set(lists).size).toBe(5);
    const wide = new LargeList(new Field('item', new Int64(), true));
    expect(hashes(built([[1n, 2n], [2n, 1n], [], [1n, null], null], wide))).toEqual(lists);
    const fixedSize = built(
      [
        [1, 2],
        [2, 1],
      ],
      new FixedSizeList(2, new Field('item', new Int16(), true)),
    );
    expect(hashes(fixedSize)).toEqual(lists.slice(0, 2));
    const nested = new List(new Field('item', int32List, true));
    expect(hashes(built([[[1], [2]]], nested))[0]).not.toBe(hashes(built([[[1, 2]]], nested))[0]);

    const struct = new Struct([new Field('a', new Int32(), true), new Field('b', new Utf8(), true)]);
    const rows = hashes(built([{ a: 1, b: 'x' }, { a: 1, b: 'y' }, { a: null, b: 'x' }, null], struct));
    expect(new Set(rows).size).toBe(4);
    const renamed = new Struct([new Field('c', new Int64(), true), new Field('d', new LargeUtf8(), true)]);
    expect(hashes(built([{ c: 1n, d: 'x' }], renamed))[0]).toBe(rows[0]);
  });

  it('makes column position matter and column names not', () => {
    const one = fixed(new Int32(), Int32Array.of(1));
    const two = fixed(new Int32(), Int32Array.of(2));
    expect(hashes(one, two)[0]).not.toBe(hashes(two, one)[0]);
    const a = hashRows(batchOf({ a: one, b: two }));
    const b = hashRows(batchOf({ x: one, y: two }));
    expect(toHex64(a.hi[0]!, a.lo[0]!)).toBe(toHex64(b.hi[0]!, b.lo[0]!));
    // Entries are fixed-size, so values cannot slide across column boundaries.
    const s = (v: string | null) => variable(new Utf8(), [v]);
    expect(hashes(s('ab'), s('c'))[0]).not.toBe(hashes(s('a'), s('bc'))[0]);
    expect(hashes(s(null), s(''))[0]).not.toBe(hashes(s(''), s(null))[0]);
  });

  it('changes when any single value changes, for every column type', () => {
    const batch = makeBenchBatch(3, 64);
    const base = hashRows(batch);
    const columns = batch.data.children;
    columns.forEach((column, j) => {
      const changed = (() => {
        switch (j) {
          case 0:
            return fixed(
              new Int64(),
              BigInt64Array.from(column.values as BigInt64Array, (v, i) => (i === 5 ? v + 1n : v)),
            );
          case 1: {
            const values = Array.from({ length: 64 }, (_, i) => batch.getChildAt(1)!.get(i) as string);
            values[5] = `${values[5]!.slice(0, -1)}n`;
            return variable(new Utf8(), values);
          }
          case 2:
            return fixed(
              new Float64(),
              Float64Array.from(column.values as Float64Array, (v, i) => (i === 5 ? v + 1e-9 : v)),
            );
          case 3:
            return fixed(
              column.type,
              BigInt64Array.from(column.values as BigInt64Array, (v, i) => (i === 5 ? v + 1n : v)),
            );
          default: {
            const values = Array.from({ length: 64 }, (_, i) => batch.getChildAt(4)!.get(i) as boolean);
            values[5] = !values[5];
            return bools(values);
          }
        }
      })();
      const other = hashColumns(
        columns.map((c, k) => (k === j ? changed : c)),
        64,
      );
      for (let i = 0; i < 64; i++) {
        const same = other.hi[i] === base.hi[i] && other.lo[i] === base.lo[i];
        expect(same, `column ${j} row ${i}`).toBe(i !== 5);
      }
    });
  });

  it('changes when one value changes, across the remaining types', () => {
    const list = new List(new Field('item', new Utf8(), true));
    const struct = new Struct([new Field('a', new Int32(), true), new Field('b', new Float64(), true)]);
    const cases: [string, DataType, unknown[], unknown][] = [
      ['int8', new Int8(), [1, 2, 3], 4],
      ['uint32', new Uint32(), [1, 2, 3], 4_000_000_000],
      [
        'decimal',
        new Decimal(2, 10),
        [Uint32Array.of(150, 0, 0, 0), Uint32Array.of(1, 0, 0, 0), Uint32Array.of(7, 0, 0, 0)],
        Uint32Array.of(151, 0, 0, 0),
      ],
      ['date32', new DateDay(), [0, 86_400_000, 2 * 86_400_000], 3 * 86_400_000],
      ['time', new TimeMillisecond(), [1, 2, 3], 4],
      ['large_utf8', new LargeUtf8(), ['a', 'b', '🦆'], '🦢'],
      ['binary', new Binary(), [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)], Uint8Array.of(3, 0)],
      ['list', list, [['a'], ['b', 'c'], []], ['b', 'd']],
      [
        'struct',
        struct,
        [
          { a: 1, b: 1.5 },
          { a: 2, b: 2.5 },
          { a: 3, b: 3.5 },
        ],
        { a: 2, b: 2.25 },
      ],
      ['dictionary', new Dictionary(new Utf8(), new Int32()), ['x', 'y', 'z'], 'w'],
    ];
    for (const [name, type, values, replacement] of cases) {
      const before = hashes(built(values, type));
      const changed = [...values];
      changed[1] = replacement;
      const after = hashes(built(changed, type));
      expect(after[0], name).toBe(before[0]);
      expect(after[1], name).not.toBe(before[1]);
      expect(after[2], name).toBe(before[2]);
    }
  });

  it('reads sliced batches at their offsets', () => {
    const values = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? null : `v${i}`));
    const flags = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? null : i % 2 === 0));
    const ints = Int32Array.from({ length: 40 }, (_, i) => i * 3);
    const batch = batchOf({
      s: variable(new Utf8(), values),
      b: bools(flags),
      i: fixed(
        new Int32(),
        ints,
        Array.from({ length: 40 }, (_, i) => i % 7 === 0),
      ),
      l: built(
        Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? null : [i, i + 1])),
        new List(new Field('item', new Int32(), true)),
      ),
    });
    const all = hashRows(batch);
    const part = hashRows(batch.slice(13, 31));
    for (let i = 0; i < 18; i++) {
      expect(toHex64(part.hi[i]!, part.lo[i]!)).toBe(toHex64(all.hi[13 + i]!, all.lo[13 + i]!));
    }
  });

  it('gives the same hashes on the fused fast paths and the general path (via dictionaries)', () => {
    const n = 50;
    const columns: [string, Data][] = [
      [
        'int64',
        fixed(
          new Int64(),
          BigInt64Array.from({ length: n }, (_, i) => BigInt(i * 1e12) - 7n),
        ),
      ],
      [
        'int32',
        fixed(
          new Int32(),
          Int32Array.from({ length: n }, (_, i) => i * 99_991 - 5),
        ),
      ],
      [
        'uint64',
        fixed(
          new Uint64(),
          BigUint64Array.from({ length: n }, (_, i) => 2n ** 63n + BigInt(i)),
        ),
      ],
      [
        'float64',
        fixed(
          new Float64(),
          Float64Array.from({ length: n }, (_, i) => (i % 3 ? i / 7 : -0)),
        ),
      ],
      [
        'timestamp[us]',
        fixed(
          new TimestampMicrosecond(),
          BigInt64Array.from({ length: n }, (_, i) => BigInt(i - 25) * 86_400_000_123n),
        ),
      ],
      [
        'timestamp[s] beyond int64 ns',
        fixed(
          new TimestampSecond(),
          BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 10n ** 10n),
        ),
      ],
      ['bool', bools(Array.from({ length: n }, (_, i) => i % 3 === 0))],
      [
        'utf8',
        variable(
          new Utf8(),
          Array.from({ length: n }, (_, i) => '🦆'.repeat(i % 4) + 'x'.repeat(i % 9)),
        ),
      ],
      [
        'binary',
        variable(
          new Binary(),
          Array.from({ length: n }, (_, i) => new Uint8Array(i % 6).fill(i)),
        ),
      ],
    ];
    const nulls = Array.from({ length: n }, (_, i) => i % 4 === 1);
    const validityBits = new Uint8Array(Math.ceil(n / 8));
    nulls.forEach((isNull, i) => {
      if (!isNull) validityBits[i >> 3]! |= 1 << (i & 7);
    });
    for (const [name, values] of columns) {
      // Plain columns take the fused path, dictionary values the general entry path.
      const encoded = makeData({
        type: new Dictionary(values.type, new Int32()),
        data: Int32Array.from({ length: n }, (_, i) => n - 1 - i),
        dictionary: new Vector([values]),
      });
      const plain = hashes(values);
      expect(hashes(encoded), name).toEqual([...plain].reverse());
      // And with nulls on both paths.
      const nullablePlain = makeData({ ...dataProps(values), nullBitmap: validityBits });
      const nullableEncoded = makeData({
        type: new Dictionary(values.type, new Int32()),
        data: Int32Array.from({ length: n }, (_, i) => i),
        dictionary: new Vector([values]),
        nullBitmap: validityBits,
      });
      expect(hashes(nullablePlain), name).toEqual(hashes(nullableEncoded));
      expect(
        hashes(nullablePlain).filter((_, i) => !nulls[i]),
        name,
      ).toEqual(plain.filter((_, i) => !nulls[i]));
    }
  });

  it('hashes batches longer than one chunk the same as their slices', () => {
    const n = 5000;
    const list = new List(new Field('item', new Int32(), true));
    const batch = batchOf({
      id: fixed(
        new Int64(),
        BigInt64Array.from({ length: n }, (_, i) => BigInt(i)),
      ),
      tags: built(
        Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : [i, i % 7])),
        list,
      ),
      kind: built(
        Array.from({ length: n }, (_, i) => ['a', 'b', null][i % 3]),
        new Dictionary(new Utf8(), new Int32()),
      ),
    });
    const all = hashRows(batch);
    for (const [from, to] of [
      [0, 1],
      [2040, 2060],
      [4095, 4100],
      [4990, 5000],
    ] as const) {
      const part = hashRows(batch.slice(from, to));
      for (let i = from; i < to; i++) {
        expect(toHex64(part.hi[i - from]!, part.lo[i - from]!)).toBe(toHex64(all.hi[i]!, all.lo[i]!));
      }
    }
  });

  it('matches the encoding as documented (an independent re-implementation)', () => {
    const rotl = (x: number, r: number) => (x << r) | (x >>> (32 - r));
    const P = (k: number) => Math.imul(rotl(Math.imul(k, 0xcc9e2d51), 15), 0x1b873593);
    const a = (h: number, m: number) => (Math.imul(rotl(h ^ m, 13), 5) + 0xe6546b64) | 0;
    const b = (h: number, m: number) => (Math.imul(rotl((h + m) | 0, 17), 0x165667b1) + 0x27d4eb2f) | 0;
    const f = (h: number) => {
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      return h ^ (h >>> 16);
    };
    const finalise = (A: number, B: number, S: number, len: number) => {
      A ^= len;
      B ^= S;
      A = (A + B) | 0;
      B = (B + A) | 0;
      A = f(A);
      B = f(B);
      A = (A + B) | 0;
      B = (B + A) | 0;
      return toHex64(B, A);
    };
    // Row: int64 -5, utf8 "honk🦆" (8 bytes), NULL.
    const bytes = new TextEncoder().encode('honk🦆');
    let la = 0x2f0a1c5b;
    let lb = 0x61c88647;
    for (let p = 0; p < bytes.length; p += 4) {
      const m = P(new DataView(bytes.buffer).getInt32(p, true));
      la = a(la, m);
      lb = b(lb, m);
    }
    const entries: [number, number, number][] = [
      [3, -5, -1],
      [(bytes.length << 5) | 16, la, lb],
      [1, 0, 0],
    ];
    let A = 0x2f0a1c5b;
    let B = 0x61c88647;
    let S = 0x3c6ef372;
    for (const [tag, p0, p1] of entries) {
      const m0 = P(p0);
      const m1 = P(p1);
      A = a(a(A, m0), m1);
      B = b(b(B, m0), m1);
      S = Math.imul(S ^ tag, 0x9e3779b1);
    }
    const expected = finalise(A, B, S, 3);
    const row = hashes(
      fixed(new Int64(), BigInt64Array.of(-5n)),
      variable(new Utf8(), ['honk🦆']),
      variable(new Utf8(), [null]),
    );
    expect(row[0]).toBe(expected);
  });

  it('pins the encoding (a change here needs a ROW_HASH_VERSION bump)', () => {
    const batch = batchOf({
      id: fixed(new Int64(), BigInt64Array.of(42n)),
      name: variable(new Utf8(), ['honk 🦆']),
      amount: decimal([1250n], 2, 10),
      at: fixed(new TimestampMicrosecond('UTC'), BigInt64Array.of(1_700_000_000_000_000n)),
      ok: bools([true]),
      none: variable(new Utf8(), [null]),
    });
    const { hi, lo } = hashRows(batch);
    expect(toHex64(hi[0]!, lo[0]!)).toBe(GOLDEN);
  });
});

const GOLDEN = 'cd4122136473b0c7';
