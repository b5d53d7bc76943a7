/** A Kubernetes object as plain JSON data, before anything about it is known to be valid. */
export type Manifest = Record<string, unknown>;

/** Where an object came from: a construct path (synth) or a file and document (validate). */
export interface Origin {
  /** Construct path, e.g. `<cluster>/<app>/<construct>/Resource`. */
  readonly constructPath?: string;
  /** File path as the user should see it (relative to the working directory or project root). */
  readonly file?: string;
  /** Zero-based document index within a multi-document YAML file. */
  readonly document?: number;
  /** Item index when the object is an item of a `kind: List`. */
  readonly listItem?: number;
  /**
   * What put the object into a built app folder (deep build): `upstream <url>`, `Helm chart ...`,
   * `project file <name>`, `SOPS file <name>`, with `, patched` when a patch of the app changed it.
   */
  readonly source?: string;
}

/** An object handed to validation, with its origin. */
export interface SourcedObject {
  readonly manifest: Manifest;
  readonly origin: Origin;
}

/** The identity of an object as far as it could be read. */
export interface ObjectRef {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name?: string;
}

export interface Problem {
  readonly origin: Origin;
  readonly object?: ObjectRef;
  /** Short rule id, e.g. `schema`, `metadata.name`, `duplicate`, `secret.plaintext`. */
  readonly rule: string;
  readonly message: string;
}

export function objectRef(manifest: Manifest): ObjectRef {
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
  const name =
    typeof metadata.name === 'string' ? metadata.name : typeof metadata.generateName === 'string' ? `${metadata.generateName}*` : undefined;
  return {
    apiVersion: typeof manifest.apiVersion === 'string' ? manifest.apiVersion : undefined,
    kind: typeof manifest.kind === 'string' ? manifest.kind : undefined,
    namespace: typeof metadata.namespace === 'string' ? metadata.namespace : undefined,
    name,
  };
}

export function formatOrigin(origin: Origin): string {
  let file = origin.file;
  if (file !== undefined && origin.document !== undefined) {
    file += ` (document ${origin.document + 1}${origin.listItem !== undefined ? `, List item ${origin.listItem + 1}` : ''})`;
  }
  const source = origin.source !== undefined ? ` [${origin.source}]` : '';
  if (origin.constructPath !== undefined) {
    return `${file !== undefined ? `${origin.constructPath} (${file})` : origin.constructPath}${source}`;
  }
  return `${file ?? '<unknown origin>'}${source}`;
}

export function formatObjectRef(ref: ObjectRef): string {
  const kind = ref.kind ?? '<no kind>';
  const name = ref.name ?? '<no name>';
  return ref.namespace !== undefined ? `${kind} ${ref.namespace}/${name}` : `${kind} ${name}`;
}

/** One line per problem: `where: Kind namespace/name: message [rule]`. */
export function formatProblem(problem: Problem): string {
  const object = problem.object ? `${formatObjectRef(problem.object)}: ` : '';
  return `${formatOrigin(problem.origin)}: ${object}${problem.message} [${problem.rule}]`;
}

/**
 * The problems with exact repeats folded into their first occurrence, which says how often it
 * was found (one missing chart of three releases is one problem, not three identical lines).
 */
export function collapseRepeats(problems: readonly Problem[]): Problem[] {
  const counts = new Map<string, number>();
  for (const problem of problems) {
    const line = formatProblem(problem);
    counts.set(line, (counts.get(line) ?? 0) + 1);
  }
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const problem of problems) {
    const line = formatProblem(problem);
    if (seen.has(line)) continue;
    seen.add(line);
    const count = counts.get(line) ?? 1;
    out.push(count === 1 ? problem : { ...problem, message: `${problem.message} (found ${count} times)` });
  }
  return out;
}

/**
 * Folds problems that say the same thing of different files (a message that names its own
 * file, identical once that name is left out, under the same rule) into the first of them,
 * which lists the other files: one broken setting that every file trips is one line.
 */
export function foldPerFile(problems: readonly Problem[]): Problem[] {
  const template = (problem: Problem) => {
    const file = problem.origin.file;
    return file && problem.message.includes(file) ? `${problem.rule}\u0000${problem.message.replaceAll(file, '\u0000')}` : undefined;
  };
  const groups = new Map<string, Problem[]>();
  for (const problem of problems) {
    const key = template(problem);
    if (key !== undefined) groups.set(key, [...(groups.get(key) ?? []), problem]);
  }
  const out: Problem[] = [];
  for (const problem of problems) {
    const key = template(problem);
    const group = key === undefined ? undefined : groups.get(key);
    if (!group || group.length === 1) {
      out.push(problem);
      continue;
    }
    if (group[0] !== problem) continue;
    const others = group.slice(1).map((other) => other.origin.file);
    out.push({ ...problem, message: `${problem.message} (and the same for ${others.length} more: ${others.join(', ')})` });
  }
  return out;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Byte-wise string comparison: independent of the process locale. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The API group of an apiVersion (`apps/v1` → `apps`, `v1` → the core group, ``). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash === -1 ? '' : apiVersion.slice(0, slash);
}

/** Whether `manifest` is a `kind` of API group `group` ('' for the core group), at any version. */
export function isKind(manifest: Manifest, group: string, kind: string): boolean {
  return manifest.kind === kind && groupOf(String(manifest.apiVersion)) === group;
}

/** The value at `path` below `value` (object keys only), or undefined where the path leaves the objects. */
export function valueAt(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((current, key) => (isRecord(current) ? current[key] : undefined), value);
}

/** An object's `metadata.labels`, or {} when it has none. */
export function labelsOf(manifest: Manifest): Record<string, unknown> {
  const labels = valueAt(manifest, ['metadata', 'labels']);
  return isRecord(labels) ? labels : {};
}

/** An object's `metadata.annotations`, or {} when it has none. */
export function annotationsOf(manifest: Manifest): Record<string, unknown> {
  const annotations = valueAt(manifest, ['metadata', 'annotations']);
  return isRecord(annotations) ? annotations : {};
}

/** The kind a CustomResourceDefinition defines, or undefined for anything else. */
export function definedKind(manifest: Manifest): { group: string; kind: string } | undefined {
  if (manifest.kind !== 'CustomResourceDefinition' || groupOf(String(manifest.apiVersion)) !== 'apiextensions.k8s.io') return undefined;
  const spec = manifest.spec;
  if (!isRecord(spec) || typeof spec.group !== 'string' || !isRecord(spec.names) || typeof spec.names.kind !== 'string') return undefined;
  return { group: spec.group, kind: spec.names.kind };
}
