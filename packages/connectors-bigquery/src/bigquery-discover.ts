/**
 * `discover()`: the tables of a dataset (`scope.within`), or of every dataset of the
 * project, with row counts and sizes from table metadata (one `tables.get` each; never a
 * scan). Honk's own staging and snapshot tables are left out.
 */
import { type DatasetInfo, type DiscoverScope, NotFoundError, throwIfAborted } from '@honk/core';
import type { BigQueryApi, TableResource } from './bigquery-api.ts';

interface ListPage<T> {
  nextPageToken?: string;
  [key: string]: unknown;
  items?: T[];
}

async function* pages<T>(api: BigQueryApi, uri: string, field: string, operation: string): AsyncGenerator<T> {
  let pageToken: string | undefined;
  do {
    const page = await api.call<ListPage<T>>(
      { operation },
      { uri, qs: { maxResults: 1000, ...(pageToken ? { pageToken } : {}) } },
    );
    for (const item of (page[field] as T[] | undefined) ?? []) yield item;
    pageToken = page.nextPageToken;
  } while (pageToken);
}

function kindOf(type: string | undefined): DatasetInfo['kind'] {
  return type === 'VIEW' || type === 'MATERIALIZED_VIEW' ? 'view' : 'table';
}

export async function discoverTables(api: BigQueryApi, scope: DiscoverScope): Promise<DatasetInfo[]> {
  const limit = scope.limit ?? Number.POSITIVE_INFINITY;
  const datasets: string[] = [];
  if (scope.within !== undefined) {
    const dataset = scope.within.replace(/^[^.]+\.(?=[^.]+$)/, '');
    try {
      await api.call({ operation: 'datasets.get' }, { uri: `/datasets/${dataset}` });
    } catch (error) {
      if ((error as { code?: string }).code === 'NOT_FOUND') {
        throw new NotFoundError(
          `BigQuery connection "${api.connection}": dataset "${dataset}" does not exist in project ${api.projectId}.`,
          { cause: error },
        );
      }
      throw error;
    }
    datasets.push(dataset);
  } else {
    for await (const item of pages<{ datasetReference: { datasetId: string } }>(
      api,
      '/datasets',
      'datasets',
      'datasets.list',
    )) {
      datasets.push(item.datasetReference.datasetId);
    }
  }
  const found: DatasetInfo[] = [];
  for (const datasetId of datasets) {
    for await (const item of pages<{ tableReference: { datasetId: string; tableId: string }; type?: string }>(
      api,
      `/datasets/${datasetId}/tables`,
      'tables',
      'tables.list',
    )) {
      throwIfAborted(scope.signal);
      if (found.length >= limit) return found;
      const tableId = item.tableReference.tableId;
      if (tableId.startsWith('_honk_')) continue;
      const resource: TableResource | null = await api.getTable({ projectId: api.projectId, datasetId, tableId });
      if (!resource) continue;
      const name = `${datasetId}.${tableId}`;
      found.push({
        name,
        kind: kindOf(resource.type ?? item.type),
        endpoint: { table: name },
        ...(resource.numRows !== undefined ? { estimatedRows: Number(resource.numRows) } : {}),
        ...(resource.numBytes !== undefined ? { bytes: Number(resource.numBytes) } : {}),
        ...(resource.lastModifiedTime ? { modifiedAt: new Date(Number(resource.lastModifiedTime)).toISOString() } : {}),
      });
    }
  }
  return found;
}
