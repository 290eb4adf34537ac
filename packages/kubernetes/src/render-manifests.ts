/**
 * Every object of a fleet, in the order `kubectl apply` should create them: the scaler's
 * credentials before the scalers, workloads before what scales and watches them.
 */
import { stringify } from 'yaml';
import type { AgentBlueprint } from './agent-blueprint.ts';
import type { KubernetesObject } from './fleet-names.ts';
import { renderDashboardConfigMap } from './grafana-dashboard.ts';
import { renderDeployment, renderPodDisruptionBudget } from './render-agent-workload.ts';
import {
  renderMetricsService,
  renderNetworkPolicy,
  renderPrometheusRule,
  renderServiceMonitor,
} from './render-monitoring.ts';
import { renderScaledJob, renderScaledObject, renderTriggerAuthentication } from './render-scaler.ts';

/** The fleet's Kubernetes objects (see the README of @honk/kubernetes for what each does). */
export function renderManifests(blueprint: AgentBlueprint): KubernetesObject[] {
  const objects: KubernetesObject[] = [renderTriggerAuthentication(blueprint)];
  for (const agentClass of blueprint.classes) {
    if (agentClass.scaledJob) {
      objects.push(renderScaledJob(blueprint, agentClass));
    } else {
      objects.push(
        renderDeployment(blueprint, agentClass),
        renderPodDisruptionBudget(blueprint, agentClass),
        renderScaledObject(blueprint, agentClass),
      );
    }
  }
  objects.push(renderMetricsService(blueprint), renderServiceMonitor(blueprint), renderPrometheusRule(blueprint));
  if (blueprint.networkPolicy.enabled) objects.push(renderNetworkPolicy(blueprint));
  objects.push(renderDashboardConfigMap(blueprint));
  return objects;
}

/** Objects as one multi-document YAML stream. */
export function manifestsToYaml(objects: readonly KubernetesObject[]): string {
  return objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');
}

/** A file name for one object: `<kind>-<name>.yaml`, lower-case. */
export function manifestFileName(object: KubernetesObject): string {
  return `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`;
}
