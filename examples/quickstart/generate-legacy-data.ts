/**
 * Writes the quickstart's "legacy export": two dozen CSV and NDJSON datasets of a made-up
 * shop, with the types that break naive migrations — int64 ids beyond 2^53, decimal amounts
 * as text, timestamps with UTC offsets, dates, booleans, UTF-8 with emoji, empty strings next
 * to NULLs, and quotes, commas and newlines inside text.
 *
 * Rows are produced by index with a cheap deterministic hash (same data every time) and
 * streamed to disk in ~1 MB chunks, so generating millions of rows takes seconds and little
 * memory. `scale` multiplies every row count (1 = the full quickstart, 0.01 for tests).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

/** One generated dataset. */
export interface LegacyDataset {
  /** File name under the legacy root, e.g. `orders.csv`. */
  file: string;
  /** Rows written. */
  rows: number;
}

/** 2^53 + 1: the first integer a double cannot hold. Ids start above it. */
const BIG_ID = 9_007_199_254_740_993n;

/** A deterministic pseudo-random integer in [0, modulo) for row `i` and a salt. */
function pick(i: number, salt: number, modulo: number): number {
  let x = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(salt + 1, 0xc2b2ae35);
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d);
  x ^= x >>> 12;
  return (x >>> 0) % modulo;
}

const FIRST = ['Anna', 'Björn', 'Chloé', 'Dmitri', 'Eun-ji', 'François', 'Greta', 'Hiroshi', 'Ingrid', 'José', 'Zoë'];
const LAST = ['Andersson', "O'Brien", 'Müller', 'Nakamura', 'da Silva', 'Østergaard', 'Łukasiewicz', 'Smith, Jr.'];
const CITIES = ['Stockholm', 'Göteborg', 'Malmö', 'São Paulo', 'Zürich', 'Kraków', '東京', 'Reykjavík', 'Montréal'];
const COUNTRIES = ['SE', 'DE', 'FR', 'BR', 'CH', 'PL', 'JP', 'IS', 'CA', 'US'];
const CURRENCIES = ['SEK', 'EUR', 'USD', 'BRL', 'CHF', 'PLN', 'JPY', 'ISK', 'CAD'];
const EMOJI = ['🦆', '📦', '✨', '🚚', '💳', '🇸🇪', '👍🏽', '🧾'];
const OFFSETS = ['+00:00', '+01:00', '+02:00', '-05:00', '+09:00', '+05:30', 'Z'];
const START = Date.UTC(2019, 0, 1);

/** CSV field: text quoted (quotes doubled), so `""` is the empty string; null → empty unquoted field (NULL). */
function csv(value: string | null): string {
  if (value === null) return '';
  return `"${value.replaceAll('"', '""')}"`;
}

/** NDJSON string value or null. */
function json(value: string | null): string {
  return value === null ? 'null' : JSON.stringify(value);
}

/** An instant within 2019–2025, written with one of several UTC offsets (the wall clock shifts accordingly). */
function zoned(i: number, salt: number): string {
  const ms = START + pick(i, salt, 7 * 365 * 24 * 3600) * 1000;
  const offset = OFFSETS[pick(i, salt + 1, OFFSETS.length)]!;
  const minutes =
    offset === 'Z' ? 0 : (offset[0] === '-' ? -1 : 1) * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4)));
  return `${new Date(ms + minutes * 60_000).toISOString().slice(0, 19)}${offset}`;
}

function day(i: number, salt: number): string {
  return new Date(START + pick(i, salt, 7 * 365) * 86_400_000).toISOString().slice(0, 10);
}

/** A decimal amount as text with exactly two fraction digits, e.g. `1234.05`. */
function money(i: number, salt: number, max = 1_000_000): string {
  const cents = pick(i, salt, max * 100);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

function person(i: number, salt: number): string {
  const emoji = pick(i, salt + 7, 10) === 0 ? ` ${EMOJI[pick(i, salt + 8, EMOJI.length)]}` : '';
  return `${FIRST[pick(i, salt, FIRST.length)]} ${LAST[pick(i, salt + 1, LAST.length)]}${emoji}`;
}

/** Text with the characters CSV writers get wrong: quotes, commas, newlines, emoji. */
function remark(i: number, salt: number): string | null {
  switch (pick(i, salt, 8)) {
    case 0:
      return null;
    case 1:
      return '';
    case 2:
      return `Customer said "deliver to the back door", then changed it.\nSecond line, with a comma.`;
    case 3:
      return `Great product ${EMOJI[pick(i, salt + 1, EMOJI.length)]}, would buy again`;
    case 4:
      return `Line one\r\nLine two "quoted" 🧾`;
    default:
      return `note ${i}`;
  }
}

type Format = 'csv' | 'ndjson';

interface DatasetPlan {
  file: string;
  /** Rows at scale 1. */
  rows: number;
  header: string[];
  line: (i: number) => string;
}

const big = (i: number) => String(BIG_ID + BigInt(i));

/** The datasets, at scale 1: three of 1M rows, the rest between 1k and 200k. */
export const LEGACY_DATASETS: readonly DatasetPlan[] = [
  {
    file: 'orders.csv',
    rows: 1_000_000,
    header: ['order_id', 'customer_id', 'amount', 'currency', 'status', 'created_at'],
    line: (i) =>
      `${big(i)},${pick(i, 1, 200_000)},${money(i, 2, 5000)},${CURRENCIES[pick(i, 3, 9)]},${['new', 'paid', 'shipped', 'cancelled'][pick(i, 4, 4)]},${zoned(i, 5)}`,
  },
  {
    file: 'order_items.csv',
    rows: 1_000_000,
    header: ['item_id', 'order_id', 'product_id', 'quantity', 'unit_price', 'gift_wrapped'],
    line: (i) =>
      `${i + 1},${big(pick(i, 1, 1_000_000))},${pick(i, 2, 5000) + 1},${pick(i, 3, 9) + 1},${money(i, 4, 900)},${pick(i, 5, 5) === 0}`,
  },
  {
    file: 'events.ndjson',
    rows: 1_000_000,
    header: [],
    line: (i) =>
      `{"event_id":${big(i * 3)},"session_id":${pick(i, 1, 2_000_000)},"user_id":${pick(i, 2, 7) === 0 ? 'null' : pick(i, 3, 200_000)},"type":${json(['view', 'click', 'add_to_cart', 'checkout'][pick(i, 4, 4)]!)},"occurred_at":"${zoned(i, 5)}","value":${pick(i, 6, 1000)}}`,
  },
  {
    file: 'customers.csv',
    rows: 200_000,
    header: ['customer_id', 'name', 'email', 'country', 'signup_date', 'is_active', 'lifetime_value', 'notes'],
    line: (i) => {
      const kind = pick(i, 2, 12);
      const email =
        kind === 0 ? null : kind === 1 ? '' : `customer.${i}@example.${COUNTRIES[pick(i, 3, 10)]!.toLowerCase()}`;
      return `${i + 1},${csv(person(i, 1))},${csv(email)},${COUNTRIES[pick(i, 3, 10)]},${day(i, 4)},${pick(i, 5, 4) !== 0},${money(i, 6, 100_000)},${csv(remark(i, 7))}`;
    },
  },
  {
    file: 'invoices.ndjson',
    rows: 100_000,
    header: [],
    line: (i) =>
      `{"invoice_id":${big(i * 7)},"customer_id":${pick(i, 1, 200_000) + 1},"amount":"${money(i, 2, 20_000)}","issued_on":"${day(i, 3)}","due_at":"${zoned(i, 4)}","paid":${pick(i, 5, 3) !== 0}}`,
  },
  {
    file: 'payments.csv',
    rows: 150_000,
    header: ['payment_id', 'invoice_id', 'amount', 'method', 'paid_at', 'reference'],
    line: (i) =>
      `${i + 1},${big(pick(i, 1, 100_000) * 7)},${money(i, 2, 20_000)},${['card', 'invoice', 'swish', 'paypal'][pick(i, 3, 4)]},${zoned(i, 4)},${csv(pick(i, 5, 6) === 0 ? null : `PAY-${i}`)}`,
  },
  {
    file: 'shipments.ndjson',
    rows: 100_000,
    header: [],
    line: (i) =>
      `{"shipment_id":${i + 1},"order_id":${big(pick(i, 1, 1_000_000))},"carrier":${json(['PostNord', 'DHL', 'UPS', 'Budbee'][pick(i, 2, 4)]!)},"shipped_at":"${zoned(i, 3)}","delivered_at":${pick(i, 4, 5) === 0 ? 'null' : `"${zoned(i, 5)}"`},"address":${json(`${pick(i, 6, 99) + 1} Main St, Apt "${i % 40}"\n${CITIES[pick(i, 7, CITIES.length)]}`)}}`,
  },
  {
    file: 'sessions.ndjson',
    rows: 200_000,
    header: [],
    line: (i) =>
      `{"session_id":${i + 1},"user_id":${pick(i, 1, 200_000)},"started_at":"${zoned(i, 2)}","device":${json(['ios', 'android', 'web', ''][pick(i, 3, 4)]!)},"pages":${pick(i, 4, 40)},"converted":${pick(i, 5, 9) === 0}}`,
  },
  {
    file: 'addresses.csv',
    rows: 100_000,
    header: ['address_id', 'customer_id', 'line1', 'city', 'postcode', 'country'],
    line: (i) =>
      `${i + 1},${pick(i, 1, 200_000) + 1},${csv(`${pick(i, 2, 200) + 1} Storgatan, floor ${pick(i, 3, 9)}`)},${csv(CITIES[pick(i, 4, CITIES.length)]!)},${String(pick(i, 5, 99_999)).padStart(5, '0')},${COUNTRIES[pick(i, 6, 10)]}`,
  },
  {
    file: 'audit_log.ndjson',
    rows: 100_000,
    header: [],
    line: (i) =>
      `{"entry_id":${big(i)},"actor":${json(person(i, 1))},"action":${json(['login', 'update', 'delete', 'export'][pick(i, 2, 4)]!)},"at":"${zoned(i, 3)}","details":${json(remark(i, 4))}}`,
  },
  {
    file: 'inventory.csv',
    rows: 50_000,
    header: ['product_id', 'warehouse_id', 'on_hand', 'reserved', 'counted_on'],
    line: (i) => `${(i % 5000) + 1},${Math.floor(i / 5000) + 1},${pick(i, 1, 5000)},${pick(i, 2, 50)},${day(i, 3)}`,
  },
  {
    file: 'reviews.ndjson',
    rows: 50_000,
    header: [],
    line: (i) =>
      `{"review_id":${i + 1},"product_id":${pick(i, 1, 5000) + 1},"rating":${pick(i, 2, 5) + 1},"title":${json(pick(i, 3, 10) === 0 ? '' : `Review ${EMOJI[pick(i, 4, EMOJI.length)]}`)},"body":${json(remark(i, 5))},"posted_on":"${day(i, 6)}"}`,
  },
  {
    file: 'support_tickets.csv',
    rows: 30_000,
    header: ['ticket_id', 'customer_id', 'subject', 'body', 'opened_at', 'closed'],
    line: (i) =>
      `${i + 1},${pick(i, 1, 200_000) + 1},${csv(`Order ${big(i)} issue`)},${csv(remark(i, 2))},${zoned(i, 3)},${pick(i, 4, 3) !== 0}`,
  },
  {
    file: 'subscriptions.csv',
    rows: 40_000,
    header: ['subscription_id', 'customer_id', 'plan', 'monthly_fee', 'started_on', 'cancelled_on'],
    line: (i) =>
      `${i + 1},${pick(i, 1, 200_000) + 1},${['basic', 'plus', 'pro'][pick(i, 2, 3)]},${money(i, 3, 500)},${day(i, 4)},${pick(i, 5, 3) === 0 ? day(i, 6) : ''}`,
  },
  {
    file: 'refunds.csv',
    rows: 20_000,
    header: ['refund_id', 'payment_id', 'amount', 'reason', 'refunded_at'],
    line: (i) => `${i + 1},${pick(i, 1, 150_000) + 1},${money(i, 2, 2000)},${csv(remark(i, 3))},${zoned(i, 4)}`,
  },
  {
    file: 'exchange_rates.csv',
    rows: 20_000,
    header: ['rate_date', 'currency', 'rate_to_sek'],
    line: (i) => `${day(i, 1)},${CURRENCIES[i % 9]},${(pick(i, 2, 2_000_000) / 100_000 + 0.00001).toFixed(5)}`,
  },
  {
    file: 'products.csv',
    rows: 5_000,
    header: ['product_id', 'sku', 'name', 'price', 'discontinued', 'launched_on'],
    line: (i) =>
      `${i + 1},${csv(`SKU-${String(i).padStart(6, '0')}`)},${csv(`Duck ${EMOJI[i % EMOJI.length]} "${i}", size ${(i % 5) + 1}`)},${money(i, 1, 900)},${pick(i, 2, 10) === 0},${day(i, 3)}`,
  },
  {
    file: 'employees.csv',
    rows: 3_000,
    header: ['employee_id', 'name', 'email', 'hired_on', 'salary', 'manager_id'],
    line: (i) =>
      `${i + 1},${csv(person(i, 1))},${csv(`employee.${i}@honk.example`)},${day(i, 2)},${money(i, 3, 90_000)},${i < 10 ? '' : pick(i, 4, 10) + 1}`,
  },
  {
    file: 'coupons.csv',
    rows: 2_000,
    header: ['code', 'discount_percent', 'valid_from', 'valid_until', 'single_use'],
    line: (i) => `${csv(`HONK${i}`)},${pick(i, 1, 50) + 5},${zoned(i, 2)},${zoned(i, 3)},${pick(i, 4, 2) === 0}`,
  },
  {
    file: 'suppliers.csv',
    rows: 1_000,
    header: ['supplier_id', 'name', 'country', 'contact', 'rating'],
    line: (i) =>
      `${i + 1},${csv(`${LAST[i % LAST.length]} & Co ${EMOJI[i % EMOJI.length]}`)},${COUNTRIES[i % 10]},${csv(pick(i, 1, 4) === 0 ? '' : person(i, 2))},${(pick(i, 3, 50) / 10 + 0.01).toFixed(2)}`,
  },
  {
    file: 'categories.csv',
    rows: 1_000,
    header: ['category_id', 'parent_id', 'name', 'visible'],
    line: (i) => `${i + 1},${i < 20 ? '' : pick(i, 1, 20) + 1},${csv(`Category ${i} ✨`)},${pick(i, 2, 6) !== 0}`,
  },
  {
    file: 'warehouses.ndjson',
    rows: 1_000,
    header: [],
    line: (i) =>
      `{"warehouse_id":${i + 1},"city":${json(CITIES[i % CITIES.length]!)},"opened_on":"${day(i, 1)}","capacity":${pick(i, 2, 100_000)},"automated":${pick(i, 3, 2) === 0}}`,
  },
  {
    file: 'stores.ndjson',
    rows: 1_000,
    header: [],
    line: (i) =>
      `{"store_id":${i + 1},"name":${json(`Honk ${CITIES[i % CITIES.length]} #${i}`)},"manager":${pick(i, 1, 5) === 0 ? 'null' : json(person(i, 2))},"opened_at":"${zoned(i, 3)}"}`,
  },
  {
    // The deliberately broken one: account codes are numeric, the old system's docs say, but
    // one row in fifty is not (see the `ledger` task in honk.yaml).
    file: 'ledger.csv',
    rows: 10_000,
    header: ['entry_id', 'account_code', 'amount', 'booked_on'],
    line: (i) =>
      `${i + 1},${csv(i % 50 === 17 ? `ACC-${i}` : String(1000 + (i % 8999)))},${money(i, 1, 50_000)},${day(i, 2)}`,
  },
];

/** Rows of a dataset at a scale: at least 20, so tiny scales still exercise every value kind. */
export function scaledRows(plan: Pick<DatasetPlan, 'rows'>, scale: number): number {
  return Math.max(20, Math.round(plan.rows * scale));
}

async function writeDataset(dir: string, plan: DatasetPlan, rows: number): Promise<void> {
  const out = createWriteStream(join(dir, plan.file));
  const format: Format = plan.file.endsWith('.csv') ? 'csv' : 'ndjson';
  let chunk = format === 'csv' ? `${plan.header.join(',')}\n` : '';
  for (let i = 0; i < rows; i++) {
    chunk += `${plan.line(i)}\n`;
    if (chunk.length >= 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** Writes every dataset into `dir` (created if needed); returns what was written. */
export async function generateLegacyData(dir: string, options: { scale?: number } = {}): Promise<LegacyDataset[]> {
  const scale = options.scale ?? 1;
  await mkdir(dir, { recursive: true });
  const written: LegacyDataset[] = [];
  for (const plan of LEGACY_DATASETS) {
    const rows = scaledRows(plan, scale);
    await writeDataset(dir, plan, rows);
    written.push({ file: plan.file, rows });
  }
  return written;
}
