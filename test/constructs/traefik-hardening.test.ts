import { describe, expect, it } from 'vitest';
import { ForwardAuthMiddleware } from '../../constructs/ingress/forward-auth.js';
import { TraefikController } from '../../constructs/ingress/traefik.js';
import { renderScope } from '../helpers/render.js';

/** Traefik and its SSO Middleware, in the app traefik. */
function render() {
  const { objects, app, find } = renderScope(
    (chart) => {
      new TraefikController(chart, 'traefik');
      new ForwardAuthMiddleware(chart, 'sso', { namespace: 'traefik', address: 'http://oauth2-proxy.traefik.svc.cluster.local/' });
    },
    { app: 'traefik' },
  );
  return { objects, patches: app.patches, find };
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
