import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { decryptSops } from 'sops-age';
import { describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { decryptYaml, SopsDecryptError } from '../../pipeline/sops/decrypt.js';
import { type EncryptOptions, encryptManifest, encryptValue } from '../../pipeline/sops/encrypt.js';
import { type ExampleKey, loadExampleKeys, REPO_ROOT, referenceDecrypt } from './helpers.js';

const DATA_REGEX = '^(data|stringData)$';
const NOW = new Date('2025-01-02T03:04:05.678Z');
const MAC_MISMATCH = 'the MAC does not match the values: the file was edited without sops; re-encrypt with sops or npm run encrypt';

const { operator, argocd }: Record<'operator' | 'argocd', ExampleKey> = await loadExampleKeys();

function secret(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'demo', namespace: 'default', labels: { app: 'demo', replicas: 3 } },
    type: 'Opaque',
    data: { 'ca.crt': 'LS0tLS1CRUdJTg==', empty: '' },
    stringData: {
      'api-token': 'example-token-0000',
      password: 'example-password',
      port: 8443,
      ratio: 0.25,
      enabled: true,
      off: false,
      nothing: null,
      hosts: ['a.example', 'b.example'],
    },
  };
}

function encryptSecret(extra: Partial<EncryptOptions> = {}): Promise<string> {
  return encryptManifest(secret(), {
    ageRecipients: [operator.publicKey, argocd.publicKey],
    encryptedRegex: DATA_REGEX,
    now: NOW,
    ...extra,
  });
}

/** The file with one change made through its YAML document (the rest of the file stays as written). */
function edited(text: string, edit: (doc: ReturnType<typeof parseDocument>) => void): string {
  const doc = parseDocument(text);
  edit(doc);
  return doc.toString({ indent: 4, lineWidth: 0 });
}

/** Every base64 part of every `ENC[...]` value of a file: none may show in an error message. */
function ciphertexts(text: string): string[] {
  return [...text.matchAll(/(?:data|iv|tag):([A-Za-z0-9+/=]{8,})/g)].map((match) => match[1] ?? '');
}

async function failure(text: string, secretKeys: readonly string[] = [argocd.secretKey]): Promise<string> {
  const error: unknown = await decryptYaml(text, secretKeys).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SopsDecryptError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  expect(message).not.toMatch(/ENC\[AES256_GCM,data:/);
  for (const part of ciphertexts(text)) expect(message).not.toContain(part);
  return message;
}

/** A value re-encrypted properly with the file's data key, as an editor without sops would. */
async function reencrypted(text: string, path: readonly string[], plaintext: string): Promise<string> {
  const { dataKey } = await referenceDecrypt(text, operator.secretKey);
  return edited(text, (doc) => doc.setIn(path, encryptValue(plaintext, 'str', Buffer.from(dataKey), `${path.join(':')}:`)));
}

describe('decryptYaml round trip', () => {
  it('decrypts what encryptManifest writes, with either example key, to the original values and types', async () => {
    const text = await encryptSecret();
    const expected = secret();
    for (const key of [operator, argocd]) {
      const { document, recipient } = await decryptYaml(text, [key.secretKey]);
      expect(document).toEqual(expected);
      expect(recipient).toBe(key.publicKey);
    }
  });

  it("keeps ints beyond 2^53 exact (as bigints), within Go's 64-bit int", async () => {
    const manifest = { stringData: { big: 1234567890123456789n, small: -5 } };
    const text = await encryptManifest(manifest, { ageRecipients: [argocd.publicKey], encryptedRegex: DATA_REGEX, now: NOW });
    expect((await decryptYaml(text, [argocd.secretKey])).document).toEqual(manifest);
  });

  it('agrees with sops-age and the reference decrypter on the decrypted values', async () => {
    const text = await encryptSecret();
    const { document } = await decryptYaml(text, [argocd.secretKey]);
    expect(document).toEqual(await decryptSops(text, { secretKey: argocd.secretKey, fileType: 'yaml' }));
    expect(document).toEqual((await referenceDecrypt(text, argocd.secretKey)).data);
  });

  it("decrypts with sops' default rule (everything but *_unencrypted) and with mac_only_encrypted", async () => {
    for (const options of [
      { encryptedRegex: undefined },
      { macOnlyEncrypted: true },
      { encryptedRegex: undefined, unencryptedSuffix: '_plain' },
    ]) {
      const { document } = await decryptYaml(await encryptSecret(options), [operator.secretKey]);
      expect(document).toEqual(secret());
    }
  });

  it('tries every identity given, and every age entry of the file', async () => {
    const text = await encryptManifest(secret(), { ageRecipients: [argocd.publicKey], now: NOW });
    const { recipient } = await decryptYaml(text, [operator.secretKey, argocd.secretKey]);
    expect(recipient).toBe(argocd.publicKey);
  });

  it('normalises lastmodified as Go does (fractional seconds, +00:00) before checking the MAC', async () => {
    const text = await encryptSecret();
    for (const stamp of ['2025-01-02T03:04:05.000Z', '2025-01-02T03:04:05+00:00']) {
      const moved = edited(text, (doc) => doc.setIn(['sops', 'lastmodified'], stamp));
      expect((await decryptYaml(moved, [argocd.secretKey])).document).toEqual(secret());
    }
  });
});

describe('decryptYaml refuses what sops refuses', () => {
  it('an age entry for the identity given whose enc block was changed, said as such', async () => {
    const text = edited(await encryptSecret(), (doc) => {
      const entry = (doc.getIn(['sops', 'age']) as { items: { get(k: string): string; set(k: string, v: string): void }[] }).items[1];
      const enc = entry?.get('enc') ?? '';
      // One base64 character of the armored age file changed.
      const at = enc.indexOf('\n') + 10;
      entry?.set('enc', `${enc.slice(0, at)}${enc[at] === 'A' ? 'B' : 'A'}${enc.slice(at + 1)}`);
    });
    expect(await failure(text)).toBe(
      `the sops.age entry for ${argocd.publicKey} does not open with its identity: its enc block is damaged (edited by hand?); re-encrypt the file with sops or npm run encrypt`,
    );
  });

  it('a tampered sops.mac', async () => {
    const text = await encryptSecret();
    const mac = String((parse(text) as { sops: { mac: string } }).sops.mac);
    const tampered = edited(text, (doc) =>
      doc.setIn(
        ['sops', 'mac'],
        mac.replace(/data:(.)/, (_, c: string) => `data:${c === 'A' ? 'B' : 'A'}`),
      ),
    );
    expect(await failure(tampered)).toBe('the MAC cannot be decrypted: sops.mac or sops.lastmodified was changed since encryption');
  });

  it('a MAC re-encrypted with the data key over other values', async () => {
    const text = await encryptSecret();
    const { dataKey } = await referenceDecrypt(text, operator.secretKey);
    const forged = edited(text, (doc) =>
      doc.setIn(['sops', 'mac'], encryptValue('0'.repeat(128), 'str', Buffer.from(dataKey), '2025-01-02T03:04:05Z')),
    );
    expect(await failure(forged)).toBe(MAC_MISMATCH);
  });

  it('a wrong lastmodified', async () => {
    const text = await encryptSecret();
    const moved = edited(text, (doc) => doc.setIn(['sops', 'lastmodified'], '2025-01-02T03:04:06Z'));
    expect(await failure(moved)).toBe('the MAC cannot be decrypted: sops.mac or sops.lastmodified was changed since encryption');
  });

  it('an encrypted value whose ciphertext was edited', async () => {
    const text = await encryptSecret();
    const value = String((parse(text) as { stringData: Record<string, string> }).stringData.password);
    const changed = value.replace(/data:(.)/, (_, c: string) => `data:${c === 'A' ? 'B' : 'A'}`);
    const tampered = edited(text, (doc) => doc.setIn(['stringData', 'password'], changed));
    expect(await failure(tampered)).toBe('value at stringData.password cannot be decrypted: it was changed or moved since encryption');
  });

  it('an encrypted value replaced by a valid encryption of another value (edited without sops)', async () => {
    const text = await reencrypted(await encryptSecret(), ['stringData', 'password'], 'another-password');
    expect(await failure(text)).toBe(MAC_MISMATCH);
  });

  it('two encrypted values swapped between keys', async () => {
    const text = await encryptSecret();
    const values = (parse(text) as { stringData: Record<string, string> }).stringData;
    const swapped = edited(text, (doc) => {
      doc.setIn(['stringData', 'api-token'], values.password);
      doc.setIn(['stringData', 'password'], values['api-token']);
    });
    expect(await failure(swapped)).toBe('value at stringData.api-token cannot be decrypted: it was changed or moved since encryption');
  });

  it('two encrypted list items swapped (same path, so only the MAC sees it)', async () => {
    const text = await encryptSecret();
    const hosts = (parse(text) as { stringData: { hosts: string[] } }).stringData.hosts;
    const swapped = edited(text, (doc) => doc.setIn(['stringData', 'hosts'], doc.createNode([hosts[1], hosts[0]])));
    expect(await failure(swapped)).toBe(MAC_MISMATCH);
  });

  it('a value moved to another Secret (a value of another file with the same path)', async () => {
    const a = await encryptSecret();
    const b = await encryptSecret();
    const other = String((parse(b) as { stringData: Record<string, string> }).stringData.password);
    expect(await failure(edited(a, (doc) => doc.setIn(['stringData', 'password'], other)))).toBe(
      'value at stringData.password cannot be decrypted: it was changed or moved since encryption',
    );
  });

  it('a plaintext value edited (the MAC covers every value)', async () => {
    const text = await encryptSecret();
    expect(await failure(edited(text, (doc) => doc.setIn(['metadata', 'name'], 'other')))).toBe(MAC_MISMATCH);
    expect(await failure(edited(text, (doc) => doc.setIn(['metadata', 'labels', 'replicas'], 4)))).toBe(MAC_MISMATCH);
  });

  it('with mac_only_encrypted: an encrypted value edited, and the flag removed or added', async () => {
    const text = await encryptSecret({ macOnlyEncrypted: true });
    // As in sops, plaintext values are outside this MAC.
    const renamed = edited(text, (doc) => doc.setIn(['metadata', 'name'], 'other'));
    expect((await decryptYaml(renamed, [argocd.secretKey])).document.metadata).toMatchObject({ name: 'other' });
    expect(await failure(await reencrypted(text, ['stringData', 'password'], 'another-password'))).toBe(MAC_MISMATCH);
    expect(await failure(edited(text, (doc) => doc.deleteIn(['sops', 'mac_only_encrypted'])))).toBe(MAC_MISMATCH);
    const plain = await encryptSecret();
    expect(await failure(edited(plain, (doc) => doc.setIn(['sops', 'mac_only_encrypted'], true)))).toBe(MAC_MISMATCH);
  });

  it('a value the rule says is encrypted but that is not', async () => {
    const text = await encryptSecret();
    expect(await failure(edited(text, (doc) => doc.setIn(['stringData', 'password'], 'plain')))).toBe(
      "value at stringData.password is not encrypted (not in sops' ENC[AES256_GCM,...] form)",
    );
    expect(await failure(edited(text, (doc) => doc.setIn(['stringData', 'port'], 8443)))).toBe(
      'value at stringData.port is not encrypted (a plain int)',
    );
  });

  it('a missing mac, a missing or malformed lastmodified, a missing sops block', async () => {
    const text = await encryptSecret();
    expect(await failure(edited(text, (doc) => doc.deleteIn(['sops', 'mac'])))).toBe('the sops block has no mac');
    expect(await failure(edited(text, (doc) => doc.deleteIn(['sops', 'lastmodified'])))).toBe('the sops block has no lastmodified');
    expect(await failure(edited(text, (doc) => doc.setIn(['sops', 'lastmodified'], '2025-02-30T00:00:00Z')))).toBe(
      'sops.lastmodified is not an RFC 3339 time',
    );
    expect(await failure(edited(text, (doc) => doc.delete('sops')))).toBe('the document has no sops block: it is not SOPS-encrypted');
  });

  it('a wrong or absent identity, naming the recipients', async () => {
    const text = await encryptManifest(secret(), { ageRecipients: [argocd.publicKey], now: NOW });
    expect(await failure(text, [operator.secretKey])).toBe(
      `no age identity given opens the data key: the file is encrypted for ${argocd.publicKey}`,
    );
    expect(await failure(text, [])).toBe('no age identity given to decrypt it with');
    expect(await failure(text, ['AGE-SECRET-KEY-1NOTAKEY'])).toBe('an age identity given is not a valid AGE-SECRET-KEY-1 key');
  });

  it('where sops-age, which skips the MAC, accepts the file', async () => {
    const text = await reencrypted(await encryptSecret(), ['stringData', 'password'], 'another-password');
    await expect(decryptSops(text, { secretKey: argocd.secretKey, fileType: 'yaml' })).resolves.toMatchObject({
      stringData: { password: 'another-password' },
    });
    expect(await failure(text)).toBe(MAC_MISMATCH);
  });
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const SOPS_FILES = filesUnder(join(REPO_ROOT, 'secrets'))
  .filter((path) => /^sops:/m.test(readFileSync(path, 'utf8')))
  .map((path) => relative(REPO_ROOT, path).split(sep).join('/'))
  .sort();

describe("the project's SOPS files", () => {
  it('are there to test with', () => {
    expect(SOPS_FILES.length).toBeGreaterThanOrEqual(6);
  });

  for (const file of SOPS_FILES) {
    it(`${file} decrypts with both example keys, MAC verified, as the reference decrypter does`, async () => {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8');
      const viaArgocd = await decryptYaml(text, [argocd.secretKey]);
      const viaOperator = await decryptYaml(text, [operator.secretKey]);
      expect(viaOperator.document).toEqual(viaArgocd.document);
      expect(JSON.stringify(viaArgocd.document)).not.toContain('ENC[');
      expect(viaArgocd.document).toEqual((await referenceDecrypt(text, argocd.secretKey)).data);
    });
  }
});
