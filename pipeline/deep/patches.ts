import type { PatchEntry } from '../../framework/contributions.js';
import { groupOf, isRecord, type Manifest } from '../../framework/model.js';

/** kustomize anchors a target's name and namespace patterns: they must match the whole value. */
function matchesPattern(pattern: string | undefined, value: string | undefined): boolean {
  if (pattern === undefined) return true;
  try {
    return new RegExp(`^(?:${pattern})$`).test(value ?? '');
  } catch {
    return pattern === value;
  }
}

/** Whether kustomize's patch target selects the object (group, version, kind, name, namespace). */
export function selects(target: PatchEntry['target'], manifest: Manifest): boolean {
  const apiVersion = typeof manifest.apiVersion === 'string' ? manifest.apiVersion : '';
  const group = groupOf(apiVersion);
  const version = apiVersion.includes('/') ? apiVersion.slice(apiVersion.indexOf('/') + 1) : apiVersion;
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
  if (target.group !== undefined && target.group !== group) return false;
  if (target.version !== undefined && target.version !== version) return false;
  if (target.kind !== manifest.kind) return false;
  if (!matchesPattern(target.name, typeof metadata.name === 'string' ? metadata.name : undefined)) return false;
  return matchesPattern(target.namespace, typeof metadata.namespace === 'string' ? metadata.namespace : undefined);
}

/** Where a value of the patch is missing from (or differs in) the built object, as a dotted path; undefined when all is there. */
function missingPart(actual: unknown, wanted: unknown, path: string): string | undefined {
  if (isRecord(wanted)) {
    if (!isRecord(actual)) return path || '(root)';
    for (const [key, value] of Object.entries(wanted)) {
      // Strategic-merge directives say how to merge, they are not content.
      if (key.startsWith('$')) continue;
      if (value === null) {
        if (actual[key] !== undefined) return path ? `${path}.${key}` : key;
        continue;
      }
      const missing = missingPart(actual[key], value, path ? `${path}.${key}` : key);
      if (missing !== undefined) return missing;
    }
    return undefined;
  }
  if (Array.isArray(wanted)) {
    if (!Array.isArray(actual)) return path;
    for (const [index, item] of wanted.entries()) {
      if (isRecord(item) && item.$patch === 'delete') continue;
      if (!actual.some((candidate) => missingPart(candidate, item, '') === undefined)) {
        const label = isRecord(item) && typeof item.name === 'string' ? `[name=${item.name}]` : `[${index}]`;
        const closest =
          isRecord(item) && typeof item.name === 'string' ? actual.find((c) => isRecord(c) && c.name === item.name) : undefined;
        return closest !== undefined ? (missingPart(closest, item, `${path}${label}`) ?? `${path}${label}`) : `${path}${label}`;
      }
    }
    return undefined;
  }
  // kustomize's YAML writer may drop a multi-line string's final newline; the content is the same.
  if (typeof actual === 'string' && typeof wanted === 'string')
    return actual.replace(/\n$/, '') === wanted.replace(/\n$/, '') ? undefined : path;
  return actual === wanted ? undefined : path;
}

/** A JSON pointer's value in an object, or undefined. */
function pointer(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const raw of path.split('/').slice(1)) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(current)) current = key === '-' ? current.at(-1) : current[Number(key)];
    else if (isRecord(current)) current = current[key];
    else return undefined;
  }
  return current;
}

/**
 * Where the patch does not show in a built object it selects: a field it sets that holds
 * another value, or a JSON6902 operation whose result is absent. The patch's own
 * metadata.name and namespace are ignored (kustomize applies it by target).
 */
export function patchMissingIn(entry: PatchEntry, built: Manifest): string | undefined {
  if (Array.isArray(entry.patch)) {
    for (const operation of entry.patch as readonly Record<string, unknown>[]) {
      const path = String(operation.path ?? '');
      const value = pointer(built, path);
      if ((operation.op === 'add' || operation.op === 'replace') && missingPart(value, operation.value, '') !== undefined) {
        return `${operation.op} ${path}`;
      }
      if (operation.op === 'remove' && value !== undefined) return `remove ${path}`;
    }
    return undefined;
  }
  const patch = entry.patch as Record<string, unknown>;
  const metadata = isRecord(patch.metadata) ? { ...patch.metadata } : undefined;
  if (metadata) {
    delete metadata.name;
    delete metadata.namespace;
  }
  const content: Record<string, unknown> = { ...patch, ...(metadata ? { metadata } : {}) };
  delete content.apiVersion;
  delete content.kind;
  return missingPart(built, content, '');
}
