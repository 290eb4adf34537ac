/**
 * The file bench's dataset: an `orders` table of 7 columns with the types real exports
 * carry (int64 key, free text, low-cardinality text, decimal money with some NULLs, a UTC
 * timestamp with microseconds, a flag, a date), deterministic so every run reads the same
 * bytes. Generated once per row count into `.bench/data/` (gitignored):
 *
 *   orders-<rows>.csv       written here, in 64k-row chunks (about 85 bytes a row)
 *   orders-<rows>.parquet   DuckDB's conversion of that CSV with the same column types
 *
 * Files are written under a temporary name and renamed, so an interrupted generation is
 * never mistaken for a dataset.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = fileURLToPath(new URL('../.bench/', import.meta.url));
export const dataDir = join(benchDir, 'data');

/** Column types as Honk type names (the CSV endpoint's `schema:`). */
export const ordersHonkSchema: Record<string, string> = {
  id: 'int64',
  customer: 'utf8',
  status: 'utf8',
  amount: 'decimal(12,2)',
  created_at: 'timestamp[us, UTC]',
  active: 'bool',
  order_date: 'date32',
};

/** The same types for DuckDB's `read_csv(columns = …)`. */
export const ordersDuckdbColumns =
  "{'id': 'BIGINT', 'customer': 'VARCHAR', 'status': 'VARCHAR', 'amount': 'DECIMAL(12,2)', " +
  "'created_at': 'TIMESTAMPTZ', 'active': 'BOOLEAN', 'order_date': 'DATE'}";

export interface OrdersDataset {
  rows: number;
  csv: string;
  parquet: string;
  csvBytes: number;
  parquetBytes: number;
}

const STATUSES = ['pending', 'paid', 'shipped', 'delivered', 'cancelled', 'returned'];
const CHUNK = 65_536;
const EPOCH_2020_MS = Date.UTC(2020, 0, 1);
const SPAN_MS = 5 * 365 * 86_400_000;

/** mulberry32: a tiny deterministic PRNG, so every generation writes identical files. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes `rows` CSV rows (with header) to `path`. */
export function writeOrdersCsv(path: string, rows: number): void {
  const next = random(42);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, 'id,customer,status,amount,created_at,active,order_date\n');
    for (let start = 0; start < rows; start += CHUNK) {
      const end = Math.min(rows, start + CHUNK);
      const lines: string[] = new Array(end - start);
      for (let row = start; row < end; row++) {
        const id = row + 1;
        const customer = `customer-${Math.floor(next() * 250_000)}`;
        const status = STATUSES[Math.floor(next() * STATUSES.length)];
        const cents = Math.floor(next() * 100_000_000);
        const amount = id % 50 === 0 ? '' : `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
        const iso = new Date(EPOCH_2020_MS + Math.floor(next() * SPAN_MS)).toISOString();
        const micros = String(Math.floor(next() * 1000)).padStart(3, '0');
        const createdAt = `${iso.slice(0, 23)}${micros}Z`;
        const active = next() < 0.8 ? 'true' : 'false';
        lines[row - start] = `${id},${customer},${status},${amount},${createdAt},${active},${iso.slice(0, 10)}`;
      }
      writeSync(fd, `${lines.join('\n')}\n`);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The dataset for `rows`, generating what is missing. `toParquet(csv, parquet)` converts
 * with DuckDB (given by the caller so this module loads no native code).
 */
export async function ensureOrdersDataset(
  rows: number,
  toParquet: (csv: string, parquet: string) => Promise<void>,
): Promise<OrdersDataset> {
  mkdirSync(dataDir, { recursive: true });
  const csv = join(dataDir, `orders-${rows}.csv`);
  const parquet = join(dataDir, `orders-${rows}.parquet`);
  if (!existsSync(csv)) {
    writeOrdersCsv(`${csv}.partial`, rows);
    renameSync(`${csv}.partial`, csv);
  }
  if (!existsSync(parquet)) {
    // DuckDB picks its writer by extension-less COPY options, so the partial name is fine.
    await toParquet(csv, `${parquet}.partial`);
    renameSync(`${parquet}.partial`, parquet);
  }
  return { rows, csv, parquet, csvBytes: statSync(csv).size, parquetBytes: statSync(parquet).size };
}
