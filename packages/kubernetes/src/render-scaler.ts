/**
 * KEDA scaling of an agent class on the number of tasks it could claim now.
 *
 * KEDA's `postgresql` trigger runs the class's claimable-tasks query against the store at
 * every polling interval and sizes the class to ceil(claimable / concurrency per agent),
 * clamped to the replica range. The activation threshold is 0: a class with nothing to
 * claim is inactive and KEDA scales it to `replicas.min` (0 allowed) after the cooldown;
 * one claimable task activates it again. Tasks behind a saturated connection limit or
 * outside their window are not counted, so a blocked backlog does not ask for pods that
 * could not work.
 *
 * The store URL reaches KEDA through a TriggerAuthentication that references the same
 * Secret key as the agents' `HONK_STORE`; the query itself holds no credential.
 */
import type { IScaledJob } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledJob';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { ITriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import type { AgentBlueprint, AgentClass } from './agent-blueprint.ts';
import { CLASS_LABEL, className, type KubernetesObject, metadata, storeAuthenticationName } from './fleet-names.ts';
import { agentPodTemplate } from './render-agent-workload.ts';
import { claimableTasksQuery } from './scaler-query.ts';

/** The store URL for KEDA's trigger, from the agents' Secret. */
export function renderTriggerAuthentication(blueprint: AgentBlueprint): KubernetesObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'TriggerAuthentication',
    metadata: metadata(blueprint, storeAuthenticationName(blueprint)),
    spec: {
      secretTargetRef: [{ parameter: 'connection', name: blueprint.store.url.name, key: blueprint.store.url.key }],
    },
  } satisfies ITriggerAuthentication;
}

/** The class's `postgresql` trigger: its claimable-tasks query, a target of `concurrency` tasks per agent. */
export function scalerTrigger(blueprint: AgentBlueprint, agentClass: AgentClass) {
  const query = claimableTasksQuery({
    labels: agentClass.labels,
    ...(agentClass.connections ? { connections: agentClass.connections } : {}),
  });
  return {
    type: 'postgresql',
    name: 'claimable-tasks',
    metadata: {
      query,
      targetQueryValue: String(agentClass.concurrency ?? blueprint.concurrency),
      activationTargetQueryValue: '0',
    },
    authenticationRef: { name: storeAuthenticationName(blueprint) },
  };
}

function replicasOf(blueprint: AgentBlueprint, agentClass: AgentClass) {
  return agentClass.replicas ?? blueprint.replicas;
}

/** Scales the class's Deployment. */
export function renderScaledObject(blueprint: AgentBlueprint, agentClass: AgentClass): KubernetesObject {
  const replicas = replicasOf(blueprint, agentClass);
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: metadata(blueprint, className(blueprint, agentClass), { [CLASS_LABEL]: agentClass.name }),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: className(blueprint, agentClass) },
      pollingInterval: blueprint.scaler.pollingInterval,
      cooldownPeriod: blueprint.scaler.cooldownPeriod,
      minReplicaCount: replicas.min,
      maxReplicaCount: replicas.max,
      triggers: [scalerTrigger(blueprint, agentClass)],
    },
  } satisfies IScaledObject;
}

/**
 * The ScaledJob variant: one Job per `concurrency` claimable tasks, each running an agent
 * that exits when its class has nothing left to claim. Jobs are never scaled down mid-run,
 * which suits long bounded migrations; a Job's pod drains like a Deployment's on SIGTERM.
 */
export function renderScaledJob(blueprint: AgentBlueprint, agentClass: AgentClass): KubernetesObject {
  const replicas = replicasOf(blueprint, agentClass);
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledJob',
    metadata: metadata(blueprint, className(blueprint, agentClass), { [CLASS_LABEL]: agentClass.name }),
    spec: {
      jobTargetRef: {
        parallelism: 1,
        completions: 1,
        // A failed agent's tasks are retried through the store, not by re-running the Job.
        backoffLimit: 0,
        template: agentPodTemplate(blueprint, agentClass, { exitWhenIdle: true }),
      },
      pollingInterval: blueprint.scaler.pollingInterval,
      minReplicaCount: replicas.min,
      maxReplicaCount: replicas.max,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 5,
      triggers: [scalerTrigger(blueprint, agentClass)],
    },
  } satisfies IScaledJob;
}
