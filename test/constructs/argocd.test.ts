import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { AcmeClusterIssuer, LETS_ENCRYPT } from '../../constructs/certificates/acme-cluster-issuer.js';
import { ARGOCD_TOOLS, ArgoCd, type ArgoCdProps, argoCdPolicyCsv, KSOPS_IMAGE, KSOPS_KUSTOMIZE } from '../../constructs/gitops/argocd.js';
import { ARGOCD_RESOURCE_EXCLUSIONS } from '../../constructs/gitops/resource-exclusions.js';
import { ingressPolicy } from '../../constructs/ingress/policies.js';
import { PUBLIC_REASON_ANNOTATION, UPSTREAM_BACKEND_ANNOTATION } from '../../constructs/ingress/secure-ingress.js';
import { metricsAddon } from '../../constructs/monitoring/service-monitor.js';
import type { Addon } from '../../framework/addons.js';
import { KUSTOMIZE_CONTRIBUTION } from '../../framework/contributions.js';
import { SchemaRegistry } from '../../pipeline/schemas.js';
import { validateObjects } from '../../pipeline/validate.js';
import { renderScope, type TestObject } from '../helpers/render.js';

const BASE: Omit<ArgoCdProps, 'issuer'> = {
  url: 'https://gitops.example.org',
  dex: { gitlab: { baseURL: 'https://gitlab.example.org', clientID: 'abc123', groups: ['tdude'] } },
  rbac: { operatorGroups: ['tdude'] },
  secretFile: 'secrets/lab/argocd/argocd-secret.sops.yaml',
};

const SHARED_UPSTREAM = join(import.meta.dirname, '..', '..', '..', 'shared', 'upstream');

const INSTALL_URL = 'https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml';

/** Argo CD (and the ClusterIssuer of its Ingress) rendered as app argocd of cluster lab. */
function render(overrides: Partial<ArgoCdProps> = {}, addons: readonly Addon[] = [metricsAddon]) {
  const rendered = renderScope(
    (chart) => {
      const issuer = new AcmeClusterIssuer(chart, 'letsencrypt-prod', {
        server: LETS_ENCRYPT.production,
        email: 'acme@example.org',
        solver: { type: 'http01-ingress', ingressClassName: 'traefik' },
      });
      return new ArgoCd(chart, 'argocd', { ...BASE, issuer, ...overrides });
    },
    { app: 'argocd', addons },
  );
  const { app } = rendered;
  const patchOf = (kind: string, name: string) =>
    app.patches.find((p) => p.target.kind === kind && p.target.name === name)?.patch as TestObject | undefined;
  return {
    ...rendered,
    argocd: rendered.built,
    patches: app.patches,
    resources: app.resources,
    encryptedFiles: app.encryptedFiles.map(({ entry }) => entry),
    namespaces: app.kustomizeNamespaces.map(({ namespace }) => namespace),
    patchOf,
  };
}

/** The messages of the problems reported at `construct` itself. */
function messagesAt(problems: readonly string[], construct: IConstruct): string[] {
  const prefix = `${construct.node.path}: `;
  return problems.flatMap((problem) => (problem.startsWith(prefix) ? [problem.slice(prefix.length)] : []));
}

describe('ArgoCd', () => {
  const { argocd, app, objects, messages, patches, resources, encryptedFiles, namespaces, patchOf, find } = render();

  it('merges the GitLab client secret and webhook token from a SOPS file into the upstream argocd-secret', () => {
    expect(encryptedFiles).toEqual([
      {
        source: 'secrets/lab/argocd/argocd-secret.sops.yaml',
        kind: 'Secret',
        name: 'argocd-secret',
        namespace: 'argocd',
        behavior: 'merge',
        keys: ['webhook.gitlab.secret', 'dex.gitlab.clientSecret'],
      },
    ]);
    const withoutDex = render({ dex: undefined }).encryptedFiles;
    expect(withoutDex.map((file) => file.keys)).toEqual([['webhook.gitlab.secret']]);
    expect(render({ dex: undefined, secretFile: undefined }).encryptedFiles).toEqual([]);
  });

  it('refuses a namespace other than argocd, which the upstream ClusterRoleBindings name', () => {
    expect(render({ namespace: 'gitops' }).messages).toEqual([
      'namespace "gitops": the upstream install binds its ClusterRoles to ServiceAccounts in "argocd", which the kustomization namespace does not rewrite; run Argo CD in "argocd"',
    ]);
  });

  it('refuses Dex without the file holding its client secret', () => {
    expect(render({ secretFile: undefined }).messages).toEqual([
      'dex needs the GitLab client secret: set secretFile to a SOPS file with key dex.gitlab.clientSecret',
    ]);
  });

  it('pins the upstream HA install manifest and creates the namespace', () => {
    expect(resources).toEqual([INSTALL_URL]);
    // install.yaml names no namespace: the kustomization must place it, or kubectl would not.
    expect(namespaces).toEqual(['argocd']);
    expect(find('Namespace', 'argocd')?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // Deleting the app that syncs Argo CD must never delete the namespace of every Application.
    expect(find('Namespace', 'argocd')?.metadata.annotations?.['argocd.argoproj.io/sync-options']).toBe('Delete=false');
    expect(argocd.host).toBe('gitops.example.org');
  });

  it('targets upstream objects by kind and name, never by namespace', () => {
    for (const patch of patches) expect(patch.target.namespace).toBeUndefined();
  });

  it('configures argocd-cm: url, annotation tracking, admin disabled, KSOPS build options', () => {
    const data = patchOf('ConfigMap', 'argocd-cm')?.data as Record<string, string>;
    expect(data).toMatchObject({
      url: 'https://gitops.example.org',
      'application.resourceTrackingMethod': 'annotation',
      'admin.enabled': 'false',
      'kustomize.buildOptions': '--enable-helm --enable-alpha-plugins --enable-exec',
    });
    for (const value of Object.values(data)) expect(typeof value).toBe('string');
  });

  it('configures the Dex GitLab connector with the secret taken from argocd-secret', () => {
    const data = patchOf('ConfigMap', 'argocd-cm')?.data as Record<string, string>;
    expect(parse(data['dex.config'] as string)).toEqual({
      connectors: [
        {
          type: 'gitlab',
          id: 'gitlab',
          name: 'GitLab',
          config: {
            baseURL: 'https://gitlab.example.org',
            clientID: 'abc123',
            clientSecret: '$dex.gitlab.clientSecret',
            groups: ['tdude'],
            useLoginAsID: false,
          },
        },
      ],
    });
    const withoutDex = render({ dex: undefined }).patchOf('ConfigMap', 'argocd-cm')?.data as Record<string, string>;
    expect(withoutDex).not.toHaveProperty('dex.config');
  });

  it('adds health and ignoreDifferences customizations', () => {
    const data = patchOf('ConfigMap', 'argocd-cm')?.data as Record<string, string>;
    expect(data['resource.customizations.health.networking.k8s.io_Ingress']).toContain('hs.status = "Healthy"');
    expect(data['resource.customizations.health.argoproj.io_Application']).toContain('obj.status.health.status');
    expect(data['resource.customizations.health.argoproj.io_Application']).toContain('"Progressing"');
    expect(parse(data['resource.customizations.ignoreDifferences.apiextensions.k8s.io_CustomResourceDefinition'] as string)).toEqual({
      jsonPointers: ['/spec/conversion/webhook/clientConfig/caBundle'],
    });
    for (const kind of ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration']) {
      expect(parse(data[`resource.customizations.ignoreDifferences.admissionregistration.k8s.io_${kind}`] as string)).toEqual({
        jqPathExpressions: ['.webhooks[]?.clientConfig.caBundle'],
      });
    }
  });

  it('writes RBAC: read-only default, operators role, group mapping', () => {
    const data = patchOf('ConfigMap', 'argocd-rbac-cm')?.data as Record<string, string>;
    expect(data['policy.default']).toBe('role:readonly');
    expect(data.scopes).toBe('[groups]');
    const lines = (data['policy.csv'] as string).trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        'p, role:operators, applications, sync, */*, allow',
        'p, role:operators, applications, get, */*, allow',
        'p, role:operators, applications, action/apps/Deployment/restart, */*, allow',
        'p, role:operators, clusters, get, *, allow',
        'p, role:operators, repositories, get, *, allow',
        'p, role:operators, certificates, get, *, allow',
        'p, role:operators, gpgkeys, get, *, allow',
        'p, role:operators, gpgkeys, create, *, allow',
        'p, role:operators, gpgkeys, delete, *, allow',
        'g, tdude, role:operators',
      ]),
    );
    // Every line has the ArgoCD casbin shape: p, subject, resource, action, object, effect / g, group, role.
    for (const line of lines) expect(line).toMatch(/^(p, role:operators, [a-z]+, [A-Za-z/*-]+, [*/]+, allow|g, [^,]+, role:operators)$/);
    expect(argoCdPolicyCsv(['a', 'b'])).toMatch(/g, a, role:operators\ng, b, role:operators\n$/);
  });

  it('routes the UI and REST over HTTP/1.1 and only gRPC over h2c', () => {
    expect(patchOf('ConfigMap', 'argocd-cmd-params-cm')?.data).toEqual({ 'server.insecure': 'true' });
    // No h2c on the Service: Traefik would speak HTTP/2 to argocd-server for every route, and in
    // insecure mode it closes HTTP/2 connections that are not gRPC (browsers would get 502).
    expect(patchOf('Service', 'argocd-server')).toBeUndefined();
    const routes = find('IngressRoute', 'argocd-server-grpc')?.spec.routes as {
      match: string;
      priority: number;
      services: { name: string; port: string; scheme?: string }[];
    }[];
    const ingress = find('Ingress', 'argocd-server') as TestObject;
    const ingressBackend = (ingress.spec.rules as { http: { paths: { backend: unknown }[] } }[])[0]?.http.paths[0]?.backend;
    // Which scheme each route gets: the Ingress (everything on the host) plain HTTP, the gRPC router h2c.
    const schemes = [
      {
        route: 'Ingress argocd-server',
        scheme: ingress.metadata.annotations?.['traefik.ingress.kubernetes.io/service.serversscheme'] ?? 'http',
      },
      ...routes.flatMap((route) => route.services.map((service) => ({ route: route.match, scheme: service.scheme ?? 'http' }))),
    ];
    expect(schemes).toEqual([
      { route: 'Ingress argocd-server', scheme: 'http' },
      { route: 'Host(`gitops.example.org`) && Header(`Content-Type`, `application/grpc`)', scheme: 'h2c' },
    ]);
    expect(ingressBackend).toEqual({ service: { name: 'argocd-server', port: { name: 'http' } } });
    expect(routes[0]?.services[0]).toMatchObject({ name: 'argocd-server', port: 'http' });
    // Same entry point and certificate as the Ingress, and above its router whatever the rule lengths.
    const route = find('IngressRoute', 'argocd-server-grpc');
    expect(route?.spec.entryPoints).toEqual(['websecure']);
    expect(route?.spec.tls).toEqual({ secretName: (ingress.spec.tls as { secretName: string }[])[0]?.secretName });
    expect(routes[0]?.priority).toBeGreaterThan(routes[0]?.match.length ?? 0);
  });

  it('installs KSOPS into the repo-server and gives SOPS the age key', () => {
    const spec = patchOf('Deployment', 'argocd-repo-server')?.spec.template.spec;
    expect(spec.initContainers).toEqual([
      expect.objectContaining({
        name: 'install-ksops',
        image: KSOPS_IMAGE,
        // Only ksops: Argo CD's own kustomize (5.8.1) runs it and can inflate charts with helm v4.
        command: ['/usr/local/bin/ksops', 'install', '/custom-tools'],
        volumeMounts: [{ name: 'custom-tools', mountPath: '/custom-tools' }],
      }),
    ]);
    expect(KSOPS_IMAGE).toBe('viaductoss/ksops:v4.5.1');
    expect(spec.volumes).toEqual([
      { name: 'custom-tools', emptyDir: {} },
      { name: 'sops-age', secret: { secretName: 'sops-age', optional: false } },
    ]);
    expect(spec.containers).toEqual([
      {
        name: 'argocd-repo-server',
        env: [
          { name: 'XDG_CONFIG_HOME', value: '/.config' },
          { name: 'SOPS_AGE_KEY_FILE', value: '/.config/sops/age/keys.txt' },
        ],
        volumeMounts: [
          { name: 'custom-tools', mountPath: '/usr/local/bin/ksops', subPath: 'ksops' },
          { name: 'sops-age', mountPath: '/.config/sops/age', readOnly: true },
        ],
      },
    ]);
    const custom = render({ sopsAgeKeySecret: 'age-key', ksopsImage: 'viaductoss/ksops:v4.5.0' }).patchOf(
      'Deployment',
      'argocd-repo-server',
    )?.spec.template.spec;
    expect(custom.volumes[1].secret.secretName).toBe('age-key');
    expect(custom.initContainers[0].image).toBe('viaductoss/ksops:v4.5.0');
  });

  it('declares the repo server toolchain of its release, from hack/tool-versions.sh', () => {
    const { argocd } = render();
    expect(argocd.toolchain).toEqual({
      renderer: "Argo CD v3.5.1's repo server",
      kustomize: { version: '5.8.1', source: 'bundled with Argo CD v3.5.1' },
      helm: ['4.2.1'],
      buildOptions: ['--enable-helm', '--enable-alpha-plugins', '--enable-exec'],
      execFunctions: ['ksops'],
    });
    // The facts are those of the pinned release's own file, as mirrored for offline builds.
    const versions = readFileSync(join(SHARED_UPSTREAM, 'raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/hack/tool-versions.sh'), 'utf8');
    expect(versions).toMatch(new RegExp(`^kustomize5_version=${ARGOCD_TOOLS['v3.5.1']?.kustomize.replaceAll('.', '\\.')}$`, 'm'));
    expect(versions).toMatch(new RegExp(`^helm4_version=${ARGOCD_TOOLS['v3.5.1']?.helm[0]?.replaceAll('.', '\\.')}$`, 'm'));
    const ksops = readFileSync(
      join(SHARED_UPSTREAM, 'raw.githubusercontent.com/viaduct-ai/kustomize-sops/v4.5.1/scripts/install-kustomize.sh'),
      'utf8',
    );
    const [major, rest] = (KSOPS_KUSTOMIZE[KSOPS_IMAGE] ?? '').split(/\.(.*)/);
    expect(ksops).toContain(`KUSTOMIZE_MAJOR_VERSION='v${major}'`);
    expect(ksops).toContain(`KUSTOMIZE_VERSION="\${KUSTOMIZE_MAJOR_VERSION}.${rest}"`);
    expect(argocd[KUSTOMIZE_CONTRIBUTION]().toolchain).toBe(argocd.toolchain);
    expect(app.toolchains).toEqual([{ toolchain: argocd.toolchain, constructPath: 'lab/argocd/argocd' }]);
  });

  it("with ksopsReplacesKustomize, installs KSOPS's kustomize and says the renderer runs it", () => {
    const { argocd, patchOf } = render({ ksopsReplacesKustomize: true });
    const spec = patchOf('Deployment', 'argocd-repo-server')?.spec.template.spec;
    expect(spec.initContainers[0].command).toEqual(['/usr/local/bin/ksops', 'install', '--with-kustomize', '/custom-tools']);
    expect(spec.containers[0].volumeMounts).toContainEqual({
      name: 'custom-tools',
      mountPath: '/usr/local/bin/kustomize',
      subPath: 'kustomize',
    });
    expect(argocd.toolchain?.kustomize).toEqual({
      version: '5.3.0',
      source: "installed over Argo CD's by viaductoss/ksops:v4.5.1 (ksops install --with-kustomize)",
    });
  });

  it('refuses a release whose repo server tools it does not know, unless they are given', () => {
    const errors = (props: Partial<ArgoCdProps>) => render(props).messages;
    expect(errors({ version: 'v3.6.0' })).toContain(
      'no repo-server tools are known for Argo CD v3.6.0: pass repoServerTools with the kustomize and helm versions of its hack/tool-versions.sh',
    );
    // A release it does not know needs its resource exclusions too (argocd-resource-exclusions.test.ts).
    const resourceExclusions = ARGOCD_RESOURCE_EXCLUSIONS['v3.5.1'];
    expect(errors({ version: 'v3.6.0', repoServerTools: { kustomize: '5.9.0', helm: ['4.3.0'] }, resourceExclusions })).toEqual([]);
  });

  it('never prunes the Argo CD CRDs and applies them server-side', () => {
    expect(patches).toContainEqual(
      expect.objectContaining({
        target: { group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
        patch: expect.objectContaining({
          metadata: expect.objectContaining({
            annotations: expect.objectContaining({ 'argocd.argoproj.io/sync-options': 'Delete=false,ServerSideApply=true' }),
          }),
        }),
      }),
    );
  });

  it('exposes argocd-server through a public Ingress with a recorded reason and upstream backend', () => {
    const ingress = find('Ingress', 'argocd-server');
    expect(ingress?.metadata.namespace).toBe('argocd');
    expect(ingress?.metadata.annotations?.[PUBLIC_REASON_ANNOTATION]).toMatch(/SSO/);
    expect(ingress?.metadata.annotations?.[UPSTREAM_BACKEND_ANNOTATION]).toBe(INSTALL_URL);
    expect(ingress?.metadata.annotations).not.toHaveProperty('traefik.ingress.kubernetes.io/router.middlewares');
    expect(ingress?.spec.rules).toEqual([
      {
        host: 'gitops.example.org',
        http: {
          paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'argocd-server', port: { name: 'http' } } } }],
        },
      },
    ]);
    // The backend comes from the remote manifest: the policy must not require it among rendered objects.
    const problems = ingressPolicy.check(objects.map((manifest) => ({ manifest, origin: {}, app: 'argocd' })) as never);
    expect(problems).toEqual([]);
    expect(ingress?.metadata.annotations?.['cert-manager.io/cluster-issuer']).toBe('letsencrypt-prod');
  });

  it("exposes the install's argocd-server Service with the ports the pinned manifest gives it", () => {
    const install = readFileSync(
      join(SHARED_UPSTREAM, 'raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml'),
      'utf8',
    );
    const service = parseAllDocuments(install)
      .map((document) => document.toJS() as TestObject | null)
      .find((object) => object?.kind === 'Service' && object.metadata.name === 'argocd-server');
    const ports = ((service?.spec.ports ?? []) as { name: string; port: number }[]).map(({ name, port }) => ({ name, port }));
    expect(argocd.serverService).toMatchObject({ namespace: 'argocd', name: 'argocd-server', ports, providedBy: INSTALL_URL });
  });

  it('renders ServiceMonitors for the metrics Services with the metrics addon, and none when disabled or without it', () => {
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['argocd-metrics', 'argocd-repo-server', 'argocd-server-metrics']);
    for (const monitor of monitors) {
      // No sync options of their own: synth adds SkipDryRunOnMissingResource only when the CRD comes in the same sync.
      expect(monitor.metadata.annotations).toBeUndefined();
      expect(monitor.spec.selector).toEqual({ matchLabels: { 'app.kubernetes.io/name': monitor.metadata.name } });
      expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: 'metrics' })]);
    }
    expect(render({ serviceMonitors: false }).objects.filter((o) => o.kind === 'ServiceMonitor')).toEqual([]);
    expect(render({}, []).objects.filter((o) => o.kind === 'ServiceMonitor')).toEqual([]);
  });

  it('renders only objects that pass schema and metadata validation', async () => {
    const { problems } = await validateObjects(
      objects.map((manifest) => ({ manifest, origin: {} })),
      { registry: new SchemaRegistry() },
    );
    expect(problems).toEqual([]);
    expect(argocd.node.validate()).toEqual([]);
    expect(messages).toEqual([]);
  });

  it.each([
    [{ version: 'v3.5' }, /not an exact release/],
    [{ version: 'latest' }, /not an exact release/],
    [{ url: 'http://gitops.example.org' }, /must be an https:\/\/ URL/],
    [{ url: 'not a url' }, /must be an https:\/\/ URL/],
    [{ rbac: { operatorGroups: [] } }, /operatorGroups must name at least one group/],
    [{ ksopsImage: 'viaductoss/ksops:latest' }, /floating tag "latest"/],
  ] as [Partial<ArgoCdProps>, RegExp][])('rejects %o', (overrides, message) => {
    const { argocd, problems } = render(overrides);
    expect(messagesAt(problems, argocd)).toContainEqual(expect.stringMatching(message));
  });

  it('rejects a floating install URL through the RemoteResource', () => {
    const { argocd, problems } = render({ version: 'master' });
    expect(messagesAt(problems, argocd.install)).toContainEqual(expect.stringMatching(/not pinned/));
  });
});
