import type { ClusterPolicy, PolicyObject } from '../../framework/cluster.js';
import { isRecord, objectRef, type Problem } from '../../framework/model.js';
import { promqlErrors } from './promql.js';

/** One rule of a PrometheusRule, where it is and what it is called. */
interface RuleEntry {
  readonly object: PolicyObject;
  /** `spec.groups[0].rules[3]` */
  readonly path: string;
  readonly rule: Record<string, unknown>;
  /** The alert name, when the rule sets a non-empty one. */
  readonly alert?: string;
  /** The recorded series, when the rule sets a non-empty one. */
  readonly record?: string;
}

function isPrometheusRule(object: PolicyObject): boolean {
  return object.manifest.apiVersion === 'monitoring.coreos.com/v1' && object.manifest.kind === 'PrometheusRule';
}

function named(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Every rule of every group of the PrometheusRule objects, in order. */
function ruleEntries(objects: readonly PolicyObject[]): RuleEntry[] {
  const entries: RuleEntry[] = [];
  for (const object of objects) {
    if (!isPrometheusRule(object)) continue;
    const spec = isRecord(object.manifest.spec) ? object.manifest.spec : {};
    const groups = Array.isArray(spec.groups) ? spec.groups : [];
    for (const [g, group] of groups.entries()) {
      const rules = isRecord(group) && Array.isArray(group.rules) ? group.rules : [];
      for (const [r, rule] of rules.entries()) {
        if (!isRecord(rule)) continue;
        entries.push({ object, path: `spec.groups[${g}].rules[${r}]`, rule, alert: named(rule.alert), record: named(rule.record) });
      }
    }
  }
  return entries;
}

/** `(alert KubePodCrashLooping)`, `(record job:up:sum)`, or nothing for a rule that names neither. */
function title(entry: RuleEntry): string {
  if (entry.alert !== undefined) return ` (alert ${entry.alert})`;
  return entry.record !== undefined ? ` (record ${entry.record})` : '';
}

/** The fields Prometheus accepts only on alerting rules. */
const ALERTING_ONLY = ['for', 'keep_firing_for', 'annotations'] as const;

function ruleShapeProblems(entry: RuleEntry): string[] {
  const { alert, record, path, rule } = entry;
  if (alert !== undefined && record !== undefined) {
    return [
      `${path} sets both alert (${alert}) and record (${record}): Prometheus refuses the whole rule group; keep one, or split it into an alerting and a recording rule`,
    ];
  }
  if (alert === undefined && record === undefined) {
    return [
      `${path} sets neither alert nor record: Prometheus refuses the whole rule group; name the alert or the series the rule records`,
    ];
  }
  if (record === undefined) return [];
  return ALERTING_ONLY.filter((field) => rule[field] !== undefined).map(
    (field) =>
      `${path}${title(entry)} sets ${field}, which only an alerting rule may have: Prometheus refuses the whole rule group; remove ${field} or make the rule an alert`,
  );
}

function expressionProblems(entry: RuleEntry): string[] {
  const { expr } = entry.rule;
  const where = `${entry.path}.expr${title(entry)}`;
  // The CRD types expr as int-or-string: a bare number is an expression too.
  if (typeof expr === 'number') return [];
  if (typeof expr !== 'string') return [`${where}: the rule has no expression; set expr to the PromQL the rule evaluates`];
  const [first, ...more] = promqlErrors(expr);
  if (!first) return [];
  const others = more.length === 0 ? '' : ` (and ${more.length} more error${more.length === 1 ? '' : 's'})`;
  return [`${where}: PromQL does not parse: ${first.message}${others}; fix the expression`];
}

function severityProblems(entry: RuleEntry): string[] {
  if (entry.alert === undefined || entry.record !== undefined) return [];
  const labels = isRecord(entry.rule.labels) ? entry.rule.labels : {};
  if (named(labels.severity) !== undefined) return [];
  const given = labels.severity === undefined ? 'has no labels.severity' : `has labels.severity ${JSON.stringify(labels.severity)}`;
  return [
    `${entry.path}${title(entry)} ${given}: Alertmanager routes alerts by severity, and one without it takes only the default route; set labels.severity (for example warning or critical)`,
  ];
}

/**
 * Every rule of every PrometheusRule is one Prometheus loads: an alert or a recording rule, never
 * both or neither (`policy.alerting.rule`), with an expression the PromQL grammar reads
 * (`policy.alerting.promql`), and every alert carries the severity Alertmanager routes it by
 * (`policy.alerting.severity`). A rule group with one bad rule is refused whole, and the
 * prometheus-operator admission webhook that would refuse it is optional, so without this check
 * the mistake shows only in Prometheus's logs. The checks need no other object: they hold for the
 * project's rules in a plain synth and for upstream rules too in the deep build.
 */
export const prometheusRulePolicy: ClusterPolicy = {
  name: 'alert-rules',
  check: (objects: readonly PolicyObject[]) => {
    const problems: Problem[] = [];
    for (const entry of ruleEntries(objects)) {
      const object = objectRef(entry.object.manifest);
      const found: [string, string[]][] = [
        ['policy.alerting.rule', ruleShapeProblems(entry)],
        ['policy.alerting.promql', expressionProblems(entry)],
        ['policy.alerting.severity', severityProblems(entry)],
      ];
      for (const [rule, messages] of found) {
        for (const message of messages) problems.push({ origin: entry.object.origin, object, rule, message });
      }
    }
    return problems;
  },
};

/**
 * Every severity the alerting rules of `objects` use (the value as written, a template
 * unexpanded), each with its alerts in the order of the objects: what Alertmanager's routes must
 * cover. Rules without a severity, or that also record, are left out (the policy reports them).
 */
export function alertSeverities(objects: readonly PolicyObject[]): Map<string, { alert: string; object: PolicyObject }[]> {
  const severities = new Map<string, { alert: string; object: PolicyObject }[]>();
  for (const entry of ruleEntries(objects)) {
    if (entry.alert === undefined || entry.record !== undefined) continue;
    const labels = isRecord(entry.rule.labels) ? entry.rule.labels : {};
    const severity = named(labels.severity);
    if (severity === undefined) continue;
    const alerts = severities.get(severity) ?? [];
    alerts.push({ alert: entry.alert, object: entry.object });
    severities.set(severity, alerts);
  }
  return severities;
}
