/**
 * The Thrift compact protocol, as Parquet uses it for its footer (FileMetaData) and its page
 * headers. Values decode into a generic tree that keeps every field, known or not, with its
 * wire type, so a footer can be read, changed in one place and written back without a
 * generated schema: what Honk does not understand passes through untouched.
 *
 * Wire format (Thrift compact protocol specification): a struct is a run of field headers
 * (delta from the previous field id in the high nibble, type in the low nibble; delta 0
 * means a zigzag varint i16 id follows) ended by a STOP byte; integers are zigzag varints;
 * binary is a varint length then the bytes; a list header holds size (or 15 and a varint
 * size) and element type; booleans in fields live in the type nibble (1 true, 2 false).
 */

/** Wire types of the compact protocol. */
export const ThriftType = {
  STOP: 0,
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
} as const;

/** A decoded value; i64 fields decode as bigint, smaller integers as number. */
export type ThriftValue = boolean | number | bigint | Uint8Array | ThriftList | ThriftMap | ThriftStruct;

/** A list or set: elements of one wire type. */
export interface ThriftList {
  readonly kind: 'list';
  elementType: number;
  items: ThriftValue[];
}

/** A map: keys and values of one wire type each. */
export interface ThriftMap {
  readonly kind: 'map';
  keyType: number;
  valueType: number;
  entries: [ThriftValue, ThriftValue][];
}

/** One field of a struct, with the wire type it is written with. */
export interface ThriftField {
  id: number;
  type: number;
  value: ThriftValue;
}

/** A struct (or union): its fields in wire order. */
export class ThriftStruct {
  readonly kind = 'struct';
  readonly fields: ThriftField[];

  constructor(fields: ThriftField[] = []) {
    this.fields = fields;
  }

  get(id: number): ThriftValue | undefined {
    return this.fields.find((field) => field.id === id)?.value;
  }

  /** Sets a field, keeping fields in ascending id order as Thrift writers do. */
  set(id: number, type: number, value: ThriftValue): void {
    const existing = this.fields.find((field) => field.id === id);
    if (existing) {
      existing.type = type;
      existing.value = value;
      return;
    }
    this.fields.push({ id, type, value });
    this.fields.sort((a, b) => a.id - b.id);
  }

  delete(id: number): void {
    const index = this.fields.findIndex((field) => field.id === id);
    if (index >= 0) this.fields.splice(index, 1);
  }

  /** An i16/i32 (or i64 that fits) field as a number, or undefined. */
  number(id: number): number | undefined {
    const value = this.get(id);
    if (typeof value === 'number') return value;
    if (typeof value === 'bigint') return Number(value);
    return undefined;
  }

  struct(id: number): ThriftStruct | undefined {
    const value = this.get(id);
    return value instanceof ThriftStruct ? value : undefined;
  }

  list(id: number): ThriftValue[] | undefined {
    const value = this.get(id);
    return typeof value === 'object' && value !== null && 'kind' in value && value.kind === 'list'
      ? value.items
      : undefined;
  }

  text(id: number): string | undefined {
    const value = this.get(id);
    return value instanceof Uint8Array ? textDecoder.decode(value) : undefined;
  }
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();

/** Encodes a string as a Thrift binary value. */
export function thriftText(value: string): Uint8Array {
  return textEncoder.encode(value);
}

/** The input ended inside a value: more bytes are needed (or the data is truncated). */
export class ThriftEndOfInput extends Error {
  constructor() {
    super('Thrift value runs past the end of the bytes');
    this.name = 'ThriftEndOfInput';
  }
}

/** Nesting deeper than any Parquet structure needs: a corrupt or hostile input. */
const MAX_DEPTH = 64;

/** Reads compact-protocol values from `bytes`, starting at `position`. */
export class CompactReader {
  readonly bytes: Uint8Array;
  position: number;
  readonly #view: DataView;

  constructor(bytes: Uint8Array, position = 0) {
    this.bytes = bytes;
    this.position = position;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #byte(): number {
    if (this.position >= this.bytes.length) throw new ThriftEndOfInput();
    return this.bytes[this.position++] as number;
  }

  #varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let count = 0; count < 10; count++) {
      const byte = this.#byte();
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new Error('Thrift varint longer than 10 bytes');
  }

  /** A varint of at most 32 bits (sizes, i16, i32), without BigInt. */
  #varint32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.#byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('Thrift varint too long for a 32-bit value');
  }

  #zigzag32(): number {
    const value = this.#varint32();
    return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
  }

  #size(): number {
    const size = this.#varint32();
    if (size > this.bytes.length) throw new ThriftEndOfInput();
    return size;
  }

  #value(type: number, depth: number): ThriftValue {
    switch (type) {
      case ThriftType.TRUE:
        return true;
      case ThriftType.FALSE:
        return false;
      case ThriftType.BYTE: {
        const byte = this.#byte();
        return byte > 127 ? byte - 256 : byte;
      }
      case ThriftType.I16:
      case ThriftType.I32:
        return this.#zigzag32();
      case ThriftType.I64: {
        const raw = this.#varint();
        return (raw >> 1n) ^ -(raw & 1n);
      }
      case ThriftType.DOUBLE: {
        if (this.position + 8 > this.bytes.length) throw new ThriftEndOfInput();
        const value = this.#view.getFloat64(this.position, true);
        this.position += 8;
        return value;
      }
      case ThriftType.BINARY: {
        const length = this.#size();
        if (this.position + length > this.bytes.length) throw new ThriftEndOfInput();
        const value = this.bytes.subarray(this.position, this.position + length);
        this.position += length;
        return value;
      }
      case ThriftType.LIST:
      case ThriftType.SET: {
        const header = this.#byte();
        const size = header >> 4 === 15 ? this.#size() : header >> 4;
        const elementType = header & 0x0f;
        const items: ThriftValue[] = [];
        for (let index = 0; index < size; index++) {
          // Booleans inside lists are whole bytes (1 true), unlike in field headers.
          if (elementType === ThriftType.TRUE || elementType === ThriftType.FALSE) items.push(this.#byte() === 1);
          else items.push(this.#value(elementType, depth + 1));
        }
        return { kind: 'list', elementType, items };
      }
      case ThriftType.MAP: {
        const size = this.#size();
        if (size === 0) return { kind: 'map', keyType: 0, valueType: 0, entries: [] };
        const types = this.#byte();
        const keyType = types >> 4;
        const valueType = types & 0x0f;
        const entries: [ThriftValue, ThriftValue][] = [];
        for (let index = 0; index < size; index++) {
          entries.push([this.#value(keyType, depth + 1), this.#value(valueType, depth + 1)]);
        }
        return { kind: 'map', keyType, valueType, entries };
      }
      case ThriftType.STRUCT:
        return this.readStruct(depth + 1);
      default:
        throw new Error(`unknown Thrift compact type ${type}`);
    }
  }

  /** Reads one struct (up to and including its STOP byte). */
  readStruct(depth = 0): ThriftStruct {
    if (depth > MAX_DEPTH) throw new Error('Thrift structures nested too deeply');
    const fields: ThriftField[] = [];
    let last = 0;
    while (true) {
      const header = this.#byte();
      if (header === ThriftType.STOP) return new ThriftStruct(fields);
      const type = header & 0x0f;
      const delta = header >> 4;
      const id = delta === 0 ? this.#zigzag32() : last + delta;
      last = id;
      fields.push({ id, type, value: this.#value(type, depth) });
    }
  }
}

/** Writes compact-protocol values into a growing buffer. */
export class CompactWriter {
  #bytes = new Uint8Array(256);
  #length = 0;

  #reserve(extra: number): void {
    if (this.#length + extra <= this.#bytes.length) return;
    let capacity = this.#bytes.length * 2;
    while (capacity < this.#length + extra) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }

  #byte(value: number): void {
    this.#reserve(1);
    this.#bytes[this.#length++] = value & 0xff;
  }

  #varint(value: bigint): void {
    let rest = value;
    while (rest >= 0x80n) {
      this.#byte(Number(rest & 0x7fn) | 0x80);
      rest >>= 7n;
    }
    this.#byte(Number(rest));
  }

  #zigzag(value: number | bigint): void {
    const big = BigInt(value);
    this.#varint(BigInt.asUintN(64, (big << 1n) ^ (big >> 63n)));
  }

  #value(type: number, value: ThriftValue): void {
    switch (type) {
      case ThriftType.TRUE:
      case ThriftType.FALSE:
        return; // in the field header
      case ThriftType.BYTE:
        this.#byte(value as number);
        return;
      case ThriftType.I16:
      case ThriftType.I32:
      case ThriftType.I64:
        this.#zigzag(value as number | bigint);
        return;
      case ThriftType.DOUBLE: {
        this.#reserve(8);
        new DataView(this.#bytes.buffer).setFloat64(this.#length, value as number, true);
        this.#length += 8;
        return;
      }
      case ThriftType.BINARY: {
        const bytes = value as Uint8Array;
        this.#varint(BigInt(bytes.length));
        this.#reserve(bytes.length);
        this.#bytes.set(bytes, this.#length);
        this.#length += bytes.length;
        return;
      }
      case ThriftType.LIST:
      case ThriftType.SET: {
        const list = value as ThriftList;
        const size = list.items.length;
        if (size < 15) this.#byte((size << 4) | list.elementType);
        else {
          this.#byte(0xf0 | list.elementType);
          this.#varint(BigInt(size));
        }
        for (const item of list.items) {
          if (list.elementType === ThriftType.TRUE || list.elementType === ThriftType.FALSE) this.#byte(item ? 1 : 2);
          else this.#value(list.elementType, item);
        }
        return;
      }
      case ThriftType.MAP: {
        const map = value as ThriftMap;
        this.#varint(BigInt(map.entries.length));
        if (map.entries.length === 0) return;
        this.#byte((map.keyType << 4) | map.valueType);
        for (const [key, entry] of map.entries) {
          this.#value(map.keyType, key);
          this.#value(map.valueType, entry);
        }
        return;
      }
      case ThriftType.STRUCT:
        this.writeStruct(value as ThriftStruct);
        return;
      default:
        throw new Error(`unknown Thrift compact type ${type}`);
    }
  }

  writeStruct(struct: ThriftStruct): void {
    let last = 0;
    for (const field of struct.fields) {
      const type =
        field.type === ThriftType.TRUE || field.type === ThriftType.FALSE
          ? field.value
            ? ThriftType.TRUE
            : ThriftType.FALSE
          : field.type;
      const delta = field.id - last;
      if (delta > 0 && delta <= 15) this.#byte((delta << 4) | type);
      else {
        this.#byte(type);
        this.#zigzag(field.id);
      }
      last = field.id;
      this.#value(type, field.value);
    }
    this.#byte(ThriftType.STOP);
  }

  /** The bytes written so far. */
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }
}

/** Encodes one struct. */
export function encodeThriftStruct(struct: ThriftStruct): Uint8Array {
  const writer = new CompactWriter();
  writer.writeStruct(struct);
  return writer.finish();
}
