import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type RenderedCluster, routeCommand } from '../../cli/alerts.js';
import type { Manifest } from '../../framework/model.js';
import { captureContext, projectRoot } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const fixture = join(projectRoot, 'test/fixtures/alerts-clusters');
const tinyCluster = join(projectRoot, 'test/fixtures/tiny-cluster');

const alertmanager = (name: string, namespace: string, configuration?: string): Manifest => ({
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'Alertmanager',
  metadata: { name, namespace },
  spec: configuration === undefined ? {} : { alertmanagerConfiguration: { name: configuration } },
});

const alertmanagerConfig = (name: string, namespace: string, spec: unknown): Manifest => ({
  apiVersion: 'monitoring.coreos.com/v1alpha1',
  kind: 'AlertmanagerConfig',
  metadata: { name, namespace },
  spec,
});

const receivers = [{ name: 'default' }, { name: 'null' }, { name: 'discord-and-matrix' }];

/** The monitoring stack's routing: the Watchdog to the null receiver first, then by severity. */
const stackRoute = {
  receiver: 'default',
  routes: [
    { matchers: [{ name: 'alertname', value: 'Watchdog', matchType: '=' }], receiver: 'null' },
    { matchers: [{ name: 'severity', value: 'critical|warning', matchType: '=~' }], receiver: 'discord-and-matrix' },
  ],
};

const cluster = (name: string, ...manifests: Manifest[]): RenderedCluster => ({
  name,
  objects: manifests.map((manifest, index) => ({ manifest, origin: { constructPath: `${name}/monitoring/object-${index}` } })),
});

/** routeCommand over hand-made clusters, with what it printed. */
function route(clusters: RenderedCluster[], labels: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = routeCommand(clusters, labels, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

const lab = cluster(
  'lab',
  alertmanager('main', 'monitoring', 'main'),
  alertmanagerConfig('main', 'monitoring', { route: stackRoute, receivers }),
);

describe('alerts route over rendered objects', () => {
  it('prints the receivers an alert reaches and the route there, and exits 0', () => {
    expect(route([lab], { alertname: 'X', severity: 'critical', namespace: 'y' })).toEqual({
      code: 0,
      out: [
        'alert {alertname="X", namespace="y", severity="critical"}',
        'lab: Alertmanager monitoring/main (AlertmanagerConfig main): discord-and-matrix',
        '  route → routes[1] (severity=~"critical|warning") → receiver discord-and-matrix',
      ],
      err: [],
    });
  });

  it('sends the Watchdog to the null receiver, before the severity routes', () => {
    const result = route([lab], { alertname: 'Watchdog', severity: 'critical' });
    expect(result.code).toBe(0);
    expect(result.out.slice(1)).toEqual([
      'lab: Alertmanager monitoring/main (AlertmanagerConfig main): null',
      '  route → routes[0] (alertname="Watchdog") → receiver null',
    ]);
  });

  it('lists every receiver a continue route adds, in order', () => {
    const spec = {
      route: {
        ...stackRoute,
        routes: [
          { ...stackRoute.routes[1], continue: true },
          { matchers: [{ name: 'team', value: 'ops' }], receiver: 'null' },
        ],
      },
      receivers,
    };
    const result = route([cluster('lab', alertmanager('main', 'monitoring', 'main'), alertmanagerConfig('main', 'monitoring', spec))], {
      severity: 'warning',
      team: 'ops',
    });
    expect(result.code).toBe(0);
    expect(result.out.slice(1)).toEqual([
      'lab: Alertmanager monitoring/main (AlertmanagerConfig main): discord-and-matrix, null',
      '  route → routes[0] (severity=~"critical|warning") → receiver discord-and-matrix',
      '  route → routes[1] (team="ops") → receiver null',
    ]);
  });

  it('exits 1 when an Alertmanager routes the alert to no receiver, a tree without a default', () => {
    const spec = { route: { routes: stackRoute.routes }, receivers };
    const bare = cluster('bare', alertmanager('main', 'monitoring', 'main'), alertmanagerConfig('main', 'monitoring', spec));
    const result = route([bare, lab], { alertname: 'X', severity: 'info' });
    expect(result.code).toBe(1);
    expect(result.out.slice(1)).toEqual([
      'bare: Alertmanager monitoring/main (AlertmanagerConfig main): no receiver',
      '  route → no receiver (the tree has no default)',
      'lab: Alertmanager monitoring/main (AlertmanagerConfig main): default',
      '  route → receiver default',
    ]);
    expect(result.err).toEqual([
      expect.stringMatching(
        /^bare\/monitoring\/object-1: AlertmanagerConfig monitoring\/main: spec\.route\.receiver: the root route names no receiver, so the tree has no default: .* \[alertmanager\.routing\]$/,
      ),
      'alerts route: the alert reaches no receiver in 1 of 2 Alertmanagers (bare/main)',
    ]);
    // The same tree routes what a child route matches, and says the default is missing.
    const critical = route([bare], { severity: 'critical' });
    expect(critical.code).toBe(0);
    expect(critical.err).toHaveLength(1);
  });

  it('exits 1 when the alert reaches a receiver the configuration does not define', () => {
    const spec = { route: stackRoute, receivers: [{ name: 'default' }, { name: 'null' }] };
    const result = route([cluster('lab', alertmanager('main', 'monitoring', 'main'), alertmanagerConfig('main', 'monitoring', spec))], {
      severity: 'warning',
    });
    expect(result.code).toBe(1);
    expect(result.out.slice(1)).toEqual([
      'lab: Alertmanager monitoring/main (AlertmanagerConfig main): discord-and-matrix',
      '  route → routes[1] (severity=~"critical|warning") → receiver discord-and-matrix (not defined in spec.receivers)',
    ]);
    expect(result.err[0]).toContain(
      'spec.route.routes[1].receiver: names the receiver "discord-and-matrix", which spec.receivers does not define',
    );
  });

  it('exits 1 on a configuration with problems, and on a route that cannot be evaluated', () => {
    const duplicate = { route: stackRoute, receivers: [...receivers, { name: 'null' }] };
    const refused = route(
      [cluster('lab', alertmanager('main', 'monitoring', 'main'), alertmanagerConfig('main', 'monitoring', duplicate))],
      { severity: 'info' },
    );
    expect(refused.code).toBe(1);
    expect(refused.out[1]).toBe(
      'lab: Alertmanager monitoring/main (AlertmanagerConfig main): default (but the configuration has problems, listed)',
    );
    expect(refused.err[0]).toContain('spec.receivers[3].name: "null" is also the name of spec.receivers[1]');

    const lookahead = {
      route: {
        receiver: 'default',
        routes: [{ matchers: [{ name: 'severity', value: '(?!info).*', matchType: '=~' }], receiver: 'null' }],
      },
      receivers,
    };
    const broken = route(
      [cluster('lab', alertmanager('main', 'monitoring', 'main'), alertmanagerConfig('main', 'monitoring', lookahead))],
      { severity: 'info' },
    );
    expect(broken.code).toBe(1);
    expect(broken.out[1]).toMatch(
      /^lab: Alertmanager monitoring\/main \(AlertmanagerConfig main\): cannot be evaluated: spec\.route\.routes\[0\]\.matchers\[0\]\.value: the regex "\(\?!info\)\.\*" uses a lookahead/,
    );
  });

  it('exits 1 when an Alertmanager names a configuration the cluster does not render in its namespace', () => {
    const elsewhere = cluster(
      'lab',
      alertmanager('main', 'monitoring', 'main'),
      alertmanagerConfig('main', 'other', { route: stackRoute, receivers }),
      alertmanager('second', 'other', 'main'),
    );
    const result = route([elsewhere], { severity: 'critical' });
    expect(result.code).toBe(1);
    expect(result.out.slice(1)).toEqual([
      'lab: Alertmanager monitoring/main: no receiver',
      'lab: Alertmanager other/second (AlertmanagerConfig main): discord-and-matrix',
      '  route → routes[1] (severity=~"critical|warning") → receiver discord-and-matrix',
    ]);
    expect(result.err[0]).toBe(
      'lab: Alertmanager monitoring/main: spec.alertmanagerConfiguration.name names the AlertmanagerConfig "main", but the cluster renders none of that name in namespace monitoring (monitoring.coreos.com/v1alpha1): render it, or name the one it renders',
    );
  });

  it('exits 2, saying so, when no Alertmanager with a configuration is rendered', () => {
    const none = route([cluster('lab'), cluster('tiny')], { alertname: 'X' });
    expect(none.code).toBe(2);
    expect(none.err).toEqual([
      "alerts route: no Alertmanager with a configuration is rendered in clusters lab, tiny: nothing to route (an Alertmanager's spec.alertmanagerConfiguration.name must name an AlertmanagerConfig of its namespace)",
    ]);
    // An Alertmanager configured by its Secret is named, and not evaluated.
    const secret = route([cluster('lab', alertmanager('main', 'monitoring'))], { alertname: 'X' });
    expect(secret.code).toBe(2);
    expect(secret.err[0]).toBe(
      'lab: Alertmanager monitoring/main: takes its configuration from a Secret (no spec.alertmanagerConfiguration.name): not evaluated',
    );
  });
});

describe('npm run alerts', () => {
  const run = async (root: string, ...argv: string[]) => {
    const context = captureContext({ root, cwd: root });
    const code = await main(argv, context);
    return { code, out: context.out, err: context.err };
  };

  it('renders the fixture clusters and routes an alert through each Alertmanager', async () => {
    const result = await run(fixture, 'route', 'alertname=X', 'severity=critical', 'namespace=y');
    expect(result.code).toBe(0);
    expect(result.out).toEqual([
      'alert {alertname="X", namespace="y", severity="critical"}',
      'bare: Alertmanager monitoring/main (AlertmanagerConfig main): pager',
      '  route → routes[0] (severity="critical") → receiver pager',
      'lab: Alertmanager monitoring/main (AlertmanagerConfig main): discord-and-matrix',
      '  route → routes[1] (severity=~"critical|warning") → receiver discord-and-matrix',
    ]);
    // The tree of bare has no default: said on the standard error, at the construct that made it.
    expect(result.err).toEqual([
      expect.stringMatching(
        /^bare\/monitoring\/alertmanager-config: AlertmanagerConfig monitoring\/main: spec\.route\.receiver: the root route names no receiver/,
      ),
    ]);
  });

  it('exits 1 when one cluster routes the alert to no receiver, and 0 for the other alone', async () => {
    const all = await run(fixture, 'route', 'alertname=Watchdog', 'severity=none');
    expect(all.code).toBe(1);
    expect(all.out).toContain('bare: Alertmanager monitoring/main (AlertmanagerConfig main): no receiver');
    expect(all.out).toContain('  route → routes[0] (alertname="Watchdog") → receiver null');
    expect(all.err.at(-1)).toBe('alerts route: the alert reaches no receiver in 1 of 2 Alertmanagers (bare/main)');

    const lab = await run(fixture, 'route', 'alertname=Watchdog', 'severity=none', '--cluster', 'lab');
    expect(lab).toEqual({
      code: 0,
      out: [
        'alert {alertname="Watchdog", severity="none"}',
        'lab: Alertmanager monitoring/main (AlertmanagerConfig main): null',
        '  route → routes[0] (alertname="Watchdog") → receiver null',
      ],
      err: [],
    });
  });

  it('exits 2 when no cluster renders an Alertmanager with a configuration', async () => {
    const result = await run(tinyCluster, 'route', 'alertname=X');
    expect(result.code).toBe(2);
    expect(result.err).toEqual([
      expect.stringMatching(/^alerts route: no Alertmanager with a configuration is rendered in cluster tiny: nothing to route/),
    ]);
  });

  it('exits 2 on usage errors, before rendering anything', async () => {
    const usage = async (argv: string[], message: string | RegExp) => {
      const result = await run(fixture, ...argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.out).toEqual([]);
      expect(result.err[0]).toEqual(typeof message === 'string' ? message : expect.stringMatching(message));
      expect(result.err[1]).toMatch(/^usage: npm run alerts -- route NAME=VALUE\.\.\. \[--cluster NAME\]/);
    };
    await usage([], 'alerts: no command given');
    await usage(['show', 'a=b'], 'alerts: unknown command "show"');
    await usage(['route'], "alerts: route: give the alert's labels as NAME=VALUE (alertname=X severity=critical)");
    await usage(['route', 'severity'], 'alerts: route: "severity" is not a label: write it as name=value (severity=critical)');
    await usage(['route', 'a=1', 'a=2'], 'alerts: route: the label a is given twice: an alert has one value per label');
    await usage(['route', 'a=1', '--verbose'], /^alerts: Unknown option '--verbose'/);
    await usage(['route', 'a=1', '--cluster', 'nope'], 'alerts: no cluster "nope" in this project (clusters: bare, lab)');
  });

  it('prints its usage with --help and exits 0', async () => {
    const result = await run(fixture, '--help');
    expect(result.code).toBe(0);
    expect(result.out[0]).toMatch(/^usage: npm run alerts -- route/);
  });

  describe('on a project that does not render', () => {
    const root = makeProject({
      'inventory/lab.json': '{}\n',
      'apps/lab.ts': `import { defineCluster } from '${PROJECT}framework/cluster.ts';
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'monitoring', namespace: 'monitoring', build() { throw new Error('the monitoring app is broken'); } }],
});
`,
    });
    afterAll(() => rmSync(root, { recursive: true, force: true }));

    it('lists the problems and exits 2', async () => {
      const result = await run(root, 'route', 'alertname=X');
      expect(result.code).toBe(2);
      expect(result.err[0]).toMatch(/^lab\/monitoring: .*the monitoring app is broken.* \[construct\]$/);
      expect(result.err.at(-1)).toBe("alerts: the project does not render (1 problem): fix it first ('npm run synth' lists the same)");
    });
  });
});
