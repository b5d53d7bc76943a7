import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { promqlErrors } from '../../../constructs/monitoring/promql.js';
import { MIRROR } from '../../upstream/helpers.js';

const KUBE_PROMETHEUS = join(MIRROR, 'raw.githubusercontent.com/prometheus-operator/kube-prometheus/v0.18.0/manifests');

/** Every rule expression of the kube-prometheus PrometheusRules of the mirror, with where it is. */
function upstreamExpressions(): { where: string; expr: string }[] {
  const files = readdirSync(KUBE_PROMETHEUS).filter((file) => file.endsWith('prometheusRule.yaml'));
  expect(files).toHaveLength(8);
  const found: { where: string; expr: string }[] = [];
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(join(KUBE_PROMETHEUS, file), 'utf8'))) {
      const manifest = document.toJS() as {
        kind: string;
        spec: { groups: { rules: { alert?: string; record?: string; expr: unknown }[] }[] };
      };
      expect(manifest.kind).toBe('PrometheusRule');
      for (const group of manifest.spec.groups) {
        for (const rule of group.rules) found.push({ where: `${file} ${rule.alert ?? rule.record}`, expr: String(rule.expr) });
      }
    }
  }
  return found;
}

const messages = (expr: string) => promqlErrors(expr).map((error) => error.message);

describe('PromQL expressions', () => {
  it('reads every rule expression kube-prometheus ships without an error', () => {
    const expressions = upstreamExpressions();
    expect(expressions.length).toBeGreaterThan(200);
    expect(expressions.filter(({ expr }) => promqlErrors(expr).length > 0).map(({ where }) => where)).toEqual([]);
  });

  it.each([
    ['offset, @ and subqueries', 'max_over_time(rate(x[5m])[1h:5m] offset 1d) @ end() + x @ 1609746000 offset -5m'],
    ['bool and vector matching', 'a > bool on(job) group_left(instance) b or c unless ignoring(pod) d'],
    ['by before and after the body', 'sum by (job) (x) / sum(y) without (pod,)'],
    ['parameter aggregations', 'topk(3, x) + quantile(0.9, x) + count_values("le", x) + limitk(2, x)'],
    ['escapes in each kind of string', 'x{a="b\\"c\\\\d\\x41\\u00e9\\101", b=\'e\\\'f\', c=~`\\d+`}'],
    ['quoted UTF-8 names', '{"my.metric", "a.b"="c"}'],
    ['a comment between lines', 'x\n# the rest\n+ y'],
    ['numbers of every form', '1e3 + 0x1F + Inf - NaN + -Inf + .5 + 1_000'],
    ['long durations', 'x[1y2w3d4h5m6s7ms]'],
    ['a selector kept from every series by one matcher', '{job!=""} + {job=~".+"} + {job!~""}'],
    ['a number alone', '1'],
  ])('accepts %s', (_what, expr) => {
    expect(promqlErrors(expr)).toEqual([]);
  });

  it('names the place and shows the text of what it cannot read', () => {
    expect(promqlErrors('sum(rate(x[5m])))')).toEqual([
      { from: 16, to: 17, message: 'unexpected `)` at column 17 in `sum(rate(x[5m])))`' },
    ]);
    expect(messages('rate(x[5m]')).toEqual(['expression ends early at column 11 (`(` at column 5 is not closed) in `rate(x[5m]`']);
    expect(messages('a +')).toEqual(['expression ends early at column 4 in `a +`']);
    expect(messages('1 +* 2')).toEqual(['unexpected `*` at column 4 in `1 +* 2`']);
    expect(messages('x[5q]')).toEqual(['unexpected `q` at column 4 in `x[5q]`']);
    // The line too, once the expression has several; the excerpt on one line.
    expect(messages('sum(\n  rate(x[5m]\n)')).toEqual([
      'expression ends early at line 3, column 2 (`(` at line 1, column 4 is not closed) in `sum( rate(x[5m] )`',
    ]);
    // A long expression is cut around the place.
    expect(messages(`${'a + '.repeat(20)}) + b`)).toEqual(['unexpected `)` at column 81 in `…a + a + a + a + a + ) + b`']);
  });

  it('says what a mistake most likely is where the grammar tells', () => {
    expect(messages('foo(x)')[0]).toBe('unexpected `(` at column 4 in `foo(x)`: PromQL has no function or aggregation named `foo`');
    expect(messages('x{job=a}')).toEqual(['unexpected `a` at column 7 in `x{job=a}`: a label value is a quoted string']);
    expect(messages('sum(x) by job')).toEqual([
      'unexpected `job` at column 11 in `sum(x) by job`: grouping labels go in parentheses, as in `by (job)`',
    ]);
  });

  it('refuses an empty expression', () => {
    for (const expr of ['', '  \n ', '# nothing but a comment']) expect(messages(expr)).toEqual(['the expression is empty']);
  });

  it.each([
    ['unbalanced parentheses', '(a + b', 'ends early'],
    ['a closing parenthesis too many', 'a + b)', 'unexpected `)`'],
    ['an unclosed range', 'rate(x[5m]', 'ends early'],
    ['a trailing operator', 'a ==', 'ends early'],
    ['a bad duration unit', 'x[1m5q]', 'unexpected `5q`'],
    ['an empty range', 'x[]', 'unexpected `]`'],
    ['two operators in a row', 'a and or b', 'unexpected `b`'],
    ['offset without a duration', 'x[5m] offset', 'ends early'],
    ['an unclosed label list', 'x{job="a"', '`{` at column 2 is not closed'],
    ['an unclosed string', 'x{job="a}', '(the string at column 7 is not closed)'],
    ['an unclosed string at the end', 'x == "a', 'string opened at column 6 is not closed'],
    ['an escape Prometheus does not know', 'x{job=~"\\d+"}', 'unknown escape `\\d` at column 9'],
    ['an aggregation of nothing', 'sum by (job) ()', '`sum` takes one expression, not 0 arguments'],
    ['a parameter aggregation without its parameter', 'topk(x)', '`topk` takes a parameter and an expression, not 1 argument'],
    ['a range on an expression', '(x)[5m]', 'a range applies only to a metric selector, not to `(x)`'],
    ['a range after offset', 'x offset 5m [5m]', 'not to `x offset 5m`'],
    ['a selector of every series', '{}', 'has no metric name and every matcher accepts an empty label'],
    ['matchers that all accept the empty value', '{job="", pod=~".*", ns!="a", x!~"a+"}', 'has no metric name'],
  ])('reports %s', (_what, expr, expected) => {
    const errors = promqlErrors(expr);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]?.message).toContain(expected);
    for (const error of errors) {
      expect(error.from).toBeGreaterThanOrEqual(0);
      expect(error.to).toBeGreaterThanOrEqual(error.from);
      expect(error.to).toBeLessThanOrEqual(expr.length);
    }
  });

  it('leaves to Prometheus what the grammar cannot tell', () => {
    // Function arguments are not typed or counted: Prometheus refuses these when it loads them.
    expect(promqlErrors('rate(x)')).toEqual([]);
    expect(promqlErrors('abs(x, y)')).toEqual([]);
    // Regular expressions are RE2; one JavaScript cannot read is not judged.
    expect(promqlErrors('{job=~"(?i)a"}')).toEqual([]);
    // The grammar lacks Prometheus's experimental duration expressions (feature flag
    // promql-duration-expr): they are reported, and a rule that needs them cannot pass.
    expect(promqlErrors('rate(x[5m+1m])')).not.toEqual([]);
    expect(promqlErrors('x offset (1h*2)')).not.toEqual([]);
  });
});
