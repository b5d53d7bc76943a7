import { describe, expect, it } from 'vitest';
import { workloadReferences } from '../../constructs/core/references.js';
import { ingressReferences } from '../../constructs/ingress/references.js';
import type { PolicyContext, PolicyObject } from '../../framework/cluster.js';
import type { Manifest } from '../../framework/model.js';
import { referencePolicy } from '../../framework/references.js';

const object = (app: string, manifest: Manifest): PolicyObject => ({
  app,
  manifest,
  origin: { constructPath: `lab/${app}/${manifest.kind}` },
});
const traefik = [
  object('traefik', { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'traefik' } }),
  object('traefik', {
    apiVersion: 'traefik.io/v1alpha1',
    kind: 'Middleware',
    metadata: { name: 'forward-auth', namespace: 'traefik' },
    spec: {},
  }),
];
const issuers = [
  object('cert-manager', { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'letsencrypt-prod' } }),
];
const ingress = object('web', {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: {
    name: 'web',
    namespace: 'web',
    annotations: {
      'cert-manager.io/cluster-issuer': 'letsencrypt-prod',
      'traefik.ingress.kubernetes.io/router.middlewares': 'traefik-forward-auth@kubernetescrd',
    },
  },
  spec: { ingressClassName: 'traefik' },
});
const deployment = (app: string, secret: string) =>
  object(app, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'api', namespace: 'shared' },
    spec: { template: { spec: { containers: [{ name: 'api', envFrom: [{ secretRef: { name: secret } }] }] } } },
  });
const context = (dependencies: Record<string, string[]>): PolicyContext => ({
  syncsAfter: (app, other) => dependencies[app]?.includes(other) ?? false,
});
const policy = referencePolicy([ingressReferences, workloadReferences]);

describe('an app using what another app makes', () => {
  it('must depend on it: class, issuer and middleware of an Ingress, each named once', () => {
    const problems = policy.check([...traefik, ...issuers, ingress, ingress], context({}));
    expect(problems.map((p) => [p.rule, p.origin.constructPath, p.message])).toEqual([
      [
        'app.dependencies',
        'lab/web/Ingress',
        'app "web" uses IngressClass "traefik" (spec.ingressClassName), which app "traefik" makes; add "traefik" to the dependsOn of "web" so that it syncs after it',
      ],
      [
        'app.dependencies',
        'lab/web/Ingress',
        'app "web" uses ClusterIssuer "letsencrypt-prod" (annotation cert-manager.io/cluster-issuer), which app "cert-manager" makes; add "cert-manager" to the dependsOn of "web" so that it syncs after it',
      ],
      [
        'app.dependencies',
        'lab/web/Ingress',
        'app "web" uses Middleware "traefik/forward-auth" (annotation traefik.ingress.kubernetes.io/router.middlewares), which app "traefik" makes; add "traefik" to the dependsOn of "web" so that it syncs after it',
      ],
    ]);
  });

  it('passes when the app depends on them, when it makes them itself, and ignores what nobody makes', () => {
    expect(policy.check([...traefik, ...issuers, ingress], context({ web: ['traefik', 'cert-manager'] }))).toEqual([]);
    expect(policy.check([ingress], context({}))).toEqual([]);
    const own = object('traefik', { ...ingress.manifest, metadata: { ...(ingress.manifest.metadata as object), namespace: 'traefik' } });
    expect(policy.check([...traefik, own], context({})).map((p) => p.message)).toEqual([]);
  });

  it('covers the Secrets a workload reads from another app', () => {
    const secret = object('vault', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shared' } });
    expect(policy.check([secret, deployment('api', 'db')], context({})).map((p) => p.message)).toEqual([
      'app "api" uses Secret "shared/db" (spec.template.spec.containers[0].envFrom), which app "vault" makes; add "vault" to the dependsOn of "api" so that it syncs after it',
    ]);
    expect(policy.check([secret, deployment('api', 'db')], context({ api: ['vault'] }))).toEqual([]);
  });
});
