/**
 * Arrow cell values → JSON, for the few rows a report shows (sample keys). Cold path only:
 * it goes through Arrow's `get()`, which allocates per value.
 */
import type { Json } from '../connector/connector.ts';

/** Strings and byte arrays longer than this are cut in reports: a key should stay readable. */
const MAX_TEXT = 200;

/** Converts one Arrow value (as returned by `Vector.get`) to JSON. */
export function toJsonValue(value: unknown): Json {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case 'string':
      return value.length > MAX_TEXT ? `${value.slice(0, MAX_TEXT)}…` : value;
    default:
      break;
  }
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) {
    const hex = Buffer.from(value.subarray(0, MAX_TEXT / 2)).toString('hex');
    return value.length > MAX_TEXT / 2 ? `0x${hex}…` : `0x${hex}`;
  }
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number | bigint>, toJsonValue);
  const object = value as { toArray?: () => unknown[]; toJSON?: () => unknown; [Symbol.iterator]?: unknown };
  // Arrow vectors (list cells) expose toArray; struct and map rows expose toJSON.
  if (typeof object.toArray === 'function' && typeof object.toJSON !== 'function') {
    return Array.from(object.toArray(), toJsonValue);
  }
  if (typeof object.toJSON === 'function') {
    const plain = object.toJSON();
    if (Array.isArray(plain)) return plain.map(toJsonValue);
    if (plain !== null && typeof plain === 'object') {
      return Object.fromEntries(Object.entries(plain as Record<string, unknown>).map(([k, v]) => [k, toJsonValue(v)]));
    }
    return toJsonValue(plain);
  }
  return String(value);
}
