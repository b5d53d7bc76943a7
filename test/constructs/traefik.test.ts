import { describe, expect, it } from 'vitest';
import { AEAD_CIPHER_SUITES, TlsPolicy, type TlsPolicyProps } from '../../constructs/ingress/tls-policy.js';
import { TRAEFIK_CRDS, TRAEFIK_VERSION, TraefikController, type TraefikControllerProps } from '../../constructs/ingress/traefik.js';
import { metricsAddon } from '../../constructs/monitoring/service-monitor.js';
import { KUSTOMIZE_CONTRIBUTION } from '../../framework/contributions.js';
import { SchemaRegistry } from '../../pipeline/schemas.js';
import { validateObjects } from '../../pipeline/validate.js';
import { renderScope, type TestObject } from '../helpers/render.js';

/** Traefik and the cluster's TLS policy, in the app traefik, as its app builds them. */
function render(props: TraefikControllerProps = {}, addons = [metricsAddon]) {
  const rendered = renderScope(
    (chart) => {
      const traefik = new TraefikController(chart, 'traefik', props);
      return { traefik, policy: new TlsPolicy(chart, 'tls', { namespace: traefik.namespace }) };
    },
    { app: 'traefik', addons },
  );
  return { ...rendered, ...rendered.built };
}

/** A TlsPolicy alone, in the app traefik. */
const renderPolicy = (props: TlsPolicyProps) => renderScope((chart) => new TlsPolicy(chart, 'tls', props), { app: 'traefik' });

function args(get: (kind: string, name: string) => TestObject): string[] {
  return get('Deployment', 'traefik').spec.template.spec.containers[0].args;
}

describe('TraefikController', () => {
  it('redirects web to HTTPS on the published port 443, permanently', () => {
    const { get } = render();
    expect(args(get)).toEqual(
      expect.arrayContaining([
        '--entryPoints.web.address=:8000/tcp',
        '--entryPoints.web.http.redirections.entryPoint.to=:443',
        '--entryPoints.web.http.redirections.entryPoint.scheme=https',
        '--entryPoints.web.http.redirections.entryPoint.permanent=true',
      ]),
    );
  });

  it('serves TLS and HTTP/3 (advertised on 443) on websecure, the API and ping on the internal entry point, metrics on their own', () => {
    const { get } = render();
    const list = args(get);
    expect(list).toEqual(
      expect.arrayContaining([
        '--entryPoints.websecure.address=:8443/tcp',
        '--entryPoints.websecure.http.tls=true',
        '--entryPoints.websecure.http3=true',
        '--entryPoints.websecure.http3.advertisedPort=443',
        '--entryPoints.traefik.address=:9000/tcp',
        '--api.dashboard=true',
        '--ping.entryPoint=traefik',
        '--entryPoints.metrics.address=:8082/tcp',
        '--metrics.prometheus.entryPoint=metrics',
        '--providers.kubernetesCRD.allowCrossNamespace=false',
        '--providers.kubernetesIngress.ingressClass=traefik',
        '--providers.kubernetesIngress.ingressEndpoint.publishedService=traefik/traefik-ipv4',
      ]),
    );
    expect(list.some((arg) => arg.startsWith('--api.insecure'))).toBe(false);
    const container = get('Deployment', 'traefik').spec.template.spec.containers[0];
    expect(container.ports).toContainEqual({ name: 'websecure-http3', containerPort: 8443, protocol: 'UDP' });
  });

  it('applies entry-point middlewares to every websecure router by provider name', () => {
    const { get } = render({
      entryPointMiddlewares: [
        { namespace: 'traefik', name: 'security-headers' },
        { namespace: 'traefik', name: 'compress' },
      ],
    });
    expect(args(get)).toContain(
      '--entryPoints.websecure.http.middlewares=traefik-security-headers@kubernetescrd,traefik-compress@kubernetescrd',
    );
  });

  it('trusts forwarded headers only from the configured proxies', () => {
    expect(args(render().get).some((arg) => arg.includes('forwardedHeaders'))).toBe(false);
    const { get } = render({ forwardedHeadersTrustedIPs: ['10.0.0.0/8', '2001:db8::/32'] });
    expect(args(get)).toEqual(
      expect.arrayContaining([
        '--entryPoints.web.forwardedHeaders.trustedIPs=10.0.0.0/8,2001:db8::/32',
        '--entryPoints.websecure.forwardedHeaders.trustedIPs=10.0.0.0/8,2001:db8::/32',
      ]),
    );
  });

  it('publishes one SingleStack LoadBalancer per IP family with Local traffic policy and HTTP, HTTPS and HTTP/3 ports', () => {
    const { get, objects } = render();
    const balancers = objects.filter((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer');
    expect(balancers.map((o) => o.metadata.name)).toEqual(['traefik-ipv4', 'traefik-ipv6']);
    for (const [name, family] of [
      ['traefik-ipv4', 'IPv4'],
      ['traefik-ipv6', 'IPv6'],
    ] as const) {
      const spec = get('Service', name).spec;
      expect(spec.externalTrafficPolicy).toBe('Local');
      expect(spec.ipFamilyPolicy).toBe('SingleStack');
      expect(spec.ipFamilies).toEqual([family]);
      expect(spec.ports).toEqual([
        { name: 'web', port: 80, protocol: 'TCP', targetPort: 'web' },
        { name: 'websecure', port: 443, protocol: 'TCP', targetPort: 'websecure' },
        { name: 'websecure-http3', port: 443, protocol: 'UDP', targetPort: 'websecure-http3' },
      ]);
      expect(spec.selector).toEqual(get('Deployment', 'traefik').spec.selector.matchLabels);
    }
  });

  it('drops the UDP port and flags when HTTP/3 is off, and serves a single family when asked', () => {
    const { objects, get } = render({ http3: false, ipFamilies: ['IPv6'] });
    const balancers = objects.filter((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer');
    expect(balancers.map((o) => o.metadata.name)).toEqual(['traefik-ipv6']);
    expect(balancers[0]?.spec.ports.map((p: { protocol: string }) => p.protocol)).toEqual(['TCP', 'TCP']);
    expect(args(get).some((arg) => arg.includes('http3'))).toBe(false);
    expect(args(get)).toContain('--providers.kubernetesIngress.ingressEndpoint.publishedService=traefik/traefik-ipv6');
  });

  it('grants read access to everything the CRD and Ingress providers watch, and Ingress status updates', () => {
    const { get } = render();
    const rules = get('ClusterRole', 'traefik').rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    const allowed = (group: string, resource: string, verb: string) =>
      rules.some((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    for (const resource of [
      'ingressroutes',
      'ingressroutetcps',
      'ingressrouteudps',
      'middlewares',
      'middlewaretcps',
      'serverstransports',
      'serverstransporttcps',
      'tlsoptions',
      'tlsstores',
      'traefikservices',
    ]) {
      for (const verb of ['get', 'list', 'watch']) expect(allowed('traefik.io', resource, verb), `${resource} ${verb}`).toBe(true);
    }
    expect(allowed('networking.k8s.io', 'ingresses', 'watch')).toBe(true);
    expect(allowed('networking.k8s.io', 'ingressclasses', 'list')).toBe(true);
    expect(allowed('networking.k8s.io', 'ingresses/status', 'update')).toBe(true);
    expect(allowed('discovery.k8s.io', 'endpointslices', 'watch')).toBe(true);
    expect(allowed('', 'secrets', 'watch')).toBe(true);
    // Read-only everywhere except the Ingress status.
    const writes = rules.filter((r) => r.verbs.some((v) => !['get', 'list', 'watch'].includes(v)));
    expect(writes).toEqual([{ apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] }]);
    expect(get('ClusterRoleBinding', 'traefik').subjects).toEqual([{ kind: 'ServiceAccount', name: 'traefik', namespace: 'traefik' }]);
  });

  it('makes its IngressClass the cluster default', () => {
    const { get, traefik } = render();
    const ingressClass = get('IngressClass', 'traefik');
    expect(ingressClass.metadata.annotations).toEqual({ 'ingressclass.kubernetes.io/is-default-class': 'true' });
    expect(ingressClass.spec.controller).toBe('traefik.io/ingress-controller');
    expect(traefik.ingressClassName).toBe('traefik');
  });

  it('runs under the restricted Pod Security Standard its namespace enforces', () => {
    const { get } = render();
    expect(get('Namespace', 'traefik').metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const pod = get('Deployment', 'traefik').spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    expect(pod.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    for (const port of pod.containers[0].ports) expect(port.containerPort).toBeGreaterThanOrEqual(1024);
    expect(pod.containers[0].readinessProbe.httpGet).toEqual({ path: '/ping', port: 'traefik', scheme: 'HTTP' });
    expect(pod.containers[0].livenessProbe.httpGet.path).toBe('/ping');
  });

  it('stays available: spread across nodes and protected by a disruption budget', () => {
    const { get } = render();
    const deployment = get('Deployment', 'traefik');
    expect(deployment.spec.replicas).toBe(2);
    expect(deployment.spec.template.spec.topologySpreadConstraints[0]).toMatchObject({
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'DoNotSchedule',
    });
    expect(get('PodDisruptionBudget', 'traefik').spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: deployment.spec.selector.matchLabels },
    });
  });

  it('exposes metrics to Prometheus through a ServiceMonitor where the metrics addon applies', () => {
    const { get } = render();
    const metrics = get('Service', 'traefik-metrics');
    expect(metrics.spec.ports).toEqual([{ name: 'metrics', port: 8082, protocol: 'TCP', targetPort: 'metrics' }]);
    const monitor = get('ServiceMonitor', 'traefik');
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '30s' }]);
    expect(monitor.spec.selector.matchLabels).toEqual(metrics.metadata.labels);
    expect(render({}, []).objects.filter((o) => o.kind === 'ServiceMonitor')).toEqual([]);
  });

  it('routes the dashboard from a ClusterIP Service to api@internal on the internal entry point only', () => {
    const { get, traefik } = render();
    expect(traefik.dashboardService.toJson()).toMatchObject({
      metadata: { name: 'traefik-dashboard', namespace: 'traefik' },
      spec: { ports: [{ name: 'http', port: 80 }] },
    });
    expect(traefik.dashboardPaths).toEqual(['/dashboard', '/api']);
    const service = get('Service', 'traefik-dashboard');
    expect(service.spec.type).toBe('ClusterIP');
    expect(service.spec.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'traefik' }]);
    const route = get('IngressRoute', 'traefik-dashboard');
    expect(route.spec.entryPoints).toEqual(['traefik']);
    expect(route.spec.routes[0]).toEqual({
      kind: 'Rule',
      match: 'PathPrefix(`/dashboard`) || PathPrefix(`/api`)',
      services: [{ kind: 'TraefikService', name: 'api@internal' }],
    });
  });

  it('pins the upstream CRDs at the release of the image', () => {
    const { traefik, get, app } = render();
    const url = `https://raw.githubusercontent.com/traefik/traefik/${TRAEFIK_VERSION}/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml`;
    expect(traefik.crds.url).toBe(url);
    expect(traefik.crds[KUSTOMIZE_CONTRIBUTION]()).toEqual({ resources: [url], crds: TRAEFIK_CRDS });
    expect(app.resources).toContain(url);
    expect(app.crds).toEqual(TRAEFIK_CRDS.map((crds) => ({ crds, constructPath: traefik.crds.node.path })));
    expect(get('Deployment', 'traefik').spec.template.spec.containers[0].image).toBe(`docker.io/traefik:${TRAEFIK_VERSION}`);
    expect(render({ version: 'v3.7.11' }).traefik.crds.url).toContain('/traefik/v3.7.11/');
  });

  it('names every object and namespaces every namespaced one', () => {
    const { objects } = render();
    const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'IngressClass']);
    for (const object of objects) {
      expect(object.metadata.name, object.kind).toBeTruthy();
      if (clusterScoped.has(object.kind)) expect(object.metadata.namespace, object.kind).toBeUndefined();
      else expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe('traefik');
    }
  });

  it('renders only objects that pass schema and metadata validation', async () => {
    const { objects, problems: renderProblems } = render({ entryPointMiddlewares: [{ namespace: 'traefik', name: 'security-headers' }] });
    expect(renderProblems).toEqual([]);
    const { problems } = await validateObjects(
      objects.map((manifest) => ({ manifest, origin: {} })),
      { registry: new SchemaRegistry() },
    );
    expect(problems).toEqual([]);
  });

  it.each([
    [{ image: 'docker.io/traefik:latest' }, /floating tag "latest"/],
    [{ image: 'docker.io/traefik' }, /has no tag or digest/],
    [{ version: 'v3.7' }, /not an exact release/],
    [{ replicas: 0 }, /replicas must be a positive integer/],
    [{ ipFamilies: [] }, /at least one IP family/],
    [{ ports: { web: 80 } }, /ports.web must be an unprivileged port/],
    [{ forwardedHeadersTrustedIPs: ['10.0.0.0/33'] }, /invalid prefix length/],
    [{ forwardedHeadersTrustedIPs: ['proxy.example'] }, /not an IP address or CIDR/],
  ] satisfies [TraefikControllerProps, RegExp][])('rejects %o at synth time', (props, message) => {
    const { traefik, problems } = render(props);
    expect(traefik.node.validate()).toContainEqual(expect.stringMatching(message));
    // Synth fails, naming the construct.
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^lab/traefik/traefik: .*${message.source}`)));
  });

  it('accepts its defaults and digest-pinned images', () => {
    const image = `docker.io/traefik@sha256:${'a'.repeat(64)}`;
    for (const props of [{}, { image }]) {
      const { traefik, problems } = render(props);
      expect(traefik.node.validate()).toEqual([]);
      expect(problems).toEqual([]);
    }
  });
});

describe('TlsPolicy', () => {
  it('defines the cluster-wide default TLSOption: TLS 1.2-1.3, strict SNI, AEAD suites only', () => {
    const { get, policy } = render();
    const option = get('TLSOption', 'default');
    expect(option.metadata.namespace).toBe('traefik');
    expect(policy.tlsOptionName).toBe('default');
    expect(option.spec).toEqual({
      minVersion: 'VersionTLS12',
      maxVersion: 'VersionTLS13',
      sniStrict: true,
      cipherSuites: [
        'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
        'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
        'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
        'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
        'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305',
        'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305',
      ],
    });
    for (const suite of AEAD_CIPHER_SUITES) expect(suite).toMatch(/_(GCM_SHA\d+|CHACHA20_POLY1305)$/);
  });

  it('sends HSTS for two years with subdomains, always, plus hardening headers', () => {
    const { get, policy } = render();
    expect(policy.headersMiddleware).toEqual({ namespace: 'traefik', name: 'security-headers' });
    expect(get('Middleware', 'security-headers').spec.headers).toEqual({
      stsSeconds: 63072000,
      stsIncludeSubdomains: true,
      stsPreload: false,
      forceSTSHeader: true,
      contentTypeNosniff: true,
      frameDeny: true,
      referrerPolicy: 'strict-origin-when-cross-origin',
    });
  });

  it('accepts a one-year max-age and a custom middleware name', () => {
    const { built: policy, problems } = renderPolicy({ stsSeconds: 31536000, headersMiddlewareName: 'hsts', namespace: 'edge' });
    expect(policy.node.validate()).toEqual([]);
    expect(problems).toEqual([]);
    expect(policy.headersMiddleware).toEqual({ namespace: 'edge', name: 'hsts' });
  });

  it.each([
    [{ stsSeconds: 86400 }, /stsSeconds must be a whole number of at least 31536000/],
    [{ stsSeconds: 31535999 }, /stsSeconds must be a whole number of at least 31536000/],
    [{ cipherSuites: [] }, /cipherSuites must not be empty/],
  ])('rejects %o at synth time', (props, message) => {
    const { built: policy, problems } = renderPolicy(props);
    expect(policy.node.validate()).toContainEqual(expect.stringMatching(message));
    // Synth fails, naming the construct.
    expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^lab/traefik/tls: .*${message.source}`)));
  });
});
