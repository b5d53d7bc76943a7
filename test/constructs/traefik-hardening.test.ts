import { App, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { ForwardAuthMiddleware } from '../../constructs/ingress/forward-auth.js';
import { TraefikController } from '../../constructs/ingress/traefik.js';
import { KUSTOMIZE_CONTRIBUTION, type KustomizeEntries } from '../../framework/contributions.js';

type Manifest = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };

function render() {
  const chart = new Chart(new App(), 'test', { disableResourceNameHashes: true });
  new TraefikController(chart, 'traefik');
  new ForwardAuthMiddleware(chart, 'sso', { namespace: 'traefik', address: 'http://oauth2-proxy.traefik.svc.cluster.local/' });
  const objects = chart.toJson() as Manifest[];
  const patches = chart.node
    .findAll()
    .flatMap((c) => (c as unknown as Record<symbol, () => KustomizeEntries>)[KUSTOMIZE_CONTRIBUTION]?.().patches ?? []);
  return { objects, patches, find: (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name) };
}

describe('Traefik hardening', () => {
  const { objects, patches, find } = render();

  it('lets only Traefik reach the dashboard API, and the monitoring namespace only the metrics', () => {
    const policy = find('NetworkPolicy', 'traefik');
    const rules = policy?.spec.ingress as { from?: unknown[]; ports: { port: number; protocol: string }[] }[];
    expect(rules[0]).toEqual({
      ports: [
        { port: 8000, protocol: 'TCP' },
        { port: 8443, protocol: 'TCP' },
        { port: 8443, protocol: 'UDP' },
      ],
    });
    expect(rules[1]?.ports).toEqual([{ port: 9000, protocol: 'TCP' }]);
    expect(rules[1]?.from).toEqual([
      { podSelector: { matchLabels: { 'app.kubernetes.io/name': 'traefik', 'app.kubernetes.io/instance': 'traefik' } } },
    ]);
    // The API under :9000 answers without authentication: the scrapers get :8082, metrics only.
    expect(rules[2]?.ports).toEqual([{ port: 8082, protocol: 'TCP' }]);
    expect(rules[2]?.from).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }]);
    expect(rules).toHaveLength(3);
  });

  it('allocates no NodePorts for the BGP-announced load balancers', () => {
    const services = objects.filter((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer');
    expect(services).toHaveLength(2);
    for (const service of services) expect(service.spec.allocateLoadBalancerNodePorts).toBe(false);
  });

  it('protects the upstream CRDs from pruning and applies them first, server-side', () => {
    expect(patches).toEqual([
      expect.objectContaining({
        target: { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
        patch: expect.objectContaining({
          metadata: expect.objectContaining({
            annotations: { 'argocd.argoproj.io/sync-options': 'Delete=false,ServerSideApply=true', 'argocd.argoproj.io/sync-wave': '-1' },
          }),
        }),
      }),
    ]);
  });

  it('bounds the auth answer and strips client-sent identity headers', () => {
    const middleware = find('Middleware', 'forward-auth');
    expect(middleware?.spec.forwardAuth).toMatchObject({ authResponseHeadersRegex: '^X-Auth-Request-', maxResponseBodySize: 65536 });
    const deployment = find('Deployment', 'traefik');
    const args = JSON.stringify(deployment?.spec);
    expect(args).toContain('--entryPoints.websecure.http.underscoreHeadersStrategy=delete');
    expect(args).toContain('--entryPoints.web.http.redirections.entryPoint.priority=1');
    expect(args).toContain('"nodeTaintsPolicy":"Honor"');
  });
});
