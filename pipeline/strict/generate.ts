/**
 * Writes the field structures strict validation reads: one JSON file per model package under
 * `pipeline/strict/structures/` (from the packages' declarations in node_modules), and one per
 * CRD source registered by the library (from the CRD files themselves). Generated, never edited:
 * `npm run strict-schemas` writes them; a test fails while they are stale.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { formatProblem } from '../../framework/model.js';
import { type FieldType, OBJECT_META, type Structures } from '../../framework/structure.js';
import { parseManifests } from '../yaml.js';
import { crdStructures } from './crd.js';
import { readDeclarations, withBases } from './declarations.js';

/** Where the model packages' structure files live, relative to the project root. */
export const MODEL_STRUCTURE_FOLDER = 'pipeline/strict/structures';

/** A structure file made from CRD files (paths relative to the project root). */
export interface CrdStructureSource {
  readonly file: string;
  readonly crds: readonly string[];
}

/**
 * Every structure file and its text, generated from the project at `root`: the model packages'
 * declarations, and each CRD source (the CRDs the library registers kinds from, and the pinned
 * upstream CRDs of the kinds the library renders; cli/strict-schemas.ts lists them).
 */
export function structureFiles(root: string, crdSources: readonly CrdStructureSource[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [file, structures] of modelStructures(root)) out.set(`${MODEL_STRUCTURE_FOLDER}/${file}`, structureFileText(structures));
  for (const source of crdSources) {
    const structures = crdFileStructures(source.crds.map((crd) => ({ path: join(root, crd), label: crd.replace(/^(\.\.\/)+/, '') })));
    out.set(source.file, structureFileText(structures));
  }
  return out;
}

/** A model package and the file its structures go to. */
export interface ModelStructureSource {
  readonly package: string;
  readonly file: string;
}

/** The model packages SchemaRegistry validates with, the core one first: it also holds apimachinery's types (ObjectMeta ...). */
export const MODEL_STRUCTURE_SOURCES: readonly ModelStructureSource[] = [
  { package: 'kubernetes-models', file: 'kubernetes.json' },
  { package: '@kubernetes-models/argo-cd', file: 'argo-cd.json' },
  { package: '@kubernetes-models/cert-manager', file: 'cert-manager.json' },
  { package: '@kubernetes-models/traefik', file: 'traefik.json' },
  { package: '@kubernetes-models/prometheus-operator', file: 'prometheus-operator.json' },
];

/** Packages whose types other packages' declarations refer to. */
const SHARED_PACKAGES = ['@kubernetes-models/apimachinery', '@kubernetes-models/gateway-api'];

const OBJECT_META_TYPE = 'IIoK8sApimachineryPkgApisMetaV1ObjectMeta';

function packageRoot(name: string, from: string): { root: string; version: string } {
  const require = createRequire(join(from, 'package.json'));
  const manifest = require.resolve(`${name}/package.json`);
  return { root: dirname(manifest), version: (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version };
}

function references(type: FieldType, out: Set<string>): void {
  if (typeof type === 'string') out.add(type);
  else if (typeof type === 'object') for (const value of Object.values(type)) references(value as FieldType, out);
}

/** `types` plus every type they name, taken from `pool`; a name found nowhere is an error. */
function closure(own: Record<string, FieldType>, roots: Iterable<string>, pool: Record<string, FieldType>, what: string) {
  const types: Record<string, FieldType> = {};
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.pop() as string;
    if (name in types) continue;
    const type = own[name] ?? pool[name];
    if (type === undefined) throw new Error(`${what}: type ${name} is named but declared in no package read`);
    types[name] = type;
    const named = new Set<string>();
    references(type, named);
    queue.push(...named);
  }
  return Object.fromEntries(Object.entries(types).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The structures of each model package, keyed by output file, from the packages installed under `root`. */
export function modelStructures(root: string): Map<string, Structures> {
  const shared: Record<string, FieldType> = {};
  const versions: string[] = [];
  for (const name of SHARED_PACKAGES) {
    const found = packageRoot(name, root);
    const declared = readDeclarations(found.root);
    Object.assign(shared, withBases(declared.types, declared.bases));
    versions.push(`${name}@${found.version}`);
  }
  const out = new Map<string, Structures>();
  let coreTypes: Record<string, FieldType> = {};
  for (const source of MODEL_STRUCTURE_SOURCES) {
    const found = packageRoot(source.package, root);
    const read = readDeclarations(found.root);
    const declared = { ...read, types: withBases({ ...shared, ...coreTypes, ...read.types }, read.bases) };
    for (const name of Object.keys(declared.types)) if (!(name in read.types)) delete declared.types[name];
    const core = source.file === 'kubernetes.json';
    const kinds = Object.fromEntries(Object.entries(declared.kinds).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const roots = [...Object.values(kinds), ...(core ? [OBJECT_META_TYPE] : [])];
    const all = closure(declared.types, roots, { ...shared, ...coreTypes }, source.package);
    // The other sets lean on the core set for Kubernetes' own types, as their packages do.
    const types = core
      ? { ...all, [OBJECT_META]: OBJECT_META_TYPE }
      : Object.fromEntries(Object.entries(all).filter(([name]) => !(name in coreTypes)));
    if (core) coreTypes = types;
    out.set(source.file, {
      source: `${source.package}@${found.version}${core ? ` with ${versions.join(', ')}` : ''} (TypeScript declarations)`,
      types,
      kinds,
    });
  }
  return out;
}

/** The structures of the CRDs in `files` (YAML, one or more CRDs each), keyed `apiVersion/Kind`. */
export function crdFileStructures(files: readonly { readonly path: string; readonly label: string }[]): Structures {
  const kinds: Record<string, FieldType> = {};
  for (const { path, label } of files) {
    // Read as Kubernetes reads YAML; a file that does not parse is an error, never fewer kinds.
    const parsed = parseManifests(readFileSync(path), label);
    if (parsed.problems.length > 0) throw new Error(parsed.problems.map(formatProblem).join('\n'));
    for (const { manifest } of parsed.objects) Object.assign(kinds, crdStructures(manifest));
  }
  return {
    source: files.map((file) => file.label).join(', '),
    types: {},
    kinds: Object.fromEntries(Object.entries(kinds).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}

/** A structure file's text: stable, one line per type, so that a regenerated file diffs by type. */
export function structureFileText(structures: Structures): string {
  const block = (record: Readonly<Record<string, FieldType>>) =>
    Object.entries(record)
      .map(([name, type]) => `    ${JSON.stringify(name)}: ${JSON.stringify(type)}`)
      .join(',\n');
  return `{\n  "source": ${JSON.stringify(structures.source)},\n  "types": {\n${block(structures.types)}\n  },\n  "kinds": {\n${block(structures.kinds)}\n  }\n}\n`;
}
