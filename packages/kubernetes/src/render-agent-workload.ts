/**
 * The pods of an agent class: the Deployment (or the Job template of a ScaledJob) and its
 * PodDisruptionBudget.
 *
 * The agent pod runs non-root with a read-only root filesystem (a sized emptyDir is its
 * `/tmp`), asks for as much memory as it may use (request = limit, so it is never evicted
 * for its own usage) and caps the Node heap below that limit, leaving room for Arrow buffers,
 * worker threads and native memory. Probes hit the agent's `/healthz` and `/readyz`.
 *
 * Stopping: Kubernetes runs the preStop pause, then sends SIGTERM; the agent stops claiming,
 * lets running tasks finish, and releases what is still running before the grace period
 * (`drainTimeoutSeconds` = terminationGracePeriodSeconds) ends, so no lease is left to expire.
 */
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IAffinity } from 'kubernetes-models/v1/Affinity';
import type { IEnvVar } from 'kubernetes-models/v1/EnvVar';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { AgentBlueprint, AgentClass } from './agent-blueprint.ts';
import { CLASS_LABEL, className, classSelector, type KubernetesObject, metadata } from './fleet-names.ts';

/** Seconds of the preStop pause: the pod leaves its Service's endpoints before SIGTERM. */
export const PRE_STOP_SECONDS = 5;
/**
 * Seconds kept at the end of the grace period for releasing leases of tasks that did not
 * finish: the agent's abort grace (5 s) plus the store round trips and the exit.
 */
export const RELEASE_MARGIN_SECONDS = 15;

const TMP_PATH = '/tmp';
const BYTES_PER_MEBIBYTE = 1024 * 1024;
const UNIT_BYTES: Record<string, number> = {
  '': 1,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
};

/** Mebibytes in a memory quantity such as `2Gi` or `1500M` (validated by the blueprint schema). */
export function memoryMebibytes(quantity: string): number {
  const match = /^([0-9]+)([KMGT]i?)?$/.exec(quantity);
  if (!match) throw new Error(`not a memory quantity: ${quantity}`);
  return (Number(match[1]) * (UNIT_BYTES[match[2] ?? ''] ?? 1)) / BYTES_PER_MEBIBYTE;
}

/** The Node heap cap in MiB: `heapFraction` of the memory limit. */
export function heapMebibytes(blueprint: AgentBlueprint): number {
  return Math.floor(memoryMebibytes(blueprint.resources.memory) * blueprint.resources.heapFraction);
}

/** How long the agent drains before releasing what still runs, in ms. */
export function agentDrainMs(blueprint: AgentBlueprint): number {
  return (blueprint.drainTimeoutSeconds - PRE_STOP_SECONDS - RELEASE_MARGIN_SECONDS) * 1000;
}

function concurrencyOf(blueprint: AgentBlueprint, agentClass: AgentClass): number {
  return agentClass.concurrency ?? blueprint.concurrency;
}

function environment(blueprint: AgentBlueprint, agentClass: AgentClass): IEnvVar[] {
  const secret = (name: string, ref: { name: string; key: string }): IEnvVar => ({
    name,
    valueFrom: { secretKeyRef: { name: ref.name, key: ref.key } },
  });
  const env: IEnvVar[] = [
    secret('HONK_STORE', blueprint.store.url),
    { name: 'HONK_AGENT_CLASS', value: agentClass.name },
  ];
  const labels = Object.entries(agentClass.labels);
  if (labels.length > 0) {
    env.push({ name: 'HONK_AGENT_LABELS', value: labels.map(([key, value]) => `${key}=${value}`).join(',') });
  }
  if (agentClass.connections) env.push({ name: 'HONK_AGENT_CONNECTIONS', value: agentClass.connections.join(',') });
  if (blueprint.modules.length > 0) env.push({ name: 'HONK_ALLOWED_MODULES', value: blueprint.modules.join(',') });
  env.push(
    { name: 'NODE_OPTIONS', value: `--max-old-space-size=${heapMebibytes(blueprint)}` },
    { name: 'TMPDIR', value: TMP_PATH },
    // Freed large buffers go back to the system instead of staying in per-thread arenas
    // (packages/core/docs/threads.md): the pod's memory stays near what is live.
    { name: 'MALLOC_MMAP_THRESHOLD_', value: '131072' },
  );
  for (const [name, value] of Object.entries(blueprint.env)) env.push({ name, value });
  for (const [name, ref] of Object.entries(blueprint.secretEnv)) env.push(secret(name, ref));
  // Least privilege: a class limited to some connections gets only their credentials.
  for (const [connection, credentials] of Object.entries(blueprint.connections)) {
    if (agentClass.connections && !agentClass.connections.includes(connection)) continue;
    for (const [name, ref] of Object.entries(credentials.env)) env.push(secret(name, ref));
  }
  return env;
}

function nodeAffinity(agentClass: AgentClass): IAffinity | undefined {
  const terms: Array<{ key: string; operator: 'In'; values: string[] }> = [];
  if (agentClass.region)
    terms.push({ key: 'topology.kubernetes.io/region', operator: 'In', values: [agentClass.region] });
  for (const [key, values] of Object.entries(agentClass.nodeAffinity)) terms.push({ key, operator: 'In', values });
  if (terms.length === 0) return undefined;
  return {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: terms }] },
    },
  };
}

/**
 * The agent pod template of a class. `exitWhenIdle` is for Jobs: the agent runs what its
 * class can claim and exits once nothing is left.
 */
export function agentPodTemplate(
  blueprint: AgentBlueprint,
  agentClass: AgentClass,
  options: { exitWhenIdle?: boolean } = {},
): IPodTemplateSpec {
  const port = blueprint.port;
  const args = [
    'agent',
    '--host',
    '0.0.0.0',
    '--port',
    String(port),
    '--concurrency',
    String(concurrencyOf(blueprint, agentClass)),
    '--drain-timeout-ms',
    String(agentDrainMs(blueprint)),
    ...(options.exitWhenIdle ? ['--exit-when-idle'] : []),
  ];
  const [command, ...commandArgs] = blueprint.command;
  const affinity = nodeAffinity(agentClass);
  return {
    metadata: { labels: { ...classSelector(blueprint, agentClass), 'app.kubernetes.io/managed-by': 'honk' } },
    spec: {
      ...(blueprint.serviceAccountName ? { serviceAccountName: blueprint.serviceAccountName } : {}),
      automountServiceAccountToken: false,
      ...(options.exitWhenIdle ? { restartPolicy: 'Never' } : {}),
      terminationGracePeriodSeconds: blueprint.drainTimeoutSeconds,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 10_001,
        runAsGroup: 10_001,
        fsGroup: 10_001,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(blueprint.imagePullSecrets.length > 0
        ? { imagePullSecrets: blueprint.imagePullSecrets.map((name) => ({ name })) }
        : {}),
      ...(affinity ? { affinity } : {}),
      containers: [
        {
          name: 'agent',
          image: blueprint.image,
          imagePullPolicy: blueprint.imagePullPolicy,
          command: [command!],
          args: [...commandArgs, ...args],
          env: environment(blueprint, agentClass),
          ports: [{ name: 'metrics', containerPort: port, protocol: 'TCP' }],
          resources: {
            requests: { memory: blueprint.resources.memory, cpu: blueprint.resources.cpu },
            limits: {
              memory: blueprint.resources.memory,
              ...(blueprint.resources.cpuLimit ? { cpu: blueprint.resources.cpuLimit } : {}),
            },
          },
          securityContext: {
            runAsNonRoot: true,
            readOnlyRootFilesystem: true,
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
          startupProbe: { httpGet: { path: '/healthz', port: 'metrics' }, periodSeconds: 2, failureThreshold: 30 },
          livenessProbe: {
            httpGet: { path: '/healthz', port: 'metrics' },
            periodSeconds: 10,
            timeoutSeconds: 3,
            failureThreshold: 3,
          },
          readinessProbe: {
            httpGet: { path: '/readyz', port: 'metrics' },
            periodSeconds: 5,
            timeoutSeconds: 3,
            failureThreshold: 3,
          },
          lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
          volumeMounts: [{ name: 'tmp', mountPath: TMP_PATH }],
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: blueprint.resources.tmp } }],
    },
  };
}

/**
 * The Deployment of a class. Its replica count is left to the KEDA ScaledObject (a count
 * here would fight the autoscaler at every apply).
 */
export function renderDeployment(blueprint: AgentBlueprint, agentClass: AgentClass): KubernetesObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(blueprint, className(blueprint, agentClass), {
      'app.kubernetes.io/component': 'agent',
      [CLASS_LABEL]: agentClass.name,
    }),
    spec: {
      selector: { matchLabels: classSelector(blueprint, agentClass) },
      // A new agent is up before an old one drains: the class never loses capacity in a rollout.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: agentPodTemplate(blueprint, agentClass),
    },
  } satisfies IDeployment;
}

/** At most one agent of a class drained at a time by voluntary disruptions (node drains, upgrades). */
export function renderPodDisruptionBudget(blueprint: AgentBlueprint, agentClass: AgentClass): KubernetesObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(blueprint, className(blueprint, agentClass), { [CLASS_LABEL]: agentClass.name }),
    spec: { maxUnavailable: 1, selector: { matchLabels: classSelector(blueprint, agentClass) } },
  } satisfies IPodDisruptionBudget;
}
