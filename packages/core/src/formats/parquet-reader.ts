/**
 * Reading Parquet through parquet-wasm, with Honk's own checks around the decoder:
 * - the footer is read by Honk too (parquet-metadata.ts) and its row counts cross-checked:
 *   `num_rows` against the sum of the row groups' counts when the file opens, and each row
 *   group's count against the rows actually decoded from it. A file that disagrees fails as
 *   DATA_CORRUPT instead of being read as fewer (or zero) rows;
 * - page checksums are verified on the bytes the decoder fetches (parquet-page-checksums.ts,
 *   `verifyChecksums`, on by default);
 * - INT96 timestamps are read at a unit that holds them (parquet-read-schema.ts) and checked
 *   against a second decode at the other unit, so no value wraps or loses a digit;
 * - anything parquet-wasm throws while decoding is DATA_CORRUPT naming the file, except
 *   failures of the byte source itself (I/O, a changed source, an abort), which keep theirs.
 *
 * Reads stream row group by row group from the input's random-access Blob (a local file,
 * ranged GETs), so only the row group being decoded is fetched, and batches of wide rows are
 * cut to ~4 MiB as they leave wasm.
 */
import { RecordBatch, type Schema, tableFromIPC } from 'apache-arrow';
import * as parquet from 'parquet-wasm';
import { HonkError, isHonkError, throwIfAborted } from '../errors/honk-error.ts';
import type { ByteInput, FormatReadOptions } from './format-codec.ts';
import type { ParquetOptions } from './format-options.ts';
import { Int96Check } from './parquet-int96-check.ts';
import { checkFooterCounts, encodeFooterTail, type ParquetFooter, readParquetFooter } from './parquet-metadata.ts';
import { rowGroupRange, verifyRowGroupPages } from './parquet-page-checksums.ts';
import { type ParquetReadSchema, readSchemaOf } from './parquet-read-schema.ts';
import { RandomAccessBlob } from './random-access-blob.ts';
import { ThriftStruct, ThriftType, thriftText } from './thrift-compact.ts';

/** Reads `[start, end)` of the file. */
type ReadRange = (start: number, end: number) => Promise<Uint8Array>;

/** The DATA_CORRUPT error for a file parquet-wasm could not decode. */
function undecodable(file: string, error: unknown): HonkError {
  const message = error instanceof Error ? error.message : String(error);
  return new HonkError(
    'DATA_CORRUPT',
    `${file} could not be decoded as Parquet: ${message}. The file is damaged or not Parquet; re-export it from its producer.`,
    { cause: error, details: { file } },
  );
}

/**
 * The file's bytes as parquet-wasm sees them. Honk does the reading: the footer it already
 * read, and each row group fetched whole by {@link FileBytes.prefetch} (the same single range
 * parquet-wasm would ask for) and checked page by page before the decoder gets it. So I/O
 * failures and malformed pages surface in Honk's code: inside parquet-wasm 0.8 an error of
 * an asynchronous read escapes as an uncaught exception and leaves the read pending forever.
 * A read outside these ranges (none seen for plain scans) goes to the file directly.
 */
class FileBytes {
  readonly #root: Blob;
  readonly #footer: ParquetFooter;
  readonly #file: string;
  /** The prefetched row group: its file offset and bytes. */
  #group: { start: number; bytes: Uint8Array; keep: boolean } | undefined;
  /** A failure of the byte source (kept: parquet-wasm turns it into a string). */
  failure: unknown;

  constructor(root: Blob, footer: ParquetFooter, file: string) {
    this.#root = root;
    this.#footer = footer;
    this.#file = file;
  }

  readonly read: ReadRange = async (start, end) => {
    try {
      return new Uint8Array(await this.#root.slice(start, end).arrayBuffer());
    } catch (error) {
      this.failure ??= error;
      throw error;
    }
  };

  /**
   * Fetches row group `group` and checks its pages (CRCs with `checkCrc`). `keep`: serve it
   * more than once (a second decoder reads it too); else it is dropped once served whole.
   */
  async prefetch(group: number, checkCrc: boolean, keep: boolean): Promise<void> {
    this.#group = undefined;
    const [start, end] = rowGroupRange(this.#footer, group);
    if (end > this.#footer.footerStart) {
      throw new HonkError(
        'DATA_CORRUPT',
        `${this.#file} is corrupt: the column chunks of row group ${group} run into the footer.`,
        { details: { file: this.#file, rowGroup: group } },
      );
    }
    const bytes = await this.read(start, end);
    verifyRowGroupPages(this.#footer, group, start, bytes, this.#file, checkCrc);
    this.#group = { start, bytes, keep };
  }

  release(): void {
    this.#group = undefined;
  }

  /** A Blob for parquet-wasm; `tail` replaces the footer (a read hint). */
  blob(tail: Uint8Array = this.#footer.tail): Blob {
    const dataEnd = this.#footer.footerStart;
    const size = dataEnd + tail.length;
    return new RandomAccessBlob({
      size,
      read: async (offset, length) => {
        const end = Math.min(size, offset + length);
        if (offset >= dataEnd) return tail.subarray(offset - dataEnd, end - dataEnd);
        const group = this.#group;
        if (group && offset >= group.start && end <= group.start + group.bytes.length) {
          const bytes = group.bytes.subarray(offset - group.start, end - group.start);
          if (!group.keep && bytes.length === group.bytes.length) this.#group = undefined;
          return bytes;
        }
        const head = await this.read(offset, Math.min(end, dataEnd));
        if (end <= dataEnd) return head;
        const joined = new Uint8Array(end - offset);
        joined.set(head);
        joined.set(tail.subarray(0, end - dataEnd), head.length);
        return joined;
      },
    });
  }
}

/** The footer with `ARROW:schema` replaced by `value`, encoded as a file tail. */
function hintedTail(footer: ParquetFooter, value: string): Uint8Array {
  const raw = new ThriftStruct([...footer.raw.fields]);
  const pairs = (footer.raw.list(5) ?? []).filter((pair) => (pair as ThriftStruct).text(1) !== 'ARROW:schema');
  pairs.push(
    new ThriftStruct([
      { id: 1, type: ThriftType.BINARY, value: thriftText('ARROW:schema') },
      { id: 2, type: ThriftType.BINARY, value: thriftText(value) },
    ]),
  );
  raw.set(5, ThriftType.LIST, { kind: 'list', elementType: ThriftType.STRUCT, items: pairs });
  return encodeFooterTail(raw);
}

/** An opened file: Honk's footer, the read schema, and parquet-wasm handles. */
export interface OpenedParquet {
  footer: ParquetFooter;
  read: ParquetReadSchema;
  handle: parquet.ParquetFile;
  /** A second handle reading only the INT96 columns at the other unit, for the check. */
  int96Check: parquet.ParquetFile | undefined;
  bytes: FileBytes;
  free(): void;
}

async function fromBlob(blob: Blob, file: string): Promise<parquet.ParquetFile> {
  try {
    return await parquet.ParquetFile.fromFile(blob);
  } catch (error) {
    throw undecodable(file, error);
  }
}

function decodedSchema(handle: parquet.ParquetFile, file: string): Schema {
  try {
    return tableFromIPC(handle.schema().intoIPCStream()).schema;
  } catch (error) {
    throw undecodable(file, error);
  }
}

/** Opens one file for reading (schema, decoding). Free it with `free()`. */
export async function openParquet(
  input: ByteInput,
  options: Pick<ParquetOptions, 'int96'> = {},
  forRows = false,
): Promise<OpenedParquet> {
  const root = await input.blob();
  const footer = await readParquetFooter(root, input.name);
  checkFooterCounts(footer, input.name);
  const bytes = new FileBytes(root, footer, input.name);
  const plain = await fromBlob(bytes.blob(), input.name);
  let read: ParquetReadSchema;
  try {
    read = readSchemaOf(decodedSchema(plain, input.name), footer, input.name, options.int96 ?? 'us');
  } catch (error) {
    plain.free();
    throw error;
  }
  if (read.int96Columns.length === 0) {
    return { footer, read, handle: plain, int96Check: undefined, bytes, free: () => plain.free() };
  }
  plain.free();
  const unit = options.int96 ?? 'us';
  const handles: parquet.ParquetFile[] = [];
  const free = () => {
    for (const handle of handles) handle.free();
  };
  try {
    const handle = await fromBlob(bytes.blob(hintedTail(footer, read.hint(unit))), input.name);
    handles.push(handle);
    let int96Check: parquet.ParquetFile | undefined;
    if (forRows) {
      const other = hintedTail(footer, read.hint(unit === 'us' ? 'ns' : 'us'));
      int96Check = await fromBlob(bytes.blob(other), input.name);
      handles.push(int96Check);
    }
    return { footer, read, handle, int96Check, bytes, free };
  } catch (error) {
    free();
    throw error;
  }
}

/** The schema of one file. */
export async function readParquetSchema(input: ByteInput, options?: ParquetOptions): Promise<Schema> {
  const opened = await openParquet(input, options);
  opened.free();
  return opened.read.schema;
}

/** Decoded bytes per batch when reading: each batch is copied out of wasm whole. */
const READ_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * Rows per decoded batch: `batchRows`, fewer for wide rows so one batch stays near
 * {@link READ_BATCH_BYTES} (the widest row group's uncompressed bytes per row decide).
 */
function readBatchRows(footer: ParquetFooter, batchRows: number): number {
  let widest = 0;
  for (const group of footer.rowGroups) {
    if (group.numRows > 0) widest = Math.max(widest, group.totalByteSize / group.numRows);
  }
  if (widest === 0) return batchRows;
  return Math.max(1, Math.min(batchRows, Math.floor(READ_BATCH_BYTES / widest)));
}

/** Decoded batches of one row group, as apache-arrow batches. */
async function* rowGroupBatches(
  handle: parquet.ParquetFile,
  options: parquet.ReaderOptions,
): AsyncGenerator<RecordBatch> {
  const stream = (await handle.stream(options)) as ReadableStream<parquet.RecordBatch>;
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      yield* tableFromIPC(value.intoIPCStream()).batches;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** The batches of one file; see the module comment for the checks. */
export async function* readParquet(input: ByteInput, options: FormatReadOptions): AsyncGenerator<RecordBatch> {
  throwIfAborted(options.signal);
  const opened = await openParquet(input, options.parquet, true);
  const { footer, handle, bytes } = opened;
  const checkCrc = options.parquet?.verifyChecksums !== false;
  const file = input.name;
  // A failure of the byte source comes first: parquet-wasm only sees a failed read.
  const classify = (error: unknown): unknown =>
    bytes.failure ?? (isHonkError(error) ? error : undecodable(file, error));
  let int96: Int96Check | undefined;
  try {
    const schema = options.schema ?? opened.read.schema;
    const batchSize = readBatchRows(footer, options.batchRows);
    int96 = opened.int96Check
      ? new Int96Check(
          (decodeOptions) => rowGroupBatches(opened.int96Check as parquet.ParquetFile, decodeOptions),
          opened.read.int96Columns,
          options.parquet?.int96 ?? 'us',
          file,
        )
      : undefined;
    for (let group = 0; group < footer.rowGroups.length; group++) {
      const expected = (footer.rowGroups[group] as ParquetFooter['rowGroups'][number]).numRows;
      let decoded = 0;
      try {
        await bytes.prefetch(group, checkCrc, int96 !== undefined);
        await int96?.startRowGroup(group, batchSize);
        for await (const batch of rowGroupBatches(handle, { batchSize, rowGroups: [group] })) {
          throwIfAborted(options.signal);
          checkTypes(batch, schema, file);
          await int96?.check(batch, decoded);
          decoded += batch.numRows;
          // Re-badge with the dataset schema: same types, one Schema object for every batch.
          yield new RecordBatch(schema, batch.data);
        }
        bytes.release();
      } catch (error) {
        throw classify(error);
      }
      if (decoded !== expected) {
        throw new HonkError(
          'DATA_CORRUPT',
          `${file} is corrupt: row group ${group} declares ${expected} rows but ${decoded} were decoded from it. Re-export the file from its producer.`,
          { details: { file, rowGroup: group, expected, decoded } },
        );
      }
    }
  } finally {
    await int96?.close().catch(() => undefined);
    opened.free();
  }
}

/** Fails clearly when a decoded batch does not hold the announced types (instead of re-badging garbage). */
function checkTypes(batch: RecordBatch, schema: Schema, file: string): void {
  const fields = batch.schema.fields;
  for (let index = 0; index < schema.fields.length; index++) {
    const announced = schema.fields[index];
    const decoded = fields[index];
    if (!announced || !decoded || announced.typeId !== decoded.typeId) {
      throw new HonkError(
        'SCHEMA_MISMATCH',
        `${file}: column "${announced?.name ?? decoded?.name}" decodes as ${String(decoded?.type)} but the file's schema says ${String(announced?.type)}. All part files of a dataset must share one schema; if this is one file, re-export it.`,
        { details: { file, column: announced?.name ?? decoded?.name } },
      );
    }
  }
}
