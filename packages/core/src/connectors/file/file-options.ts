/**
 * Options of the file connector: connection options (`root`) and endpoint options (`path`,
 * `format`, per-format settings). Every option is documented here and in
 * docs/file-connector.md.
 */
import { z } from 'zod';
import { pathOption } from '../../connector/option-marks.ts';
import { ConfigError } from '../../errors/honk-error.ts';
import { csvOptionsSchema, parquetOptionsSchema } from '../../formats/format-options.ts';
import { withoutCompressionExtension } from '../../formats/text-compression.ts';

export {
  type CsvOptions,
  csvOptionsSchema,
  DEFAULT_ROW_GROUP_ROWS,
  type ParquetOptions,
  parquetOptionsSchema,
} from '../../formats/format-options.ts';

/** The file formats the connector reads and writes. */
export const fileFormats = ['parquet', 'csv', 'ndjson', 'arrow'] as const;
export type FileFormatName = (typeof fileFormats)[number];

/** Connection options. */
export const fileOptionsSchema = z
  .object({
    /**
     * The directory every endpoint path resolves under. A relative root resolves against the
     * spec's directory (made absolute when the task is enqueued, so every agent uses the same
     * directory). A path that escapes the root (`../x`, an absolute path elsewhere) is a
     * ConfigError; symbolic links inside the root are followed.
     */
    root: pathOption(z.string().min(1)),
  })
  .strict();
export type FileOptions = z.infer<typeof fileOptionsSchema>;

/** Endpoint options: what a task's `source:` or `target:` says besides `connection`. */
export const fileEndpointSchema = z
  .object({
    /**
     * Relative to the connection root. As a source: a file, a directory of part files (not
     * recursive; names starting with `.` or `_` are skipped) or a glob (`parts/*.parquet`;
     * `*`, `?` and `[…]` inside path segments, no `**`); files are read in name order. As a
     * target: a path with an extension (`orders.parquet`) is one file; a path without an
     * extension or ending in `/` is a directory of part files.
     */
    path: z.string().min(1),
    /**
     * The format; inferred from the extension (.parquet/.pq, .csv, .ndjson/.jsonl,
     * .arrow/.feather (Arrow IPC file), .arrows/.ipc (Arrow IPC stream)) when missing, looking
     * through a compression extension (`orders.csv.gz`, `events.jsonl.zst`: csv and ndjson
     * files may be gzip or zstd).
     */
    format: z.enum(fileFormats).optional(),
    /** CSV settings, see {@link csvOptionsSchema}. */
    csv: csvOptionsSchema.optional(),
    /**
     * Explicit column types for CSV and NDJSON, by column name, using the names of
     * `parseTypeName` (`int64`, `decimal(12,2)`, `timestamp[us, UTC]`, `list<int32>` …).
     * Columns not listed are inferred from a sample. Parquet and Arrow carry their own schema
     * and reject this option.
     */
    schema: z.record(z.string(), z.string()).optional(),
    /** Parquet writer settings, see {@link parquetOptionsSchema}. */
    parquet: parquetOptionsSchema.optional(),
    /**
     * Directory targets: roll to a new part file once the current one reaches this many bytes
     * (default 256 MiB). Single-file targets are always one file and ignore it.
     */
    partFileBytes: z.number().int().positive().optional(),
  })
  .strict();
export type FileEndpoint = z.infer<typeof fileEndpointSchema>;

/** The default part size for directory targets. */
export const DEFAULT_PART_FILE_BYTES = 256 * 1024 * 1024;

const extensions: Record<string, FileFormatName> = {
  '.parquet': 'parquet',
  '.pq': 'parquet',
  '.csv': 'csv',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.arrow': 'arrow',
  '.arrows': 'arrow',
  '.feather': 'arrow',
  '.ipc': 'arrow',
};

/** The canonical extension written for each format. */
export const formatExtension: Record<FileFormatName, string> = {
  parquet: '.parquet',
  csv: '.csv',
  ndjson: '.ndjson',
  arrow: '.arrows',
};

/** The format a file name implies (`orders.csv.gz` is csv), or undefined. */
export function formatOfName(name: string): FileFormatName | undefined {
  const base = withoutCompressionExtension(name);
  const dot = base.lastIndexOf('.');
  if (dot <= 0) return undefined;
  return extensions[base.slice(dot).toLowerCase()];
}

/**
 * The endpoint's format: explicit, else from `path`, else from the given file names (which
 * must agree). Throws a ConfigError saying how to fix it.
 */
export function resolveFormat(endpoint: FileEndpoint, fileNames: readonly string[] = []): FileFormatName {
  if (endpoint.format) return endpoint.format;
  const fromPath = formatOfName(endpoint.path.replace(/\/+$/, ''));
  if (fromPath) return fromPath;
  const found = new Set(fileNames.map((name) => formatOfName(name)));
  if (found.size === 1) {
    const only = [...found][0];
    if (only) return only;
  }
  const known = `${Object.keys(extensions).join(', ')} (csv and ndjson also followed by .gz or .zst)`;
  throw new ConfigError(
    found.size > 1
      ? `File connector: path "${endpoint.path}" holds files of several formats; set \`format:\` (one of ${fileFormats.join(', ')}) and keep one format per dataset.`
      : `File connector: cannot tell the format of "${endpoint.path}" from its name (known extensions: ${known}); set \`format:\` to one of ${fileFormats.join(', ')}.`,
    { details: { option: 'format', path: endpoint.path } },
  );
}

/** Rejects option combinations that make no sense for the format. */
export function checkEndpointForFormat(endpoint: FileEndpoint, format: FileFormatName): void {
  if (endpoint.schema && (format === 'parquet' || format === 'arrow')) {
    throw new ConfigError(
      `File connector: \`schema:\` is for csv and ndjson; ${format} files carry their own schema. Remove \`schema:\` from the endpoint "${endpoint.path}" (use a cast transform to change types).`,
      { details: { option: 'schema' } },
    );
  }
  if (endpoint.csv && format !== 'csv') {
    throw new ConfigError(
      `File connector: \`csv:\` options are set but the format of "${endpoint.path}" is ${format}.`,
      {
        details: { option: 'csv' },
      },
    );
  }
  if (endpoint.parquet && format !== 'parquet') {
    throw new ConfigError(
      `File connector: \`parquet:\` options are set but the format of "${endpoint.path}" is ${format}.`,
      { details: { option: 'parquet' } },
    );
  }
}
