/**
 * Decrypts SOPS-encrypted YAML with age identities, the way `sops --decrypt` (and so KSOPS) does,
 * MAC check included: the reverse of encrypt.ts, whose header describes the format. Read from
 * sops 3.11's `aes/cipher.go` (Decrypt), `sops.go` (Tree.Decrypt, ToBytes), `stores/stores.go`
 * (Metadata.ToInternal) and `cmd/sops/common/common.go` (DecryptTree):
 * - The data key is the age-decrypted `enc` of any `sops.age` entry an identity opens.
 * - Every value the file's own rule (`encrypted_regex`, ...) says is encrypted must be an
 *   `ENC[AES256_GCM,...]` value (or an empty string) and opens with its path as additional data;
 *   the `type:` turns the plaintext back into a string, int, float or bool.
 * - The MAC is recomputed over the typed values in document order (as sops' `ToBytes` spells
 *   them) and must equal `sops.mac`, opened with `lastmodified` (re-formatted as Go's RFC 3339)
 *   as additional data.
 * Every failure is a one-line `SopsDecryptError` that names paths, never values or ciphertext.
 */
import { createDecipheriv } from 'node:crypto';
import { armor, Decrypter, identityToRecipient } from 'age-encryption';
import { isRecord } from '../../framework/model.js';
import {
  type CryptRule,
  cryptRule,
  type Leaf,
  leafText,
  macHash,
  macText,
  mapLeaves,
  SopsEncryptError,
  shouldEncrypt,
  type Tree,
  valueAdditionalData,
  yamlTree,
} from './encrypt.js';

export class SopsDecryptError extends Error {
  override readonly name = 'SopsDecryptError';
}

export interface SopsDecryption {
  /** The document without its `sops` block, every value decrypted (ints beyond 2^53 as bigints). */
  readonly document: Record<string, unknown>;
  /** The recipient of the `sops.age` entry whose data key an identity opened. */
  readonly recipient: string;
}

const MAC_MISMATCH = 'the MAC does not match the values: the file was edited without sops; re-encrypt with sops or npm run encrypt';

/** sops' `encre` (not anchored at the end, as in sops). */
const ENCRYPTED = /^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]/;
/** What Go's `base64.StdEncoding.DecodeString` accepts (it skips CR and LF). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const GCM_TAG_BYTES = 16;
/** The comment rules sops has besides the four encrypt.ts knows; they need the file's comments. */
const COMMENT_RULES = ['encrypted_comment_regex', 'unencrypted_comment_regex'];
const VALUE_RULES = ['encrypted_regex', 'unencrypted_regex', 'encrypted_suffix', 'unencrypted_suffix'];

function base64Bytes(text: string): Buffer | undefined {
  const clean = text.replace(/[\r\n]/g, '');
  return BASE64.test(clean) ? Buffer.from(clean, 'base64') : undefined;
}

/** Go's `strconv.ParseBool`. */
function goBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

/** Go's `strconv.Atoi` on a 64-bit platform. */
function goInt(text: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = BigInt(text);
  return value >= -(2n ** 63n) && value < 2n ** 63n ? value : undefined;
}

/** Go's `strconv.ParseFloat(text, 64)` for decimal spellings, infinities and NaN. */
function goFloat(text: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  if (/^nan$/i.test(text)) return Number.NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** The value sops' cipher makes of a decrypted plaintext of the given `type:`. */
function typedLeaf(plaintext: Buffer, type: string, where: string): Leaf {
  const text = plaintext.toString('utf8');
  const invalid = () => new SopsDecryptError(`${where} decrypts to something that is not a valid ${type}`);
  switch (type) {
    case 'str':
      return { kind: 'str', value: text };
    case 'bytes': {
      // sops keeps these bytes as they are; YAML output needs them to be text.
      if (!Buffer.from(text, 'utf8').equals(plaintext)) throw invalid();
      return { kind: 'str', value: text };
    }
    case 'int': {
      const value = goInt(text);
      if (value === undefined) throw invalid();
      return { kind: 'int', value };
    }
    case 'float': {
      const value = goFloat(text);
      if (value === undefined) throw invalid();
      return { kind: 'float', value };
    }
    case 'bool': {
      const value = goBool(text);
      if (value === undefined) throw invalid();
      return { kind: 'bool', value };
    }
    default:
      throw new SopsDecryptError(`${where} has a sops type this decrypter does not support (${JSON.stringify(type.slice(0, 16))})`);
  }
}

/** sops' AES-256-GCM value decryption; `where` names the value in errors. */
function openValue(value: string, dataKey: Buffer, additionalData: string, where: string): Leaf {
  const parts = ENCRYPTED.exec(value);
  if (!parts) throw new SopsDecryptError(`${where} is not encrypted (not in sops' ENC[AES256_GCM,...] form)`);
  const [, data = '', ivText = '', tagText = '', type = ''] = parts;
  const sealed = base64Bytes(data);
  const iv = base64Bytes(ivText);
  const tag = base64Bytes(tagText);
  if (!sealed || !iv || !tag) throw new SopsDecryptError(`${where} is not valid sops ciphertext: a part of it is not base64`);
  // Go's gcm.Open takes the last 16 bytes of data+tag as the tag, whatever the split.
  const joined = Buffer.concat([sealed, tag]);
  const changed = new SopsDecryptError(`${where} cannot be decrypted: it was changed or moved since encryption`);
  if (iv.length === 0 || joined.length < GCM_TAG_BYTES) throw changed;
  let plaintext: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, iv, { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(Buffer.from(additionalData, 'utf8'));
    decipher.setAuthTag(joined.subarray(joined.length - GCM_TAG_BYTES));
    plaintext = Buffer.concat([decipher.update(joined.subarray(0, joined.length - GCM_TAG_BYTES)), decipher.final()]);
  } catch {
    throw changed;
  }
  return typedLeaf(plaintext, type, where);
}

/** sops' `lastmodified` as it is used for the MAC: Go's `time.Parse` then `Format`, both RFC 3339. */
function goRfc3339(value: unknown): string {
  const text = typeof value === 'string' ? value : '';
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!match) {
    throw new SopsDecryptError(text === '' ? 'the sops block has no lastmodified' : 'sops.lastmodified is not an RFC 3339 time');
  }
  const [, year = '', month = '', day = '', hour = '', minute = '', second = '', zone = ''] = match;
  const date = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
  const valid =
    date.getUTCMonth() === Number(month) - 1 &&
    date.getUTCDate() === Number(day) &&
    date.getUTCHours() === Number(hour) &&
    date.getUTCMinutes() === Number(minute) &&
    date.getUTCSeconds() === Number(second) &&
    (zone === 'Z' || (Number(zone.slice(1, 3)) < 24 && Number(zone.slice(4)) < 60));
  if (!valid) throw new SopsDecryptError('sops.lastmodified is not an RFC 3339 time');
  // Go writes a zero offset as Z and drops fractional seconds.
  const offset = zone === '+00:00' || zone === '-00:00' ? 'Z' : zone;
  return `${year}-${month}-${day}T${hour}:${minute}:${second}${offset}`;
}

/** The file's rule of which values are encrypted, as `Metadata.ToInternal` reads it. */
function fileRule(sops: Record<string, unknown>): CryptRule {
  for (const key of COMMENT_RULES) {
    if (sops[key] !== undefined && sops[key] !== '')
      throw new SopsDecryptError(`the sops block uses ${key}, which this decrypter does not support`);
  }
  const given = VALUE_RULES.filter((key) => sops[key] !== undefined && sops[key] !== '');
  if (given.length > 1) throw new SopsDecryptError(`the sops block names more than one of ${VALUE_RULES.join(', ')}`);
  const text = (key: string): string | undefined => {
    const value = sops[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new SopsDecryptError(`sops.${key} is not a string`);
    return value;
  };
  try {
    return cryptRule({
      encryptedRegex: text('encrypted_regex'),
      unencryptedRegex: text('unencrypted_regex'),
      encryptedSuffix: text('encrypted_suffix'),
      unencryptedSuffix: text('unencrypted_suffix'),
    });
  } catch (error) {
    throw new SopsDecryptError(`the sops block's rule is not usable: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The data key, from the first `sops.age` entry one of the identities opens. */
async function dataKeyOf(sops: Record<string, unknown>, secretKeys: readonly string[]): Promise<{ key: Buffer; recipient: string }> {
  if (Array.isArray(sops.key_groups) && sops.key_groups.length > 0) {
    throw new SopsDecryptError('the sops block uses key_groups, which this decrypter does not support');
  }
  const entries = (Array.isArray(sops.age) ? sops.age : []).filter(isRecord);
  const recipients = entries.map((entry) => String(entry.recipient));
  if (entries.length === 0) throw new SopsDecryptError('the file is not encrypted for any age recipient');
  if (secretKeys.length === 0) throw new SopsDecryptError('no age identity given to decrypt it with');
  const decrypter = new Decrypter();
  for (const secretKey of secretKeys) {
    try {
      decrypter.addIdentity(secretKey);
    } catch {
      throw new SopsDecryptError('an age identity given is not a valid AGE-SECRET-KEY-1 key');
    }
  }
  const ownRecipients = new Set(await Promise.all(secretKeys.map((secretKey) => identityToRecipient(secretKey))));
  const damaged: string[] = [];
  for (const entry of entries) {
    if (typeof entry.enc !== 'string') continue;
    let key: Uint8Array;
    try {
      key = await decrypter.decrypt(armor.decode(entry.enc));
    } catch {
      // Encrypted for a given identity, yet it does not open: the block was changed.
      if (ownRecipients.has(String(entry.recipient))) damaged.push(String(entry.recipient));
      continue;
    }
    if (key.length !== 32) throw new SopsDecryptError(`the data key of ${String(entry.recipient)} is ${key.length} bytes, not 32`);
    return { key: Buffer.from(key.buffer, key.byteOffset, key.length), recipient: String(entry.recipient) };
  }
  if (damaged.length > 0) {
    throw new SopsDecryptError(
      `the sops.age entry for ${damaged.join(', ')} does not open with its identity: its enc block is damaged (edited by hand?); re-encrypt the file with sops or npm run encrypt`,
    );
  }
  throw new SopsDecryptError(`no age identity given opens the data key: the file is encrypted for ${recipients.join(', ')}`);
}

/** The tree as plain JavaScript values. */
function plainValue(node: Tree): unknown {
  switch (node.kind) {
    case 'null':
      return null;
    case 'map':
      return Object.fromEntries(node.entries.map(([key, child]) => [key, plainValue(child)]));
    case 'seq':
      return node.items.map(plainValue);
    case 'int':
      return node.value >= BigInt(Number.MIN_SAFE_INTEGER) && node.value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(node.value)
        : node.value;
    default:
      return node.value;
  }
}

/**
 * Decrypts one SOPS-encrypted YAML document with the given age identities (`AGE-SECRET-KEY-1…`)
 * and verifies its MAC, as `sops --decrypt` does; throws a `SopsDecryptError` otherwise.
 */
export async function decryptYaml(text: string, secretKeys: readonly string[]): Promise<SopsDecryption> {
  let tree: Tree;
  try {
    tree = yamlTree(text);
  } catch (error) {
    throw error instanceof SopsEncryptError ? new SopsDecryptError(error.message) : error;
  }
  if (tree.kind !== 'map') throw new SopsDecryptError('the document is not a mapping');
  const metadata = tree.entries.find(([key]) => key === 'sops')?.[1];
  const sops = metadata ? plainValue(metadata) : undefined;
  if (!isRecord(sops)) throw new SopsDecryptError('the document has no sops block: it is not SOPS-encrypted');
  const rule = fileRule(sops);
  if (sops.mac_only_encrypted !== undefined && typeof sops.mac_only_encrypted !== 'boolean') {
    throw new SopsDecryptError('sops.mac_only_encrypted is not a boolean');
  }
  const macOnlyEncrypted = sops.mac_only_encrypted === true;
  if (typeof sops.mac !== 'string' || sops.mac === '') throw new SopsDecryptError('the sops block has no mac');
  const lastModified = goRfc3339(sops.lastmodified);
  const { key, recipient } = await dataKeyOf(sops, secretKeys);
  try {
    const hash = macHash(macOnlyEncrypted);
    const values: Tree = { kind: 'map', entries: tree.entries.filter(([name]) => name !== 'sops') };
    const decrypted = mapLeaves(values, (leaf, path) => {
      const encrypted = shouldEncrypt(rule, path);
      let value = leaf;
      if (encrypted && !(leaf.kind === 'str' && leaf.value === '')) {
        const where = `value at ${path.join('.')}`;
        if (leaf.kind !== 'str') throw new SopsDecryptError(`${where} is not encrypted (a plain ${leaf.kind})`);
        value = openValue(leaf.value, key, valueAdditionalData(path), where);
      }
      if (!macOnlyEncrypted || encrypted) hash.update(leafText(value), 'utf8');
      return value;
    });
    let mac: Leaf;
    try {
      mac = openValue(sops.mac, key, lastModified, 'sops.mac');
    } catch {
      throw new SopsDecryptError('the MAC cannot be decrypted: sops.mac or sops.lastmodified was changed since encryption');
    }
    if (mac.kind !== 'str' || mac.value !== macText(hash)) throw new SopsDecryptError(MAC_MISMATCH);
    return { document: plainValue(decrypted) as Record<string, unknown>, recipient };
  } finally {
    key.fill(0);
  }
}
