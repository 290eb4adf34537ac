/**
 * The fleet's alerting rules evaluated by Prometheus itself: `promtool test rules` (Debian's
 * `prometheus` package, installed by the test setup) feeds series to the rules exactly as
 * the PrometheusRule renders them and checks which alerts fire, with which labels and text.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type AlertRule, fleetAlertRules, parseBlueprint, renderPrometheusRule } from '../src/index.ts';

const JOB = 'honk-metrics';
const NAMESPACE = 'migrations';
const GROUPS = fleetAlertRules({ job: JOB, namespace: NAMESPACE, backlogAgeSeconds: 1800 });
const RULES: Record<string, AlertRule> = Object.fromEntries(GROUPS[0]!.rules.map((rule) => [rule.alert, rule]));

const promtool = () => {
  const path = process.env.HONK_TEST_PROMTOOL;
  if (!path) throw new Error('HONK_TEST_PROMTOOL is not set: run the tests through vitest (test/global-setup.ts).');
  return path;
};

/** A series selector with the fleet's scrape labels. */
function series(name: string, labels: Record<string, string>, values: string) {
  const all = { job: JOB, namespace: NAMESPACE, ...labels };
  return {
    series: `${name}{${Object.entries(all)
      .map(([key, value]) => `${key}="${value}"`)
      .join(',')}}`,
    values,
  };
}

/** The alert's annotations as Prometheus expands them for these labels and value text. */
function annotations(alert: string, labels: Record<string, string>, value: string): Record<string, string> {
  const expand = (text: string) =>
    text
      .replaceAll(/\{\{ \$labels\.(\w+) \}\}/g, (_, key: string) => labels[key] ?? '')
      .replaceAll(/\{\{ \$value( \| humanizeDuration)? \}\}/g, value);
  return Object.fromEntries(Object.entries(RULES[alert]!.annotations).map(([key, text]) => [key, expand(text)]));
}

interface AlertCase {
  name: string;
  input: Array<{ series: string; values: string }>;
  alert: string;
  at: string;
  firing: Array<{ labels: Record<string, string>; value: string }>;
  /** Other alerts these series rightly fire too (not checked to be silent). */
  also?: string[];
}

const ALL_ALERTS = Object.keys(RULES);

function runPromtool(cases: AlertCase[]) {
  const dir = mkdtempSync(join(tmpdir(), 'honk-promtool-'));
  writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: GROUPS }));
  const tests = cases.map((testCase) => ({
    name: testCase.name,
    interval: '1m',
    input_series: testCase.input,
    alert_rule_test: [
      {
        eval_time: testCase.at,
        alertname: testCase.alert,
        exp_alerts: testCase.firing.map(({ labels, value }) => ({
          exp_labels: { ...labels, severity: RULES[testCase.alert]!.labels.severity },
          exp_annotations: annotations(testCase.alert, labels, value),
        })),
      },
      // No other alert fires on these series.
      ...ALL_ALERTS.filter((alert) => alert !== testCase.alert && !testCase.also?.includes(alert)).map((alert) => ({
        eval_time: testCase.at,
        alertname: alert,
        exp_alerts: [],
      })),
    ],
  }));
  writeFileSync(join(dir, 'tests.yaml'), stringify({ rule_files: ['rules.yaml'], tests }));
  return spawnSync(promtool(), ['test', 'rules', 'tests.yaml'], { cwd: dir, encoding: 'utf8' });
}

const eu = { namespace: NAMESPACE, class: 'eu' };

const CASES: AlertCase[] = [
  {
    name: 'auth failures page at once, other failure codes do not',
    input: [
      series('honk_task_failures_total', { class: 'eu', pod: 'a', code: 'AUTH_FAILED' }, '0 0 0 1 1 1'),
      series('honk_task_failures_total', { class: 'us', pod: 'b', code: 'NOT_FOUND' }, '0 0 0 5 5 5'),
    ],
    alert: 'HonkAuthFailures',
    at: '5m',
    firing: [{ labels: eu, value: '1' }],
  },
  {
    name: 'schema mismatches warn',
    input: [series('honk_task_failures_total', { class: 'eu', pod: 'a', code: 'SCHEMA_MISMATCH' }, '0 0 2 2 2 2')],
    alert: 'HonkSchemaMismatch',
    at: '5m',
    firing: [{ labels: eu, value: '2' }],
  },
  {
    name: 'dead-letter growth warns',
    input: [
      series('honk_tasks_total', { class: 'eu', pod: 'a', state: 'dead' }, '0 0 3 3 3 3'),
      series('honk_tasks_total', { class: 'eu', pod: 'a', state: 'succeeded' }, '0+10x10'),
    ],
    alert: 'HonkDeadLetterGrowing',
    at: '5m',
    firing: [{ labels: eu, value: '3' }],
  },
  {
    name: 'a backlog older than the threshold for 10 minutes warns, a young one does not',
    input: [
      series('honk_queue_oldest_claimable_age_seconds', { class: 'eu', pod: 'a' }, '1000+60x40'),
      series('honk_queue_oldest_claimable_age_seconds', { class: 'us', pod: 'b' }, '0+0x40'),
    ],
    alert: 'HonkBacklogTooOld',
    at: '30m',
    firing: [{ labels: eu, value: '46m 40s' }],
  },
  {
    name: 'running tasks that move nothing for 15 minutes warn; a class moving rows does not',
    input: [
      series('honk_tasks_in_flight', { class: 'eu', pod: 'a' }, '1+0x60'),
      series('honk_rows_transferred_total', { class: 'eu', pod: 'a' }, '500+0x60'),
      series('honk_tasks_total', { class: 'eu', pod: 'a', state: 'succeeded' }, '3+0x60'),
      series('honk_tasks_in_flight', { class: 'us', pod: 'b' }, '1+0x60'),
      series('honk_rows_transferred_total', { class: 'us', pod: 'b' }, '0+100x60'),
      series('honk_tasks_total', { class: 'us', pod: 'b', state: 'succeeded' }, '3+0x60'),
    ],
    alert: 'HonkNoProgress',
    at: '40m',
    firing: [{ labels: eu, value: '1' }],
  },
  {
    name: 'an agent that stops answering scrapes warns',
    input: [
      series('up', { pod: 'a', instance: '10.0.0.1:9464' }, '1 1 0 0 0 0 0 0 0 0 0'),
      series('up', { pod: 'b', instance: '10.0.0.2:9464' }, '1+0x10'),
    ],
    alert: 'HonkAgentDown',
    at: '10m',
    firing: [{ labels: { job: JOB, namespace: NAMESPACE, pod: 'a', instance: '10.0.0.1:9464' }, value: '0' }],
  },
  {
    name: 'every agent down is critical',
    input: [
      series('up', { pod: 'a', instance: '10.0.0.1:9464' }, '1 0 0 0 0 0 0 0 0 0 0'),
      series('up', { pod: 'b', instance: '10.0.0.2:9464' }, '1 0 0 0 0 0 0 0 0 0 0'),
    ],
    alert: 'HonkAgentsAllDown',
    at: '10m',
    firing: [{ labels: { namespace: NAMESPACE }, value: '0' }],
    also: ['HonkAgentDown'],
  },
];

describe('fleet alert rules', () => {
  it('are the PrometheusRule groups and pass promtool check rules', () => {
    const rule = renderPrometheusRule(
      parseBlueprint({
        version: 1,
        name: 'honk',
        namespace: NAMESPACE,
        image: 'x',
        store: { url: { name: 's', key: 'url' } },
        classes: [{ name: 'eu' }],
      }),
    );
    expect((rule.spec as { groups: unknown }).groups).toEqual(GROUPS);
    const dir = mkdtempSync(join(tmpdir(), 'honk-promtool-'));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups: GROUPS }));
    const checked = spawnSync(promtool(), ['check', 'rules', 'rules.yaml'], { cwd: dir, encoding: 'utf8' });
    expect(checked.status, `${checked.stdout}\n${checked.stderr}`).toBe(0);
    expect(checked.stdout).toContain(`SUCCESS: ${ALL_ALERTS.length} rules found`);
  });

  it('fire exactly when they should (promtool test rules)', () => {
    const result = runPromtool(CASES);
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('are really evaluated: an expectation that is wrong makes promtool fail', () => {
    const wrong = { ...CASES[0]!, firing: [] };
    const result = runPromtool([wrong]);
    expect(result.status).not.toBe(0);
    expect(`${result.stdout}${result.stderr}`).toContain('HonkAuthFailures');
  });
});
