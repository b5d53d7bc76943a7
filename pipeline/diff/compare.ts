import { posix } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { annotationsOf, compareStrings, groupOf, isRecord, type Manifest } from '../../framework/model.js';
import { CLUSTER_SCOPED } from '../schemas.js';
import { parseManifests } from '../yaml.js';
import type { DistTree } from './trees.js';
import { deepEqual, diffValues, type FieldChange } from './values.js';

/** What identifies an object in its app: API group, kind, namespace and name (not the version, not the file). */
export interface ObjectRef {
  readonly group: string;
  readonly kind: string;
  /** The namespace the object lands in (the kustomization's `namespace:` wins, as in kustomize); '' when cluster-scoped. */
  readonly namespace: string;
  readonly name: string;
}

export interface DistObject {
  readonly ref: ObjectRef;
  /** As written; a SOPS file's with every encrypted value replaced by ENCRYPTED and no `sops` block. */
  readonly manifest: Manifest;
  readonly file: string;
  /** For a SOPS file: what the masking took out. */
  readonly sops?: SopsFacts;
}

export interface SopsFacts {
  /** Each encrypted value by its path, to tell a re-encryption from no change. */
  readonly ciphertexts: ReadonlyMap<string, string>;
  readonly recipients: readonly string[];
}

/** What an encrypted value shows as: its ciphertext never leaves the diff. */
export const ENCRYPTED = '(encrypted)';

export interface SopsChange {
  readonly reencrypted: boolean;
  readonly keysAdded: readonly string[];
  readonly keysRemoved: readonly string[];
  readonly recipientsAdded: readonly string[];
  readonly recipientsRemoved: readonly string[];
}

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface ObjectChange {
  readonly change: ChangeKind;
  readonly cluster: string;
  readonly app: string;
  readonly ref: ObjectRef;
  /** The file it is in (after the change, or before it for a removed object). */
  readonly file: string;
  readonly before?: Manifest;
  readonly after?: Manifest;
  /** The changed fields of a changed object (for a SOPS file: outside the encrypted values and their keys). */
  readonly fields: readonly FieldChange[];
  readonly sops?: SopsChange;
  /** For an object removed from one app and added to another of the cluster: that other app. */
  readonly moved?: string;
}

/** A change of what a kustomization pulls in or does: an upstream version, a chart's values, a patch. */
export interface KustomizationChange {
  /** `upstream raw.githubusercontent.com/argoproj/argo-cd/*\/manifests/ha/install.yaml`, `chart cert-manager values`, `patch Deployment argocd-server`. */
  readonly subject: string;
  readonly path?: string;
  readonly before?: unknown;
  readonly after?: unknown;
  /** What the change covers, when it is one line for many (the files of an upstream release). */
  readonly items?: readonly string[];
  /** The change in words, when it is not a field's old and new value. */
  readonly note?: string;
}

/** A file that holds no Kubernetes objects (or cannot be read as YAML): compared as text. */
export interface FileChange {
  readonly path: string;
  readonly change: ChangeKind;
  readonly before?: string;
  readonly after?: string;
}

export interface AppChange {
  readonly cluster: string;
  readonly app: string;
  readonly change: ChangeKind;
  readonly objects: readonly ObjectChange[];
  readonly kustomization: readonly KustomizationChange[];
  readonly files: readonly FileChange[];
  /** The app's kustomization on each side, when it has one (for rules that read it whole). */
  readonly kustomizations?: { readonly before?: Manifest; readonly after?: Manifest };
}

export interface DistDiff {
  readonly base: string;
  readonly head: string;
  /** Apps with any change, by cluster and app name. */
  readonly apps: readonly AppChange[];
  /** Files of dist/ outside any app folder (its README). */
  readonly other: readonly FileChange[];
  /** Every object of a cluster on one side, read and parsed on first use (for checks that look beyond the change). */
  readonly objectsOf: (side: 'before' | 'after', cluster: string) => readonly DistObject[];
  /** The app folders of a cluster on one side. */
  readonly appsOf: (side: 'before' | 'after', cluster: string) => readonly string[];
  /**
   * What makes a side unreadable as ArgoCD would read it (a file that is not YAML objects, an
   * invalid kustomization, two objects with one identity in an app): the diff cannot say what a
   * sync does with such a tree.
   */
  readonly problems: readonly string[];
  /**
   * What makes the base unreadable the same way. The diff still compares what it can read: a
   * change that mends a broken dist/ must be reviewable.
   */
  readonly warnings: readonly string[];
}

const KUSTOMIZATIONS = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);
const SOPS_VALUE = /^ENC\[[A-Z0-9_]+,data:/;

export function refKey(ref: ObjectRef): string {
  return `${ref.group}\u0000${ref.kind}\u0000${ref.namespace}\u0000${ref.name}`;
}

/** `Deployment traefik/traefik`, `ClusterRole traefik`, with the group when it is not a core or well-known one. */
export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace === '' ? '' : `${ref.namespace}/`}${ref.name}`;
}

/** One side of the comparison: its files per app, read and parsed once, on demand. */
class Side {
  readonly apps = new Map<string, string[]>();
  readonly other: string[] = [];
  private readonly contents = new Map<string, string>();
  private readonly parsed = new Map<string, DistObject[] | undefined>();
  private readonly clusters = new Map<string, DistObject[]>();
  readonly namespaces = new Map<string, string | undefined>();
  readonly problems: string[] = [];

  constructor(readonly tree: DistTree) {
    for (const problem of tree.problems ?? []) this.problems.push(`${tree.label}: ${problem}`);
    for (const path of [...tree.blobs.keys()].sort(compareStrings)) {
      const parts = path.split('/');
      if (parts.length < 3) {
        this.other.push(path);
        continue;
      }
      const app = `${parts[0]}/${parts[1]}`;
      const files = this.apps.get(app) ?? [];
      files.push(parts.slice(2).join('/'));
      this.apps.set(app, files);
    }
  }

  read(paths: readonly string[]): void {
    const missing = paths.filter((path) => !this.contents.has(path) && this.tree.blobs.has(path));
    if (missing.length === 0) return;
    for (const [path, content] of this.tree.read(missing)) this.contents.set(path, content);
  }

  content(path: string): string | undefined {
    this.read([path]);
    return this.contents.get(path);
  }

  /** The kustomization file of a folder of an app ('' for the app folder itself), if it has one. */
  kustomizationFile(app: string, folder = ''): string | undefined {
    const prefix = folder === '' ? '' : `${folder}/`;
    const file = [...KUSTOMIZATIONS].find((name) => (this.apps.get(app) ?? []).includes(`${prefix}${name}`));
    return file === undefined ? undefined : `${prefix}${file}`;
  }

  private readonly kustomizations = new Map<string, Manifest | undefined>();

  /** The kustomization of a folder of an app, parsed and checked as kustomize reads it; undefined when it has none or it is unreadable. */
  kustomization(app: string, folder = ''): Manifest | undefined {
    const file = this.kustomizationFile(app, folder);
    if (file === undefined) return undefined;
    const path = `${app}/${file}`;
    if (this.kustomizations.has(path)) return this.kustomizations.get(path);
    let found: Manifest | undefined;
    // kustomize reads the first document of the file; a trailing `---` is no error.
    const documents = parseAllDocuments(this.content(path) ?? '', { version: '1.1' });
    const list = Array.isArray(documents) ? documents : [documents];
    const document = list.find((item) => item.contents !== null) ?? list[0];
    if (document && document.errors.length > 0) {
      this.problem(path, `is not valid YAML: ${firstLine(document.errors[0])}`);
    } else {
      const value: unknown = document?.toJS() ?? {};
      if (!isRecord(value)) this.problem(path, 'is not a kustomization (a YAML mapping)');
      else {
        const wrong = kustomizationShape(value);
        if (wrong) this.problem(path, wrong);
        else found = value;
      }
    }
    this.kustomizations.set(path, found);
    return found;
  }

  namespace(app: string): string | undefined {
    if (!this.namespaces.has(app)) {
      const value = this.kustomization(app)?.namespace;
      this.namespaces.set(app, typeof value === 'string' && value !== '' ? value : undefined);
    }
    return this.namespaces.get(app);
  }

  /** The namespace kustomize gives the objects of a file: the outermost kustomization's that sets one. */
  fileNamespace(app: string, file: string): string | undefined {
    this.roles(app);
    return this.fileNamespaces.get(app)?.get(file) ?? this.namespace(app);
  }

  private readonly fileNamespaces = new Map<string, Map<string, string | undefined>>();

  private readonly roleMaps = new Map<string, Map<string, FileRole>>();

  /**
   * What each file of an app folder is to kustomize: a file of objects (listed in `resources`, in
   * a nested kustomization or component, or named by a generator such as KSOPS in its `files`), a
   * generator's configuration, an input of the build (a patch, chart values, a generator's source
   * file), or nothing (not deployed). A folder without a kustomization is a plain folder of
   * manifests to ArgoCD: each of its YAML and JSON files holds objects. A listed file that is
   * missing is a problem.
   */
  roles(app: string): Map<string, FileRole> {
    const known = this.roleMaps.get(app);
    if (known) return known;
    const files = this.apps.get(app) ?? [];
    const roles = new Map<string, FileRole>();
    const namespaces = new Map<string, string | undefined>();
    this.roleMaps.set(app, roles);
    this.fileNamespaces.set(app, namespaces);
    if (this.kustomizationFile(app) === undefined || this.kustomization(app) === undefined) {
      for (const file of files) if (MANIFEST_FILE.test(file) && !isKustomization(file)) roles.set(file, 'objects');
      return roles;
    }
    const visiting = new Set<string>();
    const visit = (folder: string, outerNamespace: string | undefined) => {
      const kustomizationFile = this.kustomizationFile(app, folder);
      const kustomization = this.kustomization(app, folder);
      if (kustomizationFile === undefined || kustomization === undefined || visiting.has(folder)) return;
      visiting.add(folder);
      const own = typeof kustomization.namespace === 'string' && kustomization.namespace !== '' ? kustomization.namespace : undefined;
      const namespace = outerNamespace ?? own;
      // A local path, relative to the app folder; undefined for remote bases, inline configurations and paths outside the app.
      const local = (entry: unknown): string | undefined => {
        if (typeof entry !== 'string' || entry.includes('\n') || /^[a-z][a-z0-9+.-]*:\/\/|^git@|^git::/i.test(entry)) return undefined;
        const path = posix.normalize(posix.join(folder, entry.replace(/\/+$/, '')));
        if (remote(entry) && !files.some((file) => file === path || file.startsWith(`${path}/`))) return undefined;
        return path === '..' || path.startsWith('../') || path.startsWith('/') ? undefined : path === '.' ? '' : path;
      };
      const claim = (entry: string, role: FileRole, field: string) => {
        const nested = entry === '' ? [] : files.filter((file) => file.startsWith(`${entry}/`));
        if (nested.length > 0 && role === 'objects') {
          // A folder in resources or components is a kustomization of its own.
          if (this.kustomizationFile(app, entry) === undefined) {
            this.problem(
              `${app}/${kustomizationFile}`,
              `lists ${entry} in ${field}, a folder without a kustomization: kustomize cannot build it`,
            );
          } else visit(entry, namespace);
          return;
        }
        if (!files.includes(entry)) {
          this.problem(`${app}/${kustomizationFile}`, `lists ${entry} in ${field}, which is not in the folder: kustomize cannot build it`);
          return;
        }
        if (roles.get(entry) !== 'objects') roles.set(entry, role);
        if (role === 'objects') namespaces.set(entry, namespace);
      };
      for (const field of ['resources', 'components', 'bases']) {
        for (const entry of listOf(kustomization[field]).map(local)) if (entry !== undefined) claim(entry, 'objects', field);
      }
      for (const field of ['generators', 'transformers', 'validators']) {
        for (const entry of listOf(kustomization[field]).map(local)) {
          if (entry === undefined) continue;
          claim(entry, 'generator', field);
          // A generator that reads files of objects (KSOPS) names them in its `files`, relative to its configuration.
          for (const config of this.objects(app, entry) ?? []) {
            for (const named of listOf(config.manifest.files)) {
              const path = local(named);
              if (path !== undefined) claim(path, 'objects', `the files of ${entry}`);
            }
          }
        }
      }
      for (const input of buildInputs(kustomization)) {
        const path = local(input.path);
        if (path !== undefined) claim(path, 'input', input.field);
      }
      visiting.delete(folder);
    };
    visit('', undefined);
    return roles;
  }

  /** A build input's content: its YAML or JSON documents as values (one document as itself), else its text. */
  inputValue(app: string, file: string): unknown {
    const content = this.content(`${app}/${file}`);
    if (content === undefined || !MANIFEST_FILE.test(file)) return content;
    const documents = parseAllDocuments(content, { version: '1.1' });
    const list = Array.isArray(documents) ? documents : [documents];
    if (list.some((document) => document.errors.length > 0)) return content;
    // A SOPS-encrypted input shows no ciphertext and no key material.
    const values = list
      .filter((document) => document.contents !== null)
      .map((document) => document.toJS() as unknown)
      .map((value) => (isRecord(value) && isRecord(value.sops) ? mask({ ...value, sops: ENCRYPTED }, '', new Map()) : value));
    return values.length === 1 ? values[0] : values;
  }

  problem(path: string, message: string): void {
    const text = `${this.tree.label}: dist/${path} ${message}`;
    if (!this.problems.includes(text)) this.problems.push(text);
  }

  /**
   * The objects of a file (the items of a `v1` List among them), or undefined when it is not a
   * YAML file (compared as text). A YAML file that does not hold Kubernetes objects is a problem:
   * ArgoCD could not build the folder.
   */
  objects(app: string, file: string): DistObject[] | undefined {
    const path = `${app}/${file}`;
    if (this.parsed.has(path)) return this.parsed.get(path);
    const content = this.content(path);
    let found: DistObject[] | undefined;
    if (content !== undefined && MANIFEST_FILE.test(file) && !isKustomization(file)) {
      const parsed = parseManifests(content, path);
      for (const problem of parsed.problems) this.problem(path, `(document ${(problem.origin.document ?? 0) + 1}): ${problem.message}`);
      const namespace = this.fileNamespace(app, file);
      found = [];
      for (const [index, manifest] of parsed.objects.flatMap(({ manifest }) => listItems(manifest)).entries()) {
        const object = toDistObject(manifest, file, namespace);
        if (object) found.push(object);
        else
          this.problem(
            path,
            `(object ${index + 1}) is not a Kubernetes object: it needs apiVersion, kind and metadata.name (or generateName)`,
          );
      }
    }
    this.parsed.set(path, found);
    return found;
  }

  clusterObjects(cluster: string): DistObject[] {
    const known = this.clusters.get(cluster);
    if (known) return known;
    const apps = [...this.apps.keys()].filter((app) => app.startsWith(`${cluster}/`));
    this.read(apps.flatMap((app) => (this.apps.get(app) ?? []).map((file) => `${app}/${file}`)));
    const objects = apps.flatMap((app) =>
      (this.apps.get(app) ?? []).flatMap((file) => (this.roles(app).get(file) === 'objects' ? (this.objects(app, file) ?? []) : [])),
    );
    this.clusters.set(cluster, objects);
    return objects;
  }
}

const BEHAVIOR = 'kustomize.config.k8s.io/behavior';

/**
 * The key an object is matched by in its app: its identity, and for a generated object that
 * kustomize merges into or puts in place of another (`behavior: merge` or `replace`, as a KSOPS
 * secret over an upstream one) that behaviour too: it is a change of that object, not a second one.
 */
function identityKey(object: DistObject): string {
  const behavior = annotationsOf(object.manifest)[BEHAVIOR];
  return behavior === 'merge' || behavior === 'replace' ? `${refKey(object.ref)}\u0000${behavior}` : refKey(object.ref);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

/** What a file of an app folder is to kustomize; a file with no role is not deployed. */
type FileRole = 'objects' | 'generator' | 'input';

/** Files ArgoCD and kustomize read as manifests. */
const MANIFEST_FILE = /\.(ya?ml|json)$/;

const isKustomization = (file: string): boolean => KUSTOMIZATIONS.has(file.split('/').pop() ?? '');

const LIST_FIELDS = ['resources', 'components', 'bases', 'generators', 'transformers', 'validators', 'patchesStrategicMerge', 'crds'];

/** What makes a kustomization one kustomize refuses to read (a field of the wrong type), or undefined. */
function kustomizationShape(kustomization: Manifest): string | undefined {
  for (const field of LIST_FIELDS) {
    const value = kustomization[field];
    if (value !== undefined && value !== null && !Array.isArray(value)) return `has ${field} that is not a list: kustomize cannot read it`;
  }
  for (const field of ['namespace', 'namePrefix', 'nameSuffix']) {
    const value = kustomization[field];
    if (value !== undefined && value !== null && typeof value !== 'string')
      return `has ${field} that is not a string: kustomize cannot read it`;
  }
  return undefined;
}

/**
 * The local files a kustomization reads besides its resources: patches, chart values, the
 * sources of ConfigMap and Secret generators, replacements, OpenAPI schemas.
 */
function buildInputs(kustomization: Manifest): { path: string; field: string }[] {
  const inputs: { path: string; field: string }[] = [];
  const add = (value: unknown, field: string) => {
    if (typeof value === 'string' && value !== '') inputs.push({ path: value, field });
  };
  for (const patch of listOf(kustomization.patches)) if (isRecord(patch)) add(patch.path, 'patches');
  for (const patch of listOf(kustomization.patchesJson6902)) if (isRecord(patch)) add(patch.path, 'patchesJson6902');
  for (const patch of listOf(kustomization.patchesStrategicMerge))
    if (typeof patch === 'string' && !patch.includes('\n')) add(patch, 'patchesStrategicMerge');
  for (const chart of listOf(kustomization.helmCharts)) {
    if (!isRecord(chart)) continue;
    add(chart.valuesFile, 'helmCharts valuesFile');
    for (const file of listOf(chart.additionalValuesFiles)) add(file, 'helmCharts additionalValuesFiles');
  }
  for (const field of ['configMapGenerator', 'secretGenerator']) {
    for (const generator of listOf(kustomization[field])) {
      if (!isRecord(generator)) continue;
      // `files` entries are `path` or `key=path`; `envs` (and the older `env`) are paths.
      for (const file of listOf(generator.files)) if (typeof file === 'string') add(file.slice(file.indexOf('=') + 1), field);
      for (const file of [...listOf(generator.envs), generator.env]) add(file, field);
    }
  }
  for (const replacement of listOf(kustomization.replacements)) if (isRecord(replacement)) add(replacement.path, 'replacements');
  for (const file of listOf(kustomization.crds)) add(file, 'crds');
  if (isRecord(kustomization.openapi)) add(kustomization.openapi.path, 'openapi');
  return inputs;
}

/** A `v1` List's items, as kustomize reads them; any other document as itself. */
function listItems(manifest: Manifest): Manifest[] {
  if (manifest.apiVersion === 'v1' && manifest.kind === 'List' && Array.isArray(manifest.items)) return manifest.items.filter(isRecord);
  return [manifest];
}

/**
 * Cluster-scoped kinds of CRDs clusters commonly hold, beyond the built-in kinds: an object
 * written without a namespace in an app whose kustomization sets one keeps none.
 */
const CLUSTER_SCOPED_CUSTOM = new Set([
  'snapshot.storage.k8s.io/VolumeSnapshotClass',
  'snapshot.storage.k8s.io/VolumeSnapshotContent',
  'gateway.networking.k8s.io/GatewayClass',
  'cert-manager.io/ClusterIssuer',
  'cilium.io/CiliumClusterwideNetworkPolicy',
  'cilium.io/CiliumClusterwideEnvoyConfig',
  'cilium.io/CiliumLoadBalancerIPPool',
  'cilium.io/CiliumBGPClusterConfig',
  'cilium.io/CiliumBGPPeerConfig',
  'cilium.io/CiliumBGPAdvertisement',
  'cilium.io/CiliumBGPNodeConfig',
  'cilium.io/CiliumBGPNodeConfigOverride',
  'cilium.io/CiliumNode',
  'cilium.io/CiliumIdentity',
  'cilium.io/CiliumCIDRGroup',
  'crd.projectcalico.org/GlobalNetworkPolicy',
  'traefik.io/TLSStore',
]);

/** The object as the diff sees it, or undefined when the document is not a Kubernetes object. */
function toDistObject(manifest: Manifest, file: string, kustomizeNamespace: string | undefined): DistObject | undefined {
  const { apiVersion, kind, metadata } = manifest;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string' || !isRecord(metadata)) return undefined;
  // An object with only a generateName (an ArgoCD hook) is created anew at each sync; it is named by that prefix.
  const name =
    typeof metadata.name === 'string' && metadata.name !== ''
      ? metadata.name
      : typeof metadata.generateName === 'string' && metadata.generateName !== ''
        ? `${metadata.generateName}*`
        : undefined;
  if (name === undefined) return undefined;
  const group = groupOf(apiVersion);
  const own = typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : undefined;
  // kustomize gives every namespaced object the kustomization's namespace; an object written
  // without one is namespaced unless its kind is a known cluster-scoped one.
  const scoped = CLUSTER_SCOPED.has(`${group}/${kind}`) || (own === undefined && CLUSTER_SCOPED_CUSTOM.has(`${group}/${kind}`));
  const namespace = scoped ? '' : (kustomizeNamespace ?? own ?? '');
  const ref = { group, kind, namespace, name };
  if (!isRecord(manifest.sops)) return { ref, manifest, file };
  const ciphertexts = new Map<string, string>();
  const { sops, ...rest } = manifest;
  const masked = mask(rest, '', ciphertexts) as Manifest;
  return { ref, manifest: masked, file, sops: { ciphertexts, recipients: sopsRecipients(sops as Manifest) } };
}

function mask(value: unknown, path: string, found: Map<string, string>): unknown {
  if (typeof value === 'string' && SOPS_VALUE.test(value)) {
    found.set(path, value);
    return ENCRYPTED;
  }
  if (Array.isArray(value)) return value.map((item, index) => mask(item, `${path}[${index}]`, found));
  if (isRecord(value) && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, mask(item, `${path}.${key}`, found)]));
  }
  return value;
}

/** Who can decrypt a SOPS file: its age recipients, PGP fingerprints, KMS keys and Vault paths. */
function sopsRecipients(sops: Manifest): string[] {
  const ids: string[] = [];
  for (const [method, entries] of Object.entries(sops)) {
    if (!Array.isArray(entries)) continue;
    for (const entry of entries) {
      if (!isRecord(entry)) continue;
      const id = entry.recipient ?? entry.fp ?? entry.arn ?? entry.resource_id ?? entry.vault_url ?? entry.vaultUrl ?? entry.vault_address;
      if (typeof id === 'string') ids.push(`${method}:${id}${typeof entry.name === 'string' ? `/${entry.name}` : ''}`);
    }
  }
  return ids.sort(compareStrings);
}

function dataKeys(manifest: Manifest | undefined): Set<string> {
  const keys = new Set<string>();
  for (const field of ['data', 'stringData', 'binaryData']) {
    const value = manifest?.[field];
    if (isRecord(value)) for (const key of Object.keys(value)) keys.add(key);
  }
  return keys;
}

function sopsChange(before: DistObject | undefined, after: DistObject | undefined): SopsChange | undefined {
  if (!before?.sops && !after?.sops) return undefined;
  const oldKeys = dataKeys(before?.manifest);
  const newKeys = dataKeys(after?.manifest);
  const oldRecipients = new Set(before?.sops?.recipients ?? []);
  const newRecipients = new Set(after?.sops?.recipients ?? []);
  let reencrypted = false;
  if (before?.sops && after?.sops) {
    for (const [path, text] of after.sops.ciphertexts) {
      const old = before.sops.ciphertexts.get(path);
      if (old !== undefined && old !== text) reencrypted = true;
    }
  }
  return {
    reencrypted,
    keysAdded: [...newKeys].filter((key) => !oldKeys.has(key)).sort(compareStrings),
    keysRemoved: [...oldKeys].filter((key) => !newKeys.has(key)).sort(compareStrings),
    recipientsAdded: before ? [...newRecipients].filter((id) => !oldRecipients.has(id)) : [],
    recipientsRemoved: after ? [...oldRecipients].filter((id) => !newRecipients.has(id)) : [],
  };
}

function compareRefs(a: ObjectRef, b: ObjectRef): number {
  return (
    compareStrings(a.kind, b.kind) ||
    compareStrings(a.namespace, b.namespace) ||
    compareStrings(a.name, b.name) ||
    compareStrings(a.group, b.group)
  );
}

/** Compares two dist/ trees object by object. Files with the same content on both sides are not read. */
export function compareDists(beforeTree: DistTree, afterTree: DistTree): DistDiff {
  const before = new Side(beforeTree);
  const after = new Side(afterTree);
  const appNames = [...new Set([...before.apps.keys(), ...after.apps.keys()])].sort(compareStrings);
  // Every kustomization first (they set the namespace objects land in), then every file that differs, in one read per side.
  const kustomizations = (side: Side) =>
    [...side.apps].flatMap(([app, files]) => files.filter((file) => KUSTOMIZATIONS.has(file)).map((file) => `${app}/${file}`));
  before.read(kustomizations(before));
  after.read(kustomizations(after));
  // Then the generators' configurations they name (a KSOPS generator lists the files of objects it reads).
  const generatorConfigs = (side: Side) =>
    [...side.apps].flatMap(([app, files]) => {
      const kustomization = files.some((file) => KUSTOMIZATIONS.has(file)) ? side.kustomization(app) : undefined;
      return ['generators', 'transformers', 'validators'].flatMap((field) =>
        listOf(kustomization?.[field]).flatMap((entry) =>
          typeof entry === 'string' && !remote(entry) ? [`${app}/${entry.replace(/^(\.\/)+/, '')}`] : [],
        ),
      );
    });
  before.read(generatorConfigs(before));
  after.read(generatorConfigs(after));
  const changedFiles = new Map<string, string[]>();
  for (const app of appNames) {
    const oldFiles = before.apps.get(app) ?? [];
    const newFiles = after.apps.get(app) ?? [];
    const all = [...new Set([...oldFiles, ...newFiles])].sort(compareStrings);
    const moved = before.namespace(app) !== after.namespace(app);
    const oldRoles = before.roles(app);
    const newRoles = after.roles(app);
    changedFiles.set(
      app,
      all.filter(
        (file) =>
          moved ||
          oldRoles.get(file) !== newRoles.get(file) ||
          beforeTree.blobs.get(`${app}/${file}`) !== afterTree.blobs.get(`${app}/${file}`),
      ),
    );
  }
  const toRead = [...changedFiles].flatMap(([app, files]) => files.map((file) => `${app}/${file}`));
  before.read(toRead);
  after.read(toRead);

  const apps: AppChange[] = [];
  for (const app of appNames) {
    const files = changedFiles.get(app) ?? [];
    if (files.length === 0) continue;
    const [cluster = '', name = ''] = app.split('/');
    const oldObjects = new Map<string, DistObject>();
    const newObjects = new Map<string, DistObject>();
    const fileChanges: FileChange[] = [];
    const generatorChanges: KustomizationChange[] = [];
    for (const file of files) {
      if (isKustomization(file)) {
        const folder = posix.dirname(file);
        // The app's own kustomization is compared below; a nested one (a base, a component) here.
        if (folder !== '.') {
          const changes = diffKustomization(before.kustomization(app, folder), after.kustomization(app, folder));
          for (const change of changes) generatorChanges.push({ ...change, subject: `${folder}/: ${change.subject}` });
        }
        continue;
      }
      const oldRole = before.roles(app).get(file);
      const newRole = after.roles(app).get(file);
      if (oldRole === 'input' || newRole === 'input') {
        // A patch, chart values or a generator's source: part of how objects are made.
        const value = (side: Side, role: FileRole | undefined) => (role === 'input' ? side.inputValue(app, file) : undefined);
        const oldValue = value(before, oldRole);
        const newValue = value(after, newRole);
        const subject = `input ${file}`;
        if (oldValue === undefined || newValue === undefined)
          generatorChanges.push({ subject, note: newValue === undefined ? 'removed' : 'added' });
        else if (typeof oldValue === 'string' || typeof newValue === 'string') generatorChanges.push({ subject, note: 'changed' });
        else for (const field of diffValues(oldValue, newValue)) generatorChanges.push({ subject, ...field });
        continue;
      }
      if (oldRole === 'generator' || newRole === 'generator') {
        // A generator's configuration says how objects are made, like the kustomization.
        const config = (side: Side, role: FileRole | undefined) =>
          role === 'generator' ? side.objects(app, file)?.[0]?.manifest : undefined;
        const oldConfig = config(before, oldRole);
        const newConfig = config(after, newRole);
        if (oldConfig === undefined || newConfig === undefined)
          generatorChanges.push({ subject: `generator ${file}`, note: newConfig ? 'added' : 'removed' });
        else for (const field of diffValues(oldConfig, newConfig)) generatorChanges.push({ subject: `generator ${file}`, ...field });
        continue;
      }
      if (oldRole === undefined && newRole === undefined && MANIFEST_FILE.test(file)) continue;
      const olds = oldRole === 'objects' ? before.objects(app, file) : MANIFEST_FILE.test(file) ? [] : undefined;
      const news = newRole === 'objects' ? after.objects(app, file) : MANIFEST_FILE.test(file) ? [] : undefined;
      if (olds === undefined || news === undefined) {
        // Not (or no longer) a file of objects: shown as text, whatever the other side holds.
        const oldText = before.content(`${app}/${file}`);
        const newText = after.content(`${app}/${file}`);
        if (oldText !== newText) {
          fileChanges.push({
            path: `${app}/${file}`,
            change: oldText === undefined ? 'added' : newText === undefined ? 'removed' : 'changed',
            ...(oldText !== undefined ? { before: oldText } : {}),
            ...(newText !== undefined ? { after: newText } : {}),
          });
        }
        continue;
      }
      const add = (side: Side, objects: Map<string, DistObject>, object: DistObject) => {
        const key = identityKey(object);
        const other = objects.get(key);
        if (other) {
          side.problem(
            `${app}/${object.file}`,
            `holds ${describeRef(object.ref)}, which dist/${app}/${other.file} holds too: kustomize refuses two objects with one identity in a build`,
          );
        }
        objects.set(key, object);
      };
      for (const object of olds) add(before, oldObjects, object);
      for (const object of news) add(after, newObjects, object);
    }
    // An object added beside an unchanged file may collide with one of its objects: those files are read too.
    if ([...newObjects.keys()].some((key) => !oldObjects.has(key))) {
      const roles = after.roles(app);
      const unchanged = (after.apps.get(app) ?? []).filter((file) => !files.includes(file) && roles.get(file) === 'objects');
      after.read(unchanged.map((file) => `${app}/${file}`));
      for (const file of unchanged) {
        for (const object of after.objects(app, file) ?? []) {
          const other = newObjects.get(identityKey(object));
          if (other) {
            after.problem(
              `${app}/${other.file}`,
              `holds ${describeRef(object.ref)}, which dist/${app}/${file} holds too: kustomize refuses two objects with one identity in a build`,
            );
          }
        }
      }
    }
    const objects: ObjectChange[] = [];
    const base = { cluster, app: name };
    for (const [key, old] of oldObjects) {
      const current = newObjects.get(key);
      if (!current) {
        objects.push({
          ...base,
          change: 'removed',
          ref: old.ref,
          file: old.file,
          before: old.manifest,
          fields: [],
          ...sopsField(old, undefined),
        });
        continue;
      }
      const sops = sopsChange(old, current);
      if (deepEqual(old.manifest, current.manifest) && !sops?.reencrypted && sameRecipients(sops)) continue;
      const fields = diffValues(old.manifest, current.manifest).filter((field) => !sops || !isDataKeyChange(field));
      objects.push({
        ...base,
        change: 'changed',
        ref: current.ref,
        file: current.file,
        before: old.manifest,
        after: current.manifest,
        fields,
        ...(sops ? { sops } : {}),
      });
    }
    for (const [key, current] of newObjects) {
      if (oldObjects.has(key)) continue;
      objects.push({
        ...base,
        change: 'added',
        ref: current.ref,
        file: current.file,
        after: current.manifest,
        fields: [],
        ...sopsField(undefined, current),
      });
    }
    objects.sort((a, b) => compareRefs(a.ref, b.ref));
    const kustomization = [
      ...(files.some((file) => KUSTOMIZATIONS.has(file)) ? diffKustomization(before.kustomization(app), after.kustomization(app)) : []),
      ...generatorChanges,
    ];
    if (objects.length === 0 && kustomization.length === 0 && fileChanges.length === 0) continue;
    const change: ChangeKind = !before.apps.has(app) ? 'added' : !after.apps.has(app) ? 'removed' : 'changed';
    const kustomizations = { before: before.kustomization(app), after: after.kustomization(app) };
    apps.push({ ...base, change, objects, kustomization, files: fileChanges, kustomizations });
  }
  const other: FileChange[] = [];
  for (const path of [...new Set([...before.other, ...after.other])].sort(compareStrings)) {
    if (beforeTree.blobs.get(path) === afterTree.blobs.get(path)) continue;
    const oldText = before.content(path);
    const newText = after.content(path);
    other.push({
      path,
      change: oldText === undefined ? 'added' : newText === undefined ? 'removed' : 'changed',
      ...(oldText !== undefined ? { before: oldText } : {}),
      ...(newText !== undefined ? { after: newText } : {}),
    });
  }
  // An object removed from one app and added to another of the same cluster moved.
  const addedAt = new Map<string, string>();
  const removedAt = new Map<string, string>();
  for (const app of apps) {
    for (const object of app.objects) {
      const key = `${app.cluster}\u0000${refKey(object.ref)}`;
      if (object.change === 'added') addedAt.set(key, app.app);
      if (object.change === 'removed') removedAt.set(key, app.app);
    }
  }
  const withMoves = apps.map((app) => ({
    ...app,
    objects: app.objects.map((object) => {
      const key = `${app.cluster}\u0000${refKey(object.ref)}`;
      const other = object.change === 'removed' ? addedAt.get(key) : object.change === 'added' ? removedAt.get(key) : undefined;
      return other !== undefined && other !== app.app ? { ...object, moved: other } : object;
    }),
  }));
  return {
    base: beforeTree.label,
    head: afterTree.label,
    apps: withMoves,
    other,
    problems: after.problems,
    warnings: before.problems,
    objectsOf: (side, cluster) => (side === 'before' ? before : after).clusterObjects(cluster),
    appsOf: (side, cluster) =>
      [...(side === 'before' ? before : after).apps.keys()]
        .filter((app) => app.startsWith(`${cluster}/`))
        .map((app) => app.slice(cluster.length + 1)),
  };
}

function sopsField(before: DistObject | undefined, after: DistObject | undefined): { sops?: SopsChange } {
  const sops = sopsChange(before, after);
  return sops ? { sops } : {};
}

function sameRecipients(sops: SopsChange | undefined): boolean {
  return !sops || (sops.recipientsAdded.length === 0 && sops.recipientsRemoved.length === 0);
}

/** A key added to or removed from a SOPS file's data: reported as a key, never with its (encrypted) value. */
function isDataKeyChange(field: FieldChange): boolean {
  return /^(data|stringData|binaryData)(\.|\[)/.test(field.path) && (field.before === undefined || field.after === undefined);
}

// ---------------------------------------------------------------------------------------------
// Kustomizations

/** A path segment or query value that is a version: v3.5.1, 1.19.6, v0.18.0-rc.1. */
const VERSION = /^v?\d+(\.\d+)+([-+][0-9A-Za-z.-]+)?$/;

/** A remote resource's URL with its versions taken out (the key that matches one release with the next) and the versions. */
export function versionless(url: string): { key: string; versions: string[] } {
  const versions: string[] = [];
  const [location = '', query] = url.split('?', 2);
  const path = location
    .replace(/^[a-z]+:\/\//, '')
    .split('/')
    .map((segment) => {
      if (!VERSION.test(segment)) return segment;
      versions.push(segment);
      return '*';
    })
    .join('/');
  const params = (query ?? '')
    .split('&')
    .filter((param) => param !== '')
    .map((param) => {
      const [name, value = ''] = param.split('=', 2);
      if (!VERSION.test(value)) return param;
      versions.push(value);
      return `${name}=*`;
    });
  return { key: params.length > 0 ? `${path}?${params.join('&')}` : path, versions };
}

/** Whether a kustomization entry is a URL or a remote base rather than a file of the folder. */
const remote = (entry: string): boolean =>
  /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ||
  /^(git@|git::)/.test(entry) ||
  /\?(ref|version|submodules|timeout)=/.test(entry) ||
  // A host name first, as kustomize's remote targets are written: github.com/org/repo//path.
  /^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}\/[^/]+\/[^/]+/i.test(entry);
const isRemote = (entry: unknown): entry is string => typeof entry === 'string' && remote(entry);

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Where a remote resource comes from (its URL up to the version) and what it is (the rest), with the version. */
function remoteParts(url: string): { source: string; file: string; version: string } {
  const { key, versions } = versionless(url);
  const star = key.indexOf('/*');
  if (star === -1) return { source: key, file: '', version: versions.join(', ') };
  return { source: key.slice(0, star), file: key.slice(star + 3), version: versions.join(', ') };
}

/**
 * Remote resources by where they come from: a release bump of many files is one line
 * (`upstream …/kube-prometheus: v0.18.0 → v0.19.0 (75 files)`), files added or removed at one
 * version another.
 */
function diffRemote(field: string, before: unknown, after: unknown, out: KustomizationChange[]): void {
  const olds = new Map<string, string>();
  const news = new Map<string, string>();
  for (const entry of listOf(before).filter(isRemote)) olds.set(versionless(entry).key, entry);
  for (const entry of listOf(after).filter(isRemote)) news.set(versionless(entry).key, entry);
  const noun = field === 'resources' ? 'upstream' : `upstream ${field.replace(/s$/, '')}`;
  const groups = new Map<string, { subject: string; before?: string; after?: string; items: string[] }>();
  const note = (subject: string, before: string | undefined, after: string | undefined, item: string) => {
    const key = JSON.stringify([subject, before ?? null, after ?? null]);
    const group = groups.get(key) ?? {
      subject,
      ...(before !== undefined ? { before } : {}),
      ...(after !== undefined ? { after } : {}),
      items: [],
    };
    group.items.push(item);
    groups.set(key, group);
  };
  for (const [key, url] of olds) {
    const parts = remoteParts(url);
    const current = news.get(key);
    if (current === undefined) note(`${noun} ${parts.source}`, parts.version, undefined, parts.file || url);
    else if (current !== url) note(`${noun} ${parts.source}`, parts.version, remoteParts(current).version, parts.file || url);
  }
  for (const [key, url] of news) {
    if (olds.has(key)) continue;
    const parts = remoteParts(url);
    note(`${noun} ${parts.source}`, undefined, parts.version, parts.file || url);
  }
  for (const group of groups.values()) {
    const files = group.items.sort(compareStrings);
    if (group.before !== undefined && group.after !== undefined) {
      out.push({
        subject: group.subject,
        before: group.before,
        after: group.after,
        items: files,
        note: `${group.before} → ${group.after} (${files.length === 1 ? files[0] : `${files.length} files`})`,
      });
    } else {
      const verb = group.before === undefined ? 'added' : 'removed';
      const version = group.before ?? group.after ?? '';
      out.push({
        subject: group.subject,
        items: files,
        note: `${files.length === 1 ? files[0] : `${files.length} files`} ${verb}${version ? ` at ${version}` : ''}`,
      });
    }
  }
}

function chartName(chart: Record<string, unknown>): string {
  const name = typeof chart.name === 'string' ? chart.name : '?';
  return typeof chart.releaseName === 'string' && chart.releaseName !== name ? `${name} (release ${chart.releaseName})` : name;
}

function diffCharts(before: unknown, after: unknown, out: KustomizationChange[]): void {
  const byName = (list: unknown) =>
    new Map(
      listOf(list)
        .filter(isRecord)
        .map((chart) => [chartName(chart), chart] as const),
    );
  const olds = byName(before);
  const news = byName(after);
  for (const [name, old] of olds) {
    const current = news.get(name);
    if (!current) {
      out.push({ subject: `chart ${name}`, note: `removed (was ${String(old.version ?? 'unversioned')})` });
      continue;
    }
    const { valuesInline: oldValues, ...oldRest } = old;
    const { valuesInline: newValues, ...newRest } = current;
    for (const field of diffValues(oldRest, newRest)) out.push({ subject: `chart ${name}`, ...field });
    for (const field of diffValues(oldValues ?? {}, newValues ?? {})) out.push({ subject: `chart ${name} values`, ...field });
  }
  for (const [name, chart] of news) {
    if (!olds.has(name))
      out.push({
        subject: `chart ${name}`,
        note: `added at ${String(chart.version ?? 'no version')} from ${String(chart.repo ?? 'a local chart')}`,
      });
  }
}

/** `Deployment argocd-server`, `every CustomResourceDefinition` for a patch's target. */
function patchTarget(patch: Record<string, unknown>): string {
  const target = isRecord(patch.target) ? patch.target : undefined;
  if (!target) return typeof patch.path === 'string' ? patch.path : 'with no target';
  const kind = typeof target.kind === 'string' ? target.kind : 'object';
  const selectors = ['namespace', 'labelSelector', 'annotationSelector']
    .filter((key) => typeof target[key] === 'string')
    .map((key) => `${key}=${target[key] as string}`);
  const name =
    typeof target.name === 'string' ? ` ${target.name}` : ` (every ${kind}${selectors.length > 0 ? ` with ${selectors.join(', ')}` : ''})`;
  const group = typeof target.group === 'string' && target.group !== '' ? `.${target.group}` : '';
  return `${kind}${group}${name}`;
}

function patchBody(patch: Record<string, unknown>): unknown {
  if (typeof patch.patch !== 'string') return patch.path ?? null;
  try {
    return parseYaml(patch.patch, { version: '1.1', uniqueKeys: false }) as unknown;
  } catch {
    return patch.patch;
  }
}

function diffPatches(before: unknown, after: unknown, out: KustomizationChange[]): void {
  const byTarget = (list: unknown) => {
    const found = new Map<string, unknown[]>();
    for (const patch of listOf(list).filter(isRecord))
      found.set(patchTarget(patch), [...(found.get(patchTarget(patch)) ?? []), patchBody(patch)]);
    return found;
  };
  const olds = byTarget(before);
  const news = byTarget(after);
  for (const [target, bodies] of olds) {
    const current = news.get(target);
    if (!current) out.push({ subject: `patch of ${target}`, note: 'removed' });
    else {
      const single = bodies.length === 1 && current.length === 1;
      for (const field of diffValues(single ? bodies[0] : bodies, single ? current[0] : current))
        out.push({ subject: `patch of ${target}`, ...field });
    }
  }
  for (const target of news.keys()) if (!olds.has(target)) out.push({ subject: `patch of ${target}`, note: 'added' });
}

/** What changed in an app's kustomization: upstream versions, charts and their values, patches, then any other field. */
export function diffKustomization(before: Manifest | undefined, after: Manifest | undefined): KustomizationChange[] {
  const out: KustomizationChange[] = [];
  const old = before ?? {};
  const current = after ?? {};
  diffRemote('resources', old.resources, current.resources, out);
  diffRemote('components', old.components, current.components, out);
  diffCharts(old.helmCharts, current.helmCharts, out);
  diffPatches(old.patches, current.patches, out);
  // Local files are the app's objects, compared one by one; generators name files of objects too.
  const local = (value: unknown) => listOf(value).filter((entry) => !isRemote(entry));
  // A kustomization that comes or goes with its app: its apiVersion and kind say nothing.
  const whole = before === undefined || after === undefined;
  const rest = (manifest: Manifest) => {
    const { resources, components, helmCharts, patches, generators, apiVersion, kind, ...others } = manifest;
    return {
      ...(whole ? {} : { apiVersion, kind }),
      ...others,
      ...(local(components).length > 0 ? { components: local(components) } : {}),
    };
  };
  for (const field of diffValues(rest(old), rest(current))) out.push({ subject: 'kustomization', ...field });
  return out;
}
