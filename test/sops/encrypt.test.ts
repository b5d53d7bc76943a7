import { armor, Decrypter } from 'age-encryption';
import { decryptSops } from 'sops-age';
import { beforeAll, describe, expect, it } from 'vitest';
import { isMap, isScalar, parse, parseDocument } from 'yaml';
import {
  DEFAULT_UNENCRYPTED_SUFFIX,
  encryptManifest,
  encryptYaml,
  formatGoFloat,
  SOPS_VERSION,
  sopsTimestamp,
} from '../../pipeline/sops/encrypt.js';
import { type ExampleKey, loadExampleKeys, MacMismatchError, openValue, referenceDecrypt } from './helpers.js';

const DATA_REGEX = '^(data|stringData)$';
const NOW = new Date('2025-01-02T03:04:05.678Z');

let operator: ExampleKey;
let argocd: ExampleKey;

beforeAll(async () => {
  ({ operator, argocd } = await loadExampleKeys());
});

function secret(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'demo', namespace: 'default', labels: { app: 'demo', replicas: 3 } },
    type: 'Opaque',
    data: { 'ca.crt': 'LS0tLS1CRUdJTg==', empty: '' },
    stringData: { 'api-token': 'example-token-0000', port: 8443, ratio: 0.25, enabled: true, off: false, nothing: null },
  };
}

async function encryptSecret(extra: Partial<Parameters<typeof encryptManifest>[1]> = {}): Promise<string> {
  return encryptManifest(secret(), {
    ageRecipients: [operator.publicKey, argocd.publicKey],
    encryptedRegex: DATA_REGEX,
    now: NOW,
    ...extra,
  });
}

function asRecord(value: unknown): Record<string, unknown> {
  return value as Record<string, unknown>;
}

describe('encryptManifest round trip', () => {
  it('decrypts with sops-age (an independent implementation) using either example key', async () => {
    const text = await encryptSecret();
    for (const key of [operator, argocd]) {
      const decrypted = await decryptSops(text, { secretKey: key.secretKey, fileType: 'yaml' });
      expect(decrypted).toEqual(secret());
    }
  });

  it('decrypts with the reference decrypter and the MAC verifies', async () => {
    const text = await encryptSecret();
    const { data } = await referenceDecrypt(text, argocd.secretKey);
    expect(data).toEqual(secret());
  });

  it('encrypts only values under data/stringData, keeps the rest readable', async () => {
    const doc = asRecord(parse(await encryptSecret()));
    expect(doc.apiVersion).toBe('v1');
    expect(doc.kind).toBe('Secret');
    expect(doc.type).toBe('Opaque');
    expect(doc.metadata).toEqual(secret().metadata);
    const data = asRecord(doc.data);
    const stringData = asRecord(doc.stringData);
    expect(data['ca.crt']).toMatch(/^ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:str\]$/);
    expect(data.empty).toBe(''); // sops leaves empty strings empty
    expect(stringData['api-token']).toMatch(/type:str\]$/);
    expect(stringData.port).toMatch(/type:int\]$/);
    expect(stringData.ratio).toMatch(/type:float\]$/);
    expect(stringData.enabled).toMatch(/type:bool\]$/);
    expect(stringData.off).toMatch(/type:bool\]$/);
    expect(stringData.nothing).toBeNull(); // sops does not touch null
  });

  it('encrypts the plaintext forms sops uses: True/False, decimal ints, shortest floats', async () => {
    const text = await encryptSecret();
    const { dataKey } = await referenceDecrypt(text, operator.secretKey);
    const stringData = asRecord(asRecord(parse(text)).stringData);
    const raw = (key: string) => openValue(String(stringData[key]), dataKey, `stringData:${key}:`);
    expect(raw('enabled')).toEqual({ text: 'True', type: 'bool' });
    expect(raw('off')).toEqual({ text: 'False', type: 'bool' });
    expect(raw('port')).toEqual({ text: '8443', type: 'int' });
    expect(raw('ratio')).toEqual({ text: '0.25', type: 'float' });
    expect(raw('api-token')).toEqual({ text: 'example-token-0000', type: 'str' });
  });

  it('encrypts any value with a matching key anywhere on its path, as sops does', async () => {
    const manifest = {
      kind: 'Thing',
      spec: { template: { data: { nested: 'secret' }, other: 'plain' } },
      metadata: { annotations: { 'x-data': 'plain too' } },
    };
    const text = await encryptManifest(manifest, { ageRecipients: [operator.publicKey], encryptedRegex: DATA_REGEX, now: NOW });
    const doc = asRecord(parse(text));
    expect(asRecord(asRecord(asRecord(doc.spec).template).data).nested).toMatch(/^ENC\[/);
    expect(asRecord(asRecord(doc.spec).template).other).toBe('plain');
    expect(asRecord(asRecord(doc.metadata).annotations)['x-data']).toBe('plain too');
    expect((await referenceDecrypt(text, operator.secretKey)).data).toEqual(manifest);
  });

  it('encrypts list items under their list key (indices are not part of the additional data)', async () => {
    const manifest = { stringData: { hosts: ['a.example', 'b.example', 7] } };
    const text = await encryptManifest(manifest, { ageRecipients: [operator.publicKey], encryptedRegex: DATA_REGEX, now: NOW });
    const hosts = asRecord(asRecord(parse(text)).stringData).hosts as string[];
    expect(hosts).toHaveLength(3);
    for (const item of hosts) expect(item).toMatch(/^ENC\[/);
    expect(await decryptSops(text, { secretKey: operator.secretKey, fileType: 'yaml' })).toEqual(manifest);
    expect((await referenceDecrypt(text, operator.secretKey)).data).toEqual(manifest);
  });

  it('uses a fresh 32-byte data key, 32-byte nonces and 16-byte tags', async () => {
    const a = await encryptSecret();
    const b = await encryptSecret();
    const token = (text: string) => String(asRecord(asRecord(parse(text)).stringData)['api-token']);
    expect(token(a)).not.toBe(token(b));
    const match = /iv:([^,]+),tag:([^,]+),/.exec(token(a));
    expect(Buffer.from(match?.[1] ?? '', 'base64')).toHaveLength(32);
    expect(Buffer.from(match?.[2] ?? '', 'base64')).toHaveLength(16);
    const keyA = (await referenceDecrypt(a, operator.secretKey)).dataKey;
    const keyB = (await referenceDecrypt(b, operator.secretKey)).dataKey;
    expect(keyA).toHaveLength(32);
    expect(Buffer.from(keyA).equals(Buffer.from(keyB))).toBe(false);
  });
});

describe('sops metadata', () => {
  it('is written in sops 3.9 order with the rule, time and version', async () => {
    const doc = parseDocument(await encryptSecret());
    expect(Object.keys(doc.toJS() as object)).toEqual(['apiVersion', 'kind', 'metadata', 'type', 'data', 'stringData', 'sops']);
    const sops = asRecord(asRecord(doc.toJS()).sops);
    expect(Object.keys(sops)).toEqual([
      'kms',
      'gcp_kms',
      'azure_kv',
      'hc_vault',
      'age',
      'lastmodified',
      'mac',
      'pgp',
      'encrypted_regex',
      'version',
    ]);
    expect(sops.kms).toEqual([]);
    expect(sops.pgp).toEqual([]);
    expect(sops.lastmodified).toBe('2025-01-02T03:04:05Z');
    expect(sops.encrypted_regex).toBe(DATA_REGEX);
    expect(sops.version).toBe(SOPS_VERSION);
    expect(sops.mac).toMatch(/^ENC\[AES256_GCM,data:[^,]+,iv:[^,]+,tag:[^,]+,type:str\]$/);
  });

  it('encrypts the data key separately for each recipient, in order', async () => {
    const text = await encryptSecret();
    const sops = asRecord(asRecord(parse(text)).sops);
    const age = sops.age as Array<{ recipient: string; enc: string }>;
    expect(age.map((entry) => entry.recipient)).toEqual([operator.publicKey, argocd.publicKey]);
    for (const entry of age) {
      expect(entry.enc.startsWith('-----BEGIN AGE ENCRYPTED FILE-----\n')).toBe(true);
      expect(entry.enc.endsWith('\n-----END AGE ENCRYPTED FILE-----\n')).toBe(true);
    }
    const open = async (enc: string, secretKey: string) => {
      const decrypter = new Decrypter();
      decrypter.addIdentity(secretKey);
      return Buffer.from(await decrypter.decrypt(armor.decode(enc)));
    };
    const [first, second] = age;
    const viaOperator = await open(first?.enc ?? '', operator.secretKey);
    const viaArgocd = await open(second?.enc ?? '', argocd.secretKey);
    expect(viaOperator).toHaveLength(32);
    expect(viaOperator.equals(viaArgocd)).toBe(true);
    await expect(open(first?.enc ?? '', argocd.secretKey)).rejects.toThrow();
  });

  it('drops duplicate recipients and ignores surrounding spaces', async () => {
    const text = await encryptManifest(
      { data: { a: 'b' } },
      { ageRecipients: [` ${operator.publicKey} `, operator.publicKey], encryptedRegex: DATA_REGEX, now: NOW },
    );
    const age = asRecord(asRecord(parse(text)).sops).age as Array<{ recipient: string }>;
    expect(age.map((entry) => entry.recipient)).toEqual([operator.publicKey]);
  });
});

describe('MAC and tampering', () => {
  async function tampered(edit: (text: string) => string): Promise<string> {
    const text = await encryptSecret();
    const changed = edit(text);
    expect(changed).not.toBe(text);
    return changed;
  }

  it('covers unencrypted values too: changing metadata breaks the MAC', async () => {
    const text = await tampered((t) => t.replace('name: demo', 'name: evil'));
    await expect(referenceDecrypt(text, operator.secretKey)).rejects.toThrow(MacMismatchError);
  });

  it('covers the order of values: swapping two keys breaks the MAC', async () => {
    const text = await tampered((t) => t.replace('    name: demo\n    namespace: default\n', '    namespace: default\n    name: demo\n'));
    await expect(referenceDecrypt(text, operator.secretKey)).rejects.toThrow(MacMismatchError);
  });

  it('fails when an encrypted value is altered', async () => {
    const text = await tampered((t) =>
      t.replace(/(api-token: ENC\[AES256_GCM,data:)(.)/, (_m, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`),
    );
    await expect(decryptSops(text, { secretKey: operator.secretKey, fileType: 'yaml' })).rejects.toThrow();
    await expect(referenceDecrypt(text, operator.secretKey)).rejects.toThrow();
  });

  it('fails when an encrypted value is moved to another key (its path is authenticated)', async () => {
    const original = await encryptSecret();
    const doc = asRecord(parse(original));
    const token = String(asRecord(doc.stringData)['api-token']);
    const text = original.replace(/ca\.crt: ENC\[[^\]]+\]/, `ca.crt: ${token}`);
    await expect(decryptSops(text, { secretKey: operator.secretKey, fileType: 'yaml' })).rejects.toThrow();
    await expect(referenceDecrypt(text, operator.secretKey)).rejects.toThrow();
  });

  it('fails when a plaintext value replaces an encrypted one', async () => {
    const text = await tampered((t) => t.replace(/api-token: ENC\[[^\]]+\]/, 'api-token: injected'));
    await expect(referenceDecrypt(text, operator.secretKey)).rejects.toThrow(/not in sops' encrypted format/);
  });

  it('fails when the MAC is altered or swapped with another file’s', async () => {
    const text = await encryptSecret();
    const macOf = (t: string) => String(asRecord(asRecord(parse(t)).sops).mac);
    const otherMac = macOf(await encryptSecret());
    await expect(referenceDecrypt(text.replace(macOf(text), otherMac), operator.secretKey)).rejects.toThrow();
    const flipped = text.replace(/(mac: ENC\[AES256_GCM,data:)(.)/, (_m, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`);
    await expect(referenceDecrypt(flipped, operator.secretKey)).rejects.toThrow();
  });

  it('fails when lastmodified (the MAC’s additional data) is changed', async () => {
    const text = await tampered((t) => t.replace('2025-01-02T03:04:05Z', '2025-01-02T03:04:06Z'));
    await expect(referenceDecrypt(text, operator.secretKey)).rejects.toThrow();
  });

  it('with mac_only_encrypted, covers only encrypted values', async () => {
    const text = await encryptSecret({ macOnlyEncrypted: true });
    expect(asRecord(asRecord(parse(text)).sops).mac_only_encrypted).toBe(true);
    await expect(referenceDecrypt(text, operator.secretKey)).resolves.toBeDefined();
    const renamed = text.replace('name: demo', 'name: other');
    await expect(referenceDecrypt(renamed, operator.secretKey)).resolves.toBeDefined();
    const broken = text.replace(/api-token: ENC\[[^\]]+\]/, `api-token: ${String(asRecord(asRecord(parse(text)).stringData).port)}`);
    await expect(referenceDecrypt(broken, operator.secretKey)).rejects.toThrow();
  });
});

describe('selection rules other than encrypted_regex', () => {
  it('defaults to unencrypted_suffix _unencrypted, like sops', async () => {
    const manifest = { password: 'secret', note_unencrypted: 'visible', nested: { count: 2 } };
    const text = await encryptManifest(manifest, { ageRecipients: [operator.publicKey], now: NOW });
    const doc = asRecord(parse(text));
    expect(doc.password).toMatch(/^ENC\[/);
    expect(doc.note_unencrypted).toBe('visible');
    expect(asRecord(doc.nested).count).toMatch(/type:int\]$/);
    expect(asRecord(doc.sops).unencrypted_suffix).toBe(DEFAULT_UNENCRYPTED_SUFFIX);
    expect(await decryptSops(text, { secretKey: operator.secretKey, fileType: 'yaml' })).toEqual(manifest);
    expect((await referenceDecrypt(text, operator.secretKey)).data).toEqual(manifest);
  });

  it('supports unencrypted_regex and encrypted_suffix', async () => {
    const manifest = { keep: { a: 'x' }, secret: 'y', token_enc: 'z' };
    const unenc = await encryptManifest(manifest, { ageRecipients: [operator.publicKey], unencryptedRegex: '^keep$', now: NOW });
    expect(asRecord(asRecord(parse(unenc)).keep).a).toBe('x');
    expect(asRecord(parse(unenc)).secret).toMatch(/^ENC\[/);
    expect((await referenceDecrypt(unenc, operator.secretKey)).data).toEqual(manifest);
    const suffix = await encryptManifest(manifest, { ageRecipients: [operator.publicKey], encryptedSuffix: '_enc', now: NOW });
    expect(asRecord(parse(suffix)).secret).toBe('y');
    expect(asRecord(parse(suffix)).token_enc).toMatch(/^ENC\[/);
    expect((await referenceDecrypt(suffix, operator.secretKey)).data).toEqual(manifest);
  });

  it('refuses more than one selection rule', async () => {
    await expect(
      encryptManifest({ a: 'b' }, { ageRecipients: [operator.publicKey], encryptedRegex: 'a', unencryptedSuffix: '_x' }),
    ).rejects.toThrow(/at most one/);
  });
});

describe('input checks', () => {
  const opts = () => ({ ageRecipients: [operator.publicKey], encryptedRegex: DATA_REGEX });

  it('refuses a document that is already encrypted', async () => {
    const text = await encryptSecret();
    await expect(encryptManifest(asRecord(parse(text)), opts())).rejects.toThrow(/already/);
  });

  it('refuses missing or malformed recipients', async () => {
    await expect(encryptManifest({ data: { a: 'b' } }, { ageRecipients: [] })).rejects.toThrow(/no age recipient/);
    await expect(encryptManifest({ data: { a: 'b' } }, { ageRecipients: ['age1notakey'] })).rejects.toThrow(/not an age/);
    await expect(encryptManifest({ data: { a: 'b' } }, { ageRecipients: [operator.secretKey] })).rejects.toThrow(/not an age/);
    const badChecksum = `${operator.publicKey.slice(0, -1)}${operator.publicKey.endsWith('q') ? 'p' : 'q'}`;
    await expect(encryptManifest({ data: { a: 'b' } }, { ageRecipients: [badChecksum] })).rejects.toThrow();
  });

  it('refuses values sops cannot represent and non-string keys', async () => {
    await expect(encryptManifest({ data: { when: new Date() } }, opts())).rejects.toThrow(/data\.when.*Date/);
    await expect(encryptManifest(new Map<unknown, unknown>([[1, 'x']]) as Map<string, unknown>, opts())).rejects.toThrow(/non-string key/);
  });

  it('keeps Map key order exactly and drops undefined properties', async () => {
    const manifest = new Map<string, unknown>([
      ['kind', 'Secret'],
      [
        'data',
        new Map([
          ['2', 'two'],
          ['1', 'one'],
        ]),
      ],
      ['skip', undefined],
    ]);
    const doc = parseDocument(await encryptManifest(manifest, opts()));
    const keysOf = (node: unknown) => (isMap(node) ? node.items.map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key)) : []);
    expect(keysOf(doc.contents)).toEqual(['kind', 'data', 'sops']);
    expect(keysOf(doc.get('data'))).toEqual(['2', '1']);
  });

  it('emits YAML 1.1-ambiguous strings quoted so they stay strings', async () => {
    const text = await encryptManifest({ metadata: { labels: { a: 'yes', b: 'on', c: '0755' } }, data: { x: 'y' } }, opts());
    expect(text).toContain('a: "yes"');
    expect(text).toContain('b: "on"');
    expect(text).toContain('c: "0755"');
  });
});

describe('encryptYaml', () => {
  const opts = () => ({ ageRecipients: [operator.publicKey], encryptedRegex: DATA_REGEX, now: NOW });

  it('keeps the YAML int/float distinction for sops types', async () => {
    const text = await encryptYaml('kind: X\ndata:\n  whole: 3\n  float: 1.0\n  exp: 1e3\n  hex: 0x10\n', opts());
    const data = asRecord(asRecord(parse(text)).data);
    expect(data.whole).toMatch(/type:int\]$/);
    expect(data.float).toMatch(/type:float\]$/);
    expect(data.exp).toMatch(/type:float\]$/);
    expect(data.hex).toMatch(/type:int\]$/);
    const { data: plain } = await referenceDecrypt(text, operator.secretKey);
    expect(plain).toEqual({ kind: 'X', data: { whole: 3, float: 1, exp: 1000, hex: 16 } });
  });

  it('expands aliases and refuses multi-document or broken YAML', async () => {
    const text = await encryptYaml('base: &b hello\ndata:\n  copy: *b\n', opts());
    expect((await referenceDecrypt(text, operator.secretKey)).data).toEqual({ base: 'hello', data: { copy: 'hello' } });
    await expect(encryptYaml('a: 1\n---\nb: 2\n', opts())).rejects.toThrow(/exactly one YAML document/);
    await expect(encryptYaml('a: [1\n', opts())).rejects.toThrow(/YAML syntax error/);
    await expect(encryptYaml('- a\n- b\n', opts())).rejects.toThrow(/not a mapping/);
    await expect(encryptYaml('1: a\n', opts())).rejects.toThrow(/non-string key/);
  });
});

describe('value formatting helpers', () => {
  it('formats floats like Go strconv.FormatFloat(f, "f", -1, 64)', () => {
    expect(formatGoFloat(0.25)).toBe('0.25');
    expect(formatGoFloat(1000)).toBe('1000');
    expect(formatGoFloat(1e21)).toBe('1000000000000000000000');
    expect(formatGoFloat(1.5e-7)).toBe('0.00000015');
    expect(formatGoFloat(-2.5e-7)).toBe('-0.00000025');
    expect(formatGoFloat(1.2345e22)).toBe('12345000000000000000000');
    expect(formatGoFloat(Number.NaN)).toBe('NaN');
    expect(formatGoFloat(Number.POSITIVE_INFINITY)).toBe('+Inf');
    expect(formatGoFloat(Number.NEGATIVE_INFINITY)).toBe('-Inf');
  });

  it('formats lastmodified as RFC 3339 UTC with whole seconds', () => {
    expect(sopsTimestamp(new Date('2024-03-25T22:08:10.999Z'))).toBe('2024-03-25T22:08:10Z');
    expect(() => sopsTimestamp(new Date('nope'))).toThrow(/invalid date/);
  });
});
