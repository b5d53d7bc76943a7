import { z } from 'zod';
import type { InventoryIssue } from '../framework/cluster.js';
import { schemaAt } from './schema-walk.js';

/**
 * zod's issues in the inventory's terms: a JSON path such as `hosts[0].ipv4` and one message per
 * problem, listed as the inventory reads (per object: its unknown keys, then its fields in order,
 * then the checks between them).
 */

type Key = PropertyKey;
/** The part of a zod issue read here (raw issues, inside a check, and final ones alike). */
interface ZodIssueLike {
  readonly code?: string;
  readonly path?: readonly Key[];
  readonly message?: string;
  readonly keys?: readonly string[];
  readonly expected?: string;
}

/** A path as the inventory's messages write it: `kubernetes.podCidrs[1]`, `examples.acme.email`. */
export function formatPath(path: readonly Key[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** The keys of a path written as `formatPath` writes it. */
export function parsePath(path: string): Key[] {
  return (path.match(/[^.[\]]+|\[\d+\]/g) ?? []).map((segment) => (segment.startsWith('[') ? Number(segment.slice(1, -1)) : segment));
}

const within = (path: readonly Key[], prefix: readonly Key[]) =>
  path.length >= prefix.length && prefix.every((key, index) => path[index] === key);

/** The paths of the values an issue is about: an unknown-keys issue is about each of its keys. */
export function issuePaths(issue: ZodIssueLike): Key[][] {
  const path = [...(issue.path ?? [])];
  return issue.code === 'unrecognized_keys' ? (issue.keys ?? []).map((key) => [...path, key]) : [path];
}

/** `value` without the values that have an issue (or lie below one), so that checks never read them. */
export function withoutReported(value: unknown, issues: readonly ZodIssueLike[]): unknown {
  const copy = structuredClone(value);
  for (const path of issues.flatMap(issuePaths)) {
    let parent: unknown = copy;
    for (const key of path.slice(0, -1))
      parent = typeof parent === 'object' && parent !== null ? (parent as Record<Key, unknown>)[key] : undefined;
    const last = path.at(-1);
    if (last === undefined || typeof parent !== 'object' || parent === null) continue;
    if (Array.isArray(parent) && typeof last === 'number') parent[last] = undefined;
    else delete (parent as Record<Key, unknown>)[last];
  }
  return copy;
}

/** The issues of the fields below a missing object (or a value that is not one), at their full paths. */
function missingFields(schema: z.core.$ZodType, path: readonly Key[]): ZodIssueLike[] {
  const object = schemaAt(schema, path);
  const result = object ? z.safeParse(object, {}) : undefined;
  return (result?.error?.issues ?? []).map((issue) => ({ ...issue, path: [...path, ...issue.path] }));
}

/** The inventory's issues from zod's, `schema` being the one that raised them. */
export function inventoryIssues(issues: readonly ZodIssueLike[], schema: z.core.$ZodType): InventoryIssue[] {
  const out: { readonly issue: InventoryIssue; readonly path: readonly Key[] }[] = [];
  const add = (issue: ZodIssueLike) => {
    const path = issue.path ?? [];
    const message = issue.message ?? 'is not valid';
    if (issue.code === 'unrecognized_keys') {
      // zod reports an object's unknown keys after its fields; the inventory names them first.
      const first = out.findIndex((entry) => within(entry.path, path));
      const unknown = issuePaths(issue).map((keyPath) => ({ issue: { path: formatPath(keyPath), message }, path: keyPath }));
      out.splice(first < 0 ? out.length : first, 0, ...unknown);
      return;
    }
    out.push({ issue: { path: formatPath(path), message }, path });
    // A missing object is named, and so is each field it must have.
    if (issue.code === 'invalid_type' && issue.expected === 'object') for (const nested of missingFields(schema, path)) add(nested);
  };
  for (const issue of issues) add(issue);
  return out.map((entry) => entry.issue);
}
