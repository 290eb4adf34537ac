/**
 * Names and labels shared by every rendered object, so selectors in one object always match
 * the labels another one sets.
 */
import type { AgentBlueprint, AgentClass } from './agent-blueprint.ts';

/** A rendered Kubernetes object: plain JSON with the fields every object has. */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

/** The label carrying the agent class on pods and per-class objects. */
export const CLASS_LABEL = 'honk.dev/class';

/** Labels of every object of the fleet. */
export function fleetLabels(blueprint: AgentBlueprint): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'honk-agent',
    'app.kubernetes.io/instance': blueprint.name,
    'app.kubernetes.io/managed-by': 'honk',
  };
}

/** Selects every agent pod of the fleet (all classes). */
export function agentSelector(blueprint: AgentBlueprint): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'honk-agent',
    'app.kubernetes.io/instance': blueprint.name,
    'app.kubernetes.io/component': 'agent',
  };
}

/** Selects the agent pods of one class. */
export function classSelector(blueprint: AgentBlueprint, agentClass: AgentClass): Record<string, string> {
  return { ...agentSelector(blueprint), [CLASS_LABEL]: agentClass.name };
}

/** `<fleet>-<class>`: the Deployment, scaler and PodDisruptionBudget of a class. */
export function className(blueprint: AgentBlueprint, agentClass: AgentClass): string {
  return `${blueprint.name}-${agentClass.name}`;
}

/** The metrics Service; Prometheus's `job` label of the agents' targets. */
export function metricsServiceName(blueprint: AgentBlueprint): string {
  return `${blueprint.name}-metrics`;
}

/** The KEDA TriggerAuthentication holding the store URL reference. */
export function storeAuthenticationName(blueprint: AgentBlueprint): string {
  return `${blueprint.name}-store`;
}

export function metadata(
  blueprint: AgentBlueprint,
  name: string,
  labels: Record<string, string> = {},
): KubernetesObject['metadata'] {
  return { name, namespace: blueprint.namespace, labels: { ...fleetLabels(blueprint), ...labels } };
}
