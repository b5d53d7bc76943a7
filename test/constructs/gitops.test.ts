import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_SYNC_RETRY, GitOpsApplications, type GitOpsApplicationsProps } from '../../constructs/gitops/applications.js';
import { gitOpsPolicy, sopsDecryptionPolicy } from '../../constructs/gitops/policies.js';
import type { PolicyObject } from '../../framework/cluster.js';
import type { Manifest } from '../../framework/model.js';
import { runSynth } from '../../pipeline/commands.js';
import { captureContext } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';
import { renderApp } from '../helpers/render.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A cluster whose composition lists the given apps (name -> dependencies) plus the root app. */
async function synthWith(apps: Record<string, string[]>) {
  const root = makeProject({
    'inventory/lab.json': '{}',
    'apps/lab.ts': `import { k8s } from 'cdk8s-plus-28';
import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { GitOpsApplications } from '${PROJECT}constructs/gitops/applications.ts';
import { gitOpsPolicy } from '${PROJECT}constructs/gitops/policies.ts';
const app = (name, dependsOn) => ({ name, namespace: name, dependsOn, build(chart) {
  new k8s.KubeNamespace(chart, 'ns', { metadata: { name } });
} });
const root = { name: 'gitops', namespace: 'argocd', build(chart, _inventory, cluster) {
  new GitOpsApplications(chart, 'apps', { cluster, rootApp: 'gitops', repoURL: 'https://git.example.org/ops/lab.git', targetRevision: 'main' });
} };
const apps = [...Object.entries(${JSON.stringify(apps)}).map(([name, deps]) => app(name, deps)), root];
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => apps,
  externalCustomResources: () => [{ group: 'argoproj.io', reason: 'ArgoCD is installed outside this test cluster' }],
  policies: () => [gitOpsPolicy({ cluster: 'lab', apps: apps.map((a) => a.name) })],
});
`,
  });
  roots.push(root);
  const context = captureContext();
  const code = await runSynth(['--root', root, '--out', join(root, 'dist')], context);
  const read = (app: string) => readFileSync(join(root, 'dist/lab/gitops', `application-${app}.yaml`), 'utf8');
  return { code, context, read };
}

describe('generated Applications', () => {
  it('adding an app to the composition is all it takes to get its Application and wave', async () => {
    const before = await synthWith({ storage: [] });
    expect(before.code, before.context.err.join('\n')).toBe(0);
    const after = await synthWith({ storage: [], database: ['storage'], web: ['database', 'storage'] });
    expect(after.code, after.context.err.join('\n')).toBe(0);
    expect(after.read('storage')).toContain('argocd.argoproj.io/sync-wave: "0"');
    expect(after.read('database')).toContain('argocd.argoproj.io/sync-wave: "1"');
    const web = after.read('web');
    expect(web).toContain('argocd.argoproj.io/sync-wave: "2"');
    expect(web).toContain('path: dist/lab/web');
    expect(web).toContain('namespace: web');
    expect(web).toContain('- resources-finalizer.argocd.argoproj.io');
    expect(web).toMatch(/automated:\n\s+prune: true\n\s+selfHeal: true/);
  });

  it('retries a failed sync with backoff, with the newest revision, and can be told not to', async () => {
    const { read } = await synthWith({ storage: [] });
    const spec = (parse(read('storage')) as { spec: { syncPolicy: Record<string, unknown> } }).spec.syncPolicy;
    expect(spec.retry).toEqual(DEFAULT_SYNC_RETRY);
    expect(DEFAULT_SYNC_RETRY).toEqual({ limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '5m' }, refresh: true });
    // The root app alone, rendered as cluster lab.
    const applications = (retry: GitOpsApplicationsProps['retry']) =>
      renderApp({
        name: 'gitops',
        namespace: 'argocd',
        build(chart, _inventory, cluster) {
          new GitOpsApplications(chart, 'apps', {
            cluster,
            rootApp: 'gitops',
            repoURL: 'https://git.example.org/x.git',
            targetRevision: 'main',
            retry,
          });
        },
      });
    const withoutRetry = applications(false);
    expect(withoutRetry.messages).toEqual([]);
    expect(withoutRetry.all('Application')).not.toEqual([]);
    for (const application of withoutRetry.all('Application')) expect(application.spec.syncPolicy?.retry).toBeUndefined();
    expect(applications({ limit: 1.5, backoff: { duration: 'soon', factor: 0, maxDuration: '5m' }, refresh: true }).messages).toEqual([
      'retry.limit must be a whole number (got 1.5)',
      'retry.backoff.factor must be a whole number of 1 or more (got 0)',
      'retry.backoff.duration "soon" must be a duration such as 10s, 5m or 1h',
    ]);
  });

  it('leaves the root app without a cascading finalizer', async () => {
    const { read } = await synthWith({ storage: [] });
    expect(read('gitops')).not.toContain('finalizers');
    expect(read('gitops')).toContain('path: dist/lab/gitops');
  });

  it('restricts the AppProject to the GitOps repository and the upstream sources the apps pin', async () => {
    const root = makeProject({
      'inventory/lab.json': '{}',
      'apps/lab.ts': `import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { GitOpsApplications } from '${PROJECT}constructs/gitops/applications.ts';
import { HelmChart } from '${PROJECT}constructs/core/helm-chart.ts';
import { RemoteResource } from '${PROJECT}constructs/core/remote-resource.ts';
const apps = [
  { name: 'gitops', namespace: 'argocd', build(chart, _inventory, cluster) {
    new GitOpsApplications(chart, 'apps', { cluster, rootApp: 'gitops', repoURL: 'https://git.example.org/ops/lab.git', targetRevision: 'main', listUpstreamSources: !_inventory.gitOnly });
  } },
  { name: 'tools', namespace: 'tools', build(chart, _inventory, cluster) {
    new HelmChart(chart, 'chart', { repo: 'https://charts.example.org', chart: 'tool', version: '1.2.3', namespace: 'tools' });
    new RemoteResource(chart, 'crds', { url: 'https://example.org/tool/v1.2.3/crds.yaml' });
    if (_inventory.eager) cluster.pinnedSources();
  } },
];
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => apps,
  externalCustomResources: () => [{ group: 'argoproj.io', reason: 'ArgoCD is installed outside this test cluster' }],
});
`,
    });
    roots.push(root);
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', join(root, 'dist')], context), context.err.join('\n')).toBe(0);
    const project = parse(readFileSync(join(root, 'dist/lab/gitops/appproject-production.yaml'), 'utf8'));
    // The GitOps repository first, then the pinned sources sorted.
    expect(project.spec.sourceRepos).toEqual([
      'https://git.example.org/ops/lab.git',
      'https://charts.example.org',
      'https://example.org/tool/v1.2.3/crds.yaml',
    ]);

    // Opting out keeps the project to the GitOps repository.
    writeFileSync(join(root, 'inventory/lab.json'), '{ "gitOnly": true }\n');
    const gitOnly = captureContext();
    expect(await runSynth(['--root', root, '--out', join(root, 'dist')], gitOnly), gitOnly.err.join('\n')).toBe(0);
    const restricted = parse(readFileSync(join(root, 'dist/lab/gitops/appproject-production.yaml'), 'utf8'));
    expect(restricted.spec.sourceRepos).toEqual(['https://git.example.org/ops/lab.git']);
    writeFileSync(join(root, 'inventory/lab.json'), '{}\n');

    // Asked for while the apps are still being built, the list cannot be complete: a construct error.
    writeFileSync(join(root, 'inventory/lab.json'), '{ "eager": true }\n');
    const eager = captureContext();
    expect(await runSynth(['--root', root, '--out', join(root, 'dist')], eager)).toBe(1);
    expect(eager.err.join('\n')).toMatch(
      /^lab\/tools: pinnedSources\(\) is complete only once every app is built: read it lazily \(cdk8s Lazy\.any\) \(at apps\/lab\.ts:\d+\) \[construct\]$/m,
    );
  });

  it('fails synth on a dependency cycle, naming it', async () => {
    const { code, context } = await synthWith({ a: ['b'], b: ['a'] });
    expect(code).toBe(1);
    expect(context.err).toContain('lab: apps depend on each other in a cycle: a -> b -> a [app.dependencies]');
  });
});

describe('gitops cross-checks', () => {
  const object = (manifest: Manifest, app: string): PolicyObject => ({ manifest, origin: { constructPath: `lab/${app}` }, app });
  const application = (name: string, path: string, namespace?: string): Manifest => ({
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    metadata: { name, namespace: 'argocd' },
    spec: {
      source: { path },
      destination: { namespace },
      syncPolicy: { syncOptions: namespace ? ['CreateNamespace=true'] : [] },
    },
  });
  const policy = gitOpsPolicy({ cluster: 'lab', apps: ['web', 'gitops'] });
  const messages = (objects: PolicyObject[]) => policy.check(objects).map((p) => `${p.origin.constructPath}: ${p.message} [${p.rule}]`);

  it('fails when an Application points at no app folder, and when a folder has none', () => {
    expect(
      messages([
        object(application('gitops', 'dist/lab/gitops', 'argocd'), 'gitops'),
        object(application('typo', 'dist/lab/wbe'), 'gitops'),
      ]),
    ).toEqual([
      'lab/gitops: points at dist/lab/wbe, which is not an app folder of cluster lab [policy.gitops.path]',
      'lab/web: app folder dist/lab/web has no Applications; it needs exactly one [policy.gitops.application]',
    ]);
  });

  it('fails when an app writes to a namespace nobody creates', () => {
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'elsewhere' } };
    expect(
      messages([
        object(application('gitops', 'dist/lab/gitops', 'argocd'), 'gitops'),
        object(application('web', 'dist/lab/web', 'web'), 'gitops'),
        object(configMap, 'web'),
      ]),
    ).toEqual([
      "lab/web: writes to namespace elsewhere, which no Namespace object creates and app web's Application does not create (CreateNamespace) [policy.gitops.namespace]",
    ]);
  });

  it('fails when an app writes into a namespace another app or the cluster owns, unless granted with a reason', () => {
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shared' } };
    const intruder = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shared' } };
    const system = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'controller', namespace: 'kube-system' } };
    const objects = [
      object(application('gitops', 'dist/lab/gitops', 'argocd'), 'gitops'),
      object(application('web', 'dist/lab/web', 'web'), 'gitops'),
      object(namespace, 'gitops'),
      object(intruder, 'web'),
      object(system, 'web'),
    ];
    expect(messages(objects)).toEqual([
      "lab/web: app web writes into namespace shared, which app gitops owns: keep the object in the app's own namespace, or grant it in the gitops policy's namespaceGrants with the reason [policy.gitops.namespace]",
      "lab/web: app web writes into namespace kube-system, which belongs to the cluster itself: keep the object in the app's own namespace, or grant it in the gitops policy's namespaceGrants with the reason [policy.gitops.namespace]",
    ]);
    const granted = gitOpsPolicy({
      cluster: 'lab',
      apps: ['web', 'gitops'],
      namespaceGrants: [
        { app: { name: 'web' }, namespace: 'shared', reason: 'a shared config' },
        { app: 'web', namespace: 'kube-system', reason: '' },
      ],
    });
    expect(granted.check(objects).map((p) => p.message)).toEqual([
      expect.stringContaining('namespace kube-system, which belongs to the cluster itself'),
    ]);
  });
});

describe('the SOPS key ArgoCD decrypts with', () => {
  const ARGOCD_KEY = 'age1rglrvs3n0k0ucwwf3aq7dav5t22w4zc77na46k40hyxpnslpwa5s2gj2ws';
  const OPERATOR_KEY = 'age1lavkcf94knxulv8rww9s4xqxsnel06cxvrp5pkf9mwnlh9vqkfmqz79s7a';
  const encrypted = (name: string, recipients: string[]): PolicyObject => ({
    manifest: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: 'web' },
      data: { token: 'ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]' },
      sops: { age: recipients.map((recipient) => ({ recipient, enc: '-----BEGIN AGE ENCRYPTED FILE-----' })) },
    },
    origin: { file: `secrets/lab/web/${name}.sops.yaml`, constructPath: `lab/web/${name}` },
    app: 'web',
  });
  const policy = sopsDecryptionPolicy({ ageRecipient: ARGOCD_KEY });

  it('accepts files encrypted for its key and ignores objects that are not SOPS files', () => {
    const plain: PolicyObject = { manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, origin: {}, app: 'web' };
    expect(policy.check([encrypted('both', [OPERATOR_KEY, ARGOCD_KEY]), plain])).toEqual([]);
  });

  it('rejects a file only the operator can decrypt, saying how to re-key it', () => {
    expect(policy.check([encrypted('operator-only', [OPERATOR_KEY])])).toEqual([
      {
        origin: { file: 'secrets/lab/web/operator-only.sops.yaml', constructPath: 'lab/web/operator-only' },
        object: { apiVersion: 'v1', kind: 'Secret', namespace: 'web', name: 'operator-only' },
        rule: 'policy.gitops.decryption',
        message: `is not encrypted for ArgoCD's age key ${ARGOCD_KEY}, so ArgoCD cannot decrypt it: add the key to the .sops.yaml creation rule covering secrets/lab/web/operator-only.sops.yaml and run "sops updatekeys secrets/lab/web/operator-only.sops.yaml"`,
      },
    ]);
  });
});
