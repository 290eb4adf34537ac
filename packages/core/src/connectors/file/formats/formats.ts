/** Picks the reader and writer for a format with one endpoint's options. */
import type { DataType, Schema } from 'apache-arrow';
import { parseTypeName } from '../../../arrow/type-names.ts';
import { ConfigError, isHonkError } from '../../../errors/honk-error.ts';
import type { FileEndpoint, FileFormatName } from '../file-options.ts';
import { ArrowIpcReader, ArrowIpcWriter } from './arrow-ipc-format.ts';
import { CsvReader, CsvWriter } from './csv-format.ts';
import type { FormatReader, FormatWriter } from './file-format.ts';
import { NdjsonReader, NdjsonWriter } from './ndjson-format.ts';
import { ParquetReader, ParquetWriter } from './parquet-format.ts';

/** Parses the endpoint's `schema:` option; errors name the option path. */
export function explicitTypes(endpoint: FileEndpoint): Map<string, DataType> {
  const types = new Map<string, DataType>();
  for (const [column, name] of Object.entries(endpoint.schema ?? {})) {
    try {
      types.set(column, parseTypeName(name));
    } catch (error) {
      if (!isHonkError(error)) throw error;
      throw new ConfigError(`File connector: schema.${column}: ${error.message}`, {
        details: { option: `schema.${column}` },
        cause: error,
      });
    }
  }
  return types;
}

/**
 * A reader for `format`. `fixed` (the schema a sink wrote) replaces inference for text
 * formats, so staged CSV/NDJSON read back with exactly the written types.
 */
export function createFormatReader(format: FileFormatName, endpoint: FileEndpoint, fixed?: Schema): FormatReader {
  const explicit = explicitTypes(endpoint);
  if (fixed) for (const field of fixed.fields) explicit.set(field.name, field.type);
  switch (format) {
    case 'parquet':
      return new ParquetReader();
    case 'arrow':
      return new ArrowIpcReader();
    case 'csv':
      return new CsvReader(endpoint.csv, explicit);
    case 'ndjson':
      return new NdjsonReader(explicit);
  }
}

/** Opens a writer for a new file (`wx`: never overwrites). */
export function openFormatWriter(
  format: FileFormatName,
  file: string,
  schema: Schema,
  endpoint: FileEndpoint,
): Promise<FormatWriter> {
  switch (format) {
    case 'parquet':
      return ParquetWriter.open(file, schema, endpoint.parquet);
    case 'arrow':
      return ArrowIpcWriter.open(file, schema);
    case 'csv':
      return CsvWriter.open(file, schema, endpoint.csv);
    case 'ndjson':
      return NdjsonWriter.open(file, schema);
  }
}
