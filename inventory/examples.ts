import type { InventoryIssue } from '../framework/cluster.js';

/** An inventory field that still holds a placeholder, with what to put there. */
export interface InventoryExample {
  /** The field's path, e.g. `acme.email` or `hosts[0].ipv4`. */
  readonly field: string;
  /** The value there, as text (lists joined with commas). */
  readonly value: string;
  readonly replace: string;
}

/** The value at a path such as `hosts[0].ipv4`, or undefined. */
export function valueAt(data: unknown, path: string): unknown {
  let current: unknown = data;
  for (const segment of path.match(/[^.[\]]+|\[\d+\]/g) ?? []) {
    if (segment.startsWith('[')) current = Array.isArray(current) ? current[Number(segment.slice(1, -1))] : undefined;
    else
      current =
        typeof current === 'object' && current !== null && !Array.isArray(current)
          ? (current as Record<string, unknown>)[segment]
          : undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join(', ');
  if (Array.isArray(value)) return `${value.length} entries`;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The example values `examples` marks in `facts`, each with the value its path holds. */
export function examplesIn(facts: unknown, examples: Readonly<Record<string, string>> | undefined): InventoryExample[] {
  return Object.entries(examples ?? {}).map(([field, replace]) => ({ field, value: describeValue(valueAt(facts, field)), replace }));
}

/**
 * The problems of the `examples` field: an entry that says nothing, or names no field. A field
 * with an issue of its own (`reported`, the paths of the issues found so far) is not reported
 * again here.
 */
export function checkExamples(facts: Record<string, unknown>, reported: readonly string[], report: (issue: InventoryIssue) => void): void {
  const examples = facts.examples;
  if (typeof examples !== 'object' || examples === null || Array.isArray(examples)) return;
  for (const [path, replace] of Object.entries(examples)) {
    if (typeof replace !== 'string') continue;
    if (replace.trim() === '') {
      report({ path: `examples.${path}`, message: 'must say what replaces the example value (a non-empty string)' });
      continue;
    }
    if (reported.some((issue) => path === issue || path.startsWith(`${issue}.`) || path.startsWith(`${issue}[`))) continue;
    if (path.split('.')[0] === 'examples' || valueAt(facts, path) === undefined) {
      report({ path: `examples.${path}`, message: 'names no field of the inventory (write a path such as acme.email or hosts[0].ipv4)' });
    }
  }
}
