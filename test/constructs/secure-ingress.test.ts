import { App, Chart } from 'cdk8s';
import { k8s, Service } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { AcmeClusterIssuer, type IClusterIssuer, LETS_ENCRYPT } from '../../constructs/certificates/acme-cluster-issuer.js';
import { UpstreamService } from '../../constructs/core/upstream-service.js';
import { ForwardAuthMiddleware } from '../../constructs/ingress/forward-auth.js';
import {
  PUBLIC_REASON_ANNOTATION,
  SecureIngress,
  type SecureIngressProps,
  UPSTREAM_BACKEND_ANNOTATION,
} from '../../constructs/ingress/secure-ingress.js';
import type { AppDefinition } from '../../framework/cluster.js';
import { SchemaRegistry } from '../../pipeline/schemas.js';
import { validateObjects } from '../../pipeline/validate.js';
import { renderApp, renderScope, type TestObject } from '../helpers/render.js';

/** The forward-auth Middleware of an SSO proxy (outside any app: no cross-app check applies). */
function forwardAuth(namespace: string, name: string): ForwardAuthMiddleware {
  return new ForwardAuthMiddleware(new Chart(new App(), namespace), name, { namespace, name, address: 'http://oauth2-proxy.traefik.svc/' });
}

const sso = forwardAuth('traefik', 'forward-auth');

/** The app's Service `web`, ports `http` (80) and `metrics` (9090), in the chart the Ingress is rendered in. */
function webService(chart: Construct, namespace?: string): k8s.KubeService {
  return new k8s.KubeService(chart, 'web-service', {
    metadata: { name: 'web', ...(namespace ? { namespace } : {}) },
    spec: {
      ports: [
        { name: 'http', port: 80 },
        { name: 'metrics', port: 9090 },
      ],
    },
  });
}

/** A ClusterIssuer through HTTP-01, in the chart the Ingress is rendered in. */
function issuer(chart: Construct, name = 'letsencrypt-prod'): IClusterIssuer {
  return new AcmeClusterIssuer(chart, name, {
    server: LETS_ENCRYPT.production,
    email: 'acme@example.org',
    solver: { type: 'http01-ingress', ingressClassName: 'traefik' },
  });
}

/** The SecureIngress's construct path: cluster lab, app web, id web. */
const AT = 'lab/web/web:';

interface IngressManifest {
  metadata: { name: string; annotations: Record<string, string> };
  spec: {
    ingressClassName: string;
    tls: { hosts: string[]; secretName: string }[];
    rules: { host: string; http: { paths: unknown[] } }[];
  };
}

/** A SecureIngress `web` in the app web, by default to the app's Service `web` and through a ClusterIssuer of the app. */
function render(
  props: Omit<SecureIngressProps, 'backend' | 'issuer'> & Partial<Pick<SecureIngressProps, 'backend' | 'issuer'>>,
  backend: (chart: Construct) => SecureIngressProps['backend'] = (chart) => ({ service: webService(chart), port: 'http' }),
  clusterIssuer: (chart: Construct) => IClusterIssuer = (chart) => issuer(chart),
) {
  const rendered = renderScope(
    (chart) =>
      new SecureIngress(chart, 'web', {
        ...props,
        backend: props.backend ?? backend(chart),
        issuer: props.issuer ?? clusterIssuer(chart),
      }),
    { app: 'web' },
  );
  return {
    ingress: rendered.built,
    /** The Ingress as synth writes it. */
    get manifest(): IngressManifest & TestObject {
      return rendered.get('Ingress', props.name ?? 'web') as IngressManifest & TestObject;
    },
    /** The errors synth reports at the SecureIngress. */
    errors: rendered.problems.flatMap((problem) => (problem.startsWith(`${AT} `) ? [problem.slice(AT.length + 1)] : [])),
    problems: rendered.problems,
  };
}

const base = { hosts: ['web.example.org'] } as const;

describe('SecureIngress', () => {
  it('uses SSO through the forward-auth Middleware object it is given', () => {
    const { manifest, errors, problems } = render({ ...base, auth: { sso } });
    expect(errors).toEqual([]);
    expect(problems).toEqual([]);
    expect(manifest.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).toBe('traefik-forward-auth@kubernetescrd');
    expect(manifest.metadata.annotations[PUBLIC_REASON_ANNOTATION]).toBeUndefined();
  });

  it('computes the middleware annotation from the Middleware, extra middlewares after auth', () => {
    const { manifest } = render({
      ...base,
      auth: { sso: forwardAuth('auth', 'oidc') },
      middlewares: [{ namespace: 'traefik', name: 'compress' }],
    });
    expect(manifest.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).toBe(
      'auth-oidc@kubernetescrd,traefik-compress@kubernetescrd',
    );
  });

  it('records the reason on a public ingress and adds no forward-auth', () => {
    const { manifest, errors, problems } = render({ ...base, auth: { public: 'sign-in endpoint of the SSO proxy' } });
    expect(errors).toEqual([]);
    expect(problems).toEqual([]);
    expect(manifest.metadata.annotations[PUBLIC_REASON_ANNOTATION]).toBe('sign-in endpoint of the SSO proxy');
    expect(manifest.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).toBeUndefined();
  });

  it('always serves TLS with a certificate covering every host', () => {
    const { manifest, ingress } = render({ ...base, hosts: ['a.example.org', 'b.example.org'], paths: ['/', '/api'], auth: { sso } });
    expect(manifest.metadata.annotations).toMatchObject({
      'cert-manager.io/cluster-issuer': 'letsencrypt-prod',
      'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure',
      'traefik.ingress.kubernetes.io/router.tls': 'true',
    });
    expect(manifest.spec.tls).toEqual([{ hosts: ['a.example.org', 'b.example.org'], secretName: 'a-example-org-tls' }]);
    expect(ingress.tlsSecretName).toBe('a-example-org-tls');
    expect(manifest.spec.rules.map((rule) => rule.host)).toEqual(['a.example.org', 'b.example.org']);
    expect(manifest.spec.rules[0]?.http.paths).toHaveLength(2);
    expect(manifest.spec.ingressClassName).toBe('traefik');
  });

  it('takes another ingress class when given one', () => {
    expect(render({ ...base, auth: { sso }, ingressClassName: 'internal' }).manifest.spec.ingressClassName).toBe('internal');
  });

  it('names the ClusterIssuer object it is given', () => {
    const { manifest, errors, problems } = render({ ...base, auth: { sso } }, undefined, (chart) => issuer(chart, 'letsencrypt-staging'));
    expect(errors).toEqual([]);
    expect(problems).toEqual([]);
    expect(manifest.metadata.annotations['cert-manager.io/cluster-issuer']).toBe('letsencrypt-staging');
  });

  it("refuses an issuer or SSO Middleware of an app it does not sync after, or of another cluster's app", () => {
    const leaked: { issuer?: IClusterIssuer; sso?: ForwardAuthMiddleware } = {};
    const certs: AppDefinition<unknown> = {
      name: 'cert-manager',
      build(chart) {
        leaked.issuer = issuer(chart);
      },
    };
    const traefik: AppDefinition<unknown> = {
      name: 'traefik',
      build(chart) {
        leaked.sso = new ForwardAuthMiddleware(chart, 'sso', { namespace: 'traefik', address: 'http://oauth2-proxy.traefik.svc/' });
      },
    };
    const web = (dependsOn: AppDefinition<unknown, unknown>[]): AppDefinition<unknown> => ({
      name: 'web',
      namespace: 'web',
      dependsOn,
      build(chart) {
        const service = webService(chart);
        if (leaked.issuer && leaked.sso)
          new SecureIngress(chart, 'web', {
            ...base,
            auth: { sso: leaked.sso },
            backend: { service, port: 'http' },
            issuer: leaked.issuer,
          });
      },
    });
    const problems = (cluster: string, apps: AppDefinition<unknown, unknown>[]) => renderApp(apps, { cluster }).problems;
    expect(problems('lab', [certs, traefik, web([])])).toEqual([
      'lab/web/web: forward-auth Middleware traefik/forward-auth is made by app "traefik": add that app to the dependsOn of "web", so that it syncs first',
      'lab/web/web: ClusterIssuer letsencrypt-prod is made by app "cert-manager": add that app to the dependsOn of "web", so that it syncs first',
    ]);
    expect(problems('lab', [certs, traefik, web([certs, traefik])])).toEqual([]);
    expect(problems('other', [web([])])).toEqual([
      'other/web/web: forward-auth Middleware traefik/forward-auth belongs to cluster lab, not to other',
      'other/web/web: ClusterIssuer letsencrypt-prod belongs to cluster lab, not to other',
    ]);
  });

  it('refuses to render without SSO or a public reason, and SSO through a bare reference', () => {
    // The types forbid both; a JavaScript composition gets the message.
    expect(render({ ...base, auth: undefined as never }).errors).toEqual([
      'no auth: pass auth: { sso } with the forward-auth Middleware, or { public: "<reason>" }',
    ]);
    expect(render({ ...base, auth: { sso: { namespace: 'traefik', name: 'forward-auth' } as never } }).errors).toEqual([
      'auth.sso must be the ForwardAuthMiddleware object (chart.use(traefikApp).sso), not a reference to one',
    ]);
    expect(render({ ...base, auth: { public: '  ' } }).errors).toEqual([
      'a public SecureIngress needs a reason: auth: { public: "<why it needs no SSO>" }',
    ]);
  });

  it('rejects invalid hosts, paths and an empty host list', () => {
    expect(render({ ...base, auth: { sso }, hosts: ['Web.Example.org', 'bad_host.example.org'], paths: ['api'] }).errors).toEqual([
      'host "Web.Example.org" is not a valid DNS name',
      'host "bad_host.example.org" is not a valid DNS name',
      'path "api" must start with "/"',
    ]);
    expect(render({ ...base, auth: { sso }, hosts: [] }).errors).toContain('a SecureIngress needs at least one host');
  });

  it('routes to the Service object it is given, by port name or number', () => {
    const { manifest, errors, problems } = render({ ...base, auth: { sso } }, (chart) => ({ service: webService(chart), port: 9090 }));
    expect(errors).toEqual([]);
    expect(problems).toEqual([]);
    expect(manifest.spec.rules[0]?.http.paths).toEqual([
      { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 9090 } } } },
    ]);
    const plus = render({ ...base, auth: { sso } }, (chart) => ({
      service: new Service(chart, 'plus', { metadata: { name: 'web-plus' }, ports: [{ name: 'http', port: 8080 }] }),
      port: 'http',
    }));
    expect(plus.errors).toEqual([]);
    expect(plus.problems).toEqual([]);
    expect(JSON.stringify(plus.manifest.spec.rules)).toContain('"name":"web-plus"');
  });

  it('refuses a port the Service does not have, or a Service of another namespace', () => {
    expect(render({ ...base, auth: { sso } }, (chart) => ({ service: webService(chart), port: 'https' })).errors).toEqual([
      'backend Service web/web has no port named "https" (its ports: http (80), metrics (9090))',
    ]);
    expect(render({ ...base, auth: { sso } }, (chart) => ({ service: webService(chart), port: 443 })).errors).toEqual([
      'backend Service web/web has no port 443 (its ports: http (80), metrics (9090))',
    ]);
    expect(
      render({ ...base, auth: { sso }, namespace: 'web' }, (chart) => ({ service: webService(chart, 'other'), port: 'http' })).errors,
    ).toEqual(["backend Service other/web is not in the Ingress's namespace web: an Ingress routes only to Services of its own namespace"]);
  });

  it('routes to an upstream Service through the reference its installer exposes, and records where it comes from', () => {
    const upstream = new UpstreamService({
      namespace: 'argocd',
      name: 'argocd-server',
      ports: [{ name: 'http', port: 80 }],
      providedBy: 'https://example.org/install.yaml',
    });
    const { manifest, errors, problems } = render({ ...base, auth: { sso }, namespace: 'argocd' }, () => ({
      service: upstream,
      port: 'http',
    }));
    expect(errors).toEqual([]);
    expect(problems).toEqual([]);
    expect(manifest.metadata.annotations[UPSTREAM_BACKEND_ANNOTATION]).toBe('https://example.org/install.yaml');
    expect(render({ ...base, auth: { sso }, namespace: 'argocd' }, () => ({ service: upstream, port: 'grpc' })).errors).toEqual([
      'backend Service argocd/argocd-server has no port named "grpc" (its ports: http (80))',
    ]);
  });

  it('renders a schema-valid Ingress', async () => {
    const { manifest } = render({ ...base, auth: { sso }, namespace: 'web' });
    const { problems } = await validateObjects([{ manifest, origin: {} }], { registry: new SchemaRegistry() });
    expect(problems).toEqual([]);
  });
});
