/**
 * Table names and SQL identifiers. Every identifier Honk puts into SQL goes through
 * {@link quoteIdentifier}, so a table called `we"ird ta ble` works and cannot inject SQL.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '@honk/core';

/** A schema-qualified table name, unquoted. */
export interface TableName {
  schema: string;
  table: string;
}

/** Double-quotes an identifier, doubling embedded quotes. NUL bytes cannot appear in PostgreSQL names. */
export function quoteIdentifier(name: string): string {
  if (name.includes('\0'))
    throw new ConfigError(`PostgreSQL identifiers cannot contain NUL bytes: ${JSON.stringify(name)}.`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"`. */
export function quoteTable(name: TableName): string {
  return `${quoteIdentifier(name.schema)}.${quoteIdentifier(name.table)}`;
}

/**
 * Parses the `table:` option. `orders` is `public.orders`; `sales.orders` names a schema;
 * a part written in double quotes is taken literally (`"my.schema"."odd""name"`), which is
 * how names containing dots are written. Unquoted parts keep their case and characters as
 * written (no folding to lower case: what you write is the table's real name).
 */
export function parseTableName(text: string, defaultSchema = 'public'): TableName {
  const parts: string[] = [];
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      let part = '';
      i++;
      for (;;) {
        if (i >= text.length)
          throw new ConfigError(`Unterminated quoted identifier in table name ${JSON.stringify(text)}.`);
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i];
        i++;
      }
      parts.push(part);
      if (i < text.length && text[i] !== '.') {
        throw new ConfigError(`Unexpected text after a quoted identifier in table name ${JSON.stringify(text)}.`);
      }
      i++;
    } else {
      // A name with a quote that does not start a part (we"ird) is one literal part.
      const dot = text.includes('"') ? -1 : text.indexOf('.', i);
      const end = dot === -1 ? text.length : dot;
      parts.push(text.slice(i, end));
      i = end + 1;
    }
  }
  if (parts.length === 1) return { schema: defaultSchema, table: nonEmpty(parts[0]!, text) };
  if (parts.length === 2) return { schema: nonEmpty(parts[0]!, text), table: nonEmpty(parts[1]!, text) };
  throw new ConfigError(
    `Table name ${JSON.stringify(text)} has ${parts.length} parts; write "table" or "schema.table" (quote parts that contain dots).`,
  );
}

function nonEmpty(part: string, text: string): string {
  if (part.length === 0) throw new ConfigError(`Table name ${JSON.stringify(text)} has an empty part.`);
  return part;
}

/** Short stable hash for deterministic object names (staging tables, snapshots). */
export function shortHash(text: string, length = 16): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
