/**
 * Pages of rows (`tabledata.list`, `getQueryResults`) written as JSON text straight to the
 * response, a chunk at a time: no object per row or cell, no one large string per page.
 *
 * Measured (test/bigquery-conformance.test.ts moves 770 000 wide rows through here): every
 * column gets one renderer, chosen once per page, that turns a cell into the JSON text of
 * its `v`; keep it that way rather than switching on the type per cell.
 *
 * Like the service, a page ends before it passes {@link PAGE_BYTES_LIMIT} (about 10 MB),
 * whatever `maxResults` asked for; it always holds at least one row, and `pageToken` tells
 * where the next one starts.
 */
import type { ServerResponse } from 'node:http';
import { type BigQueryField, canonicalType } from '../bigquery-types.ts';
import { type Cell, cellText, dateText, decimalText } from './emulator-values.ts';

/** The most bytes of rows one page carries, as BigQuery's 10 MB response limit. */
export const PAGE_BYTES_LIMIT = 10 * 1024 * 1024;

/** Rows served when a request gives no `maxResults`. */
const DEFAULT_PAGE_ROWS = 100_000;

/** Bytes buffered before a chunk is written. */
const CHUNK_BYTES = 1024 * 1024;

/** JSON text of the `v` of one cell. */
type CellRenderer = (cell: Cell) => string;

function quoted(text: string): string {
  return `"${text}"`;
}

/** The renderer of one column's cells; `repeatedItem` for the items of an ARRAY. */
export function cellRenderer(field: BigQueryField, useInt64Timestamp: boolean, repeatedItem = false): CellRenderer {
  if (field.mode === 'REPEATED' && !repeatedItem) {
    const item = cellRenderer(field, useInt64Timestamp, true);
    return (cell) => {
      const items = cell as Cell[];
      let text = '[';
      for (let i = 0; i < items.length; i++) text += `${i === 0 ? '' : ','}{"v":${item(items[i])}}`;
      return `${text}]`;
    };
  }
  const type = canonicalType(field.type);
  if (type === 'RECORD') {
    const children = (field.fields ?? []).map((child) => cellRenderer(child, useInt64Timestamp));
    return (cell) => {
      if (cell === null || cell === undefined) return 'null';
      const cells = cell as Cell[];
      let text = '{"f":[';
      for (let i = 0; i < children.length; i++) {
        text += `${i === 0 ? '' : ','}{"v":${(children[i] as CellRenderer)(cells[i])}}`;
      }
      return `${text}]}`;
    };
  }
  switch (type) {
    case 'INT64':
      // Digits only: nothing to escape.
      return (cell) => (cell === null || cell === undefined ? 'null' : quoted(String(cell)));
    case 'TIMESTAMP':
      if (useInt64Timestamp) return (cell) => (cell === null || cell === undefined ? 'null' : quoted(String(cell)));
      break;
    case 'BOOL':
      return (cell) => (cell === null || cell === undefined ? 'null' : cell ? '"true"' : '"false"');
    // Digits, signs, dots, dashes, NaN and Infinity below: nothing to escape.
    case 'FLOAT64':
      return (cell) =>
        cell === null || cell === undefined ? 'null' : quoted(Object.is(cell, -0) ? '-0' : String(cell));
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return (cell) =>
        cell === null || cell === undefined ? 'null' : quoted(decimalText(cell as { unscaled: bigint; scale: number }));
    case 'DATE':
      return (cell) => (cell === null || cell === undefined ? 'null' : quoted(dateText(cell as number)));
    case 'STRING':
    case 'JSON':
    case 'GEOGRAPHY':
      return (cell) => (cell === null || cell === undefined ? 'null' : JSON.stringify(cell));
    default:
      break;
  }
  return (cell) =>
    cell === null || cell === undefined ? 'null' : JSON.stringify(cellText(field, cell, useInt64Timestamp));
}

/** A page of rows to write: the response's other members, and which rows. */
export class RowsPageBody {
  readonly members: Record<string, unknown>;
  readonly fields: BigQueryField[];
  readonly rows: readonly Cell[][];
  readonly query: URLSearchParams;

  constructor(
    members: Record<string, unknown>,
    fields: BigQueryField[],
    rows: readonly Cell[][],
    query: URLSearchParams,
  ) {
    this.members = members;
    this.fields = fields;
    this.rows = rows;
    this.query = query;
  }
}

/** Where a page starts: its `pageToken`, else `startIndex`, else the first row. */
function pageStart(query: URLSearchParams): number {
  const token = query.get('pageToken');
  return token ? Number(Buffer.from(token, 'base64url').toString()) : Number(query.get('startIndex') ?? 0);
}

function jsonOf(value: unknown): string {
  return JSON.stringify(value, (_key, item) => (typeof item === 'bigint' ? String(item) : item));
}

/** Resolves when the response takes more, or is closed (a client that went away). */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/** Writes a page (status 200), waiting for the client to take each chunk. */
export async function writeRowsPage(response: ServerResponse, body: RowsPageBody): Promise<void> {
  const { fields, rows, query } = body;
  const start = pageStart(query);
  const max = query.has('maxResults') ? Number(query.get('maxResults')) : DEFAULT_PAGE_ROWS;
  const renderers = fields.map((field) => cellRenderer(field, query.get('formatOptions.useInt64Timestamp') === 'true'));
  const columns = renderers.length;
  response.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' });
  const head = jsonOf(body.members);
  let chunk = head.length > 2 ? `${head.slice(0, -1)},` : '{';
  let pageBytes = 0;
  let end = start;
  // Loads append in place: a page reports the rows there were when it began.
  const total = rows.length;
  const last = Math.min(total, start + max);
  for (let index = start; index < last; index++) {
    const row = rows[index] as Cell[];
    let text = index === start ? '"rows":[{"f":[' : ',{"f":[';
    for (let column = 0; column < columns; column++) {
      text += `${column === 0 ? '' : ','}{"v":${(renderers[column] as CellRenderer)(row[column])}}`;
    }
    text += ']}';
    const bytes = Buffer.byteLength(text);
    if (index > start && pageBytes + bytes > PAGE_BYTES_LIMIT) break;
    pageBytes += bytes;
    chunk += text;
    end = index + 1;
    if (chunk.length >= CHUNK_BYTES) {
      if (!response.write(chunk)) await drained(response);
      if (response.destroyed) return;
      chunk = '';
    }
  }
  if (end > start) chunk += '],';
  chunk += `"totalRows":"${total}"`;
  if (end < total) chunk += `,"pageToken":"${Buffer.from(String(end)).toString('base64url')}"`;
  response.end(`${chunk}}`);
}
