/** Picks a format's codec and parses the column-type option of text formats. */
import type { DataType, Schema } from 'apache-arrow';
import { parseTypeName } from '../arrow/type-names.ts';
import { ConfigError, isHonkError } from '../errors/honk-error.ts';
import { arrowIpcCodec } from './arrow-ipc-codec.ts';
import { csvCodec } from './csv-codec.ts';
import type { FormatCodec, FormatName } from './format-codec.ts';
import { ndjsonCodec } from './ndjson-codec.ts';
import { parquetCodec } from './parquet-codec.ts';

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

/** The format a file name's extension implies (`.parquet`, `.pq`, `.csv`, `.jsonl` …), or undefined. */
export function formatOfExtension(name: string): FormatName | undefined {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const extension = name.slice(dot).toLowerCase();
  return Object.values(codecs).find((codec) => codec.extensions.includes(extension))?.name;
}

/**
 * Parses a `schema:` option (column → type name, as `parseTypeName` reads them) into the
 * `types` of {@link FormatOptions}. `fixed` (the schema a sink wrote) is added on top, so
 * staged text files read back with exactly the written types. Errors name the option as
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
  if (fixed) for (const field of fixed.fields) types.set(field.name, field.type);
  return types;
}
