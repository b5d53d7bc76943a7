import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isReservedAddress, isReservedDomain } from '../../constructs/core/reserved-names.js';
import { InventoryError } from '../../framework/cluster.js';
import { parseInventory } from '../../inventory/schema.js';
import { runSynth } from '../../pipeline/commands.js';
import { captureContext, projectRoot } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function issuerProject(email: string): string {
  const root = makeProject({
    'inventory/lab.json': '{}',
    'apps/lab.ts': `import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { AcmeClusterIssuer, LETS_ENCRYPT } from '${PROJECT}constructs/certificates/acme-cluster-issuer.ts';
export default defineCluster({
  parseInventory: (data) => data,
  externalCustomResources: () => [{ group: 'cert-manager.io', reason: 'test' }],
  apps: () => [{ name: 'issuers', build(chart) {
    new AcmeClusterIssuer(chart, 'letsencrypt', { server: LETS_ENCRYPT.staging, email: ${JSON.stringify(email)}, solver: { type: 'http01-ingress', ingressClassName: 'traefik' } });
  } }],
});
`,
  });
  roots.push(root);
  return root;
}

describe('example values', () => {
  it('knows the reserved domains of RFC 2606 and RFC 6761', () => {
    expect(
      ['example.com', 'mail.example.org', 'EXAMPLE.NET', 'host.test', 'a.invalid', 'x.localhost', 'lab.example'].every(isReservedDomain),
    ).toBe(true);
    expect(['tdude.co', 'example.co', 'notexample.com', 'example.com.au', 'testing.dev'].some(isReservedDomain)).toBe(false);
    expect(isReservedAddress('acme@example.com')).toBe(true);
    expect(isReservedAddress('acme@tdude.co')).toBe(false);
  });

  it("lists the default cluster's placeholders in one short list, and --production refuses them with file and field", async () => {
    const listed = captureContext();
    expect(await runSynth(['--check'], listed)).toBe(0);
    const out = listed.out.join('\n');
    expect(out).toContain(
      "synth: replace before the first sync (23 example values; 'npm run synth -- --production' fails while any remain):",
    );
    expect(out).toContain('  inventory/k8s-235.json  acme.email = acme@example.com');
    expect(out).toContain('  inventory/k8s-235.json  sso.gitlabApplicationId = EXAMPLE-gitlab-application-id');
    expect(out).toContain('  inventory/k8s-235.json  monitoring.discord.image = benjojo/alertmanager-discord@sha256:0000');
    expect(out).toMatch(
      / {2}11 SOPS files encrypted for the example key age1rglrvs3n.*secrets\/k8s-235\/argocd\/argocd-secret\.sops\.yaml/,
    );

    const before = readFileSync(join(projectRoot, 'dist/k8s-235/cert-manager/kustomization.yaml'), 'utf8');
    const production = captureContext();
    expect(await runSynth(['--check', '--production'], production)).toBe(1);
    const err = production.err.join('\n');
    expect(err).toContain('inventory/k8s-235.json: acme.email "acme@example.com" is an example value: an address you read');
    expect(err).toContain('inventory/k8s-235.json: sso.allowedEmails "operator@example.com" is an example value');
    expect(err).toMatch(
      /^secrets\/k8s-235\/traefik\/oauth2-proxy\.sops\.yaml: sops\.age "age1rglr\S+" is an example value: encrypted for the example age key/m,
    );
    expect(err).toContain('synth --production: 23 example values to replace before the first sync; dist/ left unchanged');
    expect(readFileSync(join(projectRoot, 'dist/k8s-235/cert-manager/kustomization.yaml'), 'utf8')).toBe(before);
  });

  it('never accepts an ACME contact at a reserved domain with --production, even unmarked', async () => {
    const reserved = issuerProject('acme@example.org');
    const context = captureContext();
    expect(await runSynth(['--root', reserved, '--out', join(reserved, 'dist'), '--production'], context)).toBe(1);
    expect(context.err[0]).toBe(
      'lab/issuers/letsencrypt: spec.acme.email "acme@example.org" is an example value: the ACME account\'s contact address is at a reserved domain, which Let\'s Encrypt refuses (ClusterIssuer letsencrypt never becomes Ready): give an address you read [example]',
    );
    const real = issuerProject('ops@tdude.co');
    const ok = captureContext();
    expect(await runSynth(['--root', real, '--out', join(real, 'dist'), '--production'], ok)).toBe(0);
    expect(ok.out.join('\n')).not.toContain('replace before the first sync');
  });

  it('refuses an examples entry that names no field of the inventory', () => {
    const data = JSON.parse(readFileSync(join(projectRoot, 'inventory/k8s-235.json'), 'utf8'));
    data.examples = { 'acme.mail': 'typo', 'hosts[7].ipv4': 'no such host', 'sso.allowedEmails': '' };
    try {
      parseInventory(data, 'k8s-235');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InventoryError);
      expect((error as InventoryError).issues).toEqual([
        { path: 'examples.acme.mail', message: 'names no field of the inventory (write a path such as acme.email or hosts[0].ipv4)' },
        { path: 'examples.hosts[7].ipv4', message: 'names no field of the inventory (write a path such as acme.email or hosts[0].ipv4)' },
        { path: 'examples.sso.allowedEmails', message: 'must say what replaces the example value (a non-empty string)' },
      ]);
    }
  });
});
