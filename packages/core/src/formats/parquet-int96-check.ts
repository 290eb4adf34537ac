/**
 * The check that INT96 timestamps lose nothing: see {@link Int96Check}. parquet-reader.ts
 * reads INT96 columns at `parquet.int96` through a read hint; this decodes them a second
 * time at the other unit and compares value by value.
 */
import type { RecordBatch } from 'apache-arrow';
import { Type } from 'apache-arrow';
import type * as parquet from 'parquet-wasm';
import { HonkError } from '../errors/honk-error.ts';
import type { Int96Unit } from './parquet-read-schema.ts';

const TWO_64 = 1n << 64n;
const INT64_MAX = (1n << 63n) - 1n;

/**
 * Checks INT96 values against a second decode of the same columns at the other unit: the
 * microsecond value `us` and the (possibly wrapped) nanosecond value `ns` of one INT96
 * differ by the sub-microsecond digits `r = (ns − us·1000) mod 2^64`, 0 ≤ r < 1000.
 * Read at µs, a non-zero `r` would be lost; read at ns, `us·1000 + r` outside int64 wrapped.
 */
export class Int96Check {
  /** The batches of one row group of the second decode. */
  readonly #decode: (options: parquet.ReaderOptions) => AsyncGenerator<RecordBatch>;
  readonly #columns: string[];
  readonly #unit: Int96Unit;
  readonly #file: string;
  #group = 0;
  #batches: AsyncGenerator<RecordBatch> | undefined;
  #current: RecordBatch | undefined;
  #position = 0;

  constructor(
    decode: (options: parquet.ReaderOptions) => AsyncGenerator<RecordBatch>,
    columns: string[],
    unit: Int96Unit,
    file: string,
  ) {
    this.#decode = decode;
    this.#columns = columns;
    this.#unit = unit;
    this.#file = file;
  }

  async close(): Promise<void> {
    await this.#batches?.return(undefined);
    this.#batches = undefined;
  }

  async startRowGroup(group: number, batchSize: number): Promise<void> {
    await this.close();
    this.#group = group;
    this.#current = undefined;
    this.#position = 0;
    this.#batches = this.#decode({ batchSize, rowGroups: [group], columns: this.#columns });
  }

  /** The next `count` rows of the other decode, as (batch, start) runs. */
  async #take(count: number): Promise<[RecordBatch, number, number][]> {
    const runs: [RecordBatch, number, number][] = [];
    let left = count;
    while (left > 0) {
      if (!this.#current || this.#position >= this.#current.numRows) {
        const next = await this.#batches?.next();
        if (!next || next.done) throw new Error('the INT96 check decode ended early');
        this.#current = next.value;
        this.#position = 0;
      }
      const take = Math.min(left, this.#current.numRows - this.#position);
      runs.push([this.#current, this.#position, take]);
      this.#position += take;
      left -= take;
    }
    return runs;
  }

  async check(batch: RecordBatch, rowInGroup: number): Promise<void> {
    const runs = await this.#take(batch.numRows);
    for (const name of this.#columns) {
      const main = batch.getChild(name);
      if (!main || main.type.typeId !== Type.Timestamp) continue;
      const mainData = main.data[0];
      if (!mainData) continue;
      const mainValues = mainData.values as BigInt64Array;
      let row = 0;
      for (const [other, start, length] of runs) {
        const otherData = other.getChild(name)?.data[0];
        const otherValues = otherData?.values as BigInt64Array | undefined;
        if (!otherData || !otherValues) throw new Error('the INT96 check decode lacks a column');
        for (let index = 0; index < length; index++, row++) {
          if (!main.isValid(row)) continue;
          const mainValue = mainValues[row] as bigint;
          const otherValue = otherValues[start + index] as bigint;
          const us = this.#unit === 'us' ? mainValue : otherValue;
          const ns = this.#unit === 'us' ? otherValue : mainValue;
          const digits = (((ns - us * 1000n) % TWO_64) + TWO_64) % TWO_64;
          const exact = us * 1000n + digits;
          if (this.#unit === 'us' ? digits !== 0n : exact > INT64_MAX || exact < -INT64_MAX - 1n) {
            throw this.#refuse(name, rowInGroup + row, this.#unit === 'us' ? 'us' : 'ns');
          }
        }
      }
    }
  }

  #refuse(column: string, row: number, unit: Int96Unit): HonkError {
    const why =
      unit === 'us'
        ? 'has nanoseconds below the microsecond, which reading at microseconds would drop. Set the endpoint option parquet.int96 to "ns" to read this file at nanoseconds (years 1677–2262 only)'
        : 'lies outside the years 1677–2262 that nanoseconds can hold. Set parquet.int96 to "us" (the default) to read it at microseconds (years 0001–9999)';
    return new HonkError(
      'SCHEMA_MISMATCH',
      `${this.#file}: INT96 timestamp column "${column}", row group ${this.#group}, row ${row} of the group ${why}.`,
      { details: { file: this.#file, column, rowGroup: this.#group, row } },
    );
  }
}
