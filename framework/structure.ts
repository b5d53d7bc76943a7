import { isRecord } from './model.js';
import type { SchemaViolation } from './schema.js';

/**
 * The field structure of a kind, as strict validation needs it: which fields exist at every
 * level, so that a field nothing defines (`spec.replika`) is an error, as it is for the API
 * server's strict field validation (`kubectl apply --validate=strict`, the default since 1.25).
 * Types and values are the schema check's job; this only knows where fields may stand.
 *
 * - `0`: a leaf (string, number, boolean, int-or-string, quantity): nothing inside to check;
 * - `1`: free-form (RawExtension, JSON, `x-kubernetes-preserve-unknown-fields`): any fields;
 * - a string: the named type in `Structures.types`;
 * - `{ a }`: a list of `a`; `{ m }`: a map of any keys to `m`; `{ u }`: one of several (the
 *   value's own shape picks the branch);
 * - an object type: its fields (`f`), what other keys hold (`m`), whether other keys are kept
 *   as they are (`x`), and whether it is an embedded resource (`e`: apiVersion, kind and
 *   metadata are implied, as `x-kubernetes-embedded-resource` says).
 */
export type FieldType = 0 | 1 | string | ListType | MapType | UnionType | ObjectType;
export interface ListType {
  readonly a: FieldType;
}
export interface MapType {
  readonly m: FieldType;
}
export interface UnionType {
  readonly u: readonly FieldType[];
}
export interface ObjectType {
  readonly f: Readonly<Record<string, FieldType>>;
  readonly m?: FieldType;
  readonly x?: 1;
  readonly e?: 1;
}

/** A set of named types and the kinds (`apiVersion/Kind`) that start at one of them. */
export interface Structures {
  /** Where the structures come from (a package and version, a CRD file). */
  readonly source: string;
  readonly types: Readonly<Record<string, FieldType>>;
  readonly kinds: Readonly<Record<string, FieldType>>;
}

/** The name of ObjectMeta's type in every structure set: metadata is always ObjectMeta to the API server. */
export const OBJECT_META = 'ObjectMeta';

function isObjectType(type: FieldType): type is ObjectType {
  return typeof type === 'object' && 'f' in type;
}

/** Edit distance with transpositions (optimal string alignment), case-insensitive, stopping past `limit`. */
function distance(a: string, b: string, limit: number): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  if (Math.abs(s.length - t.length) > limit) return limit + 1;
  let before: number[] = [];
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i += 1) {
    const current = [i];
    let best = i;
    for (let j = 1; j <= t.length; j += 1) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) value = Math.min(value, (before[j - 2] ?? 0) + 1);
      current.push(value);
      best = Math.min(best, value);
    }
    if (best > limit) return limit + 1;
    before = previous;
    previous = current;
  }
  return previous[t.length] ?? limit + 1;
}

/** The known field nearest to `field` when it is close enough to be a typo, else undefined. */
export function nearestField(field: string, known: Iterable<string>): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(field.length / 3)));
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const d = distance(field, name, limit);
    if (d <= limit && (!best || d < best.distance)) best = { name, distance: d };
  }
  return best?.name;
}

/**
 * The fields of `value` that its structure does not define, each as a violation at its dotted
 * path (`spec.template.spec.containers.0.resource`), with the nearest known field when one is close.
 */
export function unknownFields(value: unknown, type: FieldType, structures: Structures, path: readonly string[] = []): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  walk(value, type, structures, [...path], out, 0);
  return out;
}

const MAX_DEPTH = 200;

/** What every object, and an embedded resource (`x-kubernetes-embedded-resource`), has without its schema saying so. */
const EMBEDDED_FIELDS: Readonly<Record<string, FieldType>> = { apiVersion: 0, kind: 0, metadata: OBJECT_META };

type Resolved = Exclude<FieldType, string>;

function resolve(type: FieldType, structures: Structures): Resolved {
  let current = type;
  for (let hops = 0; typeof current === 'string' && hops < 50; hops += 1) {
    const next: FieldType | undefined = Object.hasOwn(structures.types, current) ? structures.types[current] : undefined;
    if (next === undefined) return 1;
    current = next;
  }
  return typeof current === 'string' ? 1 : current;
}

/** The union branch that fits the value: a list for a list, an object-like type for an object. */
function branch(value: unknown, union: UnionType, structures: Structures): Resolved {
  for (const member of union.u) {
    const resolved = resolve(member, structures);
    if (Array.isArray(value) && typeof resolved === 'object' && 'a' in resolved) return resolved;
    if (isRecord(value) && (resolved === 1 || (typeof resolved === 'object' && ('f' in resolved || 'm' in resolved)))) return resolved;
  }
  return 0;
}

function walk(value: unknown, type: FieldType, structures: Structures, path: string[], out: SchemaViolation[], depth: number): void {
  if (depth > MAX_DEPTH) return;
  const resolved = resolve(type, structures);
  if (resolved === 0 || resolved === 1) return;
  if ('u' in resolved) {
    walk(value, branch(value, resolved, structures), structures, path, out, depth + 1);
    return;
  }
  if ('a' in resolved) {
    if (!Array.isArray(value)) return;
    value.forEach((item, index) => {
      path.push(String(index));
      walk(item, resolved.a, structures, path, out, depth + 1);
      path.pop();
    });
    return;
  }
  if (!isRecord(value)) return;
  if (!isObjectType(resolved)) {
    for (const [key, item] of Object.entries(value)) {
      path.push(key);
      walk(item, resolved.m, structures, path, out, depth + 1);
      path.pop();
    }
    return;
  }
  for (const [key, item] of Object.entries(value)) {
    path.push(key);
    // Own fields only: a key such as "constructor" or "__proto__" is a field name, not the prototype's.
    const field = Object.hasOwn(resolved.f, key)
      ? resolved.f[key]
      : resolved.e === 1 && Object.hasOwn(EMBEDDED_FIELDS, key)
        ? EMBEDDED_FIELDS[key]
        : undefined;
    if (field !== undefined) {
      walk(item, field, structures, path, out, depth + 1);
    } else if (resolved.m !== undefined) {
      walk(item, resolved.m, structures, path, out, depth + 1);
    } else if (resolved.x !== 1) {
      const known = Object.keys(resolved.f);
      const near = nearestField(key, resolved.e === 1 ? [...known, ...Object.keys(EMBEDDED_FIELDS)] : known);
      out.push({ path: path.join('.'), message: near ? `unknown field (did you mean ${near}?)` : 'unknown field' });
    }
    path.pop();
  }
}

/**
 * The unknown fields of a whole object of a kind whose structure starts at `root`. Its metadata
 * is ObjectMeta whatever a CRD's schema says of it (the API server prunes it to ObjectMeta).
 */
export function unknownFieldsOfObject(manifest: Record<string, unknown>, root: FieldType, structures: Structures): SchemaViolation[] {
  const resolved = resolve(root, structures);
  if (!isObjectType(resolved)) return unknownFields(manifest, resolved, structures);
  const top: ObjectType = { ...resolved, f: { ...resolved.f, ...EMBEDDED_FIELDS } };
  return unknownFields(manifest, top, structures);
}
