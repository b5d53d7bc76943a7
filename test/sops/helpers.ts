/**
 * Test helpers: the example age keys, and a reference sops decrypter that also checks the MAC.
 *
 * The reference decrypter follows sops' decryption path from its specification, separately from
 * pipeline/sops/encrypt.ts: it reads the file back from YAML, finds the data key through age,
 * decrypts every value the file's own metadata says is encrypted (failing on any that is not in
 * `ENC[...]` form, as sops does), recomputes SHA-512 over all values in document order and
 * compares it with the decrypted `sops.mac`. sops-age, the independent decrypter the tests also
 * use, does not check the MAC.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { armor, Decrypter, identityToRecipient } from 'age-encryption';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXAMPLE_KEYS_FILE = fileURLToPath(new URL('../fixtures/sops/example-age-keys.txt', import.meta.url));

export interface ExampleKey {
  readonly role: string;
  readonly secretKey: string;
  readonly publicKey: string;
  /** The `# public key:` comment, to compare with the key derived from the secret key. */
  readonly declaredPublicKey: string;
}

/** The example keys, by the `# role:` comment above each one. */
export async function loadExampleKeys(): Promise<Record<'operator' | 'argocd', ExampleKey>> {
  const text = readFileSync(EXAMPLE_KEYS_FILE, 'utf8');
  const found: Record<string, ExampleKey> = {};
  let role = '';
  let declared = '';
  for (const line of text.split('\n')) {
    const roleMatch = /^# role: (\S+)/.exec(line);
    if (roleMatch) role = roleMatch[1] ?? '';
    const publicMatch = /^# public key: (\S+)/.exec(line);
    if (publicMatch) declared = publicMatch[1] ?? '';
    if (line.startsWith('AGE-SECRET-KEY-1')) {
      found[role] = { role, secretKey: line.trim(), publicKey: await identityToRecipient(line.trim()), declaredPublicKey: declared };
    }
  }
  const { operator, argocd } = found;
  if (!operator || !argocd) throw new Error(`${EXAMPLE_KEYS_FILE} must hold an operator and an argocd key`);
  return { operator, argocd };
}

export class MacMismatchError extends Error {}

const ENC_VALUE = /^ENC\[AES256_GCM,data:(.*),iv:(.+),tag:(.+),type:(.+)\]$/;

/** Opens one `ENC[...]` value; `aad` is the path joined with ':' plus ':' (or lastmodified for the MAC). */
export function openValue(value: string, dataKey: Uint8Array, aad: string): { text: string; type: string } {
  const parts = ENC_VALUE.exec(value);
  if (!parts) throw new Error(`value at "${aad}" is not in sops' encrypted format: ${value}`);
  const [, data = '', iv = '', tag = '', type = ''] = parts;
  const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(iv, 'base64'));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  const text = Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
  return { text, type };
}

function typed(text: string, type: string): unknown {
  if (type === 'str') return text;
  if (type === 'int') return Number.parseInt(text, 10);
  if (type === 'float') return Number.parseFloat(text);
  // Go's strconv.ParseBool, which sops uses, accepts several spellings.
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new Error(`unknown sops type ${type} or bad value ${text}`);
}

/** The bytes sops hashes for a value once decrypted and typed: bools as True/False (its Python heritage). */
function macBytes(value: unknown): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' && /e/i.test(String(value))) throw new Error(`reference decrypter cannot format ${value} like Go`);
  return String(value);
}

export interface ReferenceDecryption {
  readonly data: Record<string, unknown>;
  readonly dataKey: Uint8Array;
  readonly metadata: Record<string, unknown>;
}

/** Decrypts a sops YAML file with one age identity and verifies its MAC (throws MacMismatchError). */
export async function referenceDecrypt(text: string, secretKey: string): Promise<ReferenceDecryption> {
  const doc = parseDocument(text, { intAsBigInt: true });
  if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors[0]?.message}`);
  const metadata: unknown = doc.get('sops');
  const meta = (isMap(metadata) ? metadata.toJSON() : undefined) as Record<string, unknown> | undefined;
  if (!meta) throw new Error('no sops metadata');

  const recipient = await identityToRecipient(secretKey);
  const entry = (meta.age as Array<{ recipient: string; enc: string }>).find((e) => e.recipient === recipient);
  if (!entry) throw new Error(`file is not encrypted for ${recipient}`);
  const decrypter = new Decrypter();
  decrypter.addIdentity(secretKey);
  const dataKey = await decrypter.decrypt(armor.decode(entry.enc));
  if (dataKey.length !== 32) throw new Error(`data key has ${dataKey.length} bytes, expected 32`);

  const hasKey = (path: string[], test: (key: string) => boolean) => path.some(test);
  const isEncrypted = (path: string[]): boolean => {
    if (typeof meta.encrypted_regex === 'string') return hasKey(path, (k) => new RegExp(meta.encrypted_regex as string).test(k));
    if (typeof meta.unencrypted_regex === 'string') return !hasKey(path, (k) => new RegExp(meta.unencrypted_regex as string).test(k));
    if (typeof meta.encrypted_suffix === 'string') return hasKey(path, (k) => k.endsWith(meta.encrypted_suffix as string));
    const suffix = typeof meta.unencrypted_suffix === 'string' ? meta.unencrypted_suffix : '_unencrypted';
    return !hasKey(path, (k) => k.endsWith(suffix));
  };
  const macOnlyEncrypted = meta.mac_only_encrypted === true;
  const hash = createHash('sha512');
  // sops' fixed 32-byte prefix for mac_only_encrypted MACs (the SHA-256 of "sops"), spelled out.
  if (macOnlyEncrypted) hash.update(Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex'));

  const visit = (node: unknown, path: string[]): unknown => {
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
        if (path.length === 0 && key === 'sops') continue;
        out[key] = visit(pair.value, [...path, key]);
      }
      return out;
    }
    if (isSeq(node)) return node.items.map((item) => visit(item, path));
    const value: unknown = isScalar(node) ? node.value : node;
    if (value === null || value === undefined) return null;
    const encrypted = isEncrypted(path);
    let plain: unknown = typeof value === 'bigint' ? Number(value) : value;
    if (encrypted && value !== '') {
      if (typeof value !== 'string') throw new Error(`value at ${path.join('.')} should be encrypted but is a ${typeof value}`);
      const opened = openValue(value, dataKey, `${path.join(':')}:`);
      plain = typed(opened.text, opened.type);
    }
    if (!macOnlyEncrypted || encrypted) hash.update(macBytes(plain), 'utf8');
    return plain;
  };
  const data = visit(doc.contents, []) as Record<string, unknown>;

  const storedMac = openValue(String(meta.mac), dataKey, String(meta.lastmodified)).text;
  const computed = hash.digest('hex').toUpperCase();
  if (storedMac !== computed) throw new MacMismatchError(`MAC mismatch: file says ${storedMac}, values give ${computed}`);
  return { data, dataKey, metadata: meta };
}
