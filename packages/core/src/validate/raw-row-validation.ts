/**
 * Validation accumulators over encoded rows (raw-row-hash.ts): a raw transfer's bytes, both
 * sides hashed as they are, never decoded — except the few rows the sample keeps, whose key
 * values are decoded for messages. They produce the same summaries as the value accumulators
 * (row count, checksum, sample, schema), marked with the rows' encoding, so the usual
 * comparison and merging apply.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import type { Json } from '../connector/connector.ts';
import type { ChecksumSummary } from './checksum-validator.ts';
import { defaultValidateOptions } from './create-validators.ts';
import { toJsonValue } from './json-value.ts';
import { hashRawFields, hashRawRows, type RawRows } from './raw-row-hash.ts';
import { Checksum, ROW_HASH_VERSION, type RowHashes } from './row-hash.ts';
import { type SampleRows, SampleSketch } from './sample-sketch.ts';
import { schemaValidator } from './schema-validator.ts';
import type { ValidateOptions } from './validator.ts';

/** What a connector's raw module exports as `createRawRowScanner(init)` (see `RawDecoderSpec.encoding`). */
export interface RawRowScanner {
  /** The name of the encoding, the same on both sides of a transfer (e.g. `postgres-binary-copy`). */
  readonly encoding: string;
  /** Fields per row. */
  readonly fields: number;
  /** The rows of `bytes`, which hold whole rows only (raw pieces are cut at row boundaries). */
  scan(bytes: Uint8Array): RawRows;
}

/** The accumulators of one side (in the order `createValidators` gives), fed raw pieces. */
export interface RawRowAccumulators {
  observe(bytes: Uint8Array): void;
  results(): Json[];
}

function grow(hashes: RowHashes, rows: number): RowHashes {
  if (hashes.hi.length >= rows) return hashes;
  return { hi: new Uint32Array(rows), lo: new Uint32Array(rows) };
}

/**
 * Accumulators for `options` over raw rows. `decode` turns whole encoded rows into a batch
 * (the connector's raw decoder): used only for the sampled rows' key values.
 */
export function rawRowAccumulators(
  options: ValidateOptions,
  schema: Schema,
  scanner: RawRowScanner,
  decode: (bytes: Uint8Array, rows: number) => RecordBatch | null,
): RawRowAccumulators {
  const resolved = { ...defaultValidateOptions, ...options };
  const names = schema.fields.map((field) => field.name);
  const fields = scanner.fields;
  const checksum = new Checksum();
  const sketch =
    resolved.sample > 0
      ? new SampleSketch(names, resolved.sample, options.key?.length ? options.key : null)
      : undefined;
  let rowHashes: RowHashes = { hi: new Uint32Array(0), lo: new Uint32Array(0) };
  let keyHashes: RowHashes = { hi: new Uint32Array(0), lo: new Uint32Array(0) };
  const single: RowHashes = { hi: new Uint32Array(1), lo: new Uint32Array(1) };
  let rows = 0;

  const sampleRows = (bytes: Uint8Array, raw: RawRows, keyIndices: number[] | null): SampleRows => ({
    count: raw.rows,
    rowHashes,
    keyHashes: keyIndices === null ? rowHashes : keyHashes,
    columnHashes: (list) =>
      list.map((row) => {
        const hi: number[] = [];
        const lo: number[] = [];
        for (let column = 0; column < fields; column++) {
          hashRawFields(bytes, raw, fields, [column], single, row);
          hi.push(single.hi[0] as number);
          lo.push(single.lo[0] as number);
        }
        return { hi, lo };
      }),
    keys: (list) => {
      if (list.length === 0) return [];
      // The kept rows' bytes, one after another, decoded together.
      const parts = list.map((row) => bytes.subarray(raw.rowStart[row] as number, raw.rowStart[row + 1] as number));
      const joined = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let at = 0;
      for (const part of parts) {
        joined.set(part, at);
        at += part.length;
      }
      const batch = decode(joined, list.length);
      const keyColumns = keyIndices ?? names.map((_, index) => index);
      return list.map((_, index) => {
        const key: Record<string, Json> = {};
        for (const column of keyColumns)
          key[names[column] as string] = toJsonValue(batch?.getChildAt(column)?.get(index));
        return key;
      });
    },
  });

  return {
    observe(bytes) {
      const raw = scanner.scan(bytes);
      rows += raw.rows;
      if (raw.rows === 0) return;
      rowHashes = grow(rowHashes, raw.rows);
      hashRawRows(bytes, raw, rowHashes);
      checksum.addHashes(rowHashes, raw.rows);
      if (sketch && !sketch.active) sketch.rows += raw.rows;
      else if (sketch) {
        const keyIndices = sketch.keyIndices;
        if (keyIndices !== null) {
          keyHashes = grow(keyHashes, raw.rows);
          hashRawFields(bytes, raw, fields, keyIndices, keyHashes);
        }
        sketch.observe(sampleRows(bytes, raw, keyIndices));
      }
    },
    results() {
      const out: Json[] = [];
      if (resolved.schema) out.push(schemaValidator().accumulator(schema).result());
      if (resolved.rowCount) out.push({ rows });
      if (resolved.checksum) {
        const summary: ChecksumSummary = {
          version: ROW_HASH_VERSION,
          encoding: scanner.encoding,
          rows: checksum.rows,
          sum: checksum.sum,
        };
        out.push(summary);
      }
      if (sketch) out.push(sketch.summary(scanner.encoding));
      return out;
    },
  };
}
