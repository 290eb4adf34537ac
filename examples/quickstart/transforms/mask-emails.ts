/**
 * A transform module: masks the local part of every `email` value, keeping its first
 * character and the domain (`customer.42@example.se` → `c**********@example.se`), so the lake
 * gets usable but not personal data. NULL and empty values stay as they are.
 *
 * It works on the Arrow column's UTF-8 bytes in place of strings: every masked byte becomes
 * one `*` byte, so value offsets do not change and a batch costs one byte copy.
 */
import { type Data, type Field, makeData, RecordBatch, Schema, Struct, type Utf8 } from 'apache-arrow';

const AT = 0x40;
const STAR = 0x2a;

export function maskEmails(batch: RecordBatch): RecordBatch {
  const index = batch.schema.fields.findIndex((field) => field.name === 'email');
  if (index === -1) return batch;
  const column = batch.data.children[index] as Data<Utf8>;
  const offsets = column.valueOffsets;
  const bytes = column.values.slice(); // never mutate the input batch
  for (let row = 0; row < column.length; row++) {
    const start = offsets[row]!;
    const end = offsets[row + 1]!;
    let at = bytes.indexOf(AT, start);
    if (at === -1 || at > end) at = end;
    // Keep an ASCII first character; a multi-byte one is masked with the rest (stays valid UTF-8).
    for (let p = bytes[start]! < 0x80 ? start + 1 : start; p < at; p++) bytes[p] = STAR;
  }
  const masked = makeData({
    type: column.type,
    length: column.length,
    offset: column.offset,
    nullCount: column.nullCount,
    nullBitmap: column.nullBitmap,
    valueOffsets: offsets,
    data: bytes,
  });
  const children = batch.data.children.map((child, i) => (i === index ? masked : child));
  const fields = batch.schema.fields as Field[];
  return new RecordBatch(
    new Schema(fields, batch.schema.metadata),
    makeData({ type: new Struct(fields), length: batch.numRows, nullCount: 0, children }),
  );
}
