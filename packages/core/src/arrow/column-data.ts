/**
 * Building Arrow columns straight from typed arrays with `makeData`, the fast path every
 * parser in Honk uses instead of builders or `vectorFromArray` (which allocate per value).
 */
import { type Data, type DataType, makeData, RecordBatch, type Schema, Struct } from 'apache-arrow';

/**
 * A growable validity bitmap. Starts all-valid and only allocates once a null appears, so
 * columns without nulls carry no bitmap at all.
 */
export class ValidityBuilder {
  #bits: Uint8Array | undefined;
  #length: number;
  nullCount = 0;

  constructor(length: number) {
    this.#length = length;
  }

  setNull(index: number): void {
    if (!this.#bits) {
      this.#bits = new Uint8Array(((this.#length + 63) & ~63) >> 3).fill(0xff);
    }
    const bits = this.#bits;
    const byte = index >> 3;
    const mask = 1 << (index & 7);
    if ((bits[byte] as number) & mask) {
      bits[byte] = (bits[byte] as number) & ~mask;
      this.nullCount++;
    }
  }

  /** The bitmap for `makeData`, or undefined when every value is valid. */
  bitmap(): Uint8Array | undefined {
    return this.nullCount === 0 ? undefined : this.#bits;
  }
}

/**
 * A growable byte buffer for variable-width columns (utf8, binary). Doubling growth keeps
 * appends amortised O(1).
 */
export class ByteBuffer {
  bytes: Uint8Array;
  length = 0;

  constructor(initialCapacity = 1024) {
    this.bytes = new Uint8Array(Math.max(16, initialCapacity));
  }

  reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** Appends `source[start, end)`; short ranges are copied in a loop, which beats `subarray` + `set`. */
  appendRange(source: Uint8Array, start: number, end: number): void {
    const count = end - start;
    this.reserve(count);
    const bytes = this.bytes;
    let at = this.length;
    if (count < 32) {
      for (let index = start; index < end; index++) bytes[at++] = source[index] as number;
    } else {
      bytes.set(source.subarray(start, end), at);
    }
    this.length += count;
  }

  append(source: Uint8Array): void {
    this.appendRange(source, 0, source.length);
  }

  /** A right-sized copy; the builder can be reused afterwards. */
  take(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

/** Makes a Utf8 or Binary column from offsets, bytes and an optional validity bitmap. */
export function makeVariableWidthData<T extends DataType>(
  type: T,
  length: number,
  valueOffsets: Int32Array,
  bytes: Uint8Array,
  validity?: ValidityBuilder,
): Data<T> {
  return makeData({
    type,
    length,
    valueOffsets,
    data: bytes,
    nullBitmap: validity?.bitmap(),
    nullCount: validity?.nullCount ?? 0,
  } as never) as Data<T>;
}

/** Wraps per-column Data into a RecordBatch with the given schema. */
export function makeRecordBatch(schema: Schema, columns: Data[], length: number): RecordBatch {
  const struct = makeData({ type: new Struct(schema.fields), length, children: columns, nullCount: 0 });
  return new RecordBatch(schema, struct);
}

/** True when row `index` of `data` holds a value (handles sliced data). */
export function isValid(data: Data, index: number): boolean {
  const bitmap = data.nullBitmap;
  if (!bitmap || bitmap.length === 0 || data.nullCount === 0) return true;
  const position = data.offset + index;
  return ((bitmap[position >> 3] as number) & (1 << (position & 7))) !== 0;
}
