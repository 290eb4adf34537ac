/**
 * What watches and fences the fleet: the metrics Service, the Prometheus operator's
 * ServiceMonitor and PrometheusRule, and a NetworkPolicy.
 *
 * One headless Service selects the agents of every class; Prometheus scrapes each pod
 * through it, with the Service's name as the `job` label the alerts are scoped to. The
 * agents' own `class` label tells classes apart, so no relabelling is needed.
 */
import type { IPrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IService } from 'kubernetes-models/v1/Service';
import type { AgentBlueprint } from './agent-blueprint.ts';
import { fleetAlertRules } from './fleet-alerts.ts';
import { agentSelector, type KubernetesObject, metadata, metricsServiceName } from './fleet-names.ts';

/** The headless Service Prometheus finds the agents through. */
export function renderMetricsService(blueprint: AgentBlueprint): KubernetesObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(blueprint, metricsServiceName(blueprint), { 'app.kubernetes.io/component': 'metrics' }),
    spec: {
      clusterIP: 'None',
      selector: agentSelector(blueprint),
      ports: [{ name: 'metrics', port: blueprint.port, targetPort: 'metrics', protocol: 'TCP' }],
    },
  } satisfies IService;
}

export function renderServiceMonitor(blueprint: AgentBlueprint): KubernetesObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: metadata(blueprint, blueprint.name, blueprint.monitoring.labels),
    spec: {
      selector: {
        matchLabels: {
          'app.kubernetes.io/instance': blueprint.name,
          'app.kubernetes.io/component': 'metrics',
        },
      },
      namespaceSelector: { matchNames: [blueprint.namespace] },
      endpoints: [{ port: 'metrics', path: '/metrics', interval: blueprint.monitoring.interval }],
    },
  } satisfies IServiceMonitor;
}

/** The fleet's alerts (`fleet-alerts.ts`). */
export function renderPrometheusRule(blueprint: AgentBlueprint): KubernetesObject {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: metadata(blueprint, `${blueprint.name}-alerts`, blueprint.monitoring.labels),
    spec: {
      groups: fleetAlertRules({
        job: metricsServiceName(blueprint),
        namespace: blueprint.namespace,
        backlogAgeSeconds: blueprint.monitoring.backlogAgeSeconds,
      }),
    },
  } satisfies IPrometheusRule;
}

/**
 * Only Prometheus's namespace reaches the agents, on the metrics port (kubelet probes are
 * not subject to NetworkPolicy). Egress stays open unless `egressCidrs` lists where the
 * store and the data systems live; DNS is then allowed too.
 */
export function renderNetworkPolicy(blueprint: AgentBlueprint): KubernetesObject {
  const egress = blueprint.networkPolicy.egressCidrs;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(blueprint, `${blueprint.name}-agents`),
    spec: {
      podSelector: { matchLabels: agentSelector(blueprint) },
      policyTypes: egress ? ['Ingress', 'Egress'] : ['Ingress'],
      ingress: [
        {
          from: [
            {
              namespaceSelector: {
                matchLabels: { 'kubernetes.io/metadata.name': blueprint.monitoring.prometheusNamespace },
              },
            },
          ],
          ports: [{ protocol: 'TCP', port: blueprint.port }],
        },
      ],
      ...(egress
        ? {
            egress: [
              {
                ports: [
                  { protocol: 'UDP', port: 53 },
                  { protocol: 'TCP', port: 53 },
                ],
              },
              { to: egress.map((cidr) => ({ ipBlock: { cidr } })) },
            ],
          }
        : {}),
    },
  } satisfies INetworkPolicy;
}
