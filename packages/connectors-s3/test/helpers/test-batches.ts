/** Small deterministic Arrow batches for S3 tests, built from typed arrays with makeData. */
import { Field, Float64, Int64, makeData, RecordBatch, Schema, Struct, Utf8 } from 'apache-arrow';

export const testSchema = new Schema([
  new Field('id', new Int64(), false),
  new Field('value', new Float64(), false),
  new Field('label', new Utf8(), false),
]);

/** Rows `start … start + rows - 1`; `salt` changes the values (another "version" of the data). */
export function makeTestBatch(start: number, rows: number, salt = 0): RecordBatch {
  const ids = new BigInt64Array(rows);
  const values = new Float64Array(rows);
  const labels: string[] = [];
  for (let i = 0; i < rows; i += 1) {
    ids[i] = BigInt(start + i);
    values[i] = (start + i) * 1.5 + salt;
    labels.push(`row-${start + i}-${salt}`);
  }
  const text = Buffer.from(labels.join(''));
  const offsets = new Int32Array(rows + 1);
  for (let i = 0; i < rows; i += 1) offsets[i + 1] = (offsets[i] as number) + Buffer.byteLength(labels[i] as string);
  const children = [
    makeData({ type: new Int64(), length: rows, data: ids }),
    makeData({ type: new Float64(), length: rows, data: values }),
    makeData({ type: new Utf8(), length: rows, valueOffsets: offsets, data: new Uint8Array(text) }),
  ];
  return new RecordBatch(testSchema, makeData({ type: new Struct(testSchema.fields), length: rows, children }));
}

/** Sum of ids and of values: enough to tell two versions of the test data apart. */
export async function summarise(
  batches: AsyncIterable<RecordBatch>,
): Promise<{ rows: number; ids: bigint; values: number }> {
  let rows = 0;
  let ids = 0n;
  let values = 0;
  for await (const batch of batches) {
    rows += batch.numRows;
    const id = batch.getChild('id');
    const value = batch.getChild('value');
    for (let i = 0; i < batch.numRows; i += 1) {
      ids += id?.get(i) as bigint;
      values += value?.get(i) as number;
    }
  }
  return { rows, ids, values };
}
