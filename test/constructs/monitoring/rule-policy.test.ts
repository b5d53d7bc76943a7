import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { alertSeverities, prometheusRulePolicy } from '../../../constructs/monitoring/rule-policy.js';
import type { PolicyObject } from '../../../framework/cluster.js';
import type { Manifest } from '../../../framework/model.js';
import { MIRROR } from '../../upstream/helpers.js';

const KUBE_PROMETHEUS = 'raw.githubusercontent.com/prometheus-operator/kube-prometheus/v0.18.0/manifests';

const object = (manifest: Manifest, app = 'monitoring'): PolicyObject => ({
  app,
  manifest,
  origin: { constructPath: `lab/${app}/${String((manifest.metadata as { name?: string }).name)}` },
});
const rules = (name: string, ...groupRules: Record<string, unknown>[]) =>
  object({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name, namespace: 'monitoring' },
    spec: {
      groups: [
        { name: 'ok', rules: [{ record: 'job:up:sum', expr: 'sum by (job) (up)' }] },
        { name: 'tested', rules: groupRules },
      ],
    },
  });
/** An alerting rule; a `null` severity leaves its labels out. */
const alert = (name: string, expr: unknown, severity: string | null = 'warning') => ({
  alert: name,
  expr,
  for: '5m',
  ...(severity === null ? {} : { labels: { severity } }),
  annotations: { summary: name },
});
const check = (objects: PolicyObject[], built = false) => prometheusRulePolicy.check(objects, { syncsAfter: () => false, built });
const messages = (objects: PolicyObject[]) => check(objects).map((problem) => `${problem.rule}: ${problem.message}`);

/** The kube-prometheus PrometheusRules of the mirror, as the deep build hands them to policies. */
function upstreamRules(): PolicyObject[] {
  const dir = join(MIRROR, KUBE_PROMETHEUS);
  const files = readdirSync(dir).filter((file) => file.endsWith('prometheusRule.yaml'));
  expect(files).toHaveLength(8);
  return files.flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((document) => ({
      app: 'monitoring',
      manifest: document.toJS() as Manifest,
      origin: { file: `dist/lab/monitoring/${file}`, source: `upstream https://${KUBE_PROMETHEUS}/${file}` },
    })),
  );
}

describe('the alert rules policy', () => {
  it('accepts alerts with a severity and recording rules, numbers as expressions included', () => {
    const fine = rules('fine', alert('TargetDown', 'up == 0', 'critical'), alert('Always', 1, 'none'), {
      record: 'instance:cpu:rate5m',
      expr: 'rate(node_cpu_seconds_total{mode!="idle"}[5m])',
      labels: { team: 'ops' },
    });
    expect(check([fine])).toEqual([]);
  });

  it('accepts every rule kube-prometheus ships, as the deep build sees them', () => {
    const upstream = upstreamRules();
    expect(upstream).toHaveLength(8);
    expect(check(upstream, true)).toEqual([]);
  });

  it('reports an expression that does not parse, naming the rule, the place and the fix', () => {
    const bad = rules('bad', alert('Fine', 'up == 0'), alert('KubePodCrashLooping', 'sum(rate(restarts[5m])))'));
    expect(check([bad])).toEqual([
      {
        origin: { constructPath: 'lab/monitoring/bad' },
        object: { apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule', namespace: 'monitoring', name: 'bad' },
        rule: 'policy.alerting.promql',
        message:
          'spec.groups[1].rules[1].expr (alert KubePodCrashLooping): PromQL does not parse: unexpected `)` at column 24 in `…(rate(restarts[5m])))`; fix the expression',
      },
    ]);
  });

  it('reports the first PromQL error of a recording rule and how many follow', () => {
    expect(messages([rules('bad', { record: 'job:x:rate', expr: 'foo(x)' })])).toEqual([
      'policy.alerting.promql: spec.groups[1].rules[0].expr (record job:x:rate): PromQL does not parse: unexpected `(` at column 4 in `foo(x)`: PromQL has no function or aggregation named `foo` (and 2 more errors); fix the expression',
    ]);
    expect(messages([rules('bad', { record: 'job:x:rate', expr: '  ' })])).toEqual([
      'policy.alerting.promql: spec.groups[1].rules[0].expr (record job:x:rate): PromQL does not parse: the expression is empty; fix the expression',
    ]);
    expect(messages([rules('bad', { alert: 'NoExpr', labels: { severity: 'info' } })])).toEqual([
      'policy.alerting.promql: spec.groups[1].rules[0].expr (alert NoExpr): the rule has no expression; set expr to the PromQL the rule evaluates',
    ]);
  });

  it('reports an alert without a severity, or with an empty one', () => {
    expect(messages([rules('quiet', alert('NoSeverity', 'up == 0', null), alert('EmptySeverity', 'up == 0', ''))])).toEqual([
      'policy.alerting.severity: spec.groups[1].rules[0] (alert NoSeverity) has no labels.severity: Alertmanager routes alerts by severity, and one without it takes only the default route; set labels.severity (for example warning or critical)',
      'policy.alerting.severity: spec.groups[1].rules[1] (alert EmptySeverity) has labels.severity "": Alertmanager routes alerts by severity, and one without it takes only the default route; set labels.severity (for example warning or critical)',
    ]);
    // A recording rule has no severity to give.
    expect(check([rules('records', { record: 'job:up:max', expr: 'max by (job) (up)' })])).toEqual([]);
  });

  it('reports a rule that is both an alert and a recording rule, or neither', () => {
    expect(
      messages([rules('confused', { alert: 'Both', record: 'job:up:sum', expr: 'up', labels: { severity: 'info' } }, { expr: 'up' })]),
    ).toEqual([
      'policy.alerting.rule: spec.groups[1].rules[0] sets both alert (Both) and record (job:up:sum): Prometheus refuses the whole rule group; keep one, or split it into an alerting and a recording rule',
      'policy.alerting.rule: spec.groups[1].rules[1] sets neither alert nor record: Prometheus refuses the whole rule group; name the alert or the series the rule records',
    ]);
    // An empty name is no name, as for Prometheus.
    expect(check([rules('empty', { alert: '', record: '', expr: 'up' })]).map((problem) => problem.rule)).toEqual(['policy.alerting.rule']);
  });

  it('reports the fields of an alert on a recording rule', () => {
    expect(messages([rules('records', { record: 'job:up:sum', expr: 'sum(up)', for: '5m', annotations: { summary: 'x' } })])).toEqual([
      'policy.alerting.rule: spec.groups[1].rules[0] (record job:up:sum) sets for, which only an alerting rule may have: Prometheus refuses the whole rule group; remove for or make the rule an alert',
      'policy.alerting.rule: spec.groups[1].rules[0] (record job:up:sum) sets annotations, which only an alerting rule may have: Prometheus refuses the whole rule group; remove annotations or make the rule an alert',
    ]);
  });

  it('looks only at PrometheusRules of monitoring.coreos.com/v1', () => {
    const lookalike = { ...rules('other', { expr: 'sum(' }).manifest, apiVersion: 'example.com/v1' };
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rules' }, data: { expr: 'sum(' } };
    expect(check([object(lookalike), object(configMap)])).toEqual([]);
  });
});

describe('the severities of alerts', () => {
  it('lists every severity alerting rules use with their alerts, in the order of the objects', () => {
    const first = rules('first', alert('A', 'up == 0', 'critical'), alert('B', 'up == 0', 'warning'));
    const second = rules('second', alert('C', 'up == 0', 'critical'), alert('Unset', 'up == 0', null), {
      record: 'x:y',
      expr: 'up',
      labels: { severity: 'recorded' },
    });
    const severities = alertSeverities([first, second]);
    expect([...severities.keys()]).toEqual(['critical', 'warning']);
    expect(severities.get('critical')).toEqual([
      { alert: 'A', object: first },
      { alert: 'C', object: second },
    ]);
    expect(severities.get('warning')).toEqual([{ alert: 'B', object: first }]);
  });

  it('finds the severities kube-prometheus uses', () => {
    const severities = alertSeverities(upstreamRules());
    expect([...severities.keys()].sort()).toEqual(['critical', 'info', 'none', 'warning']);
    expect(severities.get('none')?.map((entry) => entry.alert)).toEqual(expect.arrayContaining(['Watchdog', 'InfoInhibitor']));
  });
});
