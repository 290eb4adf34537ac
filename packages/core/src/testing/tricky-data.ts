/**
 * Deterministic test data with the types that break naive migrations: int64 beyond 2^53,
 * decimal128(38, 4) near its limits and negative, timestamps with unit and zone, dates,
 * booleans, UTF-8 with emoji and empty strings, binary, lists, and NULL in every column.
 * Built column by column from typed arrays with `makeData`, so it also serves benchmarks.
 */
import {
  Binary,
  Bool,
  type Data,
  DateDay,
  Decimal,
  Field,
  Float64,
  Int32,
  Int64,
  List,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  TimestampMicrosecond,
  TimestampMillisecond,
  Utf8,
} from 'apache-arrow';

export interface TrickyDataOptions {
  /** Total rows. */
  rows: number;
  /** Rows per batch. Default 10,000. */
  batchRows?: number;
  /** Include a list<int32> column (formats without lists leave it out). Default true. */
  lists?: boolean;
  /** Include a binary column. Default true. */
  binary?: boolean;
  /** Every column is NULL where `(row + columnIndex) % nullEvery === 0`. Default 7; 0 = no nulls. */
  nullEvery?: number;
  /** Adds a `note` utf8 column of about this many bytes per row (wide rows for memory tests). Default 0. */
  padding?: number;
}

const TEXTS = [
  '',
  'plain',
  'Grüße, Jürgen',
  'emoji 🦆🚀',
  'quote " and , comma',
  'line\nbreak',
  '日本語テキスト',
  ' spaced ',
];

function nullBitmap(length: number, column: number, every: number): { bitmap: Uint8Array; nulls: number } {
  const bitmap = new Uint8Array(Math.ceil(length / 8));
  let nulls = 0;
  return {
    bitmap: bitmap.map((_, byte) => {
      let bits = 0;
      for (let bit = 0; bit < 8; bit++) {
        const row = byte * 8 + bit;
        if (row >= length) break;
        if (every > 0 && (row + column) % every === 0) nulls++;
        else bits |= 1 << bit;
      }
      return bits;
    }),
    get nulls() {
      return nulls;
    },
  };
}

function strings(values: string[]): { offsets: Int32Array; bytes: Uint8Array } {
  const encoder = new TextEncoder();
  return concat(values.map((value) => encoder.encode(value)));
}

function concat(parts: Uint8Array[]): { offsets: Int32Array; bytes: Uint8Array } {
  const offsets = new Int32Array(parts.length + 1);
  for (let i = 0; i < parts.length; i++) offsets[i + 1] = offsets[i]! + parts[i]!.length;
  const bytes = new Uint8Array(offsets[parts.length]!);
  for (let i = 0; i < parts.length; i++) bytes.set(parts[i]!, offsets[i]!);
  return { offsets, bytes };
}

/** Writes a signed bigint as 128-bit little-endian two's complement into `words` at `index`. */
function setInt128(words: Uint32Array, index: number, value: bigint): void {
  let v = BigInt.asUintN(128, value);
  for (let w = 0; w < 4; w++) {
    words[index * 4 + w] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
}

/** The schema of {@link makeTrickyBatches} for the given options. */
export function trickySchema(options: Pick<TrickyDataOptions, 'lists' | 'binary' | 'padding'> = {}): Schema {
  const fields: Field[] = [
    new Field('id', new Int64(), false),
    new Field('big', new Int64(), true),
    new Field('amount', new Decimal(4, 38, 128), true),
    new Field('ratio', new Float64(), true),
    new Field('at_utc', new TimestampMicrosecond('UTC'), true),
    new Field('at_local', new TimestampMillisecond('Europe/Stockholm'), true),
    new Field('day', new DateDay(), true),
    new Field('flag', new Bool(), true),
    new Field('label', new Utf8(), true),
  ];
  if (options.binary ?? true) fields.push(new Field('blob', new Binary(), true));
  if (options.lists ?? true) fields.push(new Field('tags', new List(new Field('item', new Int32(), true)), true));
  if (options.padding) fields.push(new Field('note', new Utf8(), true));
  return new Schema(fields);
}

/** One batch of tricky rows starting at absolute row `start`. */
export function makeTrickyBatch(
  start: number,
  length: number,
  options: Omit<TrickyDataOptions, 'rows'> = {},
): RecordBatch {
  const schema = trickySchema(options);
  const every = options.nullEvery ?? 7;
  const children: Data[] = [];
  const validity = (column: number) => {
    const { bitmap, nulls } = nullBitmap(length, column, every);
    return { nullBitmap: bitmap, nullCount: nulls };
  };

  const ids = new BigInt64Array(length);
  const big = new BigInt64Array(length);
  const amounts = new Uint32Array(length * 4);
  const ratios = new Float64Array(length);
  const utc = new BigInt64Array(length);
  const local = new BigInt64Array(length);
  const days = new Int32Array(length);
  const flags = new Uint8Array(Math.ceil(length / 8));
  const labels: string[] = [];
  const blobs: Uint8Array[] = [];
  const listOffsets = new Int32Array(length + 1);
  const listValues: number[] = [];
  const specialFloats = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, Number.MIN_VALUE];

  for (let i = 0; i < length; i++) {
    const row = start + i;
    ids[i] = BigInt(row);
    // Beyond 2^53, alternating sign: a float64 round trip would corrupt these.
    big[i] = (row % 2 === 0 ? 1n : -1n) * (2n ** 62n + BigInt(row) * 7919n);
    const unscaled =
      (row % 3 === 0 ? -1n : 1n) * (row % 11 === 0 ? 10n ** 37n + BigInt(row) : BigInt(row) * 12345n + 1n);
    setInt128(amounts, i, unscaled);
    ratios[i] = row % 13 === 0 ? specialFloats[(row / 13) % specialFloats.length]! : row / 3;
    utc[i] = 1_700_000_000_000_000n + BigInt(row) * 1_000_003n;
    local[i] = 1_600_000_000_000n + BigInt(row) * 86_400_017n;
    // 1901–2065: every format (and CSV's YYYY-MM-DD) can hold these.
    days[i] = -25_000 + ((row * 3) % 60_000);
    if (row % 3 !== 0) flags[i >> 3]! |= 1 << (i & 7);
    labels.push(`${TEXTS[row % TEXTS.length]}${row % 5 === 0 ? '' : `#${row}`}`);
    // Not valid UTF-8 on purpose: binary must not pass through a text codec.
    blobs.push(Uint8Array.of(0, row % 256, 0xff, 0xc3, 10));
    for (let k = 0; k < row % 4; k++) listValues.push(row * 10 + k);
    listOffsets[i + 1] = listValues.length;
  }

  children.push(makeData({ type: new Int64(), length, data: ids }));
  children.push(makeData({ type: new Int64(), length, data: big, ...validity(1) }));
  children.push(makeData({ type: new Decimal(4, 38, 128), length, data: amounts, ...validity(2) }));
  children.push(makeData({ type: new Float64(), length, data: ratios, ...validity(3) }));
  children.push(makeData({ type: new TimestampMicrosecond('UTC'), length, data: utc, ...validity(4) }));
  children.push(makeData({ type: new TimestampMillisecond('Europe/Stockholm'), length, data: local, ...validity(5) }));
  children.push(makeData({ type: new DateDay(), length, data: days, ...validity(6) }));
  children.push(makeData({ type: new Bool(), length, data: flags, ...validity(7) }));
  const label = strings(labels);
  children.push(makeData({ type: new Utf8(), length, data: label.bytes, valueOffsets: label.offsets, ...validity(8) }));
  if (options.binary ?? true) {
    const blob = concat(blobs);
    children.push(
      makeData({ type: new Binary(), length, data: blob.bytes, valueOffsets: blob.offsets, ...validity(9) }),
    );
  }
  if (options.lists ?? true) {
    const item = makeData({ type: new Int32(), length: listValues.length, data: Int32Array.from(listValues) });
    const listType = schema.fields.find((field) => field.name === 'tags')!.type as List<Int32>;
    children.push(makeData({ type: listType, length, valueOffsets: listOffsets, child: item, ...validity(10) }));
  }
  if (options.padding) {
    // Varied ASCII text straight into the value buffer (no per-row strings: the generator
    // must not be what uses the memory a bounded-memory test measures).
    const width = options.padding;
    const bytes = new Uint8Array(length * width);
    const offsets = new Int32Array(length + 1);
    for (let i = 0; i < length; i++) {
      let x = (start + i) * 2_654_435_761 + 1;
      for (let k = 0; k < width; k++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[i * width + k] = 48 + ((x >>> 0) % 75);
      }
      offsets[i + 1] = (i + 1) * width;
    }
    children.push(makeData({ type: new Utf8(), length, data: bytes, valueOffsets: offsets }));
  }
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new RecordBatch(schema, data);
}

/** `rows` tricky rows in batches of `batchRows`. Lazy: memory stays at one batch. */
export function* makeTrickyBatches(options: TrickyDataOptions): Generator<RecordBatch> {
  const batchRows = options.batchRows ?? 10_000;
  for (let start = 0; start < options.rows; start += batchRows) {
    yield makeTrickyBatch(start, Math.min(batchRows, options.rows - start), options);
  }
}
