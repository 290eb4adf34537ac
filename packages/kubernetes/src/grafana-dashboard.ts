/**
 * The fleet's Grafana dashboard: queue, throughput, failures by code and agents, by class.
 * Rendered into a ConfigMap carrying the labels Grafana's dashboard sidecar looks for, so a
 * Grafana of the kube-prometheus stack picks it up without a manual import.
 */
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { AgentBlueprint } from './agent-blueprint.ts';
import { type KubernetesObject, metadata, metricsServiceName } from './fleet-names.ts';

interface PanelDefinition {
  title: string;
  unit: string;
  /** PromQL with `$scope` standing for the fleet's label matchers. */
  queries: Array<{ expr: string; legend: string }>;
}

const PANELS: readonly PanelDefinition[] = [
  {
    title: 'Tasks in the store by state',
    unit: 'short',
    queries: [{ expr: 'max by (state) (honk_queue_tasks{$scope})', legend: '{{state}}' }],
  },
  {
    title: 'Claimable now, by class',
    unit: 'short',
    queries: [{ expr: 'max by (class) (honk_queue_claimable_tasks{$scope})', legend: '{{class}}' }],
  },
  {
    title: 'Oldest claimable task waiting, by class',
    unit: 's',
    queries: [{ expr: 'max by (class) (honk_queue_oldest_claimable_age_seconds{$scope})', legend: '{{class}}' }],
  },
  {
    title: 'Rows per second, by class',
    unit: 'rowsps',
    queries: [{ expr: 'sum by (class) (rate(honk_rows_transferred_total{$scope}[5m]))', legend: '{{class}}' }],
  },
  {
    title: 'Bytes per second, by class',
    unit: 'Bps',
    queries: [{ expr: 'sum by (class) (rate(honk_bytes_transferred_total{$scope}[5m]))', legend: '{{class}}' }],
  },
  {
    title: 'Attempts ended per minute, by outcome',
    unit: 'short',
    queries: [{ expr: 'sum by (state) (rate(honk_tasks_total{$scope}[5m])) * 60', legend: '{{state}}' }],
  },
  {
    title: 'Failures by code (15 min)',
    unit: 'short',
    queries: [{ expr: 'sum by (code) (increase(honk_task_failures_total{$scope}[15m]))', legend: '{{code}}' }],
  },
  {
    title: 'Agents and running tasks, by class',
    unit: 'short',
    queries: [
      { expr: 'count by (class) (honk_tasks_in_flight{$scope})', legend: 'agents {{class}}' },
      { expr: 'sum by (class) (honk_tasks_in_flight{$scope})', legend: 'running {{class}}' },
    ],
  },
  {
    title: 'Attempt duration p95, by class',
    unit: 's',
    queries: [
      {
        expr: 'histogram_quantile(0.95, sum by (le, class) (rate(honk_task_duration_seconds_bucket{$scope}[15m])))',
        legend: '{{class}}',
      },
    ],
  },
  {
    title: 'Lease losses (15 min), by class',
    unit: 'short',
    queries: [{ expr: 'sum by (class) (increase(honk_lease_losses_total{$scope}[15m]))', legend: '{{class}}' }],
  },
  {
    title: 'Agent memory (resident), by pod',
    unit: 'bytes',
    queries: [{ expr: 'max by (pod) (process_resident_memory_bytes{$scope})', legend: '{{pod}}' }],
  },
  {
    title: 'Agent CPU, by pod',
    unit: 'percentunit',
    queries: [{ expr: 'max by (pod) (rate(process_cpu_seconds_total{$scope}[5m]))', legend: '{{pod}}' }],
  },
];

/** The dashboard model (Grafana's JSON), for the fleet's scrape job and namespace. */
export function fleetDashboard(blueprint: AgentBlueprint): Record<string, unknown> {
  const scope = `job="${metricsServiceName(blueprint)}",namespace="${blueprint.namespace}"`;
  const datasource = { type: 'prometheus', uid: '$datasource' };
  return {
    uid: `honk-${blueprint.name}`.slice(0, 40),
    title: `Honk fleet ${blueprint.name} (${blueprint.namespace})`,
    tags: ['honk'],
    schemaVersion: 39,
    editable: true,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    templating: {
      list: [{ name: 'datasource', type: 'datasource', query: 'prometheus', label: 'Data source' }],
    },
    panels: PANELS.map((panel, index) => ({
      id: index + 1,
      type: 'timeseries',
      title: panel.title,
      datasource,
      gridPos: { x: (index % 2) * 12, y: Math.floor(index / 2) * 8, w: 12, h: 8 },
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      targets: panel.queries.map((query, queryIndex) => ({
        refId: String.fromCharCode(65 + queryIndex),
        datasource,
        expr: query.expr.replaceAll('$scope', scope),
        legendFormat: query.legend,
      })),
    })),
  };
}

/** The dashboard in a ConfigMap for Grafana's sidecar. */
export function renderDashboardConfigMap(blueprint: AgentBlueprint): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(blueprint, `${blueprint.name}-dashboard`, blueprint.monitoring.dashboardLabels),
    data: { 'honk-fleet.json': `${JSON.stringify(fleetDashboard(blueprint), null, 2)}\n` },
  } satisfies IConfigMap;
}
