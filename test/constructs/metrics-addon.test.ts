import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import cluster from '../../apps/k8s-235.js';
import { declareMetrics, metricsEndpoints } from '../../constructs/monitoring/metrics.js';
import { metricsTargetPolicy } from '../../constructs/monitoring/policies.js';
import { metricsAddon } from '../../constructs/monitoring/service-monitor.js';
import { applyAddons } from '../../framework/addons.js';
import type { AppChart } from '../../framework/app-chart.js';
import { objectRef } from '../../framework/model.js';
import { projectRoot } from '../helpers/io.js';
import { renderApp, renderScope } from '../helpers/render.js';

const inventory = cluster.parseInventory(JSON.parse(readFileSync(join(projectRoot, 'inventory', 'k8s-235.json'), 'utf8')));

/** Every ServiceMonitor of k8s-235, its apps rendered with the addons given (the composition's own by default). */
function monitorsOf(addons = cluster.addons) {
  const { problems, result } = renderApp(cluster.apps(inventory), { cluster: 'k8s-235', inventory, ...(addons ? { addons } : {}) });
  expect(problems).toEqual([]);
  return result.apps.flatMap((app) =>
    app.objects.filter((o) => o.manifest.kind === 'ServiceMonitor').map((o) => ({ app: app.name, ...o })),
  );
}

/** A construct serving metrics on a Service of its own. */
class Exporter extends Construct {
  constructor(scope: Construct, id: string, ports: readonly string[], declared = 'metrics') {
    super(scope, id);
    const service = new k8s.KubeService(this, 'Service', {
      metadata: { name: 'exporter', namespace: 'web', labels: { 'app.kubernetes.io/name': 'exporter' } },
      spec: { ports: ports.map((name, index) => ({ name, port: 9100 + index })) },
    });
    declareMetrics(this, { name: 'exporter', service, port: declared, interval: '1m' });
  }
}

/** `build` rendered as app web of cluster lab, with the metrics addon unless told otherwise. */
const render = <T>(build: (chart: AppChart) => T, addons = [metricsAddon]) => renderScope(build, { addons });

describe('the metrics addon', () => {
  it('turns each endpoint k8s-235 declares into the ServiceMonitor dist/ holds, under the declaring construct', () => {
    const monitors = monitorsOf();
    expect(monitors.map(({ app, origin }) => `${app} ${origin.constructPath}`).sort()).toEqual([
      'argocd k8s-235/argocd/argocd/ControllerMetrics',
      'argocd k8s-235/argocd/argocd/RepoServerMetrics',
      'argocd k8s-235/argocd/argocd/ServerMetrics',
      'cilium k8s-235/cilium/cilium/AgentMetrics',
      'cilium k8s-235/cilium/cilium/HubbleMetrics',
      'cilium k8s-235/cilium/cilium/OperatorMetrics',
      'traefik k8s-235/traefik/oauth2-proxy/ServiceMonitor',
      'traefik k8s-235/traefik/traefik/ServiceMonitor',
    ]);
    for (const { app, manifest } of monitors) {
      const file = join(projectRoot, 'dist', 'k8s-235', app, `servicemonitor-${objectRef(manifest).name}.yaml`);
      const committed = parse(readFileSync(file, 'utf8'));
      // Synth adds the sync option for the CRD the cluster has from outside; the rest is the addon's.
      delete committed.metadata.annotations;
      expect(manifest).toEqual(committed);
    }
  });

  it('is the only source of ServiceMonitors: without it k8s-235 renders none', () => {
    expect(monitorsOf(() => [])).toEqual([]);
  });

  it('selects the declared Service by namespace and labels, and its ServiceMonitor meets the metrics policy', () => {
    const { problems, all, app } = render((chart) => new Exporter(chart, 'exporter', ['http', 'metrics']));
    expect(problems).toEqual([]);
    expect(all('ServiceMonitor')).toEqual([
      {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'ServiceMonitor',
        metadata: { name: 'exporter', namespace: 'web' },
        spec: {
          selector: { matchLabels: { 'app.kubernetes.io/name': 'exporter' } },
          namespaceSelector: { matchNames: ['web'] },
          endpoints: [{ port: 'metrics', interval: '1m' }],
        },
      },
    ]);
    const policyObjects = app.objects.map(({ manifest, origin }) => ({ manifest, origin, app: 'web' }));
    expect(metricsTargetPolicy.check(policyObjects, { syncsAfter: () => false, built: true })).toEqual([]);
  });

  it('makes an endpoint whose port the Service lacks an error of the declaring construct', () => {
    const { result } = render((chart) => new Exporter(chart, 'exporter', ['http'], 'http-metrics'));
    expect(result.problems).toEqual([
      {
        origin: { constructPath: 'lab/web/exporter' },
        rule: 'construct',
        message:
          'metrics endpoint "ServiceMonitor": Service exporter has no port named "http-metrics" (its ports: http); name the metrics port "http-metrics" or declare the port it has',
      },
    ]);
  });

  it('refuses an object that is no Service, a Service in no namespace, and one endpoint id declared twice', () => {
    const { problems, all } = render((chart) => {
      const scope = new Construct(chart, 'odd');
      const map = new k8s.KubeConfigMap(scope, 'map', { metadata: { name: 'map', namespace: 'web' } });
      declareMetrics(scope, { name: 'odd', service: map });
      const nowhere = new Construct(chart, 'nowhere');
      const service = new k8s.KubeService(nowhere, 'Service', {
        metadata: { name: 'nowhere' },
        spec: { ports: [{ name: 'metrics', port: 1 }] },
      });
      declareMetrics(nowhere, { name: 'nowhere', service });
    });
    expect(problems).toEqual([
      'lab/web/odd: metrics endpoint "ServiceMonitor": ConfigMap map is not a Service; pass the Service serving the metrics',
      'lab/web/nowhere: metrics endpoint "ServiceMonitor": Service nowhere names no namespace; set its metadata.namespace',
    ]);
    expect(all('ServiceMonitor').map((o) => o.metadata.name)).toEqual(['odd']);
    const service = { namespace: 'web', labels: { app: 'x' } };
    const { built: declareAgain } = render((chart) => {
      const scope = new Construct(chart, 'twice');
      declareMetrics(scope, { name: 'a', service });
      return () => declareMetrics(scope, { name: 'b', service });
    });
    expect(declareAgain).toThrow(/metrics endpoint "ServiceMonitor" is declared twice on .*twice/);
  });

  it('selects an upstream Service by the labels given, leaving its ports to the deep build', () => {
    // The composition lists the addon twice.
    const {
      built: scope,
      all,
      messages,
      result,
    } = render(
      (chart) => {
        const upstream = new Construct(chart, 'upstream');
        declareMetrics(upstream, {
          id: 'Controller',
          name: 'controller',
          service: { namespace: 'ops', labels: { 'app.kubernetes.io/name': 'c' } },
        });
        return upstream;
      },
      [metricsAddon, metricsAddon],
    );
    expect(metricsEndpoints(scope)).toEqual([
      {
        id: 'Controller',
        name: 'controller',
        namespace: 'ops',
        selector: { 'app.kubernetes.io/name': 'c' },
        port: 'metrics',
        interval: '30s',
      },
    ]);
    // Listed twice, and applied again after the render, it still gives one ServiceMonitor.
    expect(all('ServiceMonitor').map((o) => o.spec.selector)).toEqual([{ matchLabels: { 'app.kubernetes.io/name': 'c' } }]);
    const children = scope.node.children.map((child) => child.node.path);
    expect(children).toEqual(['lab/web/upstream/Controller']);
    expect(applyAddons(result.scope, [metricsAddon])).toEqual([]);
    expect(scope.node.children.map((child) => child.node.path)).toEqual(children);
    expect(messages).toEqual([]);
  });

  it('renders nothing for a declaration without the addon', () => {
    const { problems, objects } = render((chart) => new Exporter(chart, 'exporter', ['metrics']), []);
    expect(problems).toEqual([]);
    expect(objects.map((o) => o.kind)).toEqual(['Service']);
  });
});
