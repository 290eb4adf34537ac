/**
 * The alerting rules of a fleet, as Prometheus rule groups: the PrometheusRule's spec and,
 * written as a rule file, what `promtool test rules` checks in this package's tests.
 *
 * Every expression is scoped to the fleet's scrape job and namespace, so two fleets in one
 * Prometheus do not page for each other, and aggregates by `class` (the agent class label
 * every Honk series carries) so the page says which class is in trouble. Series that every
 * agent reports about the shared store (the backlog gauges) are taken with `max`, not `sum`:
 * each agent of a class sees the same queue.
 */

/** One alerting rule (the Prometheus rule-file shape). */
export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A named group of rules. */
export interface AlertRuleGroup {
  name: string;
  rules: AlertRule[];
}

export interface FleetAlertOptions {
  /** The Prometheus `job` label of the agents' targets (the metrics Service's name). */
  job: string;
  namespace: string;
  /** Alert when the oldest claimable task has waited longer than this. */
  backlogAgeSeconds: number;
}

/** The fleet's alerting rules (see the module documentation). */
export function fleetAlertRules(options: FleetAlertOptions): AlertRuleGroup[] {
  const scope = `job="${options.job}",namespace="${options.namespace}"`;
  const minutes = Math.round(options.backlogAgeSeconds / 60);
  return [
    {
      name: `honk-fleet.${options.namespace}.${options.job}`,
      rules: [
        {
          alert: 'HonkAuthFailures',
          expr: `sum by (namespace, class) (increase(honk_task_failures_total{${scope},code="AUTH_FAILED"}[10m])) > 0`,
          labels: { severity: 'critical' },
          annotations: {
            summary: 'Honk agents of class {{ $labels.class }} are rejected by a data system',
            description:
              'Task attempts failed with AUTH_FAILED in the last 10 minutes ({{ $value }}). The circuit breaker pauses the connection; check the credentials in its Secret (honk dead-letter list shows the tasks).',
          },
        },
        {
          alert: 'HonkSchemaMismatch',
          expr: `sum by (namespace, class) (increase(honk_task_failures_total{${scope},code="SCHEMA_MISMATCH"}[15m])) > 0`,
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Honk tasks of class {{ $labels.class }} stopped on a schema mismatch',
            description:
              'A source and target schema disagree ({{ $value }} attempts in 15 minutes); the tasks are dead-lettered. Fix the spec (cast, select) or the target, then honk dead-letter requeue.',
          },
        },
        {
          alert: 'HonkDeadLetterGrowing',
          expr: `sum by (namespace, class) (increase(honk_tasks_total{${scope},state="dead"}[30m])) > 0`,
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Tasks of class {{ $labels.class }} are being dead-lettered',
            description:
              '{{ $value }} tasks went to the dead-letter state in the last 30 minutes. honk dead-letter list names each one with its error.',
          },
        },
        {
          alert: 'HonkBacklogTooOld',
          expr: `max by (namespace, class) (honk_queue_oldest_claimable_age_seconds{${scope}}) > ${options.backlogAgeSeconds}`,
          for: '10m',
          labels: { severity: 'warning' },
          annotations: {
            summary: `Claimable Honk tasks of class {{ $labels.class }} have waited over ${minutes} minutes`,
            description:
              'The oldest task this class could run has waited {{ $value | humanizeDuration }}. The fleet is at its maximum replicas, agents are failing, or KEDA is not scaling the class.',
          },
        },
        {
          alert: 'HonkNoProgress',
          expr:
            `sum by (namespace, class) (honk_tasks_in_flight{${scope}}) > 0` +
            ` unless sum by (namespace, class) (increase(honk_rows_transferred_total{${scope}}[15m])) > 0` +
            ` unless sum by (namespace, class) (increase(honk_tasks_total{${scope}}[15m])) > 0`,
          for: '15m',
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Honk agents of class {{ $labels.class }} run tasks but move no data',
            description:
              'Tasks are running, yet no rows moved and no attempt ended for 15 minutes. A source or target may hang (idleTimeoutMs aborts such attempts), or the agents are starved of CPU.',
          },
        },
        {
          alert: 'HonkAgentDown',
          expr: `up{${scope}} == 0`,
          for: '5m',
          labels: { severity: 'warning' },
          annotations: {
            summary: 'Honk agent {{ $labels.pod }} does not answer scrapes',
            description:
              'Prometheus cannot scrape the agent for 5 minutes. Its leases expire and other agents take its tasks over; check the pod (kubectl describe pod {{ $labels.pod }}).',
          },
        },
        {
          alert: 'HonkAgentsAllDown',
          expr: `sum by (namespace) (up{${scope}}) == 0`,
          for: '5m',
          labels: { severity: 'critical' },
          annotations: {
            summary: 'No Honk agent of the fleet answers',
            description:
              'Every agent target has been down for 5 minutes: no task runs. Check the Deployments (kubectl get pods), the store they connect to, and the KEDA ScaledObjects (kubectl get scaledobject).',
          },
        },
      ],
    },
  ];
}
