/**
 * Table names and SQL identifiers. Every identifier Honk puts into SQL goes through
 * {@link quoteIdentifier}, so a table called `we"ird ta ble` works and cannot inject SQL.
 * `table:` is parsed by PostgreSQL's own rules for a qualified name ({@link parseTableName}),
 * so Honk addresses exactly the table PostgreSQL means by the same text.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '@honk/core';

/** A schema-qualified table name, unquoted: the exact names in the catalog. */
export interface TableName {
  /**
   * The database part of `database.schema.table`, folded like the others. PostgreSQL cannot
   * reach another database over one connection, so it must name the connection's database
   * (checked when the table is looked up, see `findTable`).
   */
  database?: string;
  schema: string;
  table: string;
}

/**
 * PostgreSQL's identifier limit in bytes (NAMEDATALEN - 1 on every stock build). Longer
 * names are truncated by the server with only a NOTICE, which could address another table.
 */
export const MAX_IDENTIFIER_BYTES = 63;

/** Double-quotes an identifier, doubling embedded quotes. NUL bytes cannot appear in PostgreSQL names. */
export function quoteIdentifier(name: string): string {
  if (name.includes('\0'))
    throw new ConfigError(`PostgreSQL identifiers cannot contain NUL bytes: ${JSON.stringify(name)}.`);
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"` (the database part is the connection's own, so it is left out). */
export function quoteTable(name: TableName): string {
  return `${quoteIdentifier(name.schema)}.${quoteIdentifier(name.table)}`;
}

/** Whitespace PostgreSQL's scanner skips between tokens. */
const SPACE = /[ \t\n\r\f\v]/;
/** First character of an unquoted identifier: ASCII letter, underscore, or any non-ASCII character. */
const IDENTIFIER_START = /[A-Za-z_\u0080-\u{10FFFF}]/u;
/** Later characters of an unquoted identifier: also digits and `$`. */
const IDENTIFIER_PART = /[A-Za-z0-9_$\u0080-\u{10FFFF}]/u;

/**
 * Parses the `table:` option by PostgreSQL's rules for a qualified name:
 *
 * - up to three dot-separated parts: `table`, `schema.table` or `database.schema.table`
 *   (the database must be the connection's own); `table` alone goes to `defaultSchema`;
 * - an unquoted part is an SQL identifier (letters, digits, `_`, `$`, not starting with a
 *   digit) and is folded to lower case (ASCII letters only, as PostgreSQL does in UTF-8
 *   databases): `Sales.Orders` is `sales.orders`;
 * - a part in double quotes is taken exactly, `""` standing for one quote:
 *   `public."My Table"`, `"Sales"."Q1; 2026"`, `"a""b"`; a dot inside quotes is part of the name;
 * - whitespace around parts and dots is ignored;
 * - each part must be 1 to 63 bytes of UTF-8 (PostgreSQL would truncate a longer one).
 *
 * Anything else (an unterminated quote, an empty part, a fourth part, a space or punctuation
 * outside quotes) is a ConfigError naming `table:` and saying how to write the name.
 */
export function parseTableName(text: string, defaultSchema = 'public'): TableName {
  const fail = (problem: string): never => {
    throw new ConfigError(
      `table: ${JSON.stringify(text)} is not a valid PostgreSQL table name: ${problem}. ` +
        'Write table, schema.table or database.schema.table; put a part in double quotes to keep its case ' +
        'or to use spaces, dots or punctuation (write "" for a quote inside): public."My Table".',
      { details: { option: 'table', value: text } },
    );
  };
  if (text.includes('\0')) fail('it contains a NUL byte');
  const parts: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && SPACE.test(text[i]!)) i++;
  };
  for (;;) {
    skipSpace();
    const start = i;
    let part: string;
    if (text[i] === '"') {
      part = '';
      i++;
      for (;;) {
        if (i >= text.length) fail(`unterminated quoted identifier starting at position ${start + 1}`);
        const quote = text.indexOf('"', i);
        if (quote === -1) {
          i = text.length;
          continue;
        }
        part += text.slice(i, quote);
        if (text[quote + 1] === '"') {
          part += '"';
          i = quote + 2;
          continue;
        }
        i = quote + 1;
        break;
      }
    } else {
      if (i >= text.length || text[i] === '.') {
        fail(parts.length === 0 && i >= text.length ? 'it is empty' : `empty part at position ${i + 1}`);
      }
      const first = String.fromCodePoint(text.codePointAt(i)!);
      if (!IDENTIFIER_START.test(first)) {
        fail(`unexpected ${JSON.stringify(first)} at position ${i + 1} (use double quotes for such names)`);
      }
      while (i < text.length) {
        const character = String.fromCodePoint(text.codePointAt(i)!);
        if (!IDENTIFIER_PART.test(character)) break;
        i += character.length;
      }
      // PostgreSQL folds only ASCII letters of unquoted names in multi-byte encodings.
      part = text.slice(start, i).replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
    }
    if (part.length === 0) fail(`empty part at position ${start + 1} ("" is not a name)`);
    const bytes = Buffer.byteLength(part, 'utf8');
    if (bytes > MAX_IDENTIFIER_BYTES) {
      fail(
        `the part ${JSON.stringify(part)} is ${bytes} bytes; PostgreSQL names are at most ${MAX_IDENTIFIER_BYTES} bytes ` +
          '(the server would silently shorten it, which can name another table)',
      );
    }
    parts.push(part);
    const end = i;
    skipSpace();
    if (i >= text.length) break;
    if (text[i] !== '.') {
      const found = i > end ? 'a space' : JSON.stringify(String.fromCodePoint(text.codePointAt(i)!));
      const after = text[start] === '"' ? ' after a quoted part' : '';
      fail(`unexpected ${found}${after} at position ${end + 1} (use double quotes for such names)`);
    }
    i++;
  }
  if (parts.length === 1) return { schema: defaultSchema, table: parts[0]! };
  if (parts.length === 2) return { schema: parts[0]!, table: parts[1]! };
  if (parts.length === 3) return { database: parts[0]!, schema: parts[1]!, table: parts[2]! };
  return fail(`it has ${parts.length} parts`);
}

/** Short stable hash for deterministic object names (staging tables, snapshots). */
export function shortHash(text: string, length = 16): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** A name part that `parseTableName` reads back unchanged without quotes. */
const PLAIN_PART = /^[a-z_][a-z0-9_$]*$/;

/**
 * The `table:` text for a name: plain lower-case parts as they are, every other part in
 * double quotes, so {@link parseTableName} reads it back as exactly this name
 * (`{ schema: 'Sales', table: 'q1' }` → `"Sales".q1`).
 */
export function formatTableName(name: Pick<TableName, 'schema' | 'table'>): string {
  const part = (text: string): string => (PLAIN_PART.test(text) ? text : quoteIdentifier(text));
  return `${part(name.schema)}.${part(name.table)}`;
}
