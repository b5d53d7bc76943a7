import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSynth } from '../../pipeline/commands.js';
import { captureContext } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

/** A cluster with one app including `manifests/legacy.yaml`, and a policy banning ConfigMaps named "forbidden". */
function project(legacy: string | undefined): string {
  const files: Record<string, string> = {
    'inventory/lab.json': '{}',
    'apps/lab.ts': `import { k8s } from 'cdk8s-plus-28';
import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { ManifestFile } from '${PROJECT}constructs/core/manifest-file.ts';
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'web', namespace: 'web', build(chart) {
    new k8s.KubeConfigMap(chart, 'rendered', { metadata: { name: 'rendered' } });
    new ManifestFile(chart, 'legacy', { file: 'manifests/legacy.yaml' });
  } }],
  policies: () => [{
    name: 'no-forbidden',
    check: (objects) => objects
      .filter((o) => o.manifest.kind === 'ConfigMap' && (o.manifest.metadata as { name?: string }).name === 'forbidden')
      .map((o) => ({ origin: o.origin, rule: 'policy.no-forbidden', message: 'app ' + o.app + ' may not hold it' })),
  }],
});
`,
  };
  if (legacy !== undefined) files['manifests/legacy.yaml'] = legacy;
  const root = makeProject(files);
  roots.push(root);
  return root;
}

describe('included manifest files', () => {
  it('are defaulted, validated and written like rendered objects', async () => {
    const root = project('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: legacy\ndata:\n  a: "1"\n');
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', join(root, 'dist')], context)).toBe(0);
    const legacy = readFileSync(join(root, 'dist/lab/web/configmap-legacy.yaml'), 'utf8');
    expect(legacy).toContain('namespace: web');
    expect(readFileSync(join(root, 'dist/lab/web/kustomization.yaml'), 'utf8')).toContain('- configmap-legacy.yaml');
  });

  it('report their problems with the construct path and the file', async () => {
    const root = project('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Legacy\n---\nnot: [closed\n');
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', join(root, 'dist')], context)).toBe(1);
    expect(context.err).toContainEqual(
      expect.stringMatching(/^lab\/web\/legacy \(manifests\/legacy.yaml \(document 2\)\): YAML syntax error/),
    );
    expect(context.err).toContainEqual(
      expect.stringMatching(/^lab\/web\/legacy \(manifests\/legacy.yaml \(document 1\)\): ConfigMap web\/Legacy: metadata.name "Legacy"/),
    );
  });

  it('must exist', async () => {
    const context = captureContext();
    expect(await runSynth(['--root', project(undefined), '--out', '/nonexistent/dist'], context)).toBe(1);
    expect(context.err[0]).toBe('lab/web/legacy (manifests/legacy.yaml): the manifest file does not exist [manifest.file]');
  });
});

describe('cluster policies', () => {
  it('see rendered and included objects, List items too, and fail synth with each problem', async () => {
    const root = project(
      'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: forbidden\n',
    );
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', join(root, 'dist')], context)).toBe(1);
    expect(context.err).toEqual([
      'lab/web/legacy (manifests/legacy.yaml (document 1, List item 1)): app web may not hold it [policy.no-forbidden]',
      expect.stringMatching(/^synth: 1 problem found/),
    ]);
  });
});

describe('the ingress policy over hand-written objects', () => {
  it('reports a hand-written Ingress without SSO with its file and construct path', async () => {
    const root = makeProject({
      'inventory/lab.json': '{}',
      'manifests/ingress.yaml': `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: legacy
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt-prod
spec:
  tls: [{ hosts: [legacy.example.org], secretName: legacy-tls }]
  rules:
    - host: legacy.example.org
      http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: legacy, port: { number: 80 } } } }] }
`,
      'apps/lab.ts': `import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { ManifestFile } from '${PROJECT}constructs/core/manifest-file.ts';
import { policies } from '${PROJECT}constructs/ingress/index.ts';
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'web', namespace: 'web', build(chart) { new ManifestFile(chart, 'hand-written', { file: 'manifests/ingress.yaml' }); } }],
  policies: () => policies,
});
`,
    });
    roots.push(root);
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', join(root, 'dist')], context)).toBe(1);
    const where = 'lab/web/hand-written (manifests/ingress.yaml (document 1)): Ingress web/legacy:';
    expect(context.err).toEqual([
      `${where} must be routed only on the TLS entry point websecure (annotation traefik.ingress.kubernetes.io/router.entrypoints) [policy.ingress.tls]`,
      `${where} must set traefik.ingress.kubernetes.io/router.tls: "true" [policy.ingress.tls]`,
      `${where} names ClusterIssuer "letsencrypt-prod", which does not exist in the cluster [policy.ingress.issuer]`,
      `${where} has no forward-auth middleware; add SSO or mark it public with a reason (annotation ingress.homelab-cdk8s.io/public-reason) [policy.ingress.sso]`,
      `${where} backend Service "legacy" does not exist in namespace web [policy.ingress.backend]`,
      expect.stringMatching(/^synth: 5 problems found/),
    ]);
  });
});

describe('app dependencies', () => {
  it('fail synth when apps depend on each other in a cycle or on an unknown app', async () => {
    const root = makeProject({
      'inventory/lab.json': '{}',
      'apps/lab.ts': `import { k8s } from 'cdk8s-plus-28';
import { defineCluster } from '${PROJECT}framework/cluster.ts';
const app = (name, dependsOn) => ({ name, namespace: name, dependsOn, build(chart) { new k8s.KubeConfigMap(chart, 'c', { metadata: { name: 'c' } }); } });
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [app('ingress', ['certificates']), app('certificates', ['ingress']), app('web', ['ingress', 'database'])],
});
`,
    });
    roots.push(root);
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', join(root, 'dist')], context)).toBe(1);
    expect(context.err).toEqual([
      'lab: app "web" depends on "database", which is not an app of this cluster [app.dependencies]',
      'lab: apps depend on each other in a cycle: ingress -> certificates -> ingress [app.dependencies]',
      expect.stringMatching(/^synth: 2 problems found/),
    ]);
  });
});
