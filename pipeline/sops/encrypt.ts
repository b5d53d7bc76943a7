/**
 * Writes SOPS-encrypted YAML for age recipients, the way `sops --encrypt` 3.9 does, for the
 * machines where the sops binary cannot be installed. Operators normally use `sops` itself
 * (docs/secrets.md); what this writes is an ordinary sops file that `sops`, KSOPS and any other
 * sops implementation decrypt.
 *
 * The format, as sops defines it:
 * - A random 32-byte data key encrypts every value that is to be encrypted with AES-256-GCM and a
 *   random 32-byte nonce; the additional data is the value's path of mapping keys joined with ':'
 *   plus a trailing ':' (list indices are not part of the path). The result is written as
 *   `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<str|int|float|bool>]`. Empty strings stay
 *   empty and null values are left alone.
 * - Which values are encrypted: with `encrypted_regex`, a value whose path has a key matching the
 *   regex; with `unencrypted_regex`, every value except those whose path has a matching key; the
 *   suffix variants likewise. With none of them, sops' default `unencrypted_suffix: _unencrypted`.
 * - The MAC is SHA-512 over the plaintext of every value in document order, whether encrypted or
 *   not (unless `mac_only_encrypted`, where only the encrypted values count, after a fixed 32-byte
 *   prefix), written as upper-case hex, then encrypted like a string value with the data key and
 *   `lastmodified` as the additional data.
 * - The data key is age-encrypted (ASCII armored) separately for each recipient.
 */
import { createCipheriv, createHash, type Hash, randomBytes } from 'node:crypto';
import { armor, Encrypter } from 'age-encryption';
import { Document, isAlias, isMap, isScalar, isSeq, parseAllDocuments, Scalar, YAMLMap, YAMLSeq, type Node as YamlNode } from 'yaml';
import { isAgeRecipient } from '../../framework/rules/network.js';
import { repeatedKey } from '../yaml.js';
import { goRegExp } from './regex.js';

/** The sops release whose output format (metadata fields and their order) this reproduces. */
export const SOPS_VERSION = '3.9.4';

/** What sops leaves unencrypted when a creation rule names no other rule. */
export const DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted';

/** An X25519 age recipient (sops 3.9 hands every other `age1…` form to an age plugin). */

export interface EncryptOptions {
  /** age public keys (`age1…`); the data key is encrypted for each of them. */
  readonly ageRecipients: readonly string[];
  /** Encrypt only values under a key matching this (RE2) regex, e.g. `^(data|stringData)$`. */
  readonly encryptedRegex?: string | undefined;
  /** Encrypt everything except values under a key matching this regex. */
  readonly unencryptedRegex?: string | undefined;
  /** Encrypt only values under a key ending with this suffix. */
  readonly encryptedSuffix?: string | undefined;
  /** Encrypt everything except values under a key ending with this suffix (default `_unencrypted`). */
  readonly unencryptedSuffix?: string | undefined;
  /** sops' `mac_only_encrypted`: the MAC covers only the values that are encrypted. */
  readonly macOnlyEncrypted?: boolean | undefined;
  /** The `lastmodified` time (default: now). */
  readonly now?: Date | undefined;
}

export class SopsEncryptError extends Error {
  override readonly name = 'SopsEncryptError';
}

// ---------------------------------------------------------------------------------------------
// The document as sops sees it: ordered mappings with string keys, lists, and typed scalars.

/** A value of the document (what sops encrypts), by its sops type. */
export type Leaf =
  | { readonly kind: 'str'; readonly value: string }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean };

export type Tree =
  | Leaf
  | { readonly kind: 'null' }
  | { readonly kind: 'map'; readonly entries: ReadonlyArray<readonly [string, Tree]> }
  | { readonly kind: 'seq'; readonly items: readonly Tree[] };

type TreeMap = Extract<Tree, { kind: 'map' }>;

function describePath(path: readonly string[]): string {
  return path.length === 0 ? 'the document' : `"${path.join('.')}"`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function fromNumber(value: number): Leaf {
  return Number.isSafeInteger(value) ? { kind: 'int', value: BigInt(value) } : { kind: 'float', value };
}

/** Converts a JavaScript value (plain objects, Maps, arrays, scalars) into the sops tree. */
function fromValue(value: unknown, path: readonly string[]): Tree {
  if (value === null || value === undefined) return { kind: 'null' };
  switch (typeof value) {
    case 'string':
      return { kind: 'str', value };
    case 'boolean':
      return { kind: 'bool', value };
    case 'bigint':
      return { kind: 'int', value };
    case 'number':
      return fromNumber(value);
    default:
      break;
  }
  if (Array.isArray(value)) {
    return { kind: 'seq', items: value.map((item) => fromValue(item, path)) };
  }
  if (value instanceof Map) {
    const entries: Array<readonly [string, Tree]> = [];
    for (const [key, child] of value as Map<unknown, unknown>) {
      if (typeof key !== 'string') {
        throw new SopsEncryptError(`${describePath(path)} has a non-string key (${String(key)}); sops supports only string keys`);
      }
      if (child !== undefined) entries.push([key, fromValue(child, [...path, key])]);
    }
    return { kind: 'map', entries };
  }
  if (isPlainObject(value)) {
    const entries: Array<readonly [string, Tree]> = [];
    for (const [key, child] of Object.entries(value)) {
      if (child !== undefined) entries.push([key, fromValue(child, [...path, key])]);
    }
    return { kind: 'map', entries };
  }
  const what = typeof value === 'object' ? (value.constructor?.name ?? 'object') : typeof value;
  throw new SopsEncryptError(`${describePath(path)} holds a value sops cannot encrypt (${what})`);
}

/** Converts a parsed YAML node into the sops tree, keeping YAML's int/float distinction. */
function fromYamlNode(node: unknown, doc: Document, path: readonly string[], depth = 0): Tree {
  if (depth > 200) throw new SopsEncryptError(`${describePath(path)} is nested too deeply (alias loop?)`);
  if (node === null || node === undefined) return { kind: 'null' };
  if (isAlias(node)) return fromYamlNode(node.resolve(doc), doc, path, depth + 1);
  if (isScalar(node)) {
    const value: unknown = node.value;
    if (value === null || value === undefined) return { kind: 'null' };
    switch (typeof value) {
      case 'string':
        return { kind: 'str', value };
      case 'boolean':
        return { kind: 'bool', value };
      case 'bigint':
        return { kind: 'int', value };
      // With intAsBigInt, every YAML int is a bigint, so a number here is a YAML float.
      case 'number':
        return { kind: 'float', value };
      default:
        throw new SopsEncryptError(`${describePath(path)} holds a YAML value sops cannot encrypt`);
    }
  }
  if (isSeq(node)) {
    return { kind: 'seq', items: node.items.map((item) => fromYamlNode(item, doc, path, depth + 1)) };
  }
  if (isMap(node)) {
    const entries: Array<readonly [string, Tree]> = [];
    for (const pair of node.items) {
      const keyNode = isAlias(pair.key) ? pair.key.resolve(doc) : pair.key;
      const key: unknown = isScalar(keyNode) ? keyNode.value : keyNode;
      if (typeof key !== 'string') {
        throw new SopsEncryptError(`${describePath(path)} has a non-string key (${String(key)}); sops supports only string keys`);
      }
      if (key === '<<' && isScalar(keyNode) && keyNode.type === 'PLAIN') {
        throw new SopsEncryptError(`${describePath(path)} uses a YAML merge key (<<), which this helper does not support`);
      }
      entries.push([key, fromYamlNode(pair.value, doc, [...path, key], depth + 1)]);
    }
    return { kind: 'map', entries };
  }
  throw new SopsEncryptError(`${describePath(path)} holds a YAML node sops cannot encrypt`);
}

// ---------------------------------------------------------------------------------------------
// Values as sops turns them into bytes.

/** Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, never an exponent. */
export function formatGoFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Object.is(value, -0)) return '-0';
  const text = String(value);
  const exp = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!exp) return text;
  const sign = exp[1] ?? '';
  const whole = exp[2] ?? '';
  const digits = whole + (exp[3] ?? '');
  const point = whole.length + Number(exp[4]);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** The plaintext bytes sops hashes into the MAC and encrypts (Python-style `True`/`False`): its `ToBytes`. */
export function leafText(leaf: Leaf): string {
  switch (leaf.kind) {
    case 'str':
      return leaf.value;
    case 'int':
      return leaf.value.toString(10);
    case 'float':
      return formatGoFloat(leaf.value);
    case 'bool':
      return leaf.value ? 'True' : 'False';
  }
}

/** The `type:` sops records for each kind of value. */
const SOPS_TYPE: Record<Leaf['kind'], string> = { str: 'str', int: 'int', float: 'float', bool: 'bool' };

/** sops' AES-256-GCM value encryption, with a 32-byte nonce and the given additional data. */
export function encryptValue(plaintext: string, type: string, dataKey: Buffer, additionalData: string): string {
  const iv = randomBytes(32);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv, { authTagLength: 16 });
  cipher.setAAD(Buffer.from(additionalData, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${tag.toString('base64')},type:${type}]`;
}

/** RFC 3339 in UTC with whole seconds, as Go's `time.RFC3339` formats sops' `lastmodified`. */
export function sopsTimestamp(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new SopsEncryptError('lastmodified: invalid date');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ---------------------------------------------------------------------------------------------
// Which values get encrypted.

export type CryptRule =
  | { readonly kind: 'encrypted_regex' | 'unencrypted_regex'; readonly pattern: string; readonly regex: RegExp }
  | { readonly kind: 'encrypted_suffix' | 'unencrypted_suffix'; readonly suffix: string };

/** The one rule of which values are encrypted (sops' default when none is given). */
export function cryptRule(
  opts: Pick<EncryptOptions, 'encryptedRegex' | 'unencryptedRegex' | 'encryptedSuffix' | 'unencryptedSuffix'>,
): CryptRule {
  const chosen: CryptRule[] = [];
  if (opts.encryptedRegex !== undefined && opts.encryptedRegex !== '') {
    chosen.push({ kind: 'encrypted_regex', pattern: opts.encryptedRegex, regex: goRegExp(opts.encryptedRegex) });
  }
  if (opts.unencryptedRegex !== undefined && opts.unencryptedRegex !== '') {
    chosen.push({ kind: 'unencrypted_regex', pattern: opts.unencryptedRegex, regex: goRegExp(opts.unencryptedRegex) });
  }
  if (opts.encryptedSuffix !== undefined && opts.encryptedSuffix !== '') {
    chosen.push({ kind: 'encrypted_suffix', suffix: opts.encryptedSuffix });
  }
  if (opts.unencryptedSuffix !== undefined && opts.unencryptedSuffix !== '') {
    chosen.push({ kind: 'unencrypted_suffix', suffix: opts.unencryptedSuffix });
  }
  if (chosen.length > 1) {
    throw new SopsEncryptError(
      'use at most one of encryptedRegex, unencryptedRegex, encryptedSuffix and unencryptedSuffix (sops allows only one)',
    );
  }
  return chosen[0] ?? { kind: 'unencrypted_suffix', suffix: DEFAULT_UNENCRYPTED_SUFFIX };
}

/** sops' rule: does any key on the value's path select it (or exempt it)? */
export function shouldEncrypt(rule: CryptRule, path: readonly string[]): boolean {
  switch (rule.kind) {
    case 'encrypted_regex':
      return path.some((key) => rule.regex.test(key));
    case 'unencrypted_regex':
      return !path.some((key) => rule.regex.test(key));
    case 'encrypted_suffix':
      return path.some((key) => key.endsWith(rule.suffix));
    case 'unencrypted_suffix':
      return !path.some((key) => key.endsWith(rule.suffix));
  }
}

function checkRecipients(recipients: readonly string[]): string[] {
  const unique: string[] = [];
  for (const raw of recipients) {
    const recipient = raw.trim();
    if (!isAgeRecipient(recipient)) {
      throw new SopsEncryptError(`not an age X25519 public key (age1… , 62 characters): ${JSON.stringify(raw)}`);
    }
    if (!unique.includes(recipient)) unique.push(recipient);
  }
  if (unique.length === 0) throw new SopsEncryptError('no age recipient given: nobody could decrypt the file');
  return unique;
}

// ---------------------------------------------------------------------------------------------
// sops' tree walk and MAC, shared with decrypt.ts.

/**
 * The tree with every value replaced by what `visit` makes of it, visited in document order with
 * its path of mapping keys, as sops' `walkBranch` does. List items share their list's path
 * (indices are not part of it); null values are left alone and not visited.
 */
export function mapLeaves(node: Tree, visit: (leaf: Leaf, path: readonly string[]) => Tree, path: readonly string[] = []): Tree {
  switch (node.kind) {
    case 'null':
      return node;
    case 'map':
      return { kind: 'map', entries: node.entries.map(([key, child]) => [key, mapLeaves(child, visit, [...path, key])] as const) };
    case 'seq':
      return { kind: 'seq', items: node.items.map((item) => mapLeaves(item, visit, path)) };
    default:
      return visit(node, path);
  }
}

/** The hash of sops' MAC; with `mac_only_encrypted`, seeded so it never equals a MAC over all values. */
export function macHash(macOnlyEncrypted: boolean): Hash {
  const hash = createHash('sha512');
  // sops' MACOnlyEncryptedInitialization: the 32 bytes of SHA-256("sops").
  if (macOnlyEncrypted) hash.update(createHash('sha256').update('sops').digest());
  return hash;
}

/** The MAC as sops writes it before encrypting it: upper-case hex. */
export function macText(hash: Hash): string {
  return hash.digest('hex').toUpperCase();
}

/** The additional data of a value's encryption: its path joined with ':', plus a trailing ':'. */
export function valueAdditionalData(path: readonly string[]): string {
  return `${path.join(':')}:`;
}

// ---------------------------------------------------------------------------------------------
// Encryption.

interface Encrypted {
  readonly tree: TreeMap;
  readonly mac: string;
}

function encryptTree(tree: TreeMap, rule: CryptRule, macOnlyEncrypted: boolean, dataKey: Buffer): Encrypted {
  const hash = macHash(macOnlyEncrypted);
  const out = mapLeaves(tree, (node, path) => {
    const encrypted = shouldEncrypt(rule, path);
    const text = leafText(node);
    if (!macOnlyEncrypted || encrypted) hash.update(text, 'utf8');
    if (!encrypted) return node;
    // sops leaves empty strings empty rather than encrypting them.
    if (node.kind === 'str' && node.value === '') return node;
    return { kind: 'str', value: encryptValue(text, SOPS_TYPE[node.kind], dataKey, valueAdditionalData(path)) };
  });
  if (out.kind !== 'map') throw new SopsEncryptError('internal error: the document stopped being a mapping');
  return { tree: out, mac: macText(hash) };
}

async function encryptDataKey(dataKey: Buffer, recipient: string): Promise<string> {
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  return armor.encode(await encrypter.encrypt(new Uint8Array(dataKey)));
}

/** YAML nodes built by hand: a JavaScript Map would turn into `!!omap` under the YAML 1.1 schema. */
function toYamlNode(node: Tree): YAMLMap | YAMLSeq | Scalar {
  switch (node.kind) {
    case 'null':
      return new Scalar(null);
    case 'map': {
      const map = new YAMLMap();
      for (const [key, child] of node.entries) map.set(key, toYamlNode(child));
      return map;
    }
    case 'seq': {
      const seq = new YAMLSeq();
      for (const item of node.items) seq.items.push(toYamlNode(item));
      return seq;
    }
    default:
      return new Scalar(node.value);
  }
}

async function encryptTreeToYaml(tree: Tree, opts: EncryptOptions): Promise<string> {
  if (tree.kind !== 'map') throw new SopsEncryptError('the document is not a mapping; sops encrypts mappings (Kubernetes objects)');
  if (tree.entries.some(([key]) => key === 'sops')) {
    throw new SopsEncryptError('the document already has a top-level "sops" key: it is encrypted already');
  }
  const recipients = checkRecipients(opts.ageRecipients);
  const rule = cryptRule(opts);
  const lastModified = sopsTimestamp(opts.now ?? new Date());
  const macOnlyEncrypted = opts.macOnlyEncrypted === true;

  const dataKey = randomBytes(32);
  const { tree: encrypted, mac } = encryptTree(tree, rule, macOnlyEncrypted, dataKey);
  const encryptedMac = encryptValue(mac, 'str', dataKey, lastModified);
  const ageEntries: Array<[string, string]> = [];
  for (const recipient of recipients) ageEntries.push([recipient, await encryptDataKey(dataKey, recipient)]);
  dataKey.fill(0);

  // YAML 1.1 quoting keeps strings such as "yes" or "0755" strings for every YAML reader.
  const doc = new Document(null, { version: '1.1' });
  const contents = toYamlNode(encrypted) as YAMLMap;
  doc.contents = contents;
  const metadata = new YAMLMap();
  for (const service of ['kms', 'gcp_kms', 'azure_kv', 'hc_vault']) metadata.set(service, new YAMLSeq());
  const age = new YAMLSeq();
  for (const [recipient, enc] of ageEntries) {
    const entry = new YAMLMap();
    entry.set('recipient', recipient);
    const armored = new Scalar(enc);
    armored.type = 'BLOCK_LITERAL';
    entry.set('enc', armored);
    age.items.push(entry);
  }
  metadata.set('age', age);
  const stamp = new Scalar(lastModified);
  stamp.type = 'QUOTE_DOUBLE';
  metadata.set('lastmodified', stamp);
  metadata.set('mac', encryptedMac);
  metadata.set('pgp', new YAMLSeq());
  metadata.set(rule.kind, 'suffix' in rule ? rule.suffix : rule.pattern);
  if (macOnlyEncrypted) metadata.set('mac_only_encrypted', true);
  metadata.set('version', SOPS_VERSION);
  contents.set('sops', metadata);
  return doc.toString({ indent: 4, indentSeq: true, lineWidth: 0 });
}

/**
 * Encrypts a Kubernetes manifest (or any mapping) for the given age recipients and returns the
 * sops-format YAML. Keys keep their order (a `Map` keeps it exactly; a plain object follows
 * JavaScript's property order). Integers become sops `int` values, other numbers `float`;
 * `undefined` properties are dropped, as YAML serialisation would.
 */
export async function encryptManifest(
  manifest: Readonly<Record<string, unknown>> | ReadonlyMap<string, unknown>,
  opts: EncryptOptions,
): Promise<string> {
  return encryptTreeToYaml(fromValue(manifest, []), opts);
}

/**
 * Encrypts one plaintext YAML document, as `sops --encrypt` would. YAML ints and floats keep
 * their sops types; aliases are expanded. Comments are not carried over (sops would keep them,
 * encrypting those inside encrypted sections). Multi-document input is refused.
 */
export async function encryptYaml(text: string, opts: EncryptOptions): Promise<string> {
  return encryptTreeToYaml(yamlTree(text), opts);
}

/**
 * The sops tree of one YAML document, as sops' YAML store reads it: YAML ints and floats keep
 * their types, aliases are expanded, comments are dropped. Multi-document input is refused.
 */
export function yamlTree(text: string): Tree {
  const documents = parseAllDocuments(text, { intAsBigInt: true, uniqueKeys: false, prettyErrors: false });
  const list = Array.isArray(documents) ? documents : [documents];
  const nonEmpty = list.filter((doc) => doc.contents !== null || doc.errors.length > 0);
  if (nonEmpty.length !== 1) {
    throw new SopsEncryptError(`expected exactly one YAML document, found ${nonEmpty.length}`);
  }
  const doc = nonEmpty[0] as Document;
  const [error] = doc.errors;
  if (error) throw new SopsEncryptError(`YAML syntax error: ${error.message.split('\n')[0] ?? error.message}`);
  // sops' YAML reader refuses a repeated key; found in one pass (the YAML library's check is quadratic).
  const repeated = repeatedKey(doc);
  if (repeated) throw new SopsEncryptError(`YAML syntax error: the key "${repeated.key}" appears twice in one mapping`);
  return fromYamlNode(doc.contents as YamlNode | null, doc, []);
}
