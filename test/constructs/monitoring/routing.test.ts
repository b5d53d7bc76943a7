import { AlertmanagerConfig } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1alpha1/AlertmanagerConfig';
import { describe, expect, it } from 'vitest';
import {
  type AlertRoute,
  checkRouting,
  describeMatch,
  formatLabels,
  LabelError,
  parseLabels,
  type RouteMatcher,
  RoutingError,
  routeAlert,
  routingProblems,
  translateRe2,
} from '../../../constructs/monitoring/routing.js';

const eq = (name: string, value: string): RouteMatcher => ({ name, value, matchType: '=' });
const re = (name: string, value: string): RouteMatcher => ({ name, value, matchType: '=~' });

/** Whether a route with this one matcher under a root is entered by an alert with these labels. */
function matchesOne(matcher: RouteMatcher, labels: Record<string, string>): boolean {
  return routeAlert({ receiver: 'root', routes: [{ receiver: 'hit', matchers: [matcher] }] }, labels).receivers[0] === 'hit';
}

/** The routing of the monitoring stack: the Watchdog silenced first, then by severity. */
const stack: AlertRoute = {
  receiver: 'default',
  routes: [
    { matchers: [eq('alertname', 'Watchdog')], receiver: 'null' },
    { matchers: [re('severity', 'critical|warning')], receiver: 'discord-and-matrix' },
  ],
};

describe('routeAlert: matchers', () => {
  it('tests equality and inequality, a missing label being the empty string', () => {
    expect(matchesOne(eq('severity', 'critical'), { severity: 'critical' })).toBe(true);
    expect(matchesOne(eq('severity', 'critical'), { severity: 'warning' })).toBe(false);
    expect(matchesOne({ name: 'severity', value: 'critical', matchType: '!=' }, { severity: 'warning' })).toBe(true);
    expect(matchesOne({ name: 'severity', value: 'critical', matchType: '!=' }, { severity: 'critical' })).toBe(false);
    // A label the alert lacks is "": it equals "" and differs from any other value.
    expect(matchesOne(eq('team', ''), {})).toBe(true);
    expect(matchesOne({ name: 'team', value: 'ops', matchType: '!=' }, {})).toBe(true);
    expect(matchesOne({ name: 'team', value: '', matchType: '!=' }, {})).toBe(false);
    expect(matchesOne({ name: 'team', matchType: '=' }, { team: '' })).toBe(true);
  });

  it('matches regexes and their negation anchored at both ends, as Alertmanager compiles them', () => {
    expect(matchesOne(re('severity', 'critical|warning'), { severity: 'warning' })).toBe(true);
    // ^(?:warn)$: a prefix is not a match, and the anchors hold across an alternation.
    expect(matchesOne(re('severity', 'warn'), { severity: 'warning' })).toBe(false);
    expect(matchesOne(re('severity', 'critical|warning'), { severity: 'criticalx' })).toBe(false);
    expect(matchesOne(re('severity', 'critical|warning'), { severity: 'xwarning' })).toBe(false);
    expect(matchesOne(re('severity', 'warn.*'), { severity: 'warning' })).toBe(true);
    expect(matchesOne({ name: 'severity', value: 'none|info', matchType: '!~' }, { severity: 'critical' })).toBe(true);
    expect(matchesOne({ name: 'severity', value: 'none|info', matchType: '!~' }, { severity: 'info' })).toBe(false);
    expect(matchesOne({ name: 'severity', value: 'none', matchType: '!~' }, { severity: 'nonexistent' })).toBe(true);
    expect(matchesOne(re('team', '.*'), {})).toBe(true);
    expect(matchesOne(re('team', '.+'), {})).toBe(false);
  });

  it('reads the older regex flag when no matchType is given, and matchType over it', () => {
    expect(matchesOne({ name: 'severity', value: 'crit.*', regex: true }, { severity: 'critical' })).toBe(true);
    expect(matchesOne({ name: 'severity', value: 'crit.*', regex: false }, { severity: 'critical' })).toBe(false);
    expect(matchesOne({ name: 'severity', value: 'crit.*' }, { severity: 'crit.*' })).toBe(true);
    expect(matchesOne({ name: 'severity', value: 'crit.*', regex: true, matchType: '=' }, { severity: 'critical' })).toBe(false);
  });

  it('needs every matcher of a route to match', () => {
    const route: AlertRoute = { receiver: 'root', routes: [{ receiver: 'both', matchers: [eq('a', '1'), eq('b', '2')] }] };
    expect(routeAlert(route, { a: '1', b: '2' }).receivers).toEqual(['both']);
    expect(routeAlert(route, { a: '1', b: '3' }).receivers).toEqual(['root']);
  });

  it('does not take a label from the prototype of the label object', () => {
    expect(matchesOne(re('constructor', '.+'), {})).toBe(false);
    expect(matchesOne(eq('__proto__', 'x'), parseLabels(['__proto__=x']))).toBe(true);
  });
});

describe('routeAlert: the tree', () => {
  it('sends an alert no child route matches to the root receiver, the default', () => {
    const result = routeAlert(stack, { alertname: 'KubePodCrashLooping', severity: 'info' });
    expect(result.receivers).toEqual(['default']);
    expect(result.matched.map(describeMatch)).toEqual(['route → receiver default']);
  });

  it('routes the Watchdog to the null receiver before the severity routes see it', () => {
    // kube-prometheus's Watchdog has severity none; one labelled critical still stops at the first route.
    for (const severity of ['none', 'critical']) {
      const result = routeAlert(stack, { alertname: 'Watchdog', severity });
      expect(result.receivers).toEqual(['null']);
      expect(result.matched.map(describeMatch)).toEqual(['route → routes[0] (alertname="Watchdog") → receiver null']);
    }
    const other = routeAlert(stack, { alertname: 'TargetDown', severity: 'warning' });
    expect(other.matched.map(describeMatch)).toEqual(['route → routes[1] (severity=~"critical|warning") → receiver discord-and-matrix']);
  });

  it('stops after the first matching child unless that child has continue', () => {
    const routes = (first: AlertRoute) => ({
      receiver: 'root',
      routes: [first, { matchers: [eq('severity', 'critical')], receiver: 'second' }],
    });
    const first = { matchers: [re('severity', '.+')], receiver: 'first' };
    expect(routeAlert(routes(first), { severity: 'critical' }).receivers).toEqual(['first']);
    expect(routeAlert(routes({ ...first, continue: true }), { severity: 'critical' }).receivers).toEqual(['first', 'second']);
    // continue: false is the default; a continue child that does not match changes nothing.
    expect(routeAlert(routes({ ...first, continue: false }), { severity: 'critical' }).receivers).toEqual(['first']);
    expect(routeAlert(routes({ ...first, continue: true }), { severity: '' }).receivers).toEqual(['root']);
  });

  it('reads continue on the child that matched, not on the descendant that was the match', () => {
    const route: AlertRoute = {
      receiver: 'root',
      routes: [
        { matchers: [eq('team', 'ops')], routes: [{ matchers: [eq('severity', 'critical')], receiver: 'pager', continue: true }] },
        { matchers: [eq('severity', 'critical')], receiver: 'chat' },
      ],
    };
    expect(routeAlert(route, { team: 'ops', severity: 'critical' }).receivers).toEqual(['pager']);
  });

  it('keeps a receiver reached twice twice, in the order of the routes', () => {
    const route: AlertRoute = {
      receiver: 'root',
      routes: [
        { matchers: [eq('a', '1')], receiver: 'chat', continue: true },
        { matchers: [eq('b', '2')], receiver: 'pager', continue: true },
        { matchers: [eq('c', '3')], receiver: 'chat' },
      ],
    };
    expect(routeAlert(route, { a: '1', b: '2', c: '3' }).receivers).toEqual(['chat', 'pager', 'chat']);
  });

  it('enters nested routes, each inheriting the receiver of its nearest ancestor that names one', () => {
    const route: AlertRoute = {
      receiver: 'root',
      routes: [
        {
          matchers: [eq('team', 'ops')],
          receiver: 'ops',
          routes: [
            { matchers: [eq('severity', 'critical')], routes: [{ matchers: [eq('env', 'prod')] }] },
            { matchers: [eq('severity', 'warning')], receiver: 'ops-chat' },
            { matchers: [eq('severity', 'info')], receiver: '' },
          ],
        },
      ],
    };
    const critical = routeAlert(route, { team: 'ops', severity: 'critical', env: 'prod' });
    expect(critical.receivers).toEqual(['ops']);
    expect(critical.matched[0]).toMatchObject({
      path: 'spec.route.routes[0].routes[0].routes[0]',
      receiverPath: 'spec.route.routes[0].receiver',
    });
    expect(describeMatch(critical.matched[0] as never)).toBe(
      'route → routes[0] (team="ops") → routes[0] (severity="critical") → routes[0] (env="prod") → receiver ops (inherited from route.routes[0])',
    );
    // The deepest matching route is the match: without env=prod, the severity route itself.
    expect(routeAlert(route, { team: 'ops', severity: 'critical' }).matched[0]?.path).toBe('spec.route.routes[0].routes[0]');
    expect(routeAlert(route, { team: 'ops', severity: 'warning' }).receivers).toEqual(['ops-chat']);
    // An empty receiver is none: it inherits.
    expect(routeAlert(route, { team: 'ops', severity: 'info' }).receivers).toEqual(['ops']);
    expect(routeAlert(route, { team: 'dev', severity: 'critical' }).receivers).toEqual(['root']);
  });

  it('leaves an alert unrouted in a tree without a default receiver', () => {
    const route: AlertRoute = {
      routes: [{ matchers: [eq('severity', 'critical')], receiver: 'pager' }, { matchers: [eq('team', 'ops')] }],
    };
    expect(routeAlert(route, { severity: 'critical' }).receivers).toEqual(['pager']);
    for (const labels of [{ severity: 'warning' }, { team: 'ops' }] as Record<string, string>[]) {
      const result = routeAlert(route, labels);
      expect(result.receivers).toEqual([]);
      expect(result.matched).toHaveLength(1);
      expect(result.matched[0]?.receiver).toBeUndefined();
      expect(describeMatch(result.matched[0] as never)).toMatch(/→ no receiver \(the tree has no default\)$/);
    }
  });

  it('matches every alert at the root, whatever matchers it holds', () => {
    expect(routeAlert({ receiver: 'root', matchers: [eq('never', 'set')] }, {}).receivers).toEqual(['root']);
  });

  it('names its paths from the given root path', () => {
    const result = routeAlert(stack, { alertname: 'Watchdog' }, { path: 'route' });
    expect(result.matched[0]).toMatchObject({ path: 'route.routes[0]', receiverPath: 'route.routes[0].receiver' });
  });

  it('throws a RoutingError naming the path of a route on the way that cannot be evaluated', () => {
    const bad: AlertRoute = { receiver: 'root', routes: [{ matchers: [re('severity', '(?!info).*')], receiver: 'x' }] };
    expect(() => routeAlert(bad, { severity: 'critical' })).toThrow(RoutingError);
    expect(() => routeAlert(bad, { severity: 'critical' })).toThrow(
      /^spec\.route\.routes\[0\]\.matchers\[0\]\.value: the regex "\(\?!info\)\.\*" uses a lookahead/,
    );
    expect(() => routeAlert({ receiver: 'root', routes: ['x'] }, {})).toThrow('spec.route.routes[0]: is not a route (an object)');
  });

  it('evaluates the route of a typed AlertmanagerConfig', () => {
    const config = new AlertmanagerConfig({
      metadata: { name: 'main', namespace: 'monitoring' },
      spec: {
        route: {
          receiver: 'default',
          routes: [{ matchers: [{ name: 'severity', value: 'critical', matchType: '=' }], receiver: 'pager' }],
        },
        receivers: [{ name: 'default' }, { name: 'pager' }],
      },
    });
    expect(routeAlert(config.spec.route ?? {}, { severity: 'critical' }).receivers).toEqual(['pager']);
    expect(routingProblems(config.spec)).toEqual([]);
  });
});

describe('translateRe2: the RE2 dialect', () => {
  const matching = (pattern: string, value: string) => matchesOne(re('l', pattern), { l: value });

  it('rewrites the RE2 constructs JavaScript reads otherwise', () => {
    expect(translateRe2('(?i)crit.*')).toEqual({ source: 'crit[^\\n]*', flags: 'i' });
    expect(translateRe2('(?s).')).toEqual({ source: '.', flags: 's' });
    expect(translateRe2('[]a]')).toEqual({ source: '[\\]a]', flags: '' });
    expect(translateRe2('[[:alpha:]_]')).toEqual({ source: '[A-Za-z_]', flags: '' });
    expect(translateRe2('(?P<sev>a)')).toEqual({ source: '(?<sev>a)', flags: '' });
    expect(translateRe2('\\pL\\p{Greek}\\PN\\p{^Lu}')).toEqual({ source: '\\p{L}\\p{Script=Greek}\\P{N}\\P{Lu}', flags: '' });
    expect(translateRe2('a{,3}}')).toEqual({ source: 'a\\{,3\\}\\}', flags: '' });
  });

  it('matches as RE2 does where JavaScript alone would not', () => {
    // RE2's \s is [\t\n\f\r ]: not the vertical tab or a no-break space.
    expect(matching('a\\sb', 'a b')).toBe(true);
    expect(matching('a\\sb', 'a\vb')).toBe(false);
    expect(matching('a\\sb', 'a\u00a0b')).toBe(false);
    expect(matching('a\\Sb', 'a\u00a0b')).toBe(true);
    // RE2's . stops only at \n; (?s) takes it too.
    expect(matching('a.b', 'a\rb')).toBe(true);
    expect(matching('a.b', 'a\nb')).toBe(false);
    expect(matching('(?s)a.b', 'a\nb')).toBe(true);
    // One . is one code point.
    expect(matching('.', '🔥')).toBe(true);
    expect(matching('(?i)CRITICAL', 'critical')).toBe(true);
    expect(matching('[]x]+', ']x]')).toBe(true);
    expect(matching('[[:digit:]]+', '123')).toBe(true);
    expect(matching('\\Qa.b\\E', 'a.b')).toBe(true);
    expect(matching('\\Qa.b\\E', 'axb')).toBe(false);
    expect(matching('\\x{41}\\x42\\101', 'ABA')).toBe(true);
    expect(matching('\\Aabc\\z', 'abc')).toBe(true);
    expect(matching('a\\-b\\_c\\!', 'a-b_c!')).toBe(true);
    expect(matching('[a\\-z]+', 'a-z')).toBe(true);
    expect(matching('[a\\-z]+', 'b')).toBe(false);
    expect(matching('x{2}', 'xx')).toBe(true);
    expect(matching('x{', 'x{')).toBe(true);
  });

  it('refuses lookarounds and backreferences, which RE2 does not compile', () => {
    for (const [pattern, what] of [
      ['(?=a)a', 'lookahead'],
      ['(?!info).*', 'lookahead'],
      ['(?<=a)b', 'lookbehind'],
      ['(?<!a)b', 'lookbehind'],
      ['(a)\\1', 'backreference \\1'],
      ['(?P<x>a)(?P=x)', 'named backreference'],
    ]) {
      expect(translateRe2(pattern as string)).toEqual({ error: expect.stringContaining(what as string) });
    }
  });

  it('refuses what RE2 does not compile and the RE2 constructs it cannot rewrite exactly', () => {
    for (const pattern of [
      'a{1001}',
      'a{3,2}',
      '\\e',
      '\\',
      '[abc',
      '(?i:a)',
      'a(?i)b',
      '(?m)^a',
      '(?U)a+',
      '(?-i)a',
      '\\C',
      '[[:^alpha:]]',
      '[[:nope:]]',
      '[\\S]',
      '\\x{110000}',
      '\\xZ',
    ]) {
      expect(translateRe2(pattern), pattern).toHaveProperty('error');
    }
  });

  it('reports a pattern JavaScript does not compile as a problem, not a crash', () => {
    expect(routingProblems({ route: { receiver: 'r', routes: [{ matchers: [re('a', '(')] }] }, receivers: [{ name: 'r' }] })).toEqual([
      'spec.route.routes[0].matchers[0].value: the regex "(" does not compile (unterminated group): fix the pattern',
    ]);
    expect(routingProblems({ route: { receiver: 'r', routes: [{ matchers: [re('a', 'a**')] }] }, receivers: [{ name: 'r' }] })).toEqual([
      'spec.route.routes[0].matchers[0].value: the regex "a**" does not compile (nothing to repeat): fix the pattern',
    ]);
  });
});

describe('parseLabels', () => {
  it('reads name=value arguments, the value holding any = after the first', () => {
    expect(parseLabels(['alertname=X', 'severity=critical', 'summary=a=b', 'empty='])).toEqual({
      alertname: 'X',
      severity: 'critical',
      summary: 'a=b',
      empty: '',
    });
    expect(parseLabels([])).toEqual({});
  });

  it('refuses an argument without =, a bad label name and a label given twice, naming it', () => {
    expect(() => parseLabels(['severity'])).toThrow(LabelError);
    expect(() => parseLabels(['severity'])).toThrow('"severity" is not a label: write it as name=value (severity=critical)');
    expect(() => parseLabels(['=critical'])).toThrow('"=critical" has no label name before the =: write it as name=value');
    expect(() => parseLabels(['sev-erity=critical'])).toThrow('"sev-erity" (in "sev-erity=critical") is not a label name');
    expect(() => parseLabels(['1x=a'])).toThrow('is not a label name');
    expect(() => parseLabels(['a=1', 'a=2'])).toThrow('the label a is given twice');
  });

  it('formats a label set as Prometheus does, names sorted', () => {
    expect(formatLabels({ severity: 'critical', alertname: 'X "quoted"' })).toBe('{alertname="X \\"quoted\\"", severity="critical"}');
  });
});

describe('routingProblems', () => {
  const receivers = [{ name: 'default' }, { name: 'null' }, { name: 'discord-and-matrix' }];

  it('finds nothing wrong with a sound configuration', () => {
    expect(
      routingProblems({
        route: stack,
        receivers,
        inhibitRules: [{ sourceMatch: [eq('severity', 'critical')], targetMatch: [re('severity', 'warning|info')], equal: ['alertname'] }],
      }),
    ).toEqual([]);
  });

  it('names every route receiver spec.receivers does not define, at its path', () => {
    const route: AlertRoute = {
      receiver: 'default',
      routes: [
        { matchers: [eq('a', '1')], receiver: 'null' },
        { matchers: [eq('a', '2')], routes: [{ receiver: 'pager' }] },
      ],
    };
    expect(routingProblems({ route, receivers: [{ name: 'default' }] })).toEqual([
      'spec.route.routes[0].receiver: names the receiver "null", which spec.receivers does not define (spec.receivers defines "default"): add it there, or name one of those',
      'spec.route.routes[1].routes[0].receiver: names the receiver "pager", which spec.receivers does not define (spec.receivers defines "default"): add it there, or name one of those',
    ]);
    expect(routingProblems({ route: { receiver: 'default' } })).toEqual([
      'spec.route.receiver: names the receiver "default", which spec.receivers does not define (spec.receivers defines none): add it there, or name one of those',
    ]);
  });

  it('says when the tree has no default, as a problem of its own kind', () => {
    const spec = { route: { routes: [{ matchers: [eq('a', '1')], receiver: 'null' }] }, receivers };
    expect(checkRouting(spec)).toEqual([
      {
        kind: 'no-default',
        message: expect.stringMatching(/^spec\.route\.receiver: the root route names no receiver, so the tree has no default: /),
      },
    ]);
    expect(checkRouting({ ...spec, route: { ...spec.route, receiver: '' } })[0]?.kind).toBe('no-default');
    expect(routingProblems({ receivers })).toEqual(['spec.route: missing: add a route naming the default receiver']);
  });

  it('refuses what Alertmanager refuses on the root route', () => {
    expect(
      routingProblems({
        route: {
          receiver: 'default',
          matchers: [eq('a', '1')],
          continue: true,
          muteTimeIntervals: ['nights'],
          activeTimeIntervals: ['days'],
        },
        receivers,
        muteTimeIntervals: [{ name: 'nights' }, { name: 'days' }],
      }),
    ).toEqual([
      'spec.route.matchers: the root route matches every alert, and Alertmanager refuses matchers on it: move them to a child route',
      'spec.route.continue: Alertmanager refuses continue on the root route (it has no siblings): remove it',
      'spec.route.muteTimeIntervals: Alertmanager refuses time intervals on the root route: move them to the child routes they are for',
      'spec.route.activeTimeIntervals: Alertmanager refuses time intervals on the root route: move them to the child routes they are for',
    ]);
  });

  it('finds receivers defined twice and receivers without a name', () => {
    expect(routingProblems({ route: { receiver: 'default' }, receivers: [{ name: 'default' }, {}, { name: 'default' }] })).toEqual([
      'spec.receivers[1].name: missing: give the receiver a name routes can refer to',
      'spec.receivers[2].name: "default" is also the name of spec.receivers[0]: receiver names must be unique (rename one, or merge their integrations)',
    ]);
  });

  it('finds matchers that are not valid, regexes included', () => {
    const route: AlertRoute = {
      receiver: 'default',
      routes: [
        { matchers: [{ name: '', value: 'x' }, { name: 'a', value: 'x', matchType: '==' }, re('b', '(?<=x)y')] },
        { routes: [{ matchers: [re('c', '\\1')] }] },
      ],
    };
    expect(routingProblems({ route, receivers })).toEqual([
      'spec.route.routes[0].matchers[0].name: missing: name the label the matcher tests',
      'spec.route.routes[0].matchers[1].matchType: "==" is not a match type: use one of =, !=, =~, !~',
      'spec.route.routes[0].matchers[2].value: the regex "(?<=x)y" uses a lookbehind (?<=...), which RE2 does not support: match the wanted values themselves, or use a !~ matcher',
      'spec.route.routes[1].routes[0].matchers[0].value: the regex "\\\\1" uses the backreference \\1, which RE2 does not support: match the repeated value explicitly',
    ]);
  });

  it('finds references to time intervals spec.muteTimeIntervals does not define', () => {
    const route = {
      receiver: 'default',
      routes: [{ matchers: [eq('a', '1')], muteTimeIntervals: ['nights', 'weekends'], activeTimeIntervals: ['office'] }],
    };
    expect(routingProblems({ route, receivers, muteTimeIntervals: [{ name: 'nights' }] })).toEqual([
      'spec.route.routes[0].muteTimeIntervals[1]: names the time interval "weekends", which spec.muteTimeIntervals does not define: define it there, or remove the reference',
      'spec.route.routes[0].activeTimeIntervals[0]: names the time interval "office", which spec.muteTimeIntervals does not define: define it there, or remove the reference',
    ]);
  });

  it('checks the matchers and equal labels of the inhibit rules', () => {
    const inhibitRules = [
      { sourceMatch: [re('severity', '(?=critical)')], targetMatch: [eq('severity', 'warning')], equal: ['alertname'] },
      { sourceMatch: [eq('severity', 'critical')], targetMatch: [{ name: 'severity', value: 'x', matchType: '~' }], equal: [''] },
      'rule',
    ];
    expect(routingProblems({ route: { receiver: 'default' }, receivers, inhibitRules })).toEqual([
      'spec.inhibitRules[0].sourceMatch[0].value: the regex "(?=critical)" uses a lookahead (?=...), which RE2 does not support: match the wanted values themselves, or use a !~ matcher',
      'spec.inhibitRules[1].targetMatch[0].matchType: "~" is not a match type: use one of =, !=, =~, !~',
      'spec.inhibitRules[1].equal: is not a list of label names',
      'spec.inhibitRules[2]: is not an inhibit rule (an object with sourceMatch, targetMatch and equal)',
    ]);
  });

  it('reports data that is not shaped as a spec instead of throwing', () => {
    expect(routingProblems(undefined)).toEqual(['spec: is not an object: give the AlertmanagerConfig a spec with route and receivers']);
    expect(routingProblems({ route: { receiver: 'default', routes: 'x' }, receivers })).toEqual([
      'spec.route.routes: is not a list of routes',
    ]);
    expect(routingProblems({ route: { receiver: 'default', routes: [3] }, receivers: 'x' })).toEqual([
      'spec.receivers: is not a list of receivers',
      'spec.route.receiver: names the receiver "default", which spec.receivers does not define (spec.receivers defines none): add it there, or name one of those',
      'spec.route.routes[0]: is not a route (an object)',
    ]);
  });
});
