import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../../framework/model.js';
import { DANGER_RULES } from '../../../pipeline/diff/dangers.js';
import { stringifyManifest } from '../../../pipeline/yaml.js';
import { dangersOf, deployment, dist, object } from './helpers.js';

const ns = { namespace: 'web' };
const statefulSet = (spec: Record<string, unknown> = {}): Manifest =>
  object(
    'apps/v1',
    'StatefulSet',
    'db',
    {
      spec: {
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'db', image: 'example/db:1' }] } },
        volumeClaimTemplates: [
          { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
        ],
        ...spec,
      },
    },
    ns,
  );
const job = (image: string, parallelism = 1) =>
  object(
    'batch/v1',
    'Job',
    'migrate',
    { spec: { parallelism, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'm', image }] } } } },
    ns,
  );
const service = (spec: Record<string, unknown>) =>
  object('v1', 'Service', 'api', { spec: { ports: [{ name: 'http', port: 80 }], ...spec } }, ns);
const pvc = (spec: Record<string, unknown> = {}, storage = '10Gi', metadata: Record<string, unknown> = {}) =>
  object(
    'v1',
    'PersistentVolumeClaim',
    'data',
    { spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'block', resources: { requests: { storage } }, ...spec } },
    { ...ns, ...metadata },
  );
const storageClass = (body: Record<string, unknown> = {}) =>
  object('storage.k8s.io/v1', 'StorageClass', 'block', {
    provisioner: 'csi.example.org',
    parameters: { fs: 'ext4' },
    reclaimPolicy: 'Retain',
    allowVolumeExpansion: true,
    ...body,
  });
const csiDriver = (spec: Record<string, unknown> = {}) =>
  object('storage.k8s.io/v1', 'CSIDriver', 'csi.example.org', { spec: { attachRequired: true, podInfoOnMount: false, ...spec } });
const binding = (role: string, subjects = ['a']) =>
  object(
    'rbac.authorization.k8s.io/v1',
    'RoleBinding',
    'read',
    {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
      subjects: subjects.map((name) => ({ kind: 'ServiceAccount', name })),
    },
    ns,
  );
const configMap = (data: Record<string, string>, immutable?: boolean) =>
  object('v1', 'ConfigMap', 'settings', { data, ...(immutable === undefined ? {} : { immutable }) }, ns);
const crd = object('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.org', {
  spec: { group: 'example.org', names: { kind: 'Widget', plural: 'widgets' }, scope: 'Namespaced', versions: [] },
});
const widget = object('example.org/v1', 'Widget', 'w1', { spec: {} }, ns);
const application = (finalizers?: string[]) =>
  object(
    'argoproj.io/v1alpha1',
    'Application',
    'web',
    { spec: { source: { path: 'dist/c/web' }, destination: { namespace: 'web' } } },
    {
      namespace: 'argocd',
      ...(finalizers ? { finalizers } : {}),
    },
  );
const prometheus = object(
  'monitoring.coreos.com/v1',
  'Prometheus',
  'k8s',
  { spec: { storage: { volumeClaimTemplate: { spec: { resources: { requests: { storage: '10Gi' } } } } } } },
  ns,
);
const authMiddleware = object(
  'traefik.io/v1alpha1',
  'Middleware',
  'sso',
  { spec: { forwardAuth: { address: 'http://auth.web.svc' } } },
  ns,
);
const headersMiddleware = object('traefik.io/v1alpha1', 'Middleware', 'headers', { spec: { headers: { frameDeny: true } } }, ns);
const ingress = (host: string, annotations: Record<string, string> = {}, tls = true) =>
  object(
    'networking.k8s.io/v1',
    'Ingress',
    'site',
    {
      spec: {
        rules: [
          { host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'api', port: { name: 'http' } } } }] } },
        ],
        ...(tls ? { tls: [{ hosts: [host], secretName: 'site-tls' }] } : {}),
      },
    },
    { ...ns, annotations },
  );
const sso = { 'traefik.ingress.kubernetes.io/router.middlewares': 'web-sso@kubernetescrd' };
const headers = { 'traefik.ingress.kubernetes.io/router.middlewares': 'web-headers@kubernetescrd' };
const clusterRole = (rules: unknown[]) => object('rbac.authorization.k8s.io/v1', 'ClusterRole', 'reader', { rules });
const policy = object('networking.k8s.io/v1', 'NetworkPolicy', 'deny', { spec: { podSelector: {}, policyTypes: ['Ingress'] } }, ns);
const keep = { annotations: { 'argocd.argoproj.io/sync-options': 'Prune=false' } };

interface Case {
  readonly rule: string;
  readonly before: Record<string, Manifest[]>;
  /** A change that triggers the rule. */
  readonly after: Record<string, Manifest[]>;
  /** A close change that must not. */
  readonly near: Record<string, Manifest[]>;
  /** Apps as they are before the near change, when not `before`. */
  readonly nearBefore?: Record<string, Manifest[]>;
  /** Extra files (a kustomization) of each state, by path. */
  readonly files?: { before?: Record<string, string>; after?: Record<string, string>; near?: Record<string, string> };
}

const kustomization = (body: Record<string, unknown>) =>
  stringifyManifest({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['deployment-api.yaml'], ...body });

const CASES: readonly Case[] = [
  {
    rule: 'immutable.selector',
    before: { web: [deployment('api')] },
    after: { web: [deployment('api', { selector: { matchLabels: { 'app.kubernetes.io/name': 'api', tier: 'web' } } })] },
    near: { web: [deployment('api', { replicas: 3 })] },
  },
  {
    rule: 'immutable.statefulset',
    before: { web: [statefulSet()] },
    after: { web: [statefulSet({ serviceName: 'db-headless' })] },
    near: { web: [statefulSet({ replicas: 3 })] },
  },
  {
    rule: 'immutable.job-template',
    before: { web: [job('example/m:1')] },
    after: { web: [job('example/m:2')] },
    near: { web: [job('example/m:1', 2)] },
  },
  {
    rule: 'immutable.service-cluster-ip',
    before: { web: [service({ clusterIP: '10.96.0.10' })] },
    after: { web: [service({ clusterIP: '10.96.0.11' })] },
    near: { web: [service({ clusterIP: '10.96.0.10', sessionAffinity: 'ClientIP' })] },
  },
  {
    rule: 'immutable.service-external-name',
    before: { web: [service({ type: 'ClusterIP' })] },
    after: { web: [service({ type: 'ExternalName', externalName: 'db.example.org' })] },
    near: { web: [service({ type: 'NodePort' })] },
  },
  {
    rule: 'immutable.pvc',
    before: { web: [pvc()] },
    after: { web: [pvc({ storageClassName: 'nfs' })] },
    near: { web: [pvc({}, '20Gi')] },
  },
  {
    rule: 'immutable.pvc-shrink',
    before: { web: [pvc({}, '10Gi')] },
    after: { web: [pvc({}, '9500Mi')] },
    near: { web: [pvc({}, '10240Mi')] },
  },
  {
    rule: 'immutable.storage-class',
    before: { storage: [storageClass()] },
    after: { storage: [storageClass({ reclaimPolicy: 'Delete' })] },
    near: { storage: [storageClass({ allowVolumeExpansion: false })] },
  },
  {
    rule: 'immutable.csi-driver',
    before: { storage: [csiDriver()] },
    after: { storage: [csiDriver({ attachRequired: false })] },
    near: { storage: [csiDriver({ podInfoOnMount: true })] },
  },
  {
    rule: 'immutable.role-ref',
    before: { web: [binding('reader')] },
    after: { web: [binding('writer')] },
    near: { web: [binding('reader', ['a', 'b'])] },
  },
  {
    rule: 'immutable.data',
    before: { web: [configMap({ a: '1' }, true)] },
    after: { web: [configMap({ a: '2' }, true)] },
    near: { web: [configMap({ a: '2' })] },
    nearBefore: { web: [configMap({ a: '1' })] },
  },
  {
    rule: 'data-loss.removed-pvc',
    before: { web: [pvc(), deployment('api')] },
    after: { web: [deployment('api')] },
    near: { web: [deployment('api')] },
    nearBefore: { web: [pvc({}, '10Gi', keep), deployment('api')] },
  },
  {
    rule: 'data-loss.removed-namespace',
    before: { web: [object('v1', 'Namespace', 'web'), deployment('api')] },
    after: { web: [deployment('api')] },
    near: { web: [object('v1', 'Namespace', 'web', {}, { labels: { team: 'a' } }), deployment('api')] },
  },
  {
    rule: 'data-loss.removed-crd',
    before: { crds: [crd], web: [widget] },
    after: { crds: [], web: [widget] },
    near: { crds: [{ ...crd, metadata: { name: 'widgets.example.org', labels: { v: '2' } } }], web: [widget] },
  },
  {
    rule: 'data-loss.removed-storage-class',
    before: { storage: [storageClass(), csiDriver()] },
    after: { storage: [csiDriver()] },
    near: { storage: [csiDriver({ podInfoOnMount: true }), storageClass()] },
  },
  {
    rule: 'data-loss.removed-snapshot-class',
    before: {
      storage: [
        object('snapshot.storage.k8s.io/v1', 'VolumeSnapshotClass', 'snap', { driver: 'csi.example.org', deletionPolicy: 'Delete' }),
        csiDriver(),
      ],
    },
    after: { storage: [csiDriver()] },
    near: {
      storage: [
        object('snapshot.storage.k8s.io/v1', 'VolumeSnapshotClass', 'snap', { driver: 'csi.example.org', deletionPolicy: 'Retain' }),
        csiDriver(),
      ],
    },
  },
  {
    rule: 'data-loss.cascade-application',
    before: { gitops: [application(['resources-finalizer.argocd.argoproj.io']), object('v1', 'ConfigMap', 'x')] },
    after: { gitops: [object('v1', 'ConfigMap', 'x')] },
    near: { gitops: [object('v1', 'ConfigMap', 'x')] },
    nearBefore: { gitops: [application(), object('v1', 'ConfigMap', 'x')] },
  },
  {
    rule: 'data-loss.removed-app',
    before: { gitops: [application()], web: [deployment('api')] },
    after: { gitops: [application()] },
    near: { gitops: [application()], web: [deployment('api', { replicas: 1 })] },
  },
  {
    rule: 'data-loss.prune-stateful',
    before: { web: [statefulSet(), prometheus, deployment('api')] },
    after: { web: [deployment('api')] },
    near: { web: [deployment('api')] },
    nearBefore: { web: [deployment('api'), deployment('old')] },
  },
  {
    rule: 'data-loss.moved-object',
    before: { a: [pvc(), deployment('api')], b: [] },
    after: { a: [deployment('api')], b: [pvc()] },
    near: { a: [deployment('api')], b: [pvc({}, '10Gi', keep)] },
    nearBefore: { a: [pvc({}, '10Gi', keep), deployment('api')], b: [] },
  },
  {
    rule: 'data-loss.renamed-objects',
    before: { web: [deployment('api')] },
    after: { web: [deployment('api')] },
    near: { web: [deployment('api')] },
    files: {
      before: { 'c/web/kustomization.yaml': kustomization({}) },
      after: { 'c/web/kustomization.yaml': kustomization({ namePrefix: 'v2-' }) },
      near: { 'c/web/kustomization.yaml': kustomization({ commonAnnotations: { team: 'a' } }) },
    },
  },
  {
    rule: 'immutable.common-labels',
    before: { web: [deployment('api')] },
    after: { web: [deployment('api')] },
    near: { web: [deployment('api')] },
    files: {
      before: { 'c/web/kustomization.yaml': kustomization({}) },
      after: { 'c/web/kustomization.yaml': kustomization({ commonLabels: { team: 'a' } }) },
      near: { 'c/web/kustomization.yaml': kustomization({ labels: [{ pairs: { team: 'a' } }] }) },
    },
  },
  {
    rule: 'exposure.ingress-sso',
    before: { web: [authMiddleware, headersMiddleware, ingress('app.example.org', sso)] },
    after: { web: [authMiddleware, headersMiddleware, ingress('app.example.org', headers)] },
    near: {
      web: [
        authMiddleware,
        headersMiddleware,
        ingress('app.example.org', { ...sso, 'traefik.ingress.kubernetes.io/router.entrypoints': 'websecure' }),
      ],
    },
  },
  {
    rule: 'exposure.ingress-tls',
    before: { web: [ingress('app.example.org', sso)] },
    after: { web: [ingress('app.example.org', sso, false)] },
    near: {
      web: [
        {
          ...ingress('app.example.org', sso),
          spec: { ...(ingress('app.example.org', sso).spec as object), tls: [{ hosts: ['app.example.org'], secretName: 'other-tls' }] },
        },
      ],
    },
  },
  {
    rule: 'exposure.new-host',
    before: { web: [authMiddleware, ingress('app.example.org', sso)] },
    after: { web: [authMiddleware, ingress('admin.example.org', sso)] },
    near: { web: [authMiddleware, ingress('app.example.org', {})], other: [] },
  },
  {
    rule: 'privilege.privileged',
    before: { web: [deployment('api')] },
    after: {
      web: [deployment('api', {}, { containers: [{ name: 'app', image: 'example/app:1.0.0', securityContext: { privileged: true } }] })],
    },
    near: {
      web: [deployment('api', {}, { containers: [{ name: 'app', image: 'example/app:1.0.0', securityContext: { privileged: false } }] })],
    },
  },
  {
    rule: 'privilege.host-namespaces',
    before: { web: [deployment('api')] },
    after: { web: [deployment('api'), { ...deployment('agent', {}, { hostNetwork: true }), kind: 'DaemonSet' }] },
    near: { web: [deployment('api', {}, { hostNetwork: false, dnsPolicy: 'ClusterFirst' })] },
  },
  {
    rule: 'privilege.host-path',
    before: { web: [deployment('api')] },
    after: { web: [deployment('api', {}, { volumes: [{ name: 'root', hostPath: { path: '/' } }] })] },
    near: { web: [deployment('api', {}, { volumes: [{ name: 'tmp', emptyDir: {} }] })] },
  },
  {
    rule: 'privilege.wildcard-rule',
    before: { rbac: [clusterRole([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }])] },
    after: { rbac: [clusterRole([{ apiGroups: [''], resources: ['pods'], verbs: ['*'] }])] },
    near: { rbac: [clusterRole([{ apiGroups: [''], resources: ['pods', 'services'], verbs: ['get', 'list'] }])] },
  },
  {
    rule: 'exposure.removed-network-policy',
    before: { web: [policy, deployment('api')] },
    after: { web: [deployment('api')] },
    near: { web: [{ ...policy, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }, deployment('api')] },
  },
];

describe('danger rules', () => {
  it('has one case here for every rule', () => {
    expect(CASES.map((entry) => entry.rule).sort()).toEqual(DANGER_RULES.map((rule) => rule.id).sort());
  });

  for (const entry of CASES) {
    it(`${entry.rule}: triggered by its change, not by a close one`, () => {
      const found = dangersOf(dist(entry.before, entry.files?.before), dist(entry.after, entry.files?.after));
      const mine = found.filter((danger) => danger.rule === entry.rule);
      expect(mine.length, JSON.stringify(found)).toBeGreaterThan(0);
      for (const danger of mine) {
        expect(danger.detail).not.toBe('');
        expect(danger.reason).toMatch(/\S/);
        expect(danger.cluster).toBe('c');
      }
      const near = dangersOf(dist(entry.nearBefore ?? entry.before, entry.files?.before), dist(entry.near, entry.files?.near));
      expect(near.filter((danger) => danger.rule === entry.rule)).toEqual([]);
    });
  }

  it('names the object, its app and what changed', () => {
    const [danger] = dangersOf(
      dist({ web: [deployment('api')] }),
      dist({ web: [deployment('api', { selector: { matchLabels: { x: 'y' } } })] }),
    );
    expect(danger).toMatchObject({ rule: 'immutable.selector', cluster: 'c', app: 'web', object: 'Deployment web/api', allowed: false });
    expect(danger?.detail).toContain('spec.selector.matchLabels');
  });

  it('counts the custom resources a removed CRD takes with it', () => {
    const found = dangersOf(dist({ crds: [crd], web: [widget] }), dist({ crds: [], web: [widget] }));
    expect(found.find((danger) => danger.rule === 'data-loss.removed-crd')?.detail).toContain(
      'every Widget (example.org) goes with it (1 in dist/',
    );
  });

  it('tells a removed app folder whose Application remains from one that cascades', () => {
    const remains = dangersOf(dist({ gitops: [application()], web: [deployment('api')] }), dist({ gitops: [application()] }));
    expect(remains.find((danger) => danger.rule === 'data-loss.removed-app')?.detail).toContain('still points at it');
    const cascade = dangersOf(
      dist({ gitops: [application(['resources-finalizer.argocd.argoproj.io']), object('v1', 'ConfigMap', 'x')], web: [deployment('api')] }),
      dist({ gitops: [object('v1', 'ConfigMap', 'x')] }),
    );
    expect(cascade.map((danger) => danger.rule).sort()).toEqual(['data-loss.cascade-application', 'data-loss.removed-app']);
    expect(cascade.find((danger) => danger.rule === 'data-loss.removed-app')?.detail).toContain('deletes the 1 object of the folder');
  });

  it('finds a stateful object of any kind by the claim template it holds', () => {
    const found = dangersOf(dist({ web: [prometheus, deployment('api')] }), dist({ web: [deployment('api')] }));
    expect(found.map((danger) => `${danger.rule} ${danger.object}`)).toEqual(['data-loss.prune-stateful Prometheus web/k8s']);
  });

  it('leaves what ArgoCD recreates out of the immutable rules: hooks and Replace=true', () => {
    const hook = (image: string) => ({
      ...job(image),
      metadata: {
        name: 'migrate',
        namespace: 'web',
        annotations: { 'argocd.argoproj.io/hook': 'PreSync', 'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation' },
      },
    });
    expect(dangersOf(dist({ web: [hook('m:1')] }), dist({ web: [hook('m:2')] }))).toEqual([]);
    const replaced = (labels: Record<string, string>) => ({
      ...deployment('api', { selector: { matchLabels: labels } }),
      metadata: { name: 'api', namespace: 'web', annotations: { 'argocd.argoproj.io/sync-options': 'Replace=true,Force=true' } },
    });
    expect(dangersOf(dist({ web: [replaced({ a: '1' })] }), dist({ web: [replaced({ a: '2' })] }))).toEqual([]);
  });

  it('keeps quiet for an Application ArgoCD does not prune, and speaks for an ApplicationSet', () => {
    const kept = {
      ...application(['resources-finalizer.argocd.argoproj.io/foreground']),
      metadata: { name: 'web', namespace: 'argocd', finalizers: ['resources-finalizer.argocd.argoproj.io/foreground'], ...keep },
    };
    expect(dangersOf(dist({ gitops: [kept, object('v1', 'ConfigMap', 'x')] }), dist({ gitops: [object('v1', 'ConfigMap', 'x')] }))).toEqual(
      [],
    );
    const set = (preserve: boolean) =>
      object(
        'argoproj.io/v1alpha1',
        'ApplicationSet',
        'apps',
        {
          spec: {
            syncPolicy: { preserveResourcesOnDeletion: preserve },
            template: { metadata: { finalizers: ['resources-finalizer.argocd.argoproj.io'] } },
          },
        },
        { namespace: 'argocd' },
      );
    const removed = dangersOf(
      dist({ gitops: [set(false), object('v1', 'ConfigMap', 'x')] }),
      dist({ gitops: [object('v1', 'ConfigMap', 'x')] }),
    );
    expect(removed.map((danger) => danger.detail)).toEqual([
      expect.stringContaining('deletes the Applications it generated, and their resources finalizer'),
    ]);
    expect(
      dangersOf(dist({ gitops: [set(true), object('v1', 'ConfigMap', 'x')] }), dist({ gitops: [object('v1', 'ConfigMap', 'x')] })),
    ).toEqual([]);
  });

  it('sees authentication dropped by a middleware change or by a replacement ingress', () => {
    const open = { ...authMiddleware, spec: { headers: { frameDeny: true } } };
    const middleware = dangersOf(
      dist({ web: [authMiddleware, ingress('a.example.org', sso)] }),
      dist({ web: [open, ingress('a.example.org', sso)] }),
    );
    expect(middleware.map((danger) => `${danger.rule} ${danger.object}`)).toEqual(['exposure.ingress-sso Middleware web/sso']);
    const renamed = { ...ingress('a.example.org', {}), metadata: { name: 'site-v2', namespace: 'web', annotations: {} } };
    const replaced = dangersOf(dist({ web: [authMiddleware, ingress('a.example.org', sso)] }), dist({ web: [authMiddleware, renamed] }));
    expect(replaced.map((danger) => danger.rule)).toEqual(['exposure.ingress-sso']);
    expect(replaced[0]?.detail).toContain('serves a.example.org without the authentication Ingress web/site had');
  });

  it('reads TLS as Traefik and kustomize do: wildcards, entries without hosts, case, quoted rules', () => {
    const withTls = (tls: unknown[]) => ({
      ...ingress('App.example.org', sso),
      spec: { ...(ingress('app.example.org', sso).spec as object), tls },
    });
    expect(
      dangersOf(dist({ web: [withTls([{ hosts: ['*.example.org'] }])] }), dist({ web: [withTls([])] })).map((danger) => danger.rule),
    ).toEqual(['exposure.ingress-tls']);
    expect(
      dangersOf(dist({ web: [withTls([{ secretName: 'default' }])] }), dist({ web: [withTls([])] })).map((danger) => danger.rule),
    ).toEqual(['exposure.ingress-tls']);
    expect(
      dangersOf(dist({ web: [withTls([{ hosts: ['*.example.org'] }])] }), dist({ web: [withTls([{ hosts: ['APP.example.org'] }])] })),
    ).toEqual([]);
    const route = (match: string) =>
      object('traefik.io/v1alpha1', 'IngressRoute', 'r', { spec: { routes: [{ match, services: [{ name: 'api', port: 80 }] }] } }, ns);
    expect(
      dangersOf(dist({ web: [route('Host(`a.example.org`)')] }), dist({ web: [route('Host("b.example.org")')] })).map(
        (danger) => danger.detail,
      ),
    ).toEqual(['b.example.org: new, with no authentication in front of it']);
  });

  it('marks the dangers of an allowed rule as allowed', () => {
    const found = dangersOf(dist({ web: [policy] }), dist({ web: [] }), new Set(['exposure.removed-network-policy']));
    expect(found).toHaveLength(1);
    expect(found[0]?.allowed).toBe(true);
  });

  it('resolves a chain middleware to the authentication it holds', () => {
    const chain = object(
      'traefik.io/v1alpha1',
      'Middleware',
      'secured',
      { spec: { chain: { middlewares: [{ name: 'sso' }, { name: 'headers' }] } } },
      ns,
    );
    const chained = { 'traefik.ingress.kubernetes.io/router.middlewares': 'web-secured@kubernetescrd' };
    const found = dangersOf(
      dist({ web: [authMiddleware, headersMiddleware, chain, ingress('a.example.org', chained)] }),
      dist({ web: [authMiddleware, headersMiddleware, chain, ingress('a.example.org', {})] }),
    );
    expect(found.map((danger) => danger.rule)).toEqual(['exposure.ingress-sso']);
  });

  it('sees a selector label change however the kustomization writes it', () => {
    const app = { web: [deployment('api')] };
    const withLabels = (labels: unknown) => dist(app, { 'c/web/kustomization.yaml': kustomization({ labels }) });
    const rules = (before: unknown, after: unknown) => dangersOf(withLabels(before), withLabels(after)).map((danger) => danger.detail);
    expect(rules([{ pairs: { team: 'a' } }], [{ pairs: { team: 'a' }, includeSelectors: true }])).toEqual([
      'selector label team: (none) → a',
    ]);
    expect(rules([{ pairs: { team: 'a' }, includeSelectors: true }], [{ pairs: { team: 'b' }, includeSelectors: true }])).toEqual([
      'selector label team: a → b',
    ]);
    expect(rules([{ pairs: { team: 'a' } }], [{ pairs: { team: 'b' } }])).toEqual([]);
  });

  it('sees TLS lost when an ingress is replaced by one without it, however the host is cased', () => {
    const renamed = { ...ingress('App.Example.org', sso, false), metadata: { name: 'new', namespace: 'web', annotations: sso } };
    const found = dangersOf(dist({ web: [authMiddleware, ingress('app.example.org', sso)] }), dist({ web: [authMiddleware, renamed] }));
    expect(found.map((danger) => `${danger.rule} ${danger.detail}`)).toEqual([
      'exposure.ingress-tls app.example.org: served over TLS before, now in plain HTTP by this new ingress',
    ]);
    const stillTls = { ...ingress('app.example.org', sso), metadata: { name: 'new', namespace: 'web', annotations: sso } };
    expect(dangersOf(dist({ web: [authMiddleware, ingress('app.example.org', sso)] }), dist({ web: [authMiddleware, stillTls] }))).toEqual(
      [],
    );
  });

  it('keeps a middleware that hands its authentication to a chain authenticated', () => {
    const real = object('traefik.io/v1alpha1', 'Middleware', 'real-sso', { spec: { forwardAuth: { address: 'http://auth.web.svc' } } }, ns);
    const chained = object('traefik.io/v1alpha1', 'Middleware', 'sso', { spec: { chain: { middlewares: [{ name: 'real-sso' }] } } }, ns);
    const plain = object('traefik.io/v1alpha1', 'Middleware', 'sso', { spec: { chain: { middlewares: [{ name: 'headers' }] } } }, ns);
    const before = dist({ web: [authMiddleware, real, headersMiddleware, ingress('a.example.org', sso)] });
    expect(dangersOf(before, dist({ web: [chained, real, headersMiddleware, ingress('a.example.org', sso)] }))).toEqual([]);
    expect(
      dangersOf(before, dist({ web: [plain, real, headersMiddleware, ingress('a.example.org', sso)] })).map((danger) => danger.rule),
    ).toContain('exposure.ingress-sso');
  });
});
