import { readFileSync } from 'node:fs';
import { identityToRecipient } from 'age-encryption';
import { parse as parseYaml } from 'yaml';
import { isRecord, type Manifest } from '../../framework/model.js';
import { decryptYaml } from '../sops/decrypt.js';

/** The age identities of a keys file (age-keygen format: `AGE-SECRET-KEY-1...` lines). */
export async function readAgeIdentities(file: string): Promise<{ secretKey: string; recipient: string }[]> {
  const identities: { secretKey: string; recipient: string }[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const key = line.trim();
    if (key.startsWith('AGE-SECRET-KEY-1')) identities.push({ secretKey: key, recipient: await identityToRecipient(key) });
  }
  return identities;
}

export interface StandInSecret {
  readonly manifest: Manifest;
  /** The recipient whose identity decrypted it, or undefined when its values were left out. */
  readonly decryptedFor?: string;
}

/**
 * What KSOPS generates from one SOPS file: decrypted (MAC verified) with the first identity the
 * file is encrypted for, or, without one, the object with every value replaced by an empty string
 * (keys and metadata are plaintext in the file, so the build still sees the Secret).
 */
export async function standInSecret(text: string, identities: readonly { secretKey: string; recipient: string }[]): Promise<StandInSecret> {
  const document: unknown = parseYaml(text, { uniqueKeys: false });
  if (!isRecord(document)) throw new Error('is not a YAML mapping');
  const sops = isRecord(document.sops) ? document.sops : {};
  const recipients = Array.isArray(sops.age) ? sops.age.map((entry) => (isRecord(entry) ? entry.recipient : undefined)) : [];
  const identity = identities.find((candidate) => recipients.includes(candidate.recipient));
  if (identity) {
    // Like KSOPS (sops --decrypt): a file whose values or MAC do not verify is refused.
    const { document: manifest } = await decryptYaml(text, [identity.secretKey]);
    return { manifest, decryptedFor: identity.recipient };
  }
  const { sops: _sops, ...manifest } = document;
  for (const field of ['data', 'stringData']) {
    if (isRecord(manifest[field])) manifest[field] = Object.fromEntries(Object.keys(manifest[field]).map((key) => [key, '']));
  }
  return { manifest };
}
