/**
 * The migrations page: every dataset entity in a table paged and filtered by the catalog
 * (owner, region, tag, status), counts by status for the current filters, each row linked to
 * its entity with its live status and progress from the honk backend, and "Start selected"
 * with a window picker calling the backend's bulk start.
 */
import { useApi } from '@backstage/frontend-plugin-api';
import { catalogApiRef, useEntityRefLink } from '@backstage/plugin-catalog-react';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  Alert,
  Button,
  Cell,
  CellText,
  type ColumnConfig,
  Container,
  Flex,
  Select,
  Table,
  Text,
  useTable,
} from '@backstage/ui';
import {
  honkMigrationStartPermission,
  MIGRATION_STATUSES,
  type MigrationStatus,
  type MigrationSummary,
  type StartScheduling,
} from '@honk/backstage-plugin-honk-common';
import { useMemo, useState } from 'react';
import { honkApiRef } from '../api.ts';
import {
  DATASET_FIELDS,
  type DatasetFilters,
  type DatasetRow,
  datasetFilter,
  FACET_FIELDS,
  toDatasetRow,
} from '../dataset-query.ts';
import { formatCount, formatInstant, formatRate, readChunks, readProgress, STATUS_LABELS } from '../format.ts';
import { usePoll } from '../hooks/use-poll.ts';
import { DEFAULT_POLL_INTERVAL_MS } from './migration-card.tsx';
import { StartSelectedDialog } from './start-selected-dialog.tsx';
import { StatusBadge } from './status-badge.tsx';

const ANY = '*';
const PAGE_SIZES = [25, 50, 100];

export interface MigrationsPageProps {
  /** Poll interval in ms for live status and counts (default 3000). */
  pollIntervalMs?: number;
}

function FilterSelect(props: {
  label: string;
  value: string | undefined;
  options: Array<{ id: string; label: string }>;
  onChange(value: string | undefined): void;
}) {
  return (
    <Select
      label={props.label}
      aria-label={props.label}
      options={[{ id: ANY, label: 'Any' }, ...props.options]}
      value={props.value ?? ANY}
      onChange={(key) => {
        const value = key === null || key === undefined ? ANY : String(key);
        props.onChange(value === ANY ? undefined : value);
      }}
    />
  );
}

/** The latest migration of each entity among `items`. */
function latestByEntity(items: MigrationSummary[]): Map<string, MigrationSummary> {
  const latest = new Map<string, MigrationSummary>();
  for (const item of items) {
    if (!item.entityRef) continue;
    const seen = latest.get(item.entityRef);
    if (!seen || seen.updatedAt < item.updatedAt) latest.set(item.entityRef, item);
  }
  return latest;
}

export function MigrationsPage(props: MigrationsPageProps) {
  const pollIntervalMs = props.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const catalog = useApi(catalogApiRef);
  const honk = useApi(honkApiRef);
  const entityLink = useEntityRefLink();
  const canStart = usePermission({ permission: honkMigrationStartPermission });
  const [filters, setFilters] = useState<DatasetFilters>({});
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [dialogOpen, setDialogOpen] = useState(false);
  const [starting, setStarting] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>();

  const { tableProps, reload } = useTable<DatasetRow, DatasetFilters>({
    mode: 'offset',
    filter: filters,
    onFilterChange: setFilters,
    paginationOptions: { pageSize: PAGE_SIZES[0]!, pageSizeOptions: PAGE_SIZES },
    getData: async ({ offset, pageSize, filter }) => {
      const response = await catalog.queryEntities({
        filter: datasetFilter(filter ?? {}),
        fields: DATASET_FIELDS,
        limit: pageSize,
        offset,
        orderFields: { field: 'metadata.name', order: 'asc' },
      });
      return { data: response.items.map(toDatasetRow), totalCount: response.totalItems };
    },
  });
  const rows = tableProps.data ?? [];
  const refs = rows.map((row) => row.id);
  const refsKey = refs.join('\n');

  // Facet values for the filters (over every dataset) and counts by status (over the filters).
  const options = usePoll(
    () =>
      catalog.getEntityFacets({
        filter: datasetFilter({}),
        facets: [FACET_FIELDS.owner, FACET_FIELDS.region, FACET_FIELDS.tag],
      }),
    pollIntervalMs * 10,
    'options',
  );
  const counts = usePoll(
    () => catalog.getEntityFacets({ filter: datasetFilter(filters, 'status'), facets: [FACET_FIELDS.status] }),
    pollIntervalMs,
    JSON.stringify(datasetFilter(filters, 'status')),
  );
  // Live status of the rows on screen, straight from the task store.
  const live = usePoll(
    async () =>
      refs.length === 0
        ? new Map<string, MigrationSummary>()
        : latestByEntity((await honk.listMigrations({ entityRef: refs, limit: 1000 })).items),
    pollIntervalMs,
    refsKey,
  );

  const facetOptions = (field: string) =>
    (options.value?.facets[field] ?? [])
      .map((facet) => ({ id: facet.value, label: `${facet.value} (${facet.count})` }))
      .sort((a, b) => a.id.localeCompare(b.id));

  const statusCounts = useMemo(() => {
    const byStatus = new Map<MigrationStatus, number>();
    for (const facet of counts.value?.facets[FACET_FIELDS.status] ?? []) {
      if ((MIGRATION_STATUSES as readonly string[]).includes(facet.value)) {
        byStatus.set(facet.value as MigrationStatus, facet.count);
      }
    }
    return byStatus;
  }, [counts.value]);

  const liveMap = live.value;
  const columns = useMemo<ColumnConfig<DatasetRow>[]>(
    () => [
      {
        id: 'dataset',
        label: 'Dataset',
        isRowHeader: true,
        cell: (row) => <CellText title={row.title} description={row.id} href={entityLink(row.entity)} />,
      },
      { id: 'owner', label: 'Owner', cell: (row) => <CellText title={row.owner || '—'} /> },
      { id: 'region', label: 'Region', cell: (row) => <CellText title={row.region ?? '—'} /> },
      { id: 'tags', label: 'Tags', cell: (row) => <CellText title={row.tags.join(', ') || '—'} /> },
      {
        id: 'status',
        label: 'Status',
        cell: (row) => {
          const migration = liveMap?.get(row.id);
          const status = migration?.status ?? row.status;
          const progress = migration?.status === 'running' ? readProgress(migration.progress) : undefined;
          const chunks = readChunks(migration?.chunks);
          return (
            <Cell>
              <Flex direction="column" gap="1">
                <span data-testid={`status-${row.id}`} data-status={status}>
                  <StatusBadge status={status} />
                </span>
                {progress ? (
                  <Text variant="body-small">
                    {formatCount(progress.rows)}
                    {row.estimatedRows ? ` / ~${formatCount(row.estimatedRows)}` : ''} rows
                    {progress.rowsPerSecond ? `, ${formatRate(progress.rowsPerSecond)}` : ''}
                  </Text>
                ) : null}
                {chunks ? (
                  <Text variant="body-small" data-testid={`chunks-${row.id}`}>
                    chunks {formatCount(chunks.succeeded)}/{formatCount(chunks.total)}
                  </Text>
                ) : null}
              </Flex>
            </Cell>
          );
        },
      },
      {
        id: 'updated',
        label: 'Updated',
        cell: (row) => <CellText title={formatInstant(liveMap?.get(row.id)?.updatedAt ?? row.statusAt)} />,
      },
    ],
    [entityLink, liveMap],
  );

  const start = async (scheduling: StartScheduling) => {
    setStarting(true);
    setOutcome(undefined);
    try {
      const { results } = await honk.startBulk({ entityRefs: [...selected], ...scheduling });
      const byOutcome = new Map<string, number>();
      for (const result of results) byOutcome.set(result.outcome, (byOutcome.get(result.outcome) ?? 0) + 1);
      const summary = [...byOutcome].map(([name, count]) => `${count} ${name}`).join(', ');
      setOutcome({
        ok: true,
        text: `Started ${results.length} ${results.length === 1 ? 'dataset' : 'datasets'}: ${summary}.`,
      });
      setSelected(new Set());
      setDialogOpen(false);
      live.refresh();
      counts.refresh();
      reload();
    } catch (error) {
      setOutcome({ ok: false, text: `Start failed: ${(error as Error).message}` });
      setDialogOpen(false);
    } finally {
      setStarting(false);
    }
  };

  const setFilter = (key: keyof DatasetFilters) => (value: string | undefined) => {
    setFilters((previous) => {
      const next = { ...previous };
      if (value === undefined) delete next[key];
      else (next as Record<string, string>)[key] = value;
      return next;
    });
  };

  const total = [...statusCounts.values()].reduce((sum, count) => sum + count, 0);

  return (
    <Container>
      <Flex direction="column" gap="4" py="4">
        <Flex gap="3" align="end" style={{ flexWrap: 'wrap' }}>
          <FilterSelect
            label="Owner"
            value={filters.owner}
            options={facetOptions(FACET_FIELDS.owner)}
            onChange={setFilter('owner')}
          />
          <FilterSelect
            label="Region"
            value={filters.region}
            options={facetOptions(FACET_FIELDS.region)}
            onChange={setFilter('region')}
          />
          <FilterSelect
            label="Tag"
            value={filters.tag}
            options={facetOptions(FACET_FIELDS.tag)}
            onChange={setFilter('tag')}
          />
          <FilterSelect
            label="Status"
            value={filters.status}
            options={MIGRATION_STATUSES.map((status) => ({ id: status, label: STATUS_LABELS[status] }))}
            onChange={(value) => setFilter('status')(value)}
          />
        </Flex>
        <Flex gap="2" align="center" style={{ flexWrap: 'wrap' }} aria-label="Counts by status" role="group">
          <Text variant="body-small" weight="bold">
            {formatCount(total)} datasets:
          </Text>
          {MIGRATION_STATUSES.filter((status) => (statusCounts.get(status) ?? 0) > 0).map((status) => (
            <Button
              key={status}
              size="small"
              variant={filters.status === status ? 'primary' : 'tertiary'}
              data-count-status={status}
              onPress={() => setFilter('status')(filters.status === status ? undefined : status)}
            >
              {`${STATUS_LABELS[status]}: ${formatCount(statusCounts.get(status) ?? 0)}`}
            </Button>
          ))}
        </Flex>
        <Flex gap="3" align="center">
          {canStart.allowed ? (
            <Button variant="primary" isDisabled={selected.size === 0} onPress={() => setDialogOpen(true)}>
              {`Start selected (${selected.size})`}
            </Button>
          ) : null}
          {selected.size > 0 ? (
            <Button variant="tertiary" onPress={() => setSelected(new Set())}>
              Clear selection
            </Button>
          ) : null}
          {live.error ? (
            <Text variant="body-small" color="danger">
              Live status unavailable: {live.error.message}
            </Text>
          ) : null}
        </Flex>
        {outcome ? <Alert status={outcome.ok ? 'success' : 'danger'} title={outcome.text} /> : null}
        <Table<DatasetRow>
          {...tableProps}
          columnConfig={columns}
          emptyState={<Text>No datasets match these filters.</Text>}
          selection={{
            mode: 'multiple',
            behavior: 'toggle',
            selected: new Set([...selected].filter((ref) => refs.includes(ref))),
            onSelectionChange: (keys) => {
              // The table reports this page's selection; selections on other pages are kept.
              const onPage = keys === 'all' ? refs : [...keys].map(String);
              setSelected((previous) => new Set([...[...previous].filter((ref) => !refs.includes(ref)), ...onPage]));
            },
          }}
        />
      </Flex>
      <StartSelectedDialog
        open={dialogOpen}
        count={selected.size}
        pending={starting}
        onStart={start}
        onCancel={() => setDialogOpen(false)}
      />
    </Container>
  );
}
