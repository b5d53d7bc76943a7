import {
  formatOrigin,
  groupOf,
  isRecord,
  type Manifest,
  type Origin,
  objectRef,
  type Problem,
  type SourcedObject,
} from '../framework/model.js';
import { apiServerViolations, podTemplatePorts } from '../framework/rules/api-server.js';
import {
  ANNOTATIONS_MAX_BYTES,
  dns1123LabelError,
  generateNameError,
  labelValueError,
  objectNameError,
  qualifiedNameError,
} from '../framework/rules/metadata.js';
import { hasSecretValues, sopsEncryptionErrors, withoutSopsFields } from '../framework/rules/sops.js';
import { unknownFieldsOfObject } from '../framework/structure.js';
import { type KindInfo, removedApi, type SchemaRegistry } from './schemas.js';

export interface ValidationResult<T extends SourcedObject = SourcedObject> {
  readonly problems: Problem[];
  /** Every object after `kind: List` is flattened (items keep the List's extra fields), with its kind's info. */
  readonly objects: (T & { readonly info?: KindInfo })[];
}

type Flattened<T extends SourcedObject> = T & {
  /** The sops block of the enclosing List, when a whole List was encrypted as one document. */
  readonly inheritedSops?: unknown;
};

function flatten<T extends SourcedObject>(objects: readonly T[], problems: Problem[]): Flattened<T>[] {
  const out: Flattened<T>[] = [];
  for (const object of objects) {
    const { manifest, origin } = object;
    // `v1 List`, and typed lists such as `ConfigMapList` that kubectl prints.
    if (
      typeof manifest.kind === 'string' &&
      manifest.kind.endsWith('List') &&
      (manifest.kind === 'List' || Array.isArray(manifest.items))
    ) {
      const items = manifest.items;
      if (!Array.isArray(items)) {
        problems.push({ origin, object: objectRef(manifest), rule: 'list', message: 'a List must have an "items" array' });
        continue;
      }
      items.forEach((item, index) => {
        const itemOrigin: Origin = { ...origin, listItem: index };
        if (!isRecord(item)) {
          problems.push({ origin: itemOrigin, rule: 'list', message: 'a List item must be a mapping (an object)' });
          return;
        }
        if (item.kind === 'List' || (typeof item.kind === 'string' && item.kind.endsWith('List') && Array.isArray(item.items))) {
          problems.push({
            origin: itemOrigin,
            object: objectRef(item),
            rule: 'list',
            message: 'Lists inside a List are not supported; list the objects directly',
          });
          return;
        }
        // Spread first: fields the caller attached to the List (such as its app) carry over to its items.
        out.push({ ...object, manifest: item, origin: itemOrigin, inheritedSops: manifest.sops });
      });
    } else {
      out.push(object);
    }
  }
  return out;
}

/** Reads apiVersion, kind and name; reports what is missing. Returns false when the object is unusable. */
function checkIdentity(object: Flattened<SourcedObject>, problems: Problem[]): boolean {
  const { manifest, origin } = object;
  const ref = objectRef(manifest);
  let ok = true;
  const missing = (rule: string, message: string) => {
    problems.push({ origin, object: ref, rule, message });
    ok = false;
  };
  const describe = (value: unknown) => (Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`);
  const requireString = (value: unknown, field: string, rule: string) => {
    if (value === undefined || value === '') missing(rule, `has no ${field}`);
    else if (typeof value !== 'string') missing(rule, `${field} must be a string (got ${describe(value)})`);
  };
  requireString(manifest.apiVersion, 'apiVersion', 'identity.apiVersion');
  requireString(manifest.kind, 'kind', 'identity.kind');
  const metadata = manifest.metadata;
  if (metadata === undefined) {
    missing('identity.metadata', 'has no metadata');
  } else if (!isRecord(metadata)) {
    missing('identity.metadata', `metadata must be a mapping (got ${describe(metadata)})`);
  } else if (metadata.name === undefined && metadata.generateName === undefined) {
    missing('identity.name', 'has no metadata.name (nor metadata.generateName)');
  } else if (metadata.name !== undefined && typeof metadata.name !== 'string') {
    missing('identity.name', `metadata.name must be a string (got ${describe(metadata.name)})`);
  } else if (metadata.name === undefined && typeof metadata.generateName !== 'string') {
    missing('identity.name', `metadata.generateName must be a string (got ${describe(metadata.generateName)})`);
  }
  return ok;
}

function checkStringMap(
  value: unknown,
  field: string,
  checkValue: ((value: string) => string | undefined) | undefined,
  report: (rule: string, message: string) => void,
): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    report(`metadata.${field}`, `metadata.${field} must be a mapping of strings`);
    return;
  }
  for (const [key, entry] of Object.entries(value)) {
    const keyError = qualifiedNameError(key);
    if (keyError) report(`metadata.${field}`, `metadata.${field} key "${key}" ${keyError}`);
    if (typeof entry !== 'string') {
      report(`metadata.${field}`, `metadata.${field} "${key}" must be a string (quote it in YAML)`);
    } else if (checkValue) {
      const valueError = checkValue(entry);
      if (valueError) report(`metadata.${field}`, `metadata.${field} "${key}" value "${entry}" ${valueError}`);
    }
  }
}

/** etcd's default --max-request-bytes (1.5 MiB): an object larger than this cannot be stored. */
const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;
/** The API server's limit on a ConfigMap's or Secret's data (core MaxSecretSize, 1 MiB). */
const MAX_DATA_BYTES = 1024 * 1024;
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
/** Annotations that make an object a sync hook, the one place ArgoCD takes generateName. */
const HOOK_ANNOTATIONS = ['argocd.argoproj.io/hook', 'helm.sh/hook'];

/** Why a ConfigMap or Secret key is refused by the API server (apimachinery IsConfigMapKey), or undefined. */
function dataKeyError(key: string): string | undefined {
  if (Buffer.byteLength(key) > 253) return 'is longer than 253 characters';
  if (!DATA_KEY.test(key)) return "may hold only letters, digits, '-', '_' and '.' (a file name, not a path)";
  if (key === '.' || key === '..' || key.startsWith('..')) return "must not be '.' or '..' or start with '..'";
  return undefined;
}

/** Limits the API server and etcd enforce that no schema states: object size, data keys and size, names. */
function checkLimits(object: Flattened<SourcedObject>, problems: Problem[]): void {
  const { manifest, origin } = object;
  const ref = objectRef(manifest);
  const report = (rule: string, message: string) => problems.push({ origin, object: ref, rule, message });
  const bytes = Buffer.byteLength(JSON.stringify(manifest));
  if (bytes > MAX_OBJECT_BYTES) {
    report('size', `is ${bytes} bytes as JSON, more than etcd stores in one object (1.5 MiB by default): split it`);
  }
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  if (metadata.name === undefined && typeof metadata.generateName === 'string' && !HOOK_ANNOTATIONS.some((a) => a in annotations)) {
    report(
      'identity.name',
      'has generateName but no name: ArgoCD and kustomize track objects by name, and each sync would create another; give it metadata.name (generateName is for sync hooks)',
    );
  }
  const dataFields =
    manifest.apiVersion === 'v1' && manifest.kind === 'ConfigMap'
      ? ['data', 'binaryData']
      : manifest.apiVersion === 'v1' && manifest.kind === 'Secret'
        ? ['data', 'stringData']
        : [];
  if (dataFields.length === 0) return;
  // Values of a SOPS file are ciphertext: their size says little of the plaintext.
  const encrypted = manifest.sops !== undefined;
  let total = 0;
  const seenKeys = new Map<string, string>();
  for (const field of dataFields) {
    const values = isRecord(manifest[field]) ? (manifest[field] as Record<string, unknown>) : {};
    for (const [key, value] of Object.entries(values)) {
      const error = dataKeyError(key);
      if (error) report('data.key', `${field} key ${JSON.stringify(key.length > 60 ? `${key.slice(0, 57)}...` : key)} ${error}`);
      const other = seenKeys.get(key);
      if (other !== undefined && manifest.kind === 'ConfigMap')
        report('data.key', `key "${key}" is in both ${other} and ${field}: keep one`);
      seenKeys.set(key, field);
      // data and binaryData are base64 of the bytes the API server counts.
      const base64 = field === 'binaryData' || (field === 'data' && manifest.kind === 'Secret');
      if (typeof value === 'string') total += base64 ? Buffer.from(value, 'base64').length : Buffer.byteLength(value);
    }
  }
  if (!encrypted && total > MAX_DATA_BYTES) {
    report('size', `holds ${total} bytes of data, more than the API server takes (1 MiB): split it, or mount the content from a volume`);
  }
}

function checkMetadata(object: Flattened<SourcedObject>, info: KindInfo | undefined, problems: Problem[]): void {
  const { manifest, origin } = object;
  const ref = objectRef(manifest);
  const report = (rule: string, message: string) => problems.push({ origin, object: ref, rule, message });
  const metadata = manifest.metadata as Record<string, unknown>;
  const group = groupOf(manifest.apiVersion as string);
  const kind = manifest.kind as string;

  if (typeof metadata.name === 'string') {
    const error = objectNameError(group, kind, metadata.name);
    if (error) report('metadata.name', `metadata.name "${metadata.name}" ${error}`);
  } else if (typeof metadata.generateName === 'string') {
    const error = generateNameError(metadata.generateName);
    if (error) report('metadata.name', `metadata.generateName "${metadata.generateName}" ${error}`);
  }

  const namespace = metadata.namespace;
  if (namespace !== undefined) {
    if (typeof namespace !== 'string') {
      report(
        'metadata.namespace',
        `metadata.namespace must be a string (got ${JSON.stringify(namespace)}; in YAML an unquoted y, yes, on, no or a number is not a string: quote it)`,
      );
    } else {
      const error = dns1123LabelError(namespace);
      if (error) report('metadata.namespace', `metadata.namespace "${namespace}" ${error}`);
    }
  }
  if (info?.scope === 'Cluster' && namespace !== undefined) {
    report('metadata.namespace', `${kind} is cluster-scoped and must not have a namespace (has "${String(namespace)}")`);
  }
  if (info?.scope === 'Namespaced' && namespace === undefined) {
    report('metadata.namespace', `${kind} is namespaced and must name its namespace explicitly`);
  }

  checkStringMap(metadata.labels, 'labels', labelValueError, report);
  checkStringMap(metadata.annotations, 'annotations', undefined, report);
  if (isRecord(metadata.annotations)) {
    let size = 0;
    for (const [key, value] of Object.entries(metadata.annotations)) {
      size += Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
    }
    if (size > ANNOTATIONS_MAX_BYTES) {
      report('metadata.annotations', `annotations total ${size} bytes, more than the ${ANNOTATIONS_MAX_BYTES} allowed`);
    }
  }
}

function checkSecret(object: Flattened<SourcedObject>, problems: Problem[]): Manifest {
  const { manifest, origin } = object;
  const isSecret = manifest.apiVersion === 'v1' && manifest.kind === 'Secret';
  const sops = manifest.sops ?? object.inheritedSops;
  if (!isSecret && sops === undefined) return manifest;
  if (isSecret && !hasSecretValues(manifest) && sops === undefined) return manifest;
  const ref = objectRef(manifest);
  if (sops === undefined) {
    problems.push({
      origin,
      object: ref,
      rule: 'secret.plaintext',
      message: 'is a plaintext Secret: data/stringData must be SOPS-encrypted (see docs/secrets.md)',
    });
    return manifest;
  }
  for (const error of sopsEncryptionErrors({ ...manifest, sops })) {
    problems.push({ origin, object: ref, rule: 'secret.sops', message: `is not properly SOPS-encrypted: ${error}` });
  }
  return withoutSopsFields(manifest);
}

function withoutSopsBlock(manifest: Manifest): Manifest {
  const { sops: _sops, ...rest } = manifest;
  return rest;
}

/** Schema messages that name a format by its JSON Schema name, in the words a reader knows. */
function readableViolation(message: string): string {
  if (message === 'must match format "byte"') return 'must be base64-encoded (format "byte")';
  return message;
}

function duplicateKey(manifest: Manifest, scope: string): string | undefined {
  const metadata = manifest.metadata as Record<string, unknown>;
  if (typeof metadata.name !== 'string') return undefined;
  const namespace = typeof metadata.namespace === 'string' ? metadata.namespace : '';
  return `${scope}\u0000${groupOf(manifest.apiVersion as string)}/${manifest.kind as string}/${namespace}/${metadata.name}`;
}

export interface ValidateOptions<T extends SourcedObject = SourcedObject> {
  readonly registry: SchemaRegistry;
  /** Objects only count as duplicates within the same scope. @default one scope for all */
  readonly duplicateScope?: (object: T) => string;
  /**
   * Secrets that may hold plaintext values (what KSOPS generates in a deep build). Their values
   * are checked against the schema as the API server would (`data` base64, `stringData` strings).
   * @default none
   */
  readonly plaintextSecret?: (object: T) => boolean;
  /**
   * Which objects are SOPS files (synth: those behind the KSOPS generator). When given, any other
   * Secret with values, or any object with a `sops` block, is refused whatever it looks like: it
   * would be written into dist as it is and applied without KSOPS. @default every object may be one
   */
  readonly sopsFile?: (object: T) => boolean;
  /**
   * Strict field validation, as the API server's (`kubectl apply --validate=strict`): a field
   * the kind's structure does not define is an error (`schema.unknown-field`). @default true
   */
  readonly strict?: boolean;
}

/** Applies every object rule and returns all problems found (never stops at the first). */
export async function validateObjects<T extends SourcedObject>(
  objects: readonly T[],
  options: ValidateOptions<T>,
): Promise<ValidationResult<T>> {
  const problems: Problem[] = [];
  const flat = flatten(objects, problems);
  const usable = flat.filter((object) => checkIdentity(object, problems));

  const kinds = new Map<string, Promise<KindInfo | undefined>>();
  for (const { manifest } of usable) {
    const key = `${manifest.apiVersion as string}/${manifest.kind as string}`;
    if (!kinds.has(key)) kinds.set(key, options.registry.resolve(manifest.apiVersion as string, manifest.kind as string));
  }
  const resolved = new Map<string, KindInfo | undefined>();
  await Promise.all([...kinds].map(async ([key, info]) => resolved.set(key, await info)));

  const seen = new Map<string, Origin>();
  const validated: (T & { readonly info?: KindInfo })[] = [];
  for (const object of usable) {
    const { manifest, origin } = object;
    const info = resolved.get(`${manifest.apiVersion as string}/${manifest.kind as string}`);
    const ref = objectRef(manifest);
    const { inheritedSops: _inherited, ...plain } = object;
    validated.push({ ...(plain as unknown as T), info });
    const removed = info ? undefined : removedApi(manifest.apiVersion as string, manifest.kind as string);
    if (removed) {
      problems.push({
        origin,
        object: ref,
        rule: 'schema.removed-api',
        message: `${manifest.apiVersion as string} ${manifest.kind as string} was ${removed}`,
      });
    } else if (!info) {
      problems.push({
        origin,
        object: ref,
        rule: 'schema.unknown-kind',
        message: `no schema is known for ${manifest.kind as string} (${manifest.apiVersion as string}); use a kind from kubernetes-models or a @kubernetes-models CRD package, or register it explicitly`,
      });
    }
    const inline =
      options.sopsFile !== undefined &&
      !options.sopsFile(object as unknown as T) &&
      ((manifest.apiVersion === 'v1' && manifest.kind === 'Secret' && hasSecretValues(manifest)) ||
        manifest.sops !== undefined ||
        object.inheritedSops !== undefined);
    if (inline) {
      problems.push({
        origin,
        object: ref,
        rule: 'secret.inline',
        message:
          'carries secret values inline (a Secret with data or stringData, or a sops block): it would be written into dist as it is and applied without KSOPS; put the Secret in a SOPS file under secrets/ and include it with SopsSecret',
      });
    }
    const schemaInput = options.plaintextSecret?.(object as unknown as T)
      ? withoutSopsBlock(manifest)
      : inline
        ? withoutSopsFields(manifest)
        : checkSecret(object, problems);
    // A field the schema already refused is not refused again by the rules below.
    const refused = new Set<string>();
    if (info?.check) {
      for (const violation of info.check(schemaInput)) {
        // The metadata rules below say the same of metadata's own fields, more precisely.
        if (/^metadata\.(name|namespace|generateName|labels|annotations)(\.|$)/.test(violation.path)) continue;
        if (embeddedTypeMetaArtifact(manifest, violation)) continue;
        refused.add(violation.path);
        const at = violation.path ? `${violation.path}: ` : '';
        problems.push({ origin, object: ref, rule: 'schema', message: `${at}${readableViolation(violation.message)}` });
      }
    }
    if (info?.structure !== undefined && options.strict !== false) {
      for (const violation of unknownFieldsOfObject(schemaInput, info.structure, options.registry.structures)) {
        problems.push({ origin, object: ref, rule: 'schema.unknown-field', message: `${violation.path}: ${violation.message}` });
      }
    }
    if (info?.buildConfig) continue;
    checkMetadata(object, info, problems);
    checkLimits(object, problems);
    // A rule about a field the schema refused, or refused something inside of, would say it again.
    const overlaps = (path: string) => [...refused].some((other) => other === path || other.startsWith(`${path}.`));
    for (const violation of apiServerViolations(schemaInput)) {
      if (refused.size > 0 && overlaps(violation.path)) continue;
      problems.push({ origin, object: ref, rule: violation.rule, message: `${violation.path}: ${violation.message}` });
    }
    const key = duplicateKey(manifest, options.duplicateScope?.(object) ?? '');
    if (key !== undefined) {
      const first = seen.get(key);
      if (first) {
        problems.push({
          origin,
          object: ref,
          rule: 'duplicate',
          message: `duplicates an object with the same group, kind, namespace and name at ${formatOrigin(first)}`,
        });
      } else {
        seen.set(key, origin);
      }
    }
  }
  problems.push(...serviceTargetPorts(validated, options.duplicateScope));
  return { problems, objects: validated };
}

/**
 * A Service's named target port must be a container port name of the pods it selects: the
 * endpoints controller finds no port otherwise, and the Service has no endpoints. Checked where
 * the pods' templates are among the objects (a chart's pods rendered elsewhere are not).
 */
function serviceTargetPorts<T extends SourcedObject>(objects: readonly T[], scopeOf: ((object: T) => string) | undefined): Problem[] {
  const problems: Problem[] = [];
  const namespaceOf = (manifest: Manifest) => objectRef(manifest).namespace ?? '';
  // Pod templates by scope and namespace: a Service only selects pods of its own namespace.
  const templates = new Map<string, { labels: Readonly<Record<string, unknown>>; ports: Set<string> }[]>();
  for (const object of objects) {
    const found = podTemplatePorts(object.manifest);
    if (!found) continue;
    const key = `${scopeOf?.(object) ?? ''}\u0000${namespaceOf(object.manifest)}`;
    const list = templates.get(key) ?? [];
    list.push(found);
    templates.set(key, list);
  }
  for (const object of objects) {
    const { manifest } = object;
    if (manifest.apiVersion !== 'v1' || manifest.kind !== 'Service' || !isRecord(manifest.spec)) continue;
    const selector = manifest.spec.selector;
    if (!isRecord(selector) || Object.keys(selector).length === 0) continue;
    const candidates = templates.get(`${scopeOf?.(object) ?? ''}\u0000${namespaceOf(manifest)}`) ?? [];
    const selected = candidates.filter((template) => Object.entries(selector).every(([key, value]) => template.labels[key] === value));
    if (selected.length === 0) continue;
    const ports = Array.isArray(manifest.spec.ports) ? manifest.spec.ports.filter(isRecord) : [];
    ports.forEach((port, index) => {
      const target = port.targetPort;
      if (typeof target !== 'string' || /^\d+$/.test(target)) return;
      if (selected.some((template) => template.ports.has(target))) return;
      const known = [...new Set(selected.flatMap((template) => [...template.ports]))];
      problems.push({
        origin: object.origin,
        object: objectRef(manifest),
        rule: 'api.service-target-port',
        message: `spec.ports.${index}.targetPort: names port "${target}", which no container of the pods this Service selects declares (they have ${known.join(', ') || 'no named port'}): the Service would have no endpoints`,
      });
    });
  }
  return problems;
}

/**
 * The CRD model packages' generator makes every embedded object's apiVersion and kind required
 * (and fixes them to the package's own group and type name, e.g. an embedded
 * PersistentVolumeClaim "of" monitoring.coreos.com/v1): CRDs declare them optional and the API
 * server accepts the object without them. Only that one refusal, on a nested object of a custom
 * resource, is dropped; every other schema violation stands.
 */
function embeddedTypeMetaArtifact(manifest: Record<string, unknown>, violation: { path: string; message: string }): boolean {
  if (violation.path === '' || !String(manifest.apiVersion ?? '').includes('.')) return false;
  return /^must have required property '?(apiVersion|kind)'?$/.test(violation.message);
}
