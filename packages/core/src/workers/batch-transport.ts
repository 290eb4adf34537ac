/**
 * Arrow batches across threads: a batch travels as the bytes of an Arrow IPC stream (schema
 * and one record batch, dictionaries included), which both sides read with apache-arrow and
 * parquet-wasm reads natively. Serialising copies the batch's buffers once into one
 * ArrayBuffer, which is then transferred, not copied again; reading it back is zero-copy.
 */
import { type RecordBatch, type Schema, Table, tableFromIPC, tableToIPC } from 'apache-arrow';

/** The IPC stream bytes of one batch, in a buffer of its own (safe to transfer). */
export function batchToBytes(batch: RecordBatch): Uint8Array {
  return tableToIPC(new Table([batch]), 'stream');
}

/** The batches of IPC stream bytes (one, unless the writer split it). */
export function batchesFromBytes(bytes: Uint8Array): RecordBatch[] {
  return tableFromIPC(bytes).batches;
}

/** A schema as IPC stream bytes (no batches). */
export function schemaToBytes(schema: Schema): Uint8Array {
  return tableToIPC(new Table(schema), 'stream');
}

export function schemaFromBytes(bytes: Uint8Array): Schema {
  return tableFromIPC(bytes).schema;
}
