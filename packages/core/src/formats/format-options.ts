/**
 * Format settings shared by every connector that stores files: `csv:` and `parquet:` take
 * the same shape on a file endpoint and an S3 endpoint. Documented in docs/file-connector.md.
 */
import { z } from 'zod';

const singleCharacter = (what: string) =>
  z
    .string()
    .refine((value) => value.length === 1 && value.charCodeAt(0) < 128, `${what} must be a single ASCII character`);

/** CSV settings. */
export const csvOptionsSchema = z
  .object({
    /** The first line holds column names (default true). Without a header, columns are `column_1` … or the keys of `schema` in order. Writers write a header when true. */
    header: z.boolean().optional(),
    /** Field separator, one ASCII character (default `,`; use `"\t"` for TSV). */
    delimiter: singleCharacter('csv.delimiter').optional(),
    /** Quote character, one ASCII character (default `"`); a quote inside a quoted field is doubled (RFC 4180). */
    quote: singleCharacter('csv.quote').optional(),
    /**
     * The text that means NULL. Unset (the default): an unquoted empty field is NULL and a
     * quoted empty field (`""`) is the empty string. Set (e.g. `\N`): an unquoted field equal
     * to it is NULL and every other field, empty ones included, is a value; the writer quotes
     * values that equal it.
     */
    nullValue: z.string().optional(),
  })
  .strict();
export type CsvOptions = z.infer<typeof csvOptionsSchema>;

/** Parquet settings: most are for writers; `verifyChecksums` and `int96` are for readers. */
export const parquetOptionsSchema = z
  .object({
    /**
     * Readers: verify the CRC-32 of every page that carries one (default true). A mismatch
     * fails the read as DATA_CORRUPT naming the file, row group, column and page. Costs one
     * CRC pass over the compressed pages; no extra reads.
     */
    verifyChecksums: z.boolean().optional(),
    /**
     * Readers: the unit INT96 timestamps (Spark, Hive, Impala) are read at. `us` (default)
     * holds the years 0001–9999, Spark's 9999-12-31 sentinel included, and refuses a value
     * with nanoseconds below the microsecond; `ns` keeps nanoseconds and refuses a value
     * outside 1677–2262. Neither ever wraps or drops a digit silently.
     */
    int96: z.enum(['us', 'ns']).optional(),
    /** Compression codec for written files (default `snappy`: fastest; `zstd` files are several times smaller but take about twice as long to write). */
    compression: z.enum(['snappy', 'zstd', 'uncompressed']).optional(),
    /**
     * Dictionary encoding: `true` for every column, `false` for none, or the list of columns
     * to dictionary-encode. Default: the text and binary columns (where values repeat;
     * dictionary-encoding numbers and timestamps costs much write time for little).
     */
    dictionary: z.union([z.boolean(), z.array(z.string())]).optional(),
    /** Maximum rows per row group (default 131072). Bounds writer memory and read granularity. */
    rowGroupRows: z.number().int().positive().optional(),
    /**
     * Maximum uncompressed bytes per row group (default 4 MiB); a row group closes at
     * `rowGroupRows` or here, whichever comes first. The open row group is buffered inside
     * parquet-wasm, whose memory never shrinks, so this bounds the writer's memory for wide rows.
     */
    rowGroupBytes: z.number().int().positive().optional(),
  })
  .strict();
export type ParquetOptions = z.infer<typeof parquetOptionsSchema>;

/** Default maximum rows per Parquet row group. */
export const DEFAULT_ROW_GROUP_ROWS = 131_072;
/** Default maximum uncompressed bytes per Parquet row group. */
export const DEFAULT_ROW_GROUP_BYTES = 4 * 1024 * 1024;
