import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { decryptSops } from 'sops-age';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { matchCreationRule, parseSopsConfig } from '../../pipeline/sops/config.js';
import { EXAMPLE_KEYS_FILE, type ExampleKey, loadExampleKeys, REPO_ROOT, referenceDecrypt } from './helpers.js';

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

const repoPath = (path: string) => relative(REPO_ROOT, path).split(sep).join('/');
const SHIPPED = filesUnder(join(REPO_ROOT, 'secrets', 'k8s-235'))
  .filter((path) => /\.sops\.ya?ml$/.test(path))
  .map(repoPath)
  .sort();
const config = parseSopsConfig(readFileSync(join(REPO_ROOT, '.sops.yaml'), 'utf8'), '.sops.yaml');

const keys: Record<'operator' | 'argocd', ExampleKey> = await loadExampleKeys();

/** Once the operator has replaced the example keys (docs/secrets.md), these files cannot be decrypted here. */
function encryptedForExampleKeys(text: string): boolean {
  const recipients = (parse(text) as { sops?: { age?: Array<{ recipient: string }> } }).sops?.age?.map((entry) => entry.recipient) ?? [];
  return recipients.includes(keys.operator.publicKey) && recipients.includes(keys.argocd.publicKey);
}

describe('example age keys', () => {
  it('are labelled as examples, and their public keys match the private keys', () => {
    const text = readFileSync(EXAMPLE_KEYS_FILE, 'utf8');
    expect(text.match(/# EXAMPLE KEY - NOT FOR PRODUCTION/g)?.length).toBeGreaterThanOrEqual(2);
    for (const key of Object.values(keys)) {
      expect(key.publicKey).toBe(key.declaredPublicKey);
      expect(key.publicKey).toMatch(/^age1[a-z0-9]{58}$/);
    }
    expect(keys.operator.publicKey).not.toBe(keys.argocd.publicKey);
  });

  it('keep their private halves only in test/fixtures/sops', () => {
    const privateKey = /AGE-SECRET-KEY-1[0-9A-Z]{58}/;
    const scanned = [
      join(REPO_ROOT, '.sops.yaml'),
      ...filesUnder(join(REPO_ROOT, 'secrets')),
      ...filesUnder(join(REPO_ROOT, 'pipeline', 'sops')),
      ...filesUnder(join(REPO_ROOT, 'test', 'sops')),
      join(REPO_ROOT, 'docs', 'secrets.md'),
    ];
    for (const file of scanned) expect(readFileSync(file, 'utf8'), repoPath(file)).not.toMatch(privateKey);
  });
});

describe('shipped SOPS secrets', () => {
  it('include the cert-manager Cloudflare API token secret', () => {
    expect(SHIPPED).toContain('secrets/k8s-235/cert-manager/cloudflare-api-token-secret.sops.yaml');
  });

  for (const file of SHIPPED) {
    describe(file, () => {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8');
      const decryptable = encryptedForExampleKeys(text);

      it('is encrypted for exactly the recipients of its .sops.yaml creation rule', () => {
        const rule = matchCreationRule(config, file);
        expect(rule, 'no creation rule matches').toBeDefined();
        const sops = (parse(text) as { sops: { age: Array<{ recipient: string }>; encrypted_regex?: string } }).sops;
        expect(sops.age.map((entry) => entry.recipient).sort()).toEqual([...(rule?.age ?? [])].sort());
        expect(sops.encrypted_regex).toBe(rule?.encryptedRegex);
      });

      it('holds no plaintext under data/stringData', () => {
        const doc = parse(text) as Record<string, unknown>;
        for (const field of ['data', 'stringData']) {
          for (const value of Object.values((doc[field] ?? {}) as Record<string, unknown>)) {
            expect(String(value)).toMatch(/^ENC\[AES256_GCM,data:.+,iv:.+,tag:.+,type:\w+\]$/);
          }
        }
      });

      it.skipIf(!decryptable)('decrypts with the example argocd key and the example operator key (sops-age)', async () => {
        const viaArgocd = await decryptSops(text, { secretKey: keys.argocd.secretKey, fileType: 'yaml' });
        const viaOperator = await decryptSops(text, { secretKey: keys.operator.secretKey, fileType: 'yaml' });
        expect(viaOperator).toEqual(viaArgocd);
        expect(JSON.stringify(viaArgocd)).not.toContain('ENC[');
      });

      it.skipIf(!decryptable)('has a MAC that verifies, with either example key', async () => {
        const a = await referenceDecrypt(text, keys.argocd.secretKey);
        const b = await referenceDecrypt(text, keys.operator.secretKey);
        expect(a.data).toEqual(b.data);
        expect(a.data).toEqual(await decryptSops(text, { secretKey: keys.argocd.secretKey, fileType: 'yaml' }));
      });
    });
  }

  const cloudflare = readFileSync(join(REPO_ROOT, 'secrets/k8s-235/cert-manager/cloudflare-api-token-secret.sops.yaml'), 'utf8');
  it('the Cloudflare secret holds the expected Secret (metadata is readable without a key)', () => {
    expect(parse(cloudflare)).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'cloudflare-api-token-secret', namespace: 'cert-manager' },
      type: 'Opaque',
    });
  });

  it.skipIf(!encryptedForExampleKeys(cloudflare))('the Cloudflare secret decrypts to a fake example token', async () => {
    const text = cloudflare;
    const secret = (await referenceDecrypt(text, keys.argocd.secretKey)).data;
    expect(secret).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'cloudflare-api-token-secret', namespace: 'cert-manager' },
      type: 'Opaque',
    });
    const stringData = secret.stringData as Record<string, unknown>;
    expect(Object.keys(stringData)).toEqual(['api-token']);
    expect(String(stringData['api-token'])).toMatch(/EXAMPLE/);
    expect(secret.data).toBeUndefined();
  });
});
