import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  type AgentBlueprintInput,
  type KubernetesObject,
  manifestsToYaml,
  parseBlueprint,
  renderManifests,
} from '../src/index.ts';
import { claimableTasksQuery } from '../src/scaler-query.ts';
import { validateObject } from './validate-objects.ts';

const BLUEPRINT: AgentBlueprintInput = {
  version: 1,
  name: 'honk',
  namespace: 'migrations',
  image: 'ghcr.io/acme/honk-agent:1.0.0',
  store: { url: { name: 'honk-store', key: 'url' } },
  modules: ['@acme/honk-connectors', '/app/connectors/'],
  connections: {
    warehouse: { env: { WAREHOUSE_URL: { name: 'warehouse', key: 'url' } } },
    archive: { env: { ARCHIVE_KEY: { name: 'archive', key: 'key' } } },
  },
  secretEnv: { EXTRA_TOKEN: { name: 'extra', key: 'token' } },
  env: { LOG_LEVEL: 'debug' },
  resources: { memory: '2Gi', cpu: '500m' },
  concurrency: 3,
  drainTimeoutSeconds: 120,
  monitoring: { labels: { release: 'prom' } },
  classes: [
    { name: 'eu', labels: { region: 'eu' }, connections: ['warehouse', 'lake'], region: 'eu-west-1' },
    { name: 'batch', scaledJob: true, concurrency: 1, replicas: { min: 0, max: 4 } },
  ],
};

function find(objects: KubernetesObject[], kind: string, name: string): any {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

describe('renderManifests', () => {
  const objects = renderManifests(parseBlueprint(BLUEPRINT));

  it('renders objects every one of which the Kubernetes, KEDA and Prometheus-operator schemas accept', () => {
    expect(objects.map((object) => `${object.kind}/${object.metadata.name}`)).toEqual([
      'TriggerAuthentication/honk-store',
      'Deployment/honk-eu',
      'PodDisruptionBudget/honk-eu',
      'ScaledObject/honk-eu',
      'ScaledJob/honk-batch',
      'Service/honk-metrics',
      'ServiceMonitor/honk',
      'PrometheusRule/honk-alerts',
      'NetworkPolicy/honk-agents',
      'ConfigMap/honk-dashboard',
    ]);
    for (const object of objects) {
      expect(object.metadata.namespace).toBe('migrations');
      validateObject(object);
    }
    // The YAML stream parses back to the same objects.
    const documents = manifestsToYaml(objects)
      .split(/^---$/m)
      .map((text) => parse(text));
    expect(documents).toEqual(objects);
  });

  it('fails validation for a field of the wrong type (the schemas are really applied)', () => {
    const deployment = structuredClone(find(objects, 'Deployment', 'honk-eu'));
    deployment.spec.template.spec.containers[0].ports[0].containerPort = '9464';
    expect(() => validateObject(deployment)).toThrow(/containerPort must be integer/);
    const scaler = structuredClone(find(objects, 'ScaledObject', 'honk-eu'));
    scaler.spec.triggers[0].metadata.targetQueryValue = 3;
    expect(() => validateObject(scaler)).toThrow(/targetQueryValue must be string/);
  });

  it('runs agents non-root on a read-only root filesystem, memory request = limit, the heap capped below it', () => {
    const deployment = find(objects, 'Deployment', 'honk-eu');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources.requests.memory).toBe('2Gi');
    expect(container.resources.limits.memory).toBe('2Gi');
    const env = Object.fromEntries(container.env.map((v: { name: string; value?: string }) => [v.name, v]));
    expect(env.NODE_OPTIONS.value).toBe(`--max-old-space-size=${Math.floor(2048 * 0.6)}`);
    expect(container.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(env.TMPDIR.value).toBe('/tmp');
    expect(pod.volumes[0].emptyDir.sizeLimit).toBe('1Gi');
    // The replica count belongs to the ScaledObject.
    expect(deployment.spec.replicas).toBeUndefined();
  });

  it('probes /healthz and /readyz, pauses before SIGTERM and drains within the grace period', () => {
    const pod = find(objects, 'Deployment', 'honk-eu').spec.template.spec;
    const container = pod.containers[0];
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.lifecycle.preStop).toEqual({ sleep: { seconds: 5 } });
    expect(pod.terminationGracePeriodSeconds).toBe(120);
    const args: string[] = container.args;
    // 120 s grace − 5 s preStop − 15 s to release what did not finish.
    expect(args.slice(args.indexOf('--drain-timeout-ms'), args.indexOf('--drain-timeout-ms') + 2)).toEqual([
      '--drain-timeout-ms',
      '100000',
    ]);
    expect(args).toEqual(expect.arrayContaining(['agent', '--concurrency', '3', '--port', '9464']));
    expect(container.command).toEqual(['honk']);
  });

  it('passes the store, credentials and class settings as environment variables, secrets only by reference', () => {
    const container = find(objects, 'Deployment', 'honk-eu').spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.map((v: { name: string }) => [v.name, v]));
    expect(env.HONK_STORE).toEqual({
      name: 'HONK_STORE',
      valueFrom: { secretKeyRef: { name: 'honk-store', key: 'url' } },
    });
    expect(env.WAREHOUSE_URL.valueFrom.secretKeyRef).toEqual({ name: 'warehouse', key: 'url' });
    expect(env.EXTRA_TOKEN.valueFrom.secretKeyRef).toEqual({ name: 'extra', key: 'token' });
    expect(env.HONK_AGENT_CLASS.value).toBe('eu');
    expect(env.HONK_AGENT_LABELS.value).toBe('region=eu');
    expect(env.HONK_AGENT_CONNECTIONS.value).toBe('warehouse,lake');
    expect(env.HONK_ALLOWED_MODULES.value).toBe('@acme/honk-connectors,/app/connectors/');
    expect(env.LOG_LEVEL.value).toBe('debug');
    // A class limited to some connections gets only their credentials; an unlimited class gets all.
    expect(env.ARCHIVE_KEY).toBeUndefined();
    // A class without labels or connections gets neither variable.
    const batch = find(objects, 'ScaledJob', 'honk-batch').spec.jobTargetRef.template.spec.containers[0];
    const names = batch.env.map((v: { name: string }) => v.name);
    expect(names).not.toContain('HONK_AGENT_LABELS');
    expect(names).not.toContain('HONK_AGENT_CONNECTIONS');
    expect(names).toEqual(expect.arrayContaining(['WAREHOUSE_URL', 'ARCHIVE_KEY']));
  });

  it('pins a regional class to its region and leaves other classes unpinned', () => {
    const eu = find(objects, 'Deployment', 'honk-eu').spec.template.spec;
    expect(eu.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms).toEqual([
      { matchExpressions: [{ key: 'topology.kubernetes.io/region', operator: 'In', values: ['eu-west-1'] }] },
    ]);
    const batch = find(objects, 'ScaledJob', 'honk-batch').spec.jobTargetRef.template.spec;
    expect(batch.affinity).toBeUndefined();
  });

  it("scales each class with KEDA's postgresql trigger on that class's claimable-tasks query", () => {
    const scaler = find(objects, 'ScaledObject', 'honk-eu');
    expect(scaler.spec).toMatchObject({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'honk-eu' },
      minReplicaCount: 0,
      maxReplicaCount: 10,
    });
    const [trigger] = scaler.spec.triggers;
    expect(trigger.type).toBe('postgresql');
    expect(trigger.metadata).toEqual({
      query: claimableTasksQuery({ schema: 'honk', labels: { region: 'eu' }, connections: ['warehouse', 'lake'] }),
      targetQueryValue: '3',
      activationTargetQueryValue: '0',
    });
    expect(trigger.authenticationRef).toEqual({ name: 'honk-store' });
    expect(find(objects, 'TriggerAuthentication', 'honk-store').spec.secretTargetRef).toEqual([
      { parameter: 'connection', name: 'honk-store', key: 'url' },
    ]);

    const job = find(objects, 'ScaledJob', 'honk-batch');
    expect(job.spec.triggers[0].metadata.targetQueryValue).toBe('1');
    expect(job.spec.maxReplicaCount).toBe(4);
    const jobPod = job.spec.jobTargetRef.template.spec;
    expect(jobPod.restartPolicy).toBe('Never');
    expect(jobPod.containers[0].args).toContain('--exit-when-idle');
  });

  it('lets only Prometheus reach the agents and selects them from the ServiceMonitor', () => {
    const service = find(objects, 'Service', 'honk-metrics');
    const monitor = find(objects, 'ServiceMonitor', 'honk');
    expect(monitor.metadata.labels.release).toBe('prom');
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) {
      expect(service.metadata.labels[key]).toBe(value);
    }
    const pod = find(objects, 'Deployment', 'honk-eu').spec.template;
    for (const [key, value] of Object.entries(service.spec.selector)) expect(pod.metadata.labels[key]).toBe(value);
    const policy = find(objects, 'NetworkPolicy', 'honk-agents');
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress[0].from[0].namespaceSelector.matchLabels).toEqual({
      'kubernetes.io/metadata.name': 'monitoring',
    });
    const rules = find(objects, 'PrometheusRule', 'honk-alerts');
    expect(rules.spec.groups[0].rules.map((rule: { alert: string }) => rule.alert)).toEqual([
      'HonkAuthFailures',
      'HonkSchemaMismatch',
      'HonkDeadLetterGrowing',
      'HonkBacklogTooOld',
      'HonkNoProgress',
      'HonkAgentDown',
      'HonkAgentsAllDown',
    ]);
  });

  it('renders a Grafana dashboard of queue, throughput, failures by code and agents', () => {
    const configMap = find(objects, 'ConfigMap', 'honk-dashboard');
    expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
    const dashboard = JSON.parse(configMap.data['honk-fleet.json']);
    const expressions: string[] = dashboard.panels.flatMap((panel: { targets: Array<{ expr: string }> }) =>
      panel.targets.map((target) => target.expr),
    );
    for (const metric of [
      'honk_queue_tasks',
      'honk_queue_claimable_tasks',
      'honk_rows_transferred_total',
      'honk_task_failures_total',
      'honk_tasks_in_flight',
      'honk_task_duration_seconds_bucket',
    ]) {
      expect(expressions.some((expr) => expr.includes(`${metric}{job="honk-metrics",namespace="migrations"}`))).toBe(
        true,
      );
    }
  });
});
