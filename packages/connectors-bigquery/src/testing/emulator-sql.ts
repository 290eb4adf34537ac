/**
 * The GoogleSQL the emulator runs — deliberately a small subset, not a SQL engine:
 * - `SELECT * | col [AS alias], … | COUNT(*) [AS alias] FROM table [FOR SYSTEM_TIME AS OF TIMESTAMP '…']
 *   [WHERE …] [ORDER BY col [ASC|DESC], …] [LIMIT n]`, where the condition combines
 *   `col op literal` (=, !=, <>, <, <=, >, >=), `col IS [NOT] NULL` and `col IN (literals)`
 *   with AND, OR, NOT and parentheses;
 * - the `MERGE` the sink issues (bigquery-publish.ts).
 * Anything else is answered `invalidQuery` saying the emulator does not support it.
 */
import { type BigQueryField, canonicalType } from '../bigquery-types.ts';
import { type Cell, cellFromJson, compareCells } from './emulator-values.ts';

/** A statement the emulator does not run. */
export class UnsupportedSqlError extends Error {
  readonly reason = 'invalidQuery';
}

/** A table name as written in SQL: `p.d.t`, `d.t`, or with each part quoted. */
export interface SqlTable {
  projectId?: string;
  datasetId: string;
  tableId: string;
}

export type Condition =
  | { kind: 'compare'; column: string; op: string; literal: unknown }
  | { kind: 'null'; column: string; negated: boolean }
  | { kind: 'in'; column: string; literals: unknown[] }
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'not'; inner: Condition };

export interface SelectStatement {
  kind: 'select';
  table: SqlTable;
  /** null: `*`. */
  columns: { name: string; alias: string }[] | null;
  count?: string;
  asOf?: string;
  where?: Condition;
  orderBy: { column: string; descending: boolean }[];
  limit?: number;
}

export interface MergeStatement {
  kind: 'merge';
  target: SqlTable;
  source: SqlTable;
  keys: string[];
  update: string[];
  insert: string[];
}

type Token = { type: 'word' | 'ident' | 'string' | 'number' | 'symbol'; text: string };

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  const pattern =
    /\s+|--[^\n]*|(`(?:[^`\\]|\\.)*`)|('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_-]*)|(<=|>=|<>|!=|[=<>(),.*;])/y;
  let at = 0;
  while (at < sql.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(sql);
    if (!match)
      throw new UnsupportedSqlError(`Syntax error at [${at}]: the emulator cannot read "${sql.slice(at, at + 20)}".`);
    at = pattern.lastIndex;
    if (match[1]) tokens.push({ type: 'ident', text: match[1].slice(1, -1).replace(/\\(.)/g, '$1') });
    else if (match[2]) tokens.push({ type: 'string', text: match[2].slice(1, -1).replace(/\\(.)/g, '$1') });
    else if (match[3]) tokens.push({ type: 'number', text: match[3] });
    else if (match[4]) tokens.push({ type: 'word', text: match[4] });
    else if (match[5]) tokens.push({ type: 'symbol', text: match[5] });
  }
  return tokens;
}

class Parser {
  readonly tokens: Token[];
  at = 0;
  constructor(sql: string) {
    this.tokens = tokenize(sql);
  }
  peek(offset = 0): Token | undefined {
    return this.tokens[this.at + offset];
  }
  isWord(word: string, offset = 0): boolean {
    const token = this.peek(offset);
    return token?.type === 'word' && token.text.toUpperCase() === word;
  }
  isSymbol(symbol: string): boolean {
    const token = this.peek();
    return token?.type === 'symbol' && token.text === symbol;
  }
  accept(word: string): boolean {
    if (!this.isWord(word)) return false;
    this.at++;
    return true;
  }
  expectWord(word: string): void {
    if (!this.accept(word)) this.unsupported(`expected ${word}`);
  }
  expectSymbol(symbol: string): void {
    if (!this.isSymbol(symbol)) this.unsupported(`expected "${symbol}"`);
    this.at++;
  }
  unsupported(detail: string): never {
    const near = this.peek()?.text ?? 'the end';
    throw new UnsupportedSqlError(
      `This statement is not supported by the emulator (${detail} near "${near}"). It runs SELECT … FROM one table with simple WHERE conditions, COUNT(*), and the MERGE Honk's sink issues; run anything else against BigQuery itself.`,
    );
  }
  name(): string {
    const token = this.peek();
    if (!token || (token.type !== 'word' && token.type !== 'ident')) this.unsupported('expected a name');
    this.at++;
    return token.text;
  }
  table(): SqlTable {
    const parts: string[] = [];
    do parts.push(...this.name().split('.'));
    while (this.isSymbol('.') && ++this.at);
    if (parts.length === 2) return { datasetId: parts[0] as string, tableId: parts[1] as string };
    if (parts.length === 3)
      return { projectId: parts[0] as string, datasetId: parts[1] as string, tableId: parts[2] as string };
    return this.unsupported('expected dataset.table');
  }
  literal(): unknown {
    const token = this.peek();
    if (!token) this.unsupported('expected a value');
    if (token.type === 'string' || token.type === 'number') {
      this.at++;
      return token.text;
    }
    if (token.type === 'word') {
      const word = token.text.toUpperCase();
      if (word === 'TRUE' || word === 'FALSE') {
        this.at++;
        return word === 'TRUE';
      }
      if (word === 'NULL') {
        this.at++;
        return null;
      }
      if (
        ['DATE', 'DATETIME', 'TIME', 'TIMESTAMP', 'NUMERIC', 'BIGNUMERIC', 'JSON'].includes(word) &&
        this.peek(1)?.type === 'string'
      ) {
        this.at += 2;
        return (this.tokens[this.at - 1] as Token).text;
      }
    }
    return this.unsupported('expected a literal');
  }
  column(): string {
    const name = this.name();
    // `T.col` qualifiers are dropped: a statement reads one table.
    if (this.isSymbol('.')) {
      this.at++;
      return this.name();
    }
    return name;
  }
  primary(): Condition {
    if (this.isSymbol('(')) {
      this.at++;
      const inner = this.or();
      this.expectSymbol(')');
      return inner;
    }
    if (this.accept('NOT')) return { kind: 'not', inner: this.primary() };
    const column = this.column();
    if (this.accept('IS')) {
      const negated = this.accept('NOT');
      this.expectWord('NULL');
      return { kind: 'null', column, negated };
    }
    if (this.accept('IN')) {
      this.expectSymbol('(');
      const literals = [this.literal()];
      while (this.isSymbol(',')) {
        this.at++;
        literals.push(this.literal());
      }
      this.expectSymbol(')');
      return { kind: 'in', column, literals };
    }
    const op = this.peek();
    if (op?.type !== 'symbol' || !['=', '!=', '<>', '<', '<=', '>', '>='].includes(op.text))
      this.unsupported('expected a comparison');
    this.at++;
    return { kind: 'compare', column, op: op.text, literal: this.literal() };
  }
  and(): Condition {
    let left = this.primary();
    while (this.accept('AND')) left = { kind: 'and', left, right: this.primary() };
    return left;
  }
  or(): Condition {
    let left = this.and();
    while (this.accept('OR')) left = { kind: 'or', left, right: this.and() };
    return left;
  }
  end(): void {
    if (this.isSymbol(';')) this.at++;
    if (this.at < this.tokens.length) this.unsupported('unexpected text');
  }
}

function parseSelect(parser: Parser): SelectStatement {
  parser.expectWord('SELECT');
  let columns: SelectStatement['columns'] = [];
  let count: string | undefined;
  if (parser.isSymbol('*')) {
    parser.at++;
    columns = null;
  } else if (parser.isWord('COUNT')) {
    parser.at++;
    parser.expectSymbol('(');
    parser.expectSymbol('*');
    parser.expectSymbol(')');
    count = parser.accept('AS') ? parser.name() : 'f0_';
  } else {
    do {
      if (parser.isSymbol(',')) parser.at++;
      const name = parser.column();
      const alias = parser.accept('AS') ? parser.name() : name;
      columns.push({ name, alias });
    } while (parser.isSymbol(','));
  }
  parser.expectWord('FROM');
  const table = parser.table();
  const statement: SelectStatement = { kind: 'select', table, columns, orderBy: [], ...(count ? { count } : {}) };
  if (parser.accept('FOR')) {
    parser.expectWord('SYSTEM_TIME');
    parser.expectWord('AS');
    parser.expectWord('OF');
    statement.asOf = String(parser.literal());
  }
  if (parser.accept('WHERE')) statement.where = parser.or();
  if (parser.accept('ORDER')) {
    parser.expectWord('BY');
    do {
      if (parser.isSymbol(',')) parser.at++;
      const column = parser.column();
      const descending = parser.accept('DESC');
      if (!descending) parser.accept('ASC');
      statement.orderBy.push({ column, descending });
    } while (parser.isSymbol(','));
  }
  if (parser.accept('LIMIT')) statement.limit = Number(parser.literal());
  parser.end();
  return statement;
}

function parseMerge(parser: Parser): MergeStatement {
  parser.expectWord('MERGE');
  parser.accept('INTO');
  const target = parser.table();
  parser.accept('AS');
  const targetAlias = parser.name();
  parser.expectWord('USING');
  const source = parser.table();
  parser.accept('AS');
  parser.name();
  parser.expectWord('ON');
  const keys: string[] = [];
  do {
    const left = parser.column();
    parser.expectSymbol('=');
    const right = parser.column();
    if (left !== right) parser.unsupported('MERGE ON must compare equal column names');
    keys.push(left);
  } while (parser.accept('AND'));
  const update: string[] = [];
  const insert: string[] = [];
  while (parser.accept('WHEN')) {
    if (parser.accept('MATCHED')) {
      parser.expectWord('THEN');
      parser.expectWord('UPDATE');
      parser.expectWord('SET');
      do {
        if (parser.isSymbol(',')) parser.at++;
        const column = parser.column();
        parser.expectSymbol('=');
        if (parser.column() !== column) parser.unsupported('UPDATE SET must copy the same column');
        update.push(column);
      } while (parser.isSymbol(','));
    } else {
      parser.expectWord('NOT');
      parser.expectWord('MATCHED');
      parser.expectWord('THEN');
      parser.expectWord('INSERT');
      parser.expectSymbol('(');
      do {
        if (parser.isSymbol(',')) parser.at++;
        insert.push(parser.column());
      } while (parser.isSymbol(','));
      parser.expectSymbol(')');
      parser.expectWord('VALUES');
      parser.expectSymbol('(');
      do {
        if (parser.isSymbol(',')) parser.at++;
        parser.column();
      } while (parser.isSymbol(','));
      parser.expectSymbol(')');
    }
  }
  void targetAlias;
  parser.end();
  return { kind: 'merge', target, source, keys, update, insert };
}

/** Parses a statement of the supported subset; throws UnsupportedSqlError otherwise. */
export function parseSql(sql: string): SelectStatement | MergeStatement {
  const parser = new Parser(sql);
  if (parser.isWord('SELECT')) return parseSelect(parser);
  if (parser.isWord('MERGE')) return parseMerge(parser);
  return parser.unsupported('only SELECT and MERGE are run');
}

/** Evaluates a WHERE condition on a row. NULL compares as unknown (false), as in SQL. */
export function evaluate(
  condition: Condition,
  row: Cell[],
  columnIndex: (name: string) => [number, BigQueryField],
): boolean {
  switch (condition.kind) {
    case 'and':
      return evaluate(condition.left, row, columnIndex) && evaluate(condition.right, row, columnIndex);
    case 'or':
      return evaluate(condition.left, row, columnIndex) || evaluate(condition.right, row, columnIndex);
    case 'not':
      return !evaluate(condition.inner, row, columnIndex);
    case 'null': {
      const [index] = columnIndex(condition.column);
      return (row[index] === null) !== condition.negated;
    }
    case 'in': {
      const [index, field] = columnIndex(condition.column);
      const cell = row[index];
      if (cell === null) return false;
      return condition.literals.some(
        (literal) => literal !== null && compareCells(field, cell, literalCell(field, literal)) === 0,
      );
    }
    case 'compare': {
      const [index, field] = columnIndex(condition.column);
      const cell = row[index];
      if (cell === null || condition.literal === null) return false;
      const order = compareCells(field, cell, literalCell(field, condition.literal));
      switch (condition.op) {
        case '=':
          return order === 0;
        case '!=':
        case '<>':
          return order !== 0;
        case '<':
          return order < 0;
        case '<=':
          return order <= 0;
        case '>':
          return order > 0;
        default:
          return order >= 0;
      }
    }
  }
}

function literalCell(field: BigQueryField, literal: unknown): Cell {
  if (canonicalType(field.type) === 'BOOL' && typeof literal === 'boolean') return literal;
  return cellFromJson({ ...field, mode: 'NULLABLE' }, literal);
}
