/**
 * Low-level readers and writers over Arrow column buffers, shared by the cast kernels.
 *
 * Arrow JS conventions this relies on: a Data's `values` and `valueOffsets` are already
 * sliced to the Data's own rows, while `nullBitmap` (and Bool values) are not and must be
 * read at `data.offset + index`. Kernels work on aligned copies so the hot loops index by
 * row only. Arrow JS assumes a little-endian platform, and so do the word views here.
 */
import { type Data, type DataType, makeData, Type } from 'apache-arrow';

/**
 * The validity bitmap of a column as a fresh, offset-0 copy the caller owns (so kernels may
 * clear more bits without touching the input), or null when the column has no nulls.
 */
export function copyValidity(data: Data): Uint8Array | null {
  const { nullBitmap, offset, length } = data;
  if (data.nullCount === 0 || !nullBitmap || nullBitmap.length === 0) return null;
  const bytes = (length + 7) >> 3;
  const out = new Uint8Array(bytes);
  if ((offset & 7) === 0) {
    out.set(nullBitmap.subarray(offset >> 3, (offset >> 3) + bytes));
  } else {
    for (let i = 0; i < length; i++) {
      const position = offset + i;
      if (((nullBitmap[position >> 3] ?? 0) >> (position & 7)) & 1) out[i >> 3] = (out[i >> 3] ?? 0) | (1 << (i & 7));
    }
  }
  return out;
}

/** An all-valid bitmap for `length` rows, used the first time a kernel turns a value into null. */
export function allValid(length: number): Uint8Array {
  const out = new Uint8Array((length + 7) >> 3).fill(0xff);
  return out;
}

/** Counts null bits in an offset-0 bitmap of `length` rows. */
export function countNulls(bits: Uint8Array | null, length: number): number {
  if (bits === null) return 0;
  let valid = 0;
  const full = length >> 3;
  for (let i = 0; i < full; i++) {
    let byte = bits[i] ?? 0;
    byte = byte - ((byte >> 1) & 0x55);
    byte = (byte & 0x33) + ((byte >> 2) & 0x33);
    valid += (byte + (byte >> 4)) & 0x0f;
  }
  for (let i = full << 3; i < length; i++) valid += ((bits[i >> 3] ?? 0) >> (i & 7)) & 1;
  return length - valid;
}

/** Builds a fixed-width column from its values and an offset-0 validity bitmap. */
export function fixedWidthData(type: DataType, length: number, values: ArrayBufferView, bits: Uint8Array | null): Data {
  const nullCount = countNulls(bits, length);
  return makeData({
    type,
    length,
    nullCount,
    data: values,
    ...(nullCount > 0 && bits !== null ? { nullBitmap: bits } : {}),
  } as never) as Data;
}

/** The byte ranges of a Utf8, LargeUtf8 or Binary column: value `i` is `bytes[offsets[i]..offsets[i+1])`. */
export interface StringColumn {
  offsets: Int32Array | Float64Array;
  bytes: Uint8Array;
}

export function readStrings(data: Data): StringColumn {
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  const bytes = (data.values as Uint8Array | undefined) ?? new Uint8Array(0);
  if (offsets instanceof Int32Array) return { offsets, bytes };
  // LargeUtf8 offsets are 64-bit; batches stay far below 2^53 bytes, so doubles are exact.
  const wide = new Float64Array(offsets.length);
  for (let i = 0; i < offsets.length; i++) wide[i] = Number(offsets[i]);
  return { offsets: wide, bytes };
}

const decoder = new TextDecoder('utf-8');

/** Decodes value `i` of a string column (slow path: messages, rare parses). */
export function stringAt(column: StringColumn, i: number): string {
  return decoder.decode(column.bytes.subarray(column.offsets[i], column.offsets[i + 1]));
}

/**
 * Value `i` as a JS string when it is pure ASCII (every parseable number, date or boolean
 * is), else null. Avoids TextDecoder's per-call overhead on short values.
 */
export function asciiAt(column: StringColumn, i: number): string | null {
  const { bytes } = column;
  const start = column.offsets[i] ?? 0;
  const end = column.offsets[i + 1] ?? 0;
  let text = '';
  for (let p = start; p < end; p++) {
    const byte = bytes[p] ?? 0;
    if (byte > 0x7f) return null;
    text += String.fromCharCode(byte);
  }
  return text;
}

/**
 * Appends variable-width values into one growing UTF-8 buffer plus Int32 offsets. Memory is
 * bounded by the batch: the buffer doubles as needed and is trimmed on `finish`.
 */
export class StringColumnWriter {
  private bytes: Uint8Array;
  private readonly offsets: Int32Array;
  private position = 0;
  private row = 0;

  private readonly length: number;
  constructor(length: number, estimatedBytes: number) {
    this.length = length;
    this.bytes = new Uint8Array(Math.max(64, estimatedBytes));
    this.offsets = new Int32Array(length + 1);
  }

  private reserve(extra: number): void {
    const needed = this.position + extra;
    if (needed <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.position));
    this.bytes = grown;
  }

  /** Appends a string that is known to be ASCII (canonical number/date text). */
  writeAscii(text: string): void {
    this.reserve(text.length);
    const { bytes } = this;
    let position = this.position;
    for (let k = 0; k < text.length; k++) bytes[position++] = text.charCodeAt(k);
    this.position = position;
  }

  /** Appends any string, UTF-8 encoded. */
  writeText(text: string): void {
    this.reserve(text.length * 3);
    const { written } = encoder.encodeInto(text, this.bytes.subarray(this.position));
    this.position += written;
  }

  writeBytes(source: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.bytes.set(source.subarray(start, end), this.position);
    this.position += end - start;
  }

  /** Appends the decimal digits of a safe integer without allocating a string. */
  writeInteger(value: number): void {
    this.reserve(24);
    const { bytes } = this;
    let position = this.position;
    let v = value;
    if (v < 0) {
      bytes[position++] = 45; // '-'
      v = -v;
    }
    const start = position;
    do {
      const digit = v % 10;
      bytes[position++] = 48 + digit;
      v = (v - digit) / 10;
    } while (v > 0);
    for (let a = start, b = position - 1; a < b; a++, b--) {
      const t = bytes[a] ?? 0;
      bytes[a] = bytes[b] ?? 0;
      bytes[b] = t;
    }
    this.position = position;
  }

  /** Closes the current value (also used for nulls, which are empty). */
  endValue(): void {
    this.offsets[++this.row] = this.position;
  }

  finish(type: DataType, bits: Uint8Array | null): Data {
    const nullCount = countNulls(bits, this.length);
    const bytes = this.bytes.subarray(0, this.position);
    const wide = type.typeId === Type.LargeUtf8 || type.typeId === Type.LargeBinary;
    const valueOffsets = wide ? BigInt64Array.from(this.offsets, (o) => BigInt(o)) : this.offsets;
    return makeData({
      type,
      length: this.length,
      nullCount,
      valueOffsets,
      data: bytes,
      ...(nullCount > 0 && bits !== null ? { nullBitmap: bits } : {}),
    } as never) as Data;
  }
}

const encoder = new TextEncoder();
