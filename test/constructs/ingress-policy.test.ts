import { describe, expect, it } from 'vitest';
import { ingressPolicy } from '../../constructs/ingress/policies.js';
import { PUBLIC_REASON_ANNOTATION } from '../../constructs/ingress/secure-ingress.js';
import type { PolicyObject } from '../../framework/cluster.js';
import type { Manifest } from '../../framework/model.js';

const object = (manifest: Manifest, app = 'web'): PolicyObject => ({
  manifest,
  origin: { constructPath: `lab/${app}/${(manifest.metadata as { name: string }).name}` },
  app,
});

const cluster: Manifest[] = [
  { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt-prod' }, spec: {} },
  { apiVersion: 'cert-manager.io/v1', kind: 'Issuer', metadata: { name: 'local', namespace: 'web' }, spec: {} },
  {
    apiVersion: 'traefik.io/v1alpha1',
    kind: 'Middleware',
    metadata: { name: 'forward-auth', namespace: 'traefik' },
    spec: { forwardAuth: { address: 'http://sso/' } },
  },
  { apiVersion: 'traefik.io/v1alpha1', kind: 'Middleware', metadata: { name: 'compress', namespace: 'traefik' }, spec: { compress: {} } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'web' }, spec: { ports: [{ name: 'http', port: 80 }] } },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'outside', namespace: 'web' },
    spec: { type: 'ExternalName', externalName: 'example.net' },
  },
];

function ingress(
  name: string,
  overrides: { annotations?: Record<string, string | undefined>; spec?: Record<string, unknown> } = {},
): Manifest {
  const annotations = Object.fromEntries(
    Object.entries({
      'cert-manager.io/cluster-issuer': 'letsencrypt-prod',
      'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure',
      'traefik.ingress.kubernetes.io/router.tls': 'true',
      'traefik.ingress.kubernetes.io/router.middlewares': 'traefik-forward-auth@kubernetescrd',
      ...overrides.annotations,
    }).filter(([, value]) => value !== undefined),
  );
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'web', annotations },
    spec: {
      tls: [{ hosts: [`${name}.example.org`], secretName: `${name}-tls` }],
      rules: [
        {
          host: `${name}.example.org`,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } }] },
        },
      ],
      ...overrides.spec,
    },
  };
}

function check(...ingresses: Manifest[]): string[] {
  return ingressPolicy
    .check([...cluster, ...ingresses].map((manifest) => object(manifest)))
    .map((p) => `${p.origin.constructPath}: ${p.message} [${p.rule}]`);
}

describe('ingress policy', () => {
  it('accepts an Ingress with TLS, an existing issuer, SSO and an existing backend port', () => {
    expect(check(ingress('app'))).toEqual([]);
    expect(
      check(
        ingress('num', {
          spec: {
            rules: [
              {
                host: 'num.example.org',
                http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] },
              },
            ],
          },
        }),
      ),
    ).toEqual([]);
  });

  it('fails when TLS does not cover a rule host', () => {
    expect(check(ingress('app', { spec: { tls: [{ hosts: ['other.example.org'], secretName: 'x' }] } }))).toEqual([
      'lab/web/app: host "app.example.org" is not covered by any spec.tls entry [policy.ingress.tls]',
    ]);
  });

  it('accepts a wildcard TLS host for one level only', () => {
    const wildcard = { tls: [{ hosts: ['*.example.org'], secretName: 'wild' }] };
    expect(check(ingress('app', { spec: wildcard }))).toEqual([]);
    const deep = ingress('deep', { spec: { ...wildcard, rules: [{ host: 'a.deep.example.org', http: { paths: [] } }] } });
    expect(check(deep)).toEqual(['lab/web/deep: host "a.deep.example.org" is not covered by any spec.tls entry [policy.ingress.tls]']);
  });

  it('fails when the issuer does not exist or none is named', () => {
    expect(check(ingress('app', { annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt-typo' } }))).toEqual([
      'lab/web/app: names ClusterIssuer "letsencrypt-typo", which does not exist in the cluster [policy.ingress.issuer]',
    ]);
    expect(
      check(ingress('app', { annotations: { 'cert-manager.io/cluster-issuer': undefined, 'cert-manager.io/issuer': 'local' } })),
    ).toEqual([]);
    expect(check(ingress('app', { annotations: { 'cert-manager.io/cluster-issuer': undefined } }))).toEqual([
      'lab/web/app: names no cert-manager issuer (annotation cert-manager.io/cluster-issuer or cert-manager.io/issuer) [policy.ingress.issuer]',
    ]);
  });

  it('fails without forward-auth unless public with a reason', () => {
    expect(
      check(ingress('app', { annotations: { 'traefik.ingress.kubernetes.io/router.middlewares': 'traefik-compress@kubernetescrd' } })),
    ).toEqual([
      `lab/web/app: has no forward-auth middleware; add SSO or mark it public with a reason (annotation ${PUBLIC_REASON_ANNOTATION}) [policy.ingress.sso]`,
    ]);
    const open = { 'traefik.ingress.kubernetes.io/router.middlewares': undefined, [PUBLIC_REASON_ANNOTATION]: 'public status page' };
    expect(check(ingress('app', { annotations: open }))).toEqual([]);
    expect(check(ingress('app', { annotations: { ...open, [PUBLIC_REASON_ANNOTATION]: ' ' } }))).toHaveLength(1);
  });

  it('fails when a listed middleware does not exist', () => {
    expect(
      check(
        ingress('app', {
          annotations: {
            'traefik.ingress.kubernetes.io/router.middlewares': 'traefik-forward-auth@kubernetescrd,traefik-gone@kubernetescrd',
          },
        }),
      ),
    ).toEqual([
      'lab/web/app: uses middleware "traefik-gone@kubernetescrd", which does not exist in the cluster [policy.ingress.middleware]',
    ]);
  });

  it('fails on invalid host names and hosts claimed twice', () => {
    const bad = ingress('app', {
      spec: { tls: [{ hosts: ['Bad_Host'], secretName: 'x' }], rules: [{ host: 'Bad_Host', http: { paths: [] } }] },
    });
    expect(check(bad)).toEqual(['lab/web/app: host "Bad_Host" is not a valid DNS name [policy.ingress.host]']);
    const twin = ingress('twin', {
      spec: { tls: [{ hosts: ['app.example.org'], secretName: 'twin-tls' }], rules: [{ host: 'app.example.org', http: { paths: [] } }] },
    });
    expect(check(ingress('app'), twin)).toEqual([
      'lab/web/twin: host "app.example.org" is already claimed by Ingress web/app [policy.ingress.host]',
    ]);
  });

  it('fails when the backend Service or its port does not exist', () => {
    const rules = (name: string, port: Record<string, unknown>) => ({
      rules: [{ host: 'app.example.org', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name, port } } }] } }],
    });
    expect(check(ingress('app', { spec: rules('api', { name: 'http' }) }))).toEqual([
      'lab/web/app: backend Service "api" does not exist in namespace web [policy.ingress.backend]',
    ]);
    expect(check(ingress('app', { spec: rules('web', { name: 'grpc' }) }))).toEqual([
      'lab/web/app: backend Service web/web has no port named "grpc" [policy.ingress.backend]',
    ]);
    expect(check(ingress('app', { spec: rules('web', { number: 8080 }) }))).toEqual([
      'lab/web/app: backend Service web/web has no port number 8080 [policy.ingress.backend]',
    ]);
  });

  it('fails on a rule without a host', () => {
    expect(check(ingress('app', { spec: { rules: [{ http: { paths: [] } }] } }))).toEqual([
      'lab/web/app: has a rule without a host: TLS needs every rule to name its host [policy.ingress.tls]',
    ]);
  });

  it('fails unless the route is only on the TLS entry point with router.tls', () => {
    expect(check(ingress('app', { annotations: { 'traefik.ingress.kubernetes.io/router.entrypoints': 'web,websecure' } }))).toEqual([
      'lab/web/app: must be routed only on the TLS entry point websecure (annotation traefik.ingress.kubernetes.io/router.entrypoints; has web) [policy.ingress.tls]',
    ]);
    expect(check(ingress('app', { annotations: { 'traefik.ingress.kubernetes.io/router.tls': 'false' } }))).toEqual([
      'lab/web/app: must set traefik.ingress.kubernetes.io/router.tls: "true" [policy.ingress.tls]',
    ]);
  });

  it('fails on a catch-all defaultBackend and on resource backends', () => {
    expect(check(ingress('app', { spec: { defaultBackend: { service: { name: 'web', port: { name: 'http' } } } } }))).toEqual([
      'lab/web/app: has a defaultBackend, a catch-all for any host without TLS or a certificate; route named hosts instead [policy.ingress.tls]',
    ]);
    const resource = {
      rules: [
        {
          host: 'app.example.org',
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { resource: { kind: 'Bucket', name: 'b' } } }] },
        },
      ],
    };
    expect(check(ingress('app', { spec: resource }))).toEqual([
      'lab/web/app: has a resource backend, which Traefik does not route; use a Service [policy.ingress.backend]',
    ]);
  });

  it('fails on an ExternalName backend and a backend without a port', () => {
    const rules = (service: Record<string, unknown>) => ({
      rules: [{ host: 'app.example.org', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service } }] } }],
    });
    expect(check(ingress('app', { spec: rules({ name: 'outside', port: { number: 80 } }) }))).toEqual([
      'lab/web/app: backend Service web/outside is an ExternalName Service, which Traefik refuses by default (and would let a route reach any address) [policy.ingress.backend]',
    ]);
    expect(check(ingress('app', { spec: rules({ name: 'web' }) }))).toEqual([
      'lab/web/app: backend Service web/web is named without a port [policy.ingress.backend]',
    ]);
  });

  it('fails on middlewares that are not CRD middlewares of the cluster', () => {
    const listed = 'traefik-forward-auth@kubernetescrd,auth@file';
    expect(check(ingress('app', { annotations: { 'traefik.ingress.kubernetes.io/router.middlewares': listed } }))).toEqual([
      'lab/web/app: uses middleware "auth@file", which is not a Kubernetes CRD middleware (<namespace>-<name>@kubernetescrd) of this cluster [policy.ingress.middleware]',
    ]);
  });

  it('fails when both issuer annotations are set', () => {
    expect(check(ingress('app', { annotations: { 'cert-manager.io/issuer': 'local' } }))).toEqual([
      'lab/web/app: names both a ClusterIssuer and an Issuer; cert-manager refuses an Ingress with both annotations [policy.ingress.issuer]',
    ]);
  });

  it('fails when two Ingresses share a TLS secret for different hosts', () => {
    const other = ingress('other', { spec: { tls: [{ hosts: ['other.example.org'], secretName: 'app-tls' }] } });
    expect(check(ingress('app'), other)).toEqual([
      'lab/web/other: TLS secret app-tls is already used by Ingress web/app for other hosts; cert-manager keeps one certificate per secret [policy.ingress.tls]',
    ]);
  });

  it('fails on a second TLSOption named default', () => {
    const option = (namespace: string) => ({
      apiVersion: 'traefik.io/v1alpha1',
      kind: 'TLSOption',
      metadata: { name: 'default', namespace },
      spec: {},
    });
    expect(ingressPolicy.check([object(option('traefik')), object(option('apps'))]).map((p) => `${p.message} [${p.rule}]`)).toEqual([
      'a second TLSOption named "default": Traefik then ignores every default and falls back to its built-in TLS settings [policy.ingress.tls-options]',
    ]);
  });

  it('trusts a backend declared as provided by a pinned upstream resource', () => {
    const rules = {
      rules: [
        {
          host: 'app.example.org',
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'argocd-server', port: { name: 'http' } } } }] },
        },
      ],
    };
    expect(check(ingress('app', { spec: rules }))).toHaveLength(1);
    const declared = { 'ingress.homelab-cdk8s.io/backend-provided-by': 'the pinned install manifest' };
    expect(check(ingress('app', { spec: rules, annotations: declared }))).toEqual([]);
  });
});

describe('ingress hosts and their issuers', () => {
  const acme = (name: string, solvers: Record<string, unknown>[]): Manifest => ({
    apiVersion: 'cert-manager.io/v1',
    kind: 'ClusterIssuer',
    metadata: { name },
    spec: { acme: { server: 'https://acme.example', email: 'ops@tdude.co', privateKeySecretRef: { name: `${name}-key` }, solvers } },
  });
  const dns01 = acme('dns', [{ dns01: { cloudflare: {} }, selector: { dnsZones: ['tdude.co'] } }]);
  const http01 = acme('http', [{ http01: { ingress: { ingressClassName: 'traefik' } } }]);
  const others = cluster.filter((manifest) => manifest.kind !== 'ClusterIssuer');
  const route = (host: string, issuer: string, annotations: Record<string, string> = {}) =>
    ingress('app', {
      annotations: { 'cert-manager.io/cluster-issuer': issuer, ...annotations },
      spec: {
        tls: [{ hosts: [host], secretName: 'app-tls' }],
        rules: [
          { host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } }] } },
        ],
      },
    });
  const problems = (...manifests: Manifest[]) =>
    ingressPolicy.check([...others, dns01, http01, ...manifests].map((m) => object(m))).map((p) => `${p.message} [${p.rule}]`);

  it('accepts a host inside a DNS-01 zone of its issuer, or any host with an HTTP-01 issuer', () => {
    expect(problems(route('app.k8s.tdude.co', 'dns'))).toEqual([]);
    expect(problems(route('app.example.net', 'http'))).toEqual([]);
  });

  it('refuses a host outside every DNS-01 zone of its issuer: its certificate could never be issued', () => {
    expect(problems(route('app.example.net', 'dns'))).toEqual([
      'host "app.example.net" cannot get a certificate from ClusterIssuer "dns": no solver of it covers the host (DNS-01 zones: tdude.co); use an issuer whose DNS-01 zones hold it, or an HTTP-01 issuer [policy.ingress.issuer]',
    ]);
  });

  it('refuses a wildcard host without a reason, and a wildcard on an HTTP-01 issuer', () => {
    expect(problems(route('*.k8s.tdude.co', 'dns'))).toEqual([
      'host "*.k8s.tdude.co" is a wildcard: it captures every subdomain no other route claims; name the hosts, or give the reason in annotation ingress.homelab-cdk8s.io/wildcard-reason [policy.ingress.host]',
    ]);
    const reason = { 'ingress.homelab-cdk8s.io/wildcard-reason': 'preview environments get a subdomain each' };
    expect(problems(route('*.k8s.tdude.co', 'dns', reason))).toEqual([]);
    expect(problems(route('*.k8s.tdude.co', 'http', reason))).toEqual([
      'host "*.k8s.tdude.co" cannot get a certificate from ClusterIssuer "http": a wildcard needs a DNS-01 solver, and it has none [policy.ingress.issuer]',
    ]);
  });
});
