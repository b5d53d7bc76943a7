/**
 * Reads a `.sops.yaml` the way sops does for `creation_rules`: the first rule whose `path_regex`
 * matches the file's path (relative to the directory holding `.sops.yaml`) wins, and a rule
 * without `path_regex` matches every file. Key lists may be a comma-separated string or a YAML
 * list. Where sops would fail later (a second encryption-selection rule, a regex that does not
 * compile, a recipient that is no key), this fails at once with the rule's number and field, and
 * it also refuses keys sops does not know, as a misspelt `encrypted_regex` would silently leave a
 * secret unencrypted.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { isAgeRecipient } from '../../framework/rules/network.js';
import { repeatedKey } from '../yaml.js';
import { goRegExp } from './regex.js';

export class SopsConfigError extends Error {
  override readonly name = 'SopsConfigError';
}

export interface SopsCreationRule {
  /** Position in `creation_rules`, from 1 (for messages). */
  readonly index: number;
  readonly pathRegex?: string | undefined;
  readonly encryptedRegex?: string | undefined;
  readonly unencryptedRegex?: string | undefined;
  readonly encryptedSuffix?: string | undefined;
  readonly unencryptedSuffix?: string | undefined;
  readonly encryptedCommentRegex?: string | undefined;
  readonly unencryptedCommentRegex?: string | undefined;
  readonly macOnlyEncrypted: boolean;
  /** age recipients (public keys), in order, without duplicates. */
  readonly age: readonly string[];
  /** PGP fingerprints, in order, without duplicates. */
  readonly pgp: readonly string[];
  /** Other key sources the rule uses (`kms`, `key_groups`, ...), by their field name. */
  readonly otherKeySources: readonly string[];
}

export interface SopsConfig {
  /** The file the config was read from, for messages. */
  readonly file: string;
  readonly creationRules: readonly SopsCreationRule[];
}

const TOP_LEVEL_KEYS = new Set(['creation_rules', 'destination_rules', 'stores']);

const STRING_FIELDS = {
  path_regex: 'pathRegex',
  encrypted_regex: 'encryptedRegex',
  unencrypted_regex: 'unencryptedRegex',
  encrypted_suffix: 'encryptedSuffix',
  unencrypted_suffix: 'unencryptedSuffix',
  encrypted_comment_regex: 'encryptedCommentRegex',
  unencrypted_comment_regex: 'unencryptedCommentRegex',
} as const;

type StringField = keyof typeof STRING_FIELDS;

const REGEX_FIELDS: ReadonlySet<string> = new Set([
  'path_regex',
  'encrypted_regex',
  'unencrypted_regex',
  'encrypted_comment_regex',
  'unencrypted_comment_regex',
]);

/** The fields that choose which values are encrypted; sops allows one per rule. */
const SELECTION_FIELDS: readonly StringField[] = [
  'encrypted_regex',
  'unencrypted_regex',
  'encrypted_suffix',
  'unencrypted_suffix',
  'encrypted_comment_regex',
  'unencrypted_comment_regex',
];

/** Key sources given as a string (comma-separated) or a list of strings. */
const LIST_KEY_SOURCES = ['kms', 'gcp_kms', 'azure_keyvault', 'hc_vault_transit_uri', 'hckms'] as const;

/** Further fields sops accepts in a creation rule. */
const OTHER_RULE_FIELDS = ['key_groups', 'plugins', 'shamir_threshold', 'timeout', 'aws_profile', 'mac_only_encrypted'] as const;

const RULE_KEYS: ReadonlySet<string> = new Set([...Object.keys(STRING_FIELDS), 'age', 'pgp', ...LIST_KEY_SOURCES, ...OTHER_RULE_FIELDS]);

/** `age1<plugin name>1<data>`: sops hands these to an age plugin. */
const AGE_PLUGIN = /^age1[a-z0-9-]+1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]+$/;

/** The compiled `path_regex` of each rule, kept out of the plain rule objects. */
const pathPatterns = new WeakMap<SopsCreationRule, RegExp>();

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A key list as sops reads it: a comma-separated string or a list of strings; blanks dropped. */
function keyList(value: unknown, where: string): string[] {
  if (value === null || value === undefined) return [];
  const parts: string[] = [];
  if (typeof value === 'string') {
    parts.push(...value.split(','));
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => {
      if (typeof item !== 'string') {
        throw new SopsConfigError(`${where}[${i}] must be a string, not ${describe(item)}`);
      }
      parts.push(...item.split(','));
    });
  } else {
    throw new SopsConfigError(`${where} must be a string (comma-separated) or a list of strings, not ${describe(value)}`);
  }
  const out: string[] = [];
  for (const part of parts.map((p) => p.trim())) {
    if (part !== '' && !out.includes(part)) out.push(part);
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value} (${JSON.stringify(value)})`;
}

function checkAgeRecipient(recipient: string, where: string): void {
  if (isAgeRecipient(recipient) || AGE_PLUGIN.test(recipient) || /^ssh-(ed25519|rsa) \S+/.test(recipient)) return;
  const hint = recipient.startsWith('AGE-SECRET-KEY-') ? ' — that is a PRIVATE key; put only public keys (age1…) in .sops.yaml' : '';
  throw new SopsConfigError(`${where}: ${JSON.stringify(recipient)} is not an age public key (age1…, 62 characters)${hint}`);
}

function parseRule(raw: unknown, index: number, where: string): SopsCreationRule {
  if (!isPlainRecord(raw)) throw new SopsConfigError(`${where} must be a mapping, not ${describe(raw)}`);
  const unknown = Object.keys(raw).filter((key) => !RULE_KEYS.has(key));
  if (unknown.length > 0) {
    throw new SopsConfigError(
      `${where} has unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (known: ${[...RULE_KEYS].join(', ')})`,
    );
  }
  const strings: Partial<Record<StringField, string>> = {};
  for (const field of Object.keys(STRING_FIELDS) as StringField[]) {
    const value = raw[field];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') throw new SopsConfigError(`${where}.${field} must be a string, not ${describe(value)}`);
    if (REGEX_FIELDS.has(field)) {
      try {
        goRegExp(value);
      } catch (error) {
        throw new SopsConfigError(`${where}.${field}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    strings[field] = value;
  }
  const selection = SELECTION_FIELDS.filter((field) => strings[field] !== undefined);
  if (selection.length > 1) {
    throw new SopsConfigError(`${where} sets ${selection.join(' and ')}; sops allows only one of ${SELECTION_FIELDS.join(', ')} per rule`);
  }
  const macOnly = raw.mac_only_encrypted;
  if (macOnly !== undefined && macOnly !== null && typeof macOnly !== 'boolean') {
    throw new SopsConfigError(`${where}.mac_only_encrypted must be true or false, not ${describe(macOnly)}`);
  }
  const age = keyList(raw.age, `${where}.age`);
  for (const recipient of age) checkAgeRecipient(recipient, `${where}.age`);
  const pgp = keyList(raw.pgp, `${where}.pgp`);
  const otherKeySources: string[] = [];
  for (const field of LIST_KEY_SOURCES) {
    if (keyList(raw[field], `${where}.${field}`).length > 0) otherKeySources.push(field);
  }
  for (const field of ['key_groups', 'plugins'] as const) {
    const value = raw[field];
    if (value === undefined || value === null) continue;
    if (!Array.isArray(value)) throw new SopsConfigError(`${where}.${field} must be a list, not ${describe(value)}`);
    if (value.length > 0) otherKeySources.push(field);
  }
  const rule: SopsCreationRule = {
    index,
    pathRegex: strings.path_regex,
    encryptedRegex: strings.encrypted_regex,
    unencryptedRegex: strings.unencrypted_regex,
    encryptedSuffix: strings.encrypted_suffix,
    unencryptedSuffix: strings.unencrypted_suffix,
    encryptedCommentRegex: strings.encrypted_comment_regex,
    unencryptedCommentRegex: strings.unencrypted_comment_regex,
    macOnlyEncrypted: macOnly === true,
    age,
    pgp,
    otherKeySources,
  };
  if (strings.path_regex !== undefined) pathPatterns.set(rule, goRegExp(strings.path_regex));
  return rule;
}

/**
 * Parses the text of a `.sops.yaml`. `file` names it in error messages. Throws
 * {@link SopsConfigError} for YAML errors and for anything sops would reject or misread.
 */
export function parseSopsConfig(text: string, file: string): SopsConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const [error] = doc.errors;
  if (error) {
    const pos = lineCounter.linePos(error.pos[0]);
    throw new SopsConfigError(`${file}: YAML syntax error at line ${pos.line}, column ${pos.col}: ${error.message.split('\n')[0] ?? ''}`);
  }
  const repeated = repeatedKey(doc);
  if (repeated) {
    const pos = lineCounter.linePos(repeated.offset);
    throw new SopsConfigError(
      `${file}: YAML syntax error at line ${pos.line}, column ${pos.col}: the key "${repeated.key}" appears twice in one mapping: remove the other`,
    );
  }
  if (doc.contents === null) return { file, creationRules: [] };
  if (!isMap(doc.contents)) {
    throw new SopsConfigError(`${file}: must be a YAML mapping with a "creation_rules" list`);
  }
  for (const pair of doc.contents.items) {
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    if (typeof key !== 'string' || !TOP_LEVEL_KEYS.has(key)) {
      throw new SopsConfigError(
        `${file}: unknown top-level field ${JSON.stringify(String(key))} (known: ${[...TOP_LEVEL_KEYS].join(', ')})`,
      );
    }
  }
  const rulesNode = doc.contents.get('creation_rules', true);
  if (rulesNode === undefined || (isScalar(rulesNode) && rulesNode.value === null)) return { file, creationRules: [] };
  if (!isSeq(rulesNode)) throw new SopsConfigError(`${file}: creation_rules must be a list of rules`);
  const raw: unknown = rulesNode.toJSON();
  const rules = (raw as unknown[]).map((rule, i) => parseRule(rule, i + 1, `${file}: creation_rules[${i}]`));
  return { file, creationRules: rules };
}

/** A repo-relative path as sops compares it: forward slashes, no leading "./". */
function normalisePath(relPath: string): string {
  let path = relPath.replaceAll('\\', '/');
  while (path.startsWith('./')) path = path.slice(2);
  return path;
}

/**
 * The creation rule sops would use for a file, given its path relative to the directory that
 * holds `.sops.yaml`: the first rule whose `path_regex` matches anywhere in the path (or that has
 * no `path_regex`). `undefined` when none matches — sops then refuses to encrypt.
 */
export function matchCreationRule(config: SopsConfig, relPath: string): SopsCreationRule | undefined {
  const path = normalisePath(relPath);
  return config.creationRules.find((rule) => {
    if (rule.pathRegex === undefined) return true;
    const pattern = pathPatterns.get(rule) ?? goRegExp(rule.pathRegex);
    return pattern.test(path);
  });
}
