/**
 * The fleet example renders with `honk manifests` exactly as the README says, and every
 * object it prints is accepted by the Kubernetes, KEDA and Prometheus-operator schemas.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '@honk/cli';
import { claimableTasksQuery, type KubernetesObject } from '@honk/kubernetes';
import { expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { validateObject } from '../../../packages/kubernetes/test/validate-objects.ts';

const example = dirname(dirname(fileURLToPath(import.meta.url)));

it('renders valid objects for two regions', async () => {
  const result = await runCli(['manifests', 'blueprint.yaml'], { cwd: example });
  expect(result.code, result.stderr).toBe(0);
  const objects = parseAllDocuments(result.stdout).map((document) => document.toJS() as KubernetesObject);
  for (const object of objects) validateObject(object);

  const byKind = (kind: string) => objects.filter((object) => object.kind === kind) as any[];
  expect(byKind('Deployment').map((deployment) => deployment.metadata.name)).toEqual(['honk-eu', 'honk-us']);
  const regions = byKind('Deployment').map(
    (deployment) =>
      deployment.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
        .nodeSelectorTerms[0].matchExpressions[0].values[0],
  );
  expect(regions).toEqual(['eu-west-1', 'us-east-1']);
  const [eu, us] = byKind('ScaledObject');
  expect(eu.spec.triggers[0].metadata).toEqual({
    query: claimableTasksQuery({ schema: 'honk', labels: { region: 'eu' }, connections: ['warehouse-eu', 'lake'] }),
    targetQueryValue: '4',
    activationTargetQueryValue: '0',
  });
  expect([eu.spec.minReplicaCount, eu.spec.maxReplicaCount]).toEqual([0, 12]);
  expect([us.spec.minReplicaCount, us.spec.maxReplicaCount]).toEqual([1, 6]);
  // No credential is in any rendered object: secrets are referenced by name and key only.
  expect(result.stdout).not.toMatch(/postgres:\/\/|password/i);
  expect(byKind('PrometheusRule')[0].metadata.labels.release).toBe('kube-prometheus-stack');
  expect(byKind('NetworkPolicy')[0].spec.egress[1].to).toEqual([{ ipBlock: { cidr: '10.0.0.0/8' } }]);
});

it('writes the same objects into a directory with --out', async () => {
  const out = mkdtempSync(join(tmpdir(), 'honk-fleet-'));
  const result = await runCli(['manifests', 'blueprint.yaml', '--out', out], { cwd: example });
  expect(result.code, result.stderr).toBe(0);
  expect(readdirSync(out).sort()).toEqual([
    'configmap-honk-dashboard.yaml',
    'deployment-honk-eu.yaml',
    'deployment-honk-us.yaml',
    'networkpolicy-honk-agents.yaml',
    'poddisruptionbudget-honk-eu.yaml',
    'poddisruptionbudget-honk-us.yaml',
    'prometheusrule-honk-alerts.yaml',
    'scaledobject-honk-eu.yaml',
    'scaledobject-honk-us.yaml',
    'service-honk-metrics.yaml',
    'servicemonitor-honk.yaml',
    'triggerauthentication-honk-store.yaml',
  ]);
});
