/**
 * @honk/kubernetes — a Honk agent fleet on Kubernetes from one AgentBlueprint: Deployments per
 * agent class, KEDA scalers on the claimable backlog, monitoring, alerts, a dashboard.
 * See README.md.
 */
export {
  type AgentBlueprint,
  type AgentBlueprintInput,
  type AgentClass,
  agentBlueprintSchema,
  agentClassSchema,
  BLUEPRINT_JSON_SCHEMA_ID,
  blueprintJsonSchema,
  type SecretRef,
} from './agent-blueprint.ts';
export { type AlertRule, type AlertRuleGroup, type FleetAlertOptions, fleetAlertRules } from './fleet-alerts.ts';
export { CLASS_LABEL, type KubernetesObject } from './fleet-names.ts';
export { fleetDashboard, renderDashboardConfigMap } from './grafana-dashboard.ts';
export { BlueprintError, type BlueprintIssue, loadBlueprint, parseBlueprint } from './parse-blueprint.ts';
export {
  agentDrainMs,
  agentPodTemplate,
  heapMebibytes,
  memoryMebibytes,
  PRE_STOP_SECONDS,
  RELEASE_MARGIN_SECONDS,
  renderDeployment,
  renderPodDisruptionBudget,
} from './render-agent-workload.ts';
export { manifestFileName, manifestsToYaml, renderManifests } from './render-manifests.ts';
export {
  renderMetricsService,
  renderNetworkPolicy,
  renderPrometheusRule,
  renderServiceMonitor,
} from './render-monitoring.ts';
export {
  renderScaledJob,
  renderScaledObject,
  renderTriggerAuthentication,
  scalerTrigger,
} from './render-scaler.ts';
export { type ClaimableTasksQueryOptions, claimableTasksQuery } from './scaler-query.ts';
