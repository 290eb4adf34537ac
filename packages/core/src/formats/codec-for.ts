/** Picks a format's codec and parses the column-type option of text formats. */
import type { DataType, Schema } from 'apache-arrow';
import { parseTypeName } from '../arrow/type-names.ts';
import { ConfigError, isHonkError } from '../errors/honk-error.ts';
import { arrowIpcCodec } from './arrow-ipc-codec.ts';
import { csvCodec } from './csv-codec.ts';
import type { FormatCodec, FormatName } from './format-codec.ts';
import { ndjsonCodec } from './ndjson-codec.ts';
import { parquetCodec } from './parquet-codec.ts';
import {
  compressionExtensions,
  compressionOfName,
  type TextCompression,
  withoutCompressionExtension,
} from './text-compression.ts';
import { decodedType } from './text-values.ts';

const codecs: Record<FormatName, FormatCodec> = {
  parquet: parquetCodec,
  csv: csvCodec,
  ndjson: ndjsonCodec,
  arrow: arrowIpcCodec,
};

/** The codec of a format; a ConfigError names the known formats when `format` is none of them. */
export function codecFor(format: FormatName): FormatCodec {
  const codec = Object.hasOwn(codecs, format) ? codecs[format] : undefined;
  if (!codec) {
    throw new ConfigError(`Unknown format "${String(format)}"; use one of ${Object.keys(codecs).join(', ')}.`, {
      details: { option: 'format' },
    });
  }
  return codec;
}

/**
 * The format a file name's extension implies (`.parquet`, `.pq`, `.csv`, `.jsonl` …), or
 * undefined. A compression extension after it is looked through: `orders.csv.gz` is CSV.
 */
export function formatOfExtension(name: string): FormatName | undefined {
  const base = withoutCompressionExtension(name);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const extension = base.slice(dot).toLowerCase();
  return Object.values(codecs).find((codec) => codec.extensions.includes(extension))?.name;
}

/** Formats whose files may be compressed as a whole (gzip, zstd). */
export function isCompressibleFormat(format: FormatName): boolean {
  return format === 'csv' || format === 'ndjson';
}

/**
 * The compression a file name asks for (`orders.csv.gz` → gzip), refusing it for a format
 * that compresses inside the file (Parquet, Arrow IPC) with a ConfigError naming `where`.
 */
export function compressionFor(format: FormatName, name: string, where: string): TextCompression | undefined {
  const compression = compressionOfName(name);
  if (compression && !isCompressibleFormat(format)) {
    throw new ConfigError(
      `${where}"${name}" ends in ${compressionExtensions[compression][0]}, but ${format} files are not compressed as a whole: gzip and zstd apply to csv and ndjson. Drop the extension (for Parquet, set \`parquet.compression\` instead).`,
      { details: { option: 'path', compression } },
    );
  }
  return compression;
}

/**
 * Parses a `schema:` option (column → type name, as `parseTypeName` reads them) into the
 * `types` of {@link FormatOptions}. `fixed` (the schema a sink wrote) is added on top, so
 * staged text files read back with exactly the written types (dictionaries as their value
 * type, which is what the writers wrote). Errors name the option as
 * `<where>schema.<column>`.
 */
export function parseColumnTypes(
  schema: Readonly<Record<string, string>> | undefined,
  where: string,
  fixed?: Schema,
): Map<string, DataType> {
  const types = new Map<string, DataType>();
  for (const [column, name] of Object.entries(schema ?? {})) {
    try {
      types.set(column, parseTypeName(name));
    } catch (error) {
      if (!isHonkError(error)) throw error;
      throw new ConfigError(`${where}schema.${column}: ${error.message}`, {
        details: { option: `schema.${column}` },
        cause: error,
      });
    }
  }
  // A schema a sink wrote: dictionary columns were written as their values.
  if (fixed) for (const field of fixed.fields) types.set(field.name, decodedType(field.type));
  return types;
}
