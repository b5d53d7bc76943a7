import { isRecord, type Manifest } from '../model.js';
import { isAgeRecipient } from './network.js';

/** A value as sops writes it: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:str]`. */
const ENCRYPTED_VALUE =
  /^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),tag:([A-Za-z0-9+/=]+),type:(str|int|float|bool|bytes|comment)\]$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const PGP_FINGERPRINT = /^[0-9A-Fa-f]{40}$/;

const decodedLength = (value: string) => Buffer.from(value, 'base64').length;

/** Whether a value is a well-formed sops ciphertext: base64 parts, a 32-byte IV and a 16-byte GCM tag. */
export function isEncryptedValue(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const match = ENCRYPTED_VALUE.exec(value);
  if (!match) return false;
  const [, data = '', iv = '', tag = ''] = match;
  return BASE64.test(data) && BASE64.test(iv) && BASE64.test(tag) && decodedLength(iv) === 32 && decodedLength(tag) === 16;
}

export interface SopsRecipients {
  readonly age: readonly string[];
  readonly pgp: readonly string[];
  /** Other key services sops supports (KMS, Vault, ...), by their block name. */
  readonly other: readonly string[];
}

/** Recipients recorded in a document's `sops` block (empty lists when there is none). */
export function sopsRecipients(manifest: Manifest): SopsRecipients {
  const sops = isRecord(manifest.sops) ? manifest.sops : {};
  const list = (key: string, field: string): string[] => {
    const entries = sops[key];
    if (!Array.isArray(entries)) return [];
    return entries
      .map((entry) => (isRecord(entry) && typeof entry[field] === 'string' ? (entry[field] as string) : ''))
      .filter((value) => value.length > 0);
  };
  const other = ['kms', 'gcp_kms', 'azure_kv', 'hc_vault'].filter((key) => {
    const entries = sops[key];
    return Array.isArray(entries) && entries.length > 0;
  });
  return { age: list('age', 'recipient'), pgp: list('pgp', 'fp'), other };
}

/** Paths (`data.api-token`) of every leaf under data/stringData that is not an encrypted value. */
export function plaintextSecretPaths(manifest: Manifest): string[] {
  const paths: string[] = [];
  const visit = (value: unknown, path: string): void => {
    if (isRecord(value)) {
      for (const [key, child] of Object.entries(value)) visit(child, `${path}.${key}`);
    } else if (Array.isArray(value)) {
      value.forEach((child, index) => {
        visit(child, `${path}[${index}]`);
      });
    } else if (!isEncryptedValue(value)) {
      paths.push(path);
    }
  };
  for (const field of ['data', 'stringData']) {
    if (manifest[field] !== undefined && manifest[field] !== null) visit(manifest[field], field);
  }
  return paths;
}

export function hasSecretValues(manifest: Manifest): boolean {
  return ['data', 'stringData'].some((field) => {
    const value = manifest[field];
    return isRecord(value) && Object.keys(value).length > 0;
  });
}

/**
 * Why a document is not a properly SOPS-encrypted manifest, or an empty list when it is:
 * a `sops` block with a MAC and at least one recipient, and no plaintext value under data/stringData.
 */
export function sopsEncryptionErrors(manifest: Manifest): string[] {
  const sops = manifest.sops;
  if (!isRecord(sops)) {
    return ['has no "sops" block: it is not SOPS-encrypted'];
  }
  const errors: string[] = [];
  if (!isEncryptedValue(sops.mac)) errors.push('its sops block has no encrypted MAC ("sops.mac")');
  const recipients = sopsRecipients(manifest);
  if (recipients.age.length + recipients.pgp.length + recipients.other.length === 0) {
    errors.push('its sops block names no recipient (age, pgp, kms, ...)');
  }
  for (const key of recipients.age)
    if (!isAgeRecipient(key)) errors.push(`its age recipient "${key}" is not an age public key (a mistyped character breaks its checksum)`);
  for (const fp of recipients.pgp)
    if (!PGP_FINGERPRINT.test(fp)) errors.push(`its pgp recipient "${fp}" is not a 40-digit key fingerprint`);
  const entries = ['age', 'pgp'].flatMap((key) => (Array.isArray(sops[key]) ? (sops[key] as unknown[]) : []));
  if (entries.some((entry) => !isRecord(entry) || typeof entry.enc !== 'string' || entry.enc.length === 0)) {
    errors.push('a recipient in its sops block has no encrypted data key ("enc")');
  }
  const plaintext = plaintextSecretPaths(manifest);
  if (plaintext.length > 0) {
    errors.push(`holds plaintext values at ${plaintext.join(', ')}`);
  }
  return errors;
}

/** A copy without the sops block and the encrypted fields, for schema validation. */
export function withoutSopsFields(manifest: Manifest): Manifest {
  const { sops: _sops, data: _data, stringData: _stringData, ...rest } = manifest;
  return rest;
}
