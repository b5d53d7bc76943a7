import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RenderToolchain } from '../../framework/contributions.js';
import { runSynth } from '../../pipeline/commands.js';
import { checkToolchain, clusterToolchain } from '../../pipeline/toolchain.js';
import { captureContext } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const ARGOCD: RenderToolchain = {
  renderer: "Argo CD v3.5.1's repo server",
  kustomize: { version: '5.8.1', source: 'bundled with Argo CD v3.5.1' },
  helm: ['4.2.1'],
  buildOptions: ['--enable-helm', '--enable-alpha-plugins', '--enable-exec'],
  execFunctions: ['ksops'],
};
const charts = { app: 'cert-manager', constructPath: 'lab/cert-manager', helmCharts: 1, execFunctions: ['ksops'] };

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describe('the renderer toolchain', () => {
  it('accepts charts and KSOPS with the kustomize and helm Argo CD v3.5.1 ships', () => {
    expect(checkToolchain(ARGOCD, [charts])).toEqual([]);
  });

  it('refuses charts when a kustomize before 5.8.1 would have to run helm v4', () => {
    const ksops = { ...ARGOCD, kustomize: { version: '5.3.0', source: 'installed over it by KSOPS' } };
    const problems = checkToolchain(ksops, [charts, { ...charts, app: 'web', constructPath: 'lab/web', helmCharts: 0 }]);
    expect(problems.map((p) => [p.rule, p.origin.constructPath])).toEqual([['toolchain', 'lab/cert-manager']]);
    expect(problems[0]?.message).toContain(
      'app "cert-manager" inflates a Helm chart, but Argo CD v3.5.1\'s repo server runs kustomize 5.3.0',
    );
    expect(problems[0]?.message).toContain('refuses every helm but v3');
    // The same old kustomize is fine next to a helm v3.
    expect(checkToolchain({ ...ksops, helm: ['3.17.0'] }, [charts])).toEqual([]);
  });

  it('refuses charts without --enable-helm, and KSOPS without exec functions or its binary', () => {
    const bare = { ...ARGOCD, buildOptions: ['--enable-alpha-plugins'], execFunctions: [] };
    const messages = checkToolchain(bare, [charts]).map((p) => p.message);
    expect(messages).toEqual([
      expect.stringContaining('builds without --enable-helm'),
      expect.stringContaining('runs the KRM exec function "ksops", but Argo CD v3.5.1\'s repo server builds without --enable-exec'),
      expect.stringContaining('does not install on its PATH'),
    ]);
  });

  it('takes one renderer per cluster', () => {
    const problems: Parameters<typeof clusterToolchain>[2] = [];
    const first = { toolchain: ARGOCD, constructPath: 'lab/argocd/argocd' };
    expect(clusterToolchain('lab', [first, { toolchain: ARGOCD, constructPath: 'lab/other/argocd' }], problems)).toBe(ARGOCD);
    expect(problems.map((p) => p.origin.constructPath)).toEqual(['lab/other/argocd']);
  });

  it('fails synth when the composition sets ArgoCD up so that it cannot render a chart', async () => {
    const composition = (replace: boolean) => `import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { ArgoCd } from '${PROJECT}constructs/gitops/argocd.ts';
import { AcmeClusterIssuer, LETS_ENCRYPT } from '${PROJECT}constructs/certificates/acme-cluster-issuer.ts';
import { CertManager } from '${PROJECT}constructs/certificates/cert-manager.ts';
const certManager = { name: 'cert-manager', namespace: 'cert-manager', build(chart) {
  new CertManager(chart, 'cert-manager');
  // The issuer Argo CD's Ingress takes (the ingress policy comes with the Ingress).
  const issuer = new AcmeClusterIssuer(chart, 'letsencrypt-prod', {
    server: LETS_ENCRYPT.staging,
    email: 'acme@example.org',
    solver: { type: 'http01-ingress', ingressClassName: 'traefik' },
  });
  return { issuer };
} };
export default defineCluster({
  parseInventory: (data) => data,
  externalCustomResources: () => [{ group: 'monitoring.coreos.com', reason: 'test' }, { group: 'traefik.io', reason: 'test' }],
  apps: () => [
    certManager,
    { name: 'argocd', namespace: 'argocd', dependsOn: [certManager], build(chart) {
      new ArgoCd(chart, 'argocd', { url: 'https://gitops.example.org', issuer: chart.use(certManager).issuer, rbac: { operatorGroups: ['ops'] }, ksopsReplacesKustomize: ${replace} });
    } },
  ],
});
`;
    for (const replace of [true, false]) {
      const root = makeProject({ 'inventory/lab.json': '{}', 'apps/lab.ts': composition(replace) });
      roots.push(root);
      const context = captureContext();
      const code = await runSynth(['--root', root, '--out', join(root, 'dist')], context);
      if (replace) {
        expect(code).toBe(1);
        expect(context.err.join('\n')).toMatch(
          /^lab\/cert-manager: app "cert-manager" inflates a Helm chart, but Argo CD v3\.5\.1's repo server runs kustomize 5\.3\.0 \(installed over Argo CD's by viaductoss\/ksops:v4\.5\.1.*\[toolchain\]$/m,
        );
      } else {
        expect(context.err).toEqual([]);
        expect(code).toBe(0);
      }
    }
  });
});
