/**
 * Arrow batches across threads: a batch travels as the bytes of an Arrow IPC stream (schema
 * and one record batch, dictionaries included), which both sides read with apache-arrow and
 * parquet-wasm reads natively. Serialising copies the batch's buffers once into one
 * ArrayBuffer, which is then transferred, not copied again; reading it back is zero-copy.
 */
import { RecordBatch, type Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';

/**
 * The bytes each batch read from IPC came from: sending such a batch on to another worker
 * copies those bytes instead of serialising the batch again.
 */
const origin = new WeakMap<RecordBatch, Uint8Array>();

/** The IPC stream bytes of one batch, in a buffer of its own (safe to transfer). */
export function batchToBytes(batch: RecordBatch): Uint8Array {
  const source = origin.get(batch);
  return source ? source.slice() : tableToIPC(new Table([batch]), 'stream');
}

/** `batch` under `schema` (same types: one Schema object for every batch of a read), keeping its IPC bytes. */
export function rebadge(batch: RecordBatch, schema: Schema): RecordBatch {
  if (batch.schema === schema) return batch;
  const badged = new RecordBatch(schema, batch.data);
  const source = origin.get(batch);
  if (source) origin.set(badged, source);
  return badged;
}

/** The batches of IPC stream bytes (one, unless the writer split it); zero-copy views of `bytes`. */
export function batchesFromBytes(bytes: Uint8Array): RecordBatch[] {
  const batches = tableFromIPC(bytes).batches;
  const only = batches.length === 1 ? batches[0] : undefined;
  if (only) origin.set(only, bytes);
  return batches;
}

/** A schema as IPC stream bytes (no batches). */
export function schemaToBytes(schema: Schema): Uint8Array {
  return tableToIPC(new Table(schema), 'stream');
}

/**
 * Frees the memory of `bytes` now, instead of at the thread's next garbage collection:
 * large transient buffers (a batch on its way into WebAssembly or into a hash) otherwise
 * pile up as dead ArrayBuffers in every thread until its collector runs, tens of MiB each.
 * Only for bytes that own their whole buffer and nothing else refers to.
 */
export function releaseBytes(bytes: Uint8Array): void {
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) return;
  const buffer = bytes.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer; detached?: boolean };
  if (buffer.detached === false) buffer.transfer?.(0);
}

export function schemaFromBytes(bytes: Uint8Array): Schema {
  return tableFromIPC(bytes).schema;
}
