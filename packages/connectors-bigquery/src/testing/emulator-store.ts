/**
 * The emulator's in-process state: datasets, tables (schema and rows of cells, see
 * emulator-values.ts) and jobs, and what jobs do (load, copy, query). The HTTP layer
 * (bigquery-emulator.ts) turns requests into calls here and errors into API error bodies.
 */
import { parquetCodec } from '@honk/core';
import type { Schema } from 'apache-arrow';
import { type BigQueryField, bigQuerySchemaOf, canonicalType } from '../bigquery-types.ts';
import { evaluate, type MergeStatement, parseSql, type SelectStatement, type SqlTable } from './emulator-sql.ts';
import { type Cell, cellFromJson, cellsFromArrow, cellText, compareCells } from './emulator-values.ts';

/** An error the API answers with: HTTP status, BigQuery reason, message. */
export class EmulatorError extends Error {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

export interface StoredTable {
  projectId: string;
  datasetId: string;
  tableId: string;
  type: 'TABLE' | 'SNAPSHOT';
  fields: BigQueryField[];
  rows: Cell[][];
  creationTime: number;
  lastModifiedTime: number;
  expirationTime?: number;
  labels: Record<string, string>;
  extra: Record<string, unknown>;
  /** Versions for `FOR SYSTEM_TIME AS OF`: rows as they were up to each modification. */
  history: { until: number; rows: Cell[][]; fields: BigQueryField[] }[];
}

export interface StoredJob {
  resource: Record<string, any>;
  /** Query results. */
  result?: { fields: BigQueryField[]; rows: Cell[][] };
  /** When the job turns RUNNING (ms); it is PENDING before. */
  startAt: number;
  /** When the job turns DONE (ms); it is RUNNING before. */
  doneAt: number;
  error?: EmulatorError;
}

export interface EmulatorStoreOptions {
  /**
   * How long a job takes, in ms: PENDING for the first half, RUNNING for the second, then
   * DONE (`jobs.get` shows each state). Default 0 (done when inserted).
   */
  jobLatencyMs?: number;
}

const TABLE_FIELDS = [
  'timePartitioning',
  'rangePartitioning',
  'clustering',
  'description',
  'friendlyName',
  'requirePartitionFilter',
];

export class EmulatorStore {
  readonly datasets = new Map<
    string,
    { projectId: string; datasetId: string; location: string; created: number; labels: Record<string, string> }
  >();
  readonly tables = new Map<string, StoredTable>();
  readonly jobs = new Map<string, StoredJob>();
  readonly options: EmulatorStoreOptions;
  #clock = 0;

  constructor(options: EmulatorStoreOptions = {}) {
    this.options = options;
  }

  /** A strictly increasing millisecond clock, so every modification has its own `lastModifiedTime`. */
  now(): number {
    this.#clock = Math.max(Date.now(), this.#clock + 1);
    return this.#clock;
  }

  datasetKey(projectId: string, datasetId: string): string {
    return `${projectId}:${datasetId}`;
  }

  tableKey(projectId: string, datasetId: string, tableId: string): string {
    return `${projectId}:${datasetId}.${tableId}`;
  }

  requireDataset(projectId: string, datasetId: string) {
    const dataset = this.datasets.get(this.datasetKey(projectId, datasetId));
    if (!dataset) throw new EmulatorError(404, 'notFound', `Not found: Dataset ${projectId}:${datasetId}`);
    return dataset;
  }

  findTable(projectId: string, datasetId: string, tableId: string): StoredTable | undefined {
    const key = this.tableKey(projectId, datasetId, tableId);
    const table = this.tables.get(key);
    if (table?.expirationTime !== undefined && table.expirationTime <= Date.now()) {
      this.tables.delete(key);
      return undefined;
    }
    return table;
  }

  requireTable(projectId: string, datasetId: string, tableId: string): StoredTable {
    this.requireDataset(projectId, datasetId);
    const table = this.findTable(projectId, datasetId, tableId);
    if (!table) throw new EmulatorError(404, 'notFound', `Not found: Table ${projectId}:${datasetId}.${tableId}`);
    return table;
  }

  createTable(projectId: string, datasetId: string, tableId: string, body: Record<string, any>): StoredTable {
    this.requireDataset(projectId, datasetId);
    if (this.findTable(projectId, datasetId, tableId)) {
      throw new EmulatorError(409, 'duplicate', `Already Exists: Table ${projectId}:${datasetId}.${tableId}`);
    }
    if (body.view || body.materializedView || body.externalDataConfiguration) {
      throw new EmulatorError(400, 'invalid', 'Views and external tables are not supported by the emulator.');
    }
    const now = this.now();
    const table: StoredTable = {
      projectId,
      datasetId,
      tableId,
      type: 'TABLE',
      fields: validateFields(body.schema?.fields ?? []),
      rows: [],
      creationTime: now,
      lastModifiedTime: now,
      ...(body.expirationTime !== undefined ? { expirationTime: Number(body.expirationTime) } : {}),
      labels: { ...body.labels },
      extra: Object.fromEntries(TABLE_FIELDS.filter((key) => body[key] !== undefined).map((key) => [key, body[key]])),
      history: [],
    };
    this.tables.set(this.tableKey(projectId, datasetId, tableId), table);
    return table;
  }

  /** Replaces a table's rows (and schema), keeping the old version for time travel. */
  setRows(table: StoredTable, rows: Cell[][], fields = table.fields): void {
    const now = this.now();
    table.history.push({ until: now, rows: table.rows, fields: table.fields });
    if (table.history.length > 20) table.history.shift();
    table.rows = rows;
    table.fields = fields;
    table.lastModifiedTime = now;
  }

  patchTable(table: StoredTable, body: Record<string, any>, replace: boolean): void {
    if (body.schema?.fields) table.fields = validateFields(body.schema.fields);
    if (body.labels !== undefined) {
      table.labels = replace ? { ...body.labels } : { ...table.labels, ...body.labels };
      for (const [key, value] of Object.entries(table.labels)) if (value === null) delete table.labels[key];
    }
    if (body.expirationTime !== undefined)
      table.expirationTime = body.expirationTime === null ? undefined : Number(body.expirationTime);
    for (const key of TABLE_FIELDS) if (body[key] !== undefined) table.extra[key] = body[key];
    table.lastModifiedTime = this.now();
  }

  tableResource(table: StoredTable): Record<string, unknown> {
    const bytes = estimateBytes(table);
    return {
      kind: 'bigquery#table',
      id: `${table.projectId}:${table.datasetId}.${table.tableId}`,
      etag: `"${table.lastModifiedTime.toString(36)}"`,
      tableReference: { projectId: table.projectId, datasetId: table.datasetId, tableId: table.tableId },
      type: table.type,
      schema: { fields: table.fields },
      numRows: String(table.rows.length),
      numBytes: String(bytes),
      creationTime: String(table.creationTime),
      lastModifiedTime: String(table.lastModifiedTime),
      location: this.datasets.get(this.datasetKey(table.projectId, table.datasetId))?.location ?? 'US',
      ...(table.expirationTime !== undefined ? { expirationTime: String(table.expirationTime) } : {}),
      ...(Object.keys(table.labels).length > 0 ? { labels: table.labels } : {}),
      ...table.extra,
    };
  }

  // ---- jobs ----

  /** Inserts and runs a job (load data is passed for uploads). */
  async insertJob(projectId: string, body: Record<string, any>, upload?: Uint8Array): Promise<StoredJob> {
    const configuration = body.configuration ?? {};
    const jobReference = {
      projectId,
      jobId: body.jobReference?.jobId ?? `job_${Math.random().toString(36).slice(2)}`,
      location: body.jobReference?.location ?? 'US',
    };
    const key = `${projectId}:${jobReference.jobId}`;
    if (!configuration.dryRun && this.jobs.has(key)) {
      throw new EmulatorError(
        409,
        'duplicate',
        `Already Exists: Job ${projectId}:${jobReference.location}.${jobReference.jobId}`,
      );
    }
    const now = this.now();
    const job: StoredJob = {
      resource: {
        kind: 'bigquery#job',
        id: `${projectId}:${jobReference.location}.${jobReference.jobId}`,
        jobReference,
        configuration,
        statistics: { creationTime: String(now) },
      },
      startAt: now + Math.floor((this.options.jobLatencyMs ?? 0) / 2),
      doneAt: now + (this.options.jobLatencyMs ?? 0),
    };
    try {
      if (configuration.query) this.runQuery(job, configuration.query.query ?? '', Boolean(configuration.dryRun));
      else if (configuration.copy) this.runCopy(configuration.copy);
      else if (configuration.load) await this.runLoad(configuration.load, upload);
      else throw new EmulatorError(400, 'invalid', 'The emulator runs query, load and copy jobs only.');
    } catch (error) {
      if (!(error instanceof EmulatorError) && !(error instanceof Error && 'reason' in error)) throw error;
      const reason = (error as { reason: string }).reason;
      job.error = error instanceof EmulatorError ? error : new EmulatorError(400, reason, (error as Error).message);
    }
    if (configuration.dryRun) {
      if (job.error) throw job.error;
      job.resource.status = { state: 'DONE' };
      return job;
    }
    this.jobs.set(key, job);
    return job;
  }

  /** The job's resource as `jobs.get` shows it now. */
  jobResource(job: StoredJob): Record<string, unknown> {
    const now = Date.now();
    const done = now >= job.doneAt;
    const started = now >= job.startAt;
    const status: Record<string, unknown> = { state: done ? 'DONE' : started ? 'RUNNING' : 'PENDING' };
    if (done && job.error) {
      const error = { reason: job.error.reason, message: job.error.message };
      status.errorResult = error;
      status.errors = [error];
    }
    return {
      ...job.resource,
      status,
      statistics: {
        ...job.resource.statistics,
        ...(started ? { startTime: String(job.startAt) } : {}),
        ...(done ? { endTime: String(job.doneAt) } : {}),
      },
    };
  }

  requireJob(projectId: string, jobId: string): StoredJob {
    const job = this.jobs.get(`${projectId}:${jobId}`);
    if (!job) throw new EmulatorError(404, 'notFound', `Not found: Job ${projectId}:${jobId}`);
    return job;
  }

  /**
   * The table as it was at `at` (ms): rows and schema of the version then current. The rows
   * array of the current version grows in place on appends, so `count` tells how many rows
   * belonged to it at the time of the call.
   */
  versionAt(
    table: StoredTable,
    at: number,
    reason = 'invalid',
  ): { rows: Cell[][]; fields: BigQueryField[]; count: number } {
    if (at < table.creationTime) {
      throw new EmulatorError(
        400,
        reason,
        `Invalid snapshot time ${new Date(at).toISOString()}: the table did not exist then.`,
      );
    }
    const version = table.history.find((entry) => at < entry.until);
    const rows = version ? version.rows : table.rows;
    return { rows, fields: version ? version.fields : table.fields, count: rows.length };
  }

  #resolve(
    projectId: string,
    table: SqlTable | { projectId?: string; datasetId: string; tableId: string },
  ): StoredTable {
    return this.requireTable(table.projectId ?? projectId, table.datasetId, table.tableId);
  }

  runCopy(copy: Record<string, any>): void {
    const sources: Record<string, string>[] = copy.sourceTables ?? (copy.sourceTable ? [copy.sourceTable] : []);
    if (sources.length !== 1) throw new EmulatorError(400, 'invalid', 'The emulator copies exactly one source table.');
    const from = sources[0] as Record<string, string>;
    const source = this.requireTable(from.projectId as string, from.datasetId as string, from.tableId as string);
    const to = copy.destinationTable as Record<string, string>;
    this.requireDataset(to.projectId as string, to.datasetId as string);
    let target = this.findTable(to.projectId as string, to.datasetId as string, to.tableId as string);
    const disposition = copy.writeDisposition ?? 'WRITE_EMPTY';
    if (target && disposition === 'WRITE_EMPTY') {
      throw new EmulatorError(409, 'duplicate', `Already Exists: Table ${to.projectId}:${to.datasetId}.${to.tableId}`);
    }
    if (!target) {
      if (copy.createDisposition === 'CREATE_NEVER') {
        throw new EmulatorError(404, 'notFound', `Not found: Table ${to.projectId}:${to.datasetId}.${to.tableId}`);
      }
      target = this.createTable(to.projectId as string, to.datasetId as string, to.tableId as string, {
        schema: { fields: source.fields },
        ...source.extra,
      });
    }
    if (copy.operationType === 'SNAPSHOT') {
      target.type = 'SNAPSHOT';
      if (copy.destinationExpirationTime) target.expirationTime = Date.parse(copy.destinationExpirationTime);
    } else if (copy.operationType === 'RESTORE') target.type = 'TABLE';
    if (disposition === 'WRITE_APPEND') {
      checkSameSchema(source.fields, target.fields, `${to.datasetId}.${to.tableId}`);
      this.setRows(target, [...target.rows, ...source.rows]);
    } else {
      // A truncating copy takes the source's schema; the target keeps its own layout.
      this.setRows(target, source.rows.slice(), source.fields);
    }
  }

  async runLoad(load: Record<string, any>, upload: Uint8Array | undefined): Promise<void> {
    if (!upload) throw new EmulatorError(400, 'invalid', 'The emulator loads uploaded files only (no sourceUris).');
    const to = load.destinationTable as Record<string, string>;
    this.requireDataset(to.projectId as string, to.datasetId as string);
    const format = (load.sourceFormat ?? 'CSV').toUpperCase();
    const existing = this.findTable(to.projectId as string, to.datasetId as string, to.tableId as string);
    let fields: BigQueryField[] | undefined = existing?.fields ?? load.schema?.fields;
    let rows: Cell[][];
    if (format === 'PARQUET') {
      const loaded = await loadParquet(upload, fields);
      fields = loaded.fields;
      rows = loaded.rows;
    } else if (format === 'NEWLINE_DELIMITED_JSON') {
      if (!fields)
        throw new EmulatorError(400, 'invalid', 'The emulator needs a schema for JSON loads (no autodetect).');
      const schema = fields;
      rows = Buffer.from(upload)
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const object = JSON.parse(line) as Record<string, unknown>;
          return schema.map((field) => cellFromJson(field, object[field.name]));
        });
    } else if (format === 'CSV') {
      if (!fields)
        throw new EmulatorError(400, 'invalid', 'The emulator needs a schema for CSV loads (no autodetect).');
      const schema = fields;
      const records = parseCsv(Buffer.from(upload).toString('utf8'), load.fieldDelimiter ?? ',').slice(
        Number(load.skipLeadingRows ?? 0),
      );
      rows = records.map((record) =>
        schema.map((field, index) => {
          const text = record[index];
          return text === undefined || text === (load.nullMarker ?? '')
            ? cellFromJson(field, null)
            : cellFromJson(field, text);
        }),
      );
    } else throw new EmulatorError(400, 'invalid', `The emulator does not load ${format} files.`);
    let target = existing;
    if (!target) {
      if (load.createDisposition === 'CREATE_NEVER') {
        throw new EmulatorError(404, 'notFound', `Not found: Table ${to.projectId}:${to.datasetId}.${to.tableId}`);
      }
      target = this.createTable(to.projectId as string, to.datasetId as string, to.tableId as string, {
        schema: { fields },
      });
    }
    const disposition = load.writeDisposition ?? 'WRITE_APPEND';
    if (disposition === 'WRITE_EMPTY' && target.rows.length > 0) {
      throw new EmulatorError(
        409,
        'duplicate',
        `Already Exists: Table ${to.projectId}:${to.datasetId}.${to.tableId} is not empty`,
      );
    }
    if (disposition === 'WRITE_TRUNCATE') this.setRows(target, rows);
    else if (rows.length > 0) {
      // Appending in place: a copy of hundreds of thousands of rows per load file would be quadratic.
      target.history.push({ until: this.now(), rows: target.rows.slice(), fields: target.fields });
      if (target.history.length > 20) target.history.shift();
      for (const row of rows) target.rows.push(row);
      target.lastModifiedTime = this.now();
    }
  }

  runQuery(job: StoredJob, sql: string, dryRun: boolean): void {
    const projectId = job.resource.jobReference.projectId as string;
    const statement = parseSql(sql);
    if (statement.kind === 'merge') {
      if (!dryRun) this.#merge(projectId, statement);
      job.result = { fields: [], rows: [] };
      job.resource.statistics.query = { statementType: 'MERGE' };
      return;
    }
    const result = this.#select(projectId, statement);
    job.resource.statistics.query = { statementType: 'SELECT', schema: { fields: result.fields } };
    if (!dryRun) job.result = result;
  }

  #select(projectId: string, statement: SelectStatement): { fields: BigQueryField[]; rows: Cell[][] } {
    const table = this.#resolve(projectId, statement.table);
    let rows = table.rows;
    let fields = table.fields;
    if (statement.asOf !== undefined) {
      const at = Date.parse(statement.asOf);
      if (Number.isNaN(at)) throw new EmulatorError(400, 'invalidQuery', `Invalid timestamp: '${statement.asOf}'`);
      ({ rows, fields } = this.versionAt(table, at, 'invalidQuery'));
    }
    const columnIndex = (name: string): [number, BigQueryField] => {
      const index = fields.findIndex((field) => field.name.toLowerCase() === name.toLowerCase());
      if (index < 0) throw new EmulatorError(400, 'invalidQuery', `Unrecognized name: ${name}`);
      return [index, fields[index] as BigQueryField];
    };
    if (statement.where) {
      const where = statement.where;
      rows = rows.filter((row) => evaluate(where, row, columnIndex));
    }
    if (statement.count !== undefined) {
      return { fields: [{ name: statement.count, type: 'INTEGER', mode: 'NULLABLE' }], rows: [[BigInt(rows.length)]] };
    }
    if (statement.orderBy.length > 0) {
      const keys = statement.orderBy.map((order) => ({ ...order, at: columnIndex(order.column) }));
      rows = rows.slice().sort((a, b) => {
        for (const key of keys) {
          const order = compareCells(key.at[1], a[key.at[0]], b[key.at[0]]);
          if (order !== 0) return key.descending ? -order : order;
        }
        return 0;
      });
    }
    if (statement.limit !== undefined) rows = rows.slice(0, statement.limit);
    if (statement.columns === null) return { fields, rows };
    const picked = statement.columns.map((column) => ({ ...column, at: columnIndex(column.name) }));
    return {
      fields: picked.map((column) => ({ ...column.at[1], name: column.alias })),
      rows: rows.map((row) => picked.map((column) => row[column.at[0]])),
    };
  }

  #merge(projectId: string, statement: MergeStatement): void {
    const target = this.#resolve(projectId, statement.target);
    const source = this.#resolve(projectId, statement.source);
    const indexIn = (fields: BigQueryField[], name: string) => {
      const index = fields.findIndex((field) => field.name.toLowerCase() === name.toLowerCase());
      if (index < 0) throw new EmulatorError(400, 'invalidQuery', `Unrecognized name: ${name}`);
      return index;
    };
    const keyOf = (fields: BigQueryField[], row: Cell[]) =>
      statement.keys.map((key) => {
        const index = indexIn(fields, key);
        const cell = row[index];
        return cell === null ? null : cellText(fields[index] as BigQueryField, cell);
      });
    const sourceByKey = new Map<string, Cell[]>();
    for (const row of source.rows) {
      const key = keyOf(source.fields, row);
      if (key.includes(null)) continue;
      sourceByKey.set(JSON.stringify(key), row);
    }
    const matched = new Set<string>();
    const rows = target.rows.map((row) => {
      const key = keyOf(target.fields, row);
      if (key.includes(null)) return row;
      const text = JSON.stringify(key);
      const incoming = sourceByKey.get(text);
      if (!incoming) return row;
      if (matched.has(text)) {
        throw new EmulatorError(
          400,
          'invalidQuery',
          'UPDATE/MERGE must match at most one source row for each target row',
        );
      }
      matched.add(text);
      const updated = row.slice();
      for (const column of statement.update)
        updated[indexIn(target.fields, column)] = incoming[indexIn(source.fields, column)];
      return updated;
    });
    for (const row of source.rows) {
      const key = keyOf(source.fields, row);
      if (!key.includes(null) && matched.has(JSON.stringify(key))) continue;
      const inserted = target.fields.map(() => null as Cell);
      for (const column of statement.insert)
        inserted[indexIn(target.fields, column)] = row[indexIn(source.fields, column)];
      rows.push(inserted);
    }
    this.setRows(target, rows);
  }
}

function validateFields(fields: BigQueryField[]): BigQueryField[] {
  for (const field of fields) {
    const type = canonicalType(field.type ?? '');
    if (
      ![
        'INT64',
        'FLOAT64',
        'NUMERIC',
        'BIGNUMERIC',
        'BOOL',
        'STRING',
        'BYTES',
        'DATE',
        'DATETIME',
        'TIME',
        'TIMESTAMP',
        'JSON',
        'GEOGRAPHY',
        'RECORD',
        'RANGE',
        'INTERVAL',
      ].includes(type)
    ) {
      throw new EmulatorError(400, 'invalid', `Invalid field type ${field.type} for field ${field.name}.`);
    }
    if (type === 'RECORD') validateFields(field.fields ?? []);
  }
  return fields;
}

function checkSameSchema(source: BigQueryField[], target: BigQueryField[], name: string): void {
  const describe = (fields: BigQueryField[]) =>
    fields
      .map((field) => `${field.name.toLowerCase()}:${canonicalType(field.type)}:${field.mode ?? 'NULLABLE'}`)
      .join(',');
  if (describe(source) !== describe(target)) {
    throw new EmulatorError(400, 'invalid', `Provided Schema does not match Table ${name}.`);
  }
}

function estimateBytes(table: StoredTable): number {
  // BigQuery's logical size rules, roughly: 8 bytes a number, strings and bytes their length.
  let bytes = 0;
  const sample = table.rows.length > 1000 ? table.rows.slice(0, 1000) : table.rows;
  for (const row of sample) {
    for (const cell of row) {
      if (typeof cell === 'string') bytes += cell.length + 2;
      else if (cell instanceof Uint8Array) bytes += cell.byteLength + 2;
      else bytes += 8;
    }
  }
  return sample.length === 0 ? 0 : Math.round((bytes / sample.length) * table.rows.length);
}

function parseCsv(text: string, delimiter: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i] as string;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === delimiter) {
      record.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      record.push(field);
      records.push(record);
      record = [];
      field = '';
    } else field += char;
  }
  if (field !== '' || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

async function loadParquet(
  bytes: Uint8Array,
  declared: BigQueryField[] | undefined,
): Promise<{ fields: BigQueryField[]; rows: Cell[][] }> {
  const input = {
    name: 'upload.parquet',
    size: bytes.byteLength,
    blob: () => new Blob([bytes]),
    stream: async function* () {
      yield bytes;
    },
  };
  let schema: Schema;
  try {
    schema = await parquetCodec.readSchema(input);
  } catch (error) {
    throw new EmulatorError(
      400,
      'invalid',
      `Error while reading data, error message: the file is not Parquet (${(error as Error).message})`,
    );
  }
  const fields = declared ?? bigQuerySchemaOf(schema);
  const rows: Cell[][] = [];
  for await (const batch of parquetCodec.read(input, { batchRows: 65_536 })) {
    const columns = fields.map((field) => {
      const index = batch.schema.fields.findIndex((column) => column.name.toLowerCase() === field.name.toLowerCase());
      if (index < 0) {
        if (field.mode === 'REQUIRED')
          throw new EmulatorError(400, 'invalid', `Missing required field: ${field.name}.`);
        return null;
      }
      return cellsFromArrow(field, batch.data.children[index]!);
    });
    const width = columns.length;
    for (let row = 0; row < batch.numRows; row++) {
      const cells = new Array<Cell>(width);
      for (let index = 0; index < width; index++) {
        const column = columns[index];
        cells[index] = column ? column[row] : fields[index]?.mode === 'REPEATED' ? [] : null;
      }
      rows.push(cells);
    }
  }
  return { fields, rows };
}
