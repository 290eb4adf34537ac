/** Small deterministic batches for publish tests: `id` int64 and `label` utf8, varied by a salt. */
import { Field, Int64, makeData, RecordBatch, Schema, Struct, Utf8 } from 'apache-arrow';

export const testSchema = new Schema([new Field('id', new Int64(), false), new Field('label', new Utf8(), false)]);

export function makeTestBatch(start: number, rows: number, salt: number): RecordBatch {
  const ids = new BigInt64Array(rows);
  const labels: string[] = [];
  for (let index = 0; index < rows; index += 1) {
    ids[index] = BigInt(start + index);
    labels.push(`v${salt}-${start + index}`);
  }
  const text = Buffer.from(labels.join(''));
  const offsets = new Int32Array(rows + 1);
  for (let index = 0; index < rows; index += 1)
    offsets[index + 1] = (offsets[index] as number) + Buffer.byteLength(labels[index] as string);
  const children = [
    makeData({ type: new Int64(), length: rows, data: ids }),
    makeData({ type: new Utf8(), length: rows, valueOffsets: offsets, data: new Uint8Array(text) }),
  ];
  return new RecordBatch(testSchema, makeData({ type: new Struct(testSchema.fields), length: rows, children }));
}

/** Every row as `id:label`, sorted: equal summaries mean the same rows, each exactly once. */
export async function summarise(batches: AsyncIterable<RecordBatch>): Promise<string[]> {
  const rows: string[] = [];
  for await (const batch of batches) {
    const ids = batch.getChild('id');
    const labels = batch.getChild('label');
    for (let index = 0; index < batch.numRows; index += 1) rows.push(`${ids?.get(index)}:${labels?.get(index)}`);
  }
  return rows.sort();
}

/** What `batches` batches of 100 rows with `salt` summarise to. */
export function expectedRows(batches: number, salt: number, from = 0): string[] {
  const rows: string[] = [];
  for (let index = from; index < from + batches * 100; index += 1) rows.push(`${index}:v${salt}-${index}`);
  return rows.sort();
}
