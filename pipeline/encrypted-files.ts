import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EncryptedFileEntry } from '../framework/contributions.js';
import { isRecord, type Manifest, objectRef, type Problem, type SourcedObject } from '../framework/model.js';
import { sopsEncryptionErrors, sopsRecipients } from '../framework/rules/sops.js';
import { readProjectFile } from './project-files.js';
import { matchCreationRule, parseSopsConfig, type SopsConfig } from './sops/config.js';
import { decodeUtf8, parseManifests } from './yaml.js';

export const SOPS_CONFIG_FILE = '.sops.yaml';
/** Kustomize's (and KSOPS') annotation saying how a generated object combines with an existing one. */
export const BEHAVIOR_ANNOTATION = 'kustomize.config.k8s.io/behavior';

export interface CheckedEncryptedFile {
  readonly object: SourcedObject;
  readonly content: string;
}

/** Loads `.sops.yaml` once per synth; a missing or malformed file becomes a problem when a secret needs it. */
export function loadSopsConfig(root: string): { config?: SopsConfig; error?: string } {
  const path = join(root, SOPS_CONFIG_FILE);
  if (!existsSync(path)) return { error: `${SOPS_CONFIG_FILE} not found at the project root` };
  try {
    return { config: parseSopsConfig(readFileSync(path, 'utf8'), SOPS_CONFIG_FILE) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Checks a SOPS file a SopsSecret references: it exists, holds exactly the declared object, is
 * encrypted (MAC, recipients, no plaintext value) and is encrypted for every recipient of the
 * `.sops.yaml` creation rule that covers it (ArgoCD's key among them).
 */
export function checkEncryptedFile(
  root: string,
  entry: EncryptedFileEntry,
  constructPath: string,
  sops: { config?: SopsConfig; error?: string },
  /** The namespace the app's kustomization sets, if any (see below for what it changes). */
  kustomizeNamespace?: string,
): { file?: CheckedEncryptedFile; problems: Problem[] } {
  const problems: Problem[] = [];
  const origin = { file: entry.source, constructPath };
  const expected = { apiVersion: 'v1', kind: entry.kind, namespace: entry.namespace, name: entry.name };
  const fail = (rule: string, message: string) => {
    problems.push({ origin, object: expected, rule, message });
    return { problems };
  };
  const read = readProjectFile(root, entry.source);
  if ('error' in read) return fail('sops.file', `the SOPS file ${read.error}`);
  // Copied byte for byte: any change would break the MAC, so the text must be exact UTF-8.
  const content = decodeUtf8(read.content);
  if (content === undefined) return fail('sops.file', 'is not valid UTF-8 text');
  const parsed = parseManifests(content, entry.source);
  if (parsed.problems.length > 0) {
    return { problems: parsed.problems.map((problem) => ({ ...problem, origin: { ...problem.origin, constructPath } })) };
  }
  if (parsed.objects.length !== 1) {
    return fail('sops.file', `must hold exactly one document (has ${parsed.objects.length})`);
  }
  const manifest = (parsed.objects[0] as SourcedObject).manifest;
  const ref = objectRef(manifest);
  const behavior = entry.behavior ?? 'create';
  // Kustomize merges generated objects into the app's resources before it applies the
  // kustomization's namespace, matching on the namespace the upstream object has then: none,
  // since upstream manifests that need `namespace:` leave it out. So such a file names none.
  const unnamespaced = kustomizeNamespace !== undefined && behavior !== 'create';
  if (kustomizeNamespace !== undefined && entry.namespace !== kustomizeNamespace) {
    fail(
      'kustomize.namespace',
      `the construct puts the Secret in namespace "${entry.namespace}", but the app's kustomization sets namespace "${kustomizeNamespace}", which kustomize would move it into`,
    );
  }
  if (ref.kind !== entry.kind || ref.name !== entry.name) {
    fail(
      'sops.file',
      `holds ${ref.kind ?? '<no kind>'} ${ref.namespace ?? '<no namespace>'}/${ref.name ?? '<no name>'}, but the construct declares ${entry.kind} ${entry.namespace}/${entry.name}`,
    );
  } else if (unnamespaced && ref.namespace !== undefined) {
    fail(
      'sops.file',
      `names namespace "${ref.namespace}", but a file that kustomize ${behavior}s into an upstream object must name none: the app's kustomization sets namespace "${kustomizeNamespace}" only after generated objects are merged, and the upstream object has none until then (kustomize would report that ${entry.kind} ${ref.namespace}/${entry.name} does not exist); re-create the file without metadata.namespace`,
    );
  } else if (!unnamespaced && ref.namespace !== entry.namespace) {
    fail(
      'sops.file',
      `holds ${ref.kind} ${ref.namespace ?? '<no namespace>'}/${ref.name}, but the construct declares ${entry.kind} ${entry.namespace}/${entry.name}`,
    );
  }
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  const fileBehavior = annotations[BEHAVIOR_ANNOTATION] ?? 'create';
  if (fileBehavior !== behavior) {
    fail(
      'sops.behavior',
      behavior === 'create'
        ? `carries ${BEHAVIOR_ANNOTATION}: ${String(fileBehavior)}, but the construct creates the Secret; remove the annotation or declare behavior "${String(fileBehavior)}"`
        : `must carry the annotation ${BEHAVIOR_ANNOTATION}: ${behavior} (metadata stays readable; re-create the file with it, as editing plaintext breaks the MAC), or kustomize will not ${behavior} it into the upstream Secret`,
    );
  }
  if (behavior === 'merge' && manifest.stringData !== undefined) {
    fail(
      'sops.behavior',
      'uses stringData, which kustomize drops when it merges into an existing Secret (it merges data only); put the values base64-encoded under data',
    );
  }
  const present = new Set(['data', 'stringData'].flatMap((field) => (isRecord(manifest[field]) ? Object.keys(manifest[field]) : [])));
  const absent = (entry.keys ?? []).filter((key) => !present.has(key));
  if (absent.length > 0) {
    fail(
      'sops.keys',
      `lacks the key${absent.length > 1 ? 's' : ''} ${absent.map((key) => `"${key}"`).join(', ')} under data or stringData`,
    );
  }
  const encryptionErrors = sopsEncryptionErrors(manifest);
  for (const error of encryptionErrors) fail('sops.encryption', `is not SOPS-encrypted properly: ${error}`);
  if (!isRecord(manifest.sops)) return { problems };

  if (!sops.config) return fail('sops.config', sops.error ?? `${SOPS_CONFIG_FILE} could not be read`);
  const rule = matchCreationRule(sops.config, entry.source);
  if (!rule) return fail('sops.config', `no creation rule in ${SOPS_CONFIG_FILE} matches ${entry.source}`);
  const recipients = sopsRecipients(manifest as Manifest);
  const missing = [
    ...rule.age.filter((key) => !recipients.age.includes(key)).map((key) => `age ${key}`),
    ...rule.pgp.filter((fp) => !recipients.pgp.some((have) => have.toUpperCase() === fp.toUpperCase())).map((fp) => `pgp ${fp}`),
  ];
  const extra = [
    ...recipients.age.filter((key) => !rule.age.includes(key)).map((key) => `age ${key}`),
    ...recipients.pgp.filter((fp) => !rule.pgp.some((want) => want.toUpperCase() === fp.toUpperCase())).map((fp) => `pgp ${fp}`),
  ];
  if (extra.length > 0) {
    fail(
      'sops.recipients',
      `is also encrypted for ${extra.join(', ')}, which ${SOPS_CONFIG_FILE} does not list (a removed key can still decrypt it); run "sops updatekeys ${entry.source}" and "sops rotate -i ${entry.source}"`,
    );
  }
  if (missing.length > 0) {
    fail(
      'sops.recipients',
      `is not encrypted for ${missing.join(', ')} required by ${SOPS_CONFIG_FILE}; re-key it with "sops updatekeys ${entry.source}"`,
    );
  }
  if (problems.length > 0) return { problems };
  // Checks downstream see the object where it ends up in the cluster.
  const placed = unnamespaced ? { ...manifest, metadata: { ...metadata, namespace: entry.namespace } } : manifest;
  return { file: { object: { manifest: placed, origin }, content }, problems };
}
