/** Test helpers for the text codecs: in-memory byte inputs and sinks, read-all, a seeded PRNG. */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { ByteInput, ByteSink, FormatCodec, FormatOptions } from '../../src/formats/format-codec.ts';

/** A ByteInput over bytes held in memory, streamed in chunks of `chunkBytes` (small chunks exercise boundaries). */
export function memoryInput(name: string, bytes: Uint8Array | string, chunkBytes = 64 * 1024): ByteInput {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return {
    name,
    size: data.length,
    blob: () => new Blob([data]),
    async *stream() {
      for (let at = 0; at < data.length; at += chunkBytes) yield data.subarray(at, at + chunkBytes);
    },
  };
}

/** A ByteSink collecting what is written. */
export function memorySink(): ByteSink & { bytes(): Buffer } {
  const chunks: Uint8Array[] = [];
  return {
    async write(chunk) {
      chunks.push(chunk);
    },
    bytes: () => Buffer.concat(chunks),
  };
}

/** The schema and every batch of one input. */
export async function readInput(
  codec: FormatCodec,
  input: ByteInput,
  options: FormatOptions = {},
  batchRows = 1000,
): Promise<{ schema: Schema; batches: RecordBatch[] }> {
  const schema = await codec.readSchema(input, options);
  const batches: RecordBatch[] = [];
  for await (const batch of codec.read(input, { ...options, schema, batchRows })) batches.push(batch);
  return { schema, batches };
}

/** Writes batches with a codec and returns the bytes. */
export async function writeBatches(
  codec: FormatCodec,
  schema: Schema,
  batches: RecordBatch[],
  options: FormatOptions = {},
): Promise<Buffer> {
  const sink = memorySink();
  const writer = codec.createWriter(sink, schema, options);
  for (const batch of batches) await writer.write(batch);
  await writer.finish();
  return sink.bytes();
}

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
