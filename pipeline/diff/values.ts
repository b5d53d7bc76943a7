import { isRecord } from '../../framework/model.js';

/** One changed field of an object: its path, and the value before and after (absent when the field is new or gone). */
export interface FieldChange {
  /** `spec.template.spec.containers[name=app].image`: list items that carry a name are matched by it. */
  readonly path: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/**
 * The keys that name the items of a list, in the order they are tried: a list whose items all
 * carry one of them, each value once, is matched item by item on it (containers, ports, env and
 * volumes on `name`, volume mounts on `mountPath`, ingress rules on `host`), so that an item added
 * in the middle is one added item and not a change of every item after it.
 */
const ITEM_KEYS = ['name', 'mountPath', 'host'] as const;

function itemKey(list: readonly unknown[]): string | undefined {
  if (list.length === 0) return undefined;
  for (const key of ITEM_KEYS) {
    const seen = new Set<unknown>();
    const named = list.every((item) => {
      if (!isRecord(item)) return false;
      const value = item[key];
      if ((typeof value !== 'string' && typeof value !== 'number') || seen.has(value)) return false;
      seen.add(value);
      return true;
    });
    if (named) return key;
  }
  return undefined;
}

/** A path segment for a mapping key: `.key`, or `["a.b"]` when the key holds characters a path would misread. */
function keySegment(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

/** Values the YAML reader makes of timestamps, sets and ordered maps, compared and shown as plain data. */
export function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Set) return [...value].map(plain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([key, item]) => [String(key), plain(item)]));
  return value;
}

const own = (record: object, key: string) => Object.hasOwn(record, key);

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const x = plain(a);
  const y = plain(b);
  if (x !== a || y !== b) return deepEqual(x, y);
  if (Array.isArray(x)) {
    if (!Array.isArray(y) || x.length !== y.length) return false;
    return x.every((item, index) => deepEqual(item, y[index]));
  }
  if (isRecord(x)) {
    if (!isRecord(y)) return false;
    const keys = Object.keys(x);
    if (keys.length !== Object.keys(y).length) return false;
    return keys.every((key) => own(y, key) && deepEqual(x[key], y[key]));
  }
  return false;
}

/**
 * The changed fields between two values, as paths. Mapping key order and the order of named list
 * items are not changes (the API server and kustomize do not keep them); the order of other list
 * items is, and a list of plain values that differs is one change of the whole list.
 */
export function diffValues(before: unknown, after: unknown, path = ''): FieldChange[] {
  const out: FieldChange[] = [];
  walk(before, after, path, out);
  return out;
}

function walk(rawBefore: unknown, rawAfter: unknown, path: string, out: FieldChange[]): void {
  if (deepEqual(rawBefore, rawAfter)) return;
  const before = plain(rawBefore);
  const after = plain(rawAfter);
  if (isRecord(before) && isRecord(after) && !Array.isArray(before) && !Array.isArray(after)) {
    for (const key of Object.keys(before)) {
      const next = keySegment(path, key);
      if (!own(after, key)) out.push({ path: next, before: before[key] });
      else walk(before[key], after[key], next, out);
    }
    for (const key of Object.keys(after)) if (!own(before, key)) out.push({ path: keySegment(path, key), after: after[key] });
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const key = itemKey(before.length > 0 ? before : after);
    if (key !== undefined && (after.length === 0 || itemKey(after) === key) && (before.length === 0 || itemKey(before) === key)) {
      const olds = new Map(before.map((item) => [(item as Record<string, unknown>)[key], item] as const));
      const news = new Map(after.map((item) => [(item as Record<string, unknown>)[key], item] as const));
      for (const [name, item] of olds) {
        const next = `${path}[${key}=${String(name)}]`;
        if (!news.has(name)) out.push({ path: next, before: item });
        else walk(item, news.get(name), next, out);
      }
      for (const [name, item] of news) if (!olds.has(name)) out.push({ path: `${path}[${key}=${String(name)}]`, after: item });
      return;
    }
    const structured = [...before, ...after].some((item) => isRecord(item) || Array.isArray(item));
    if (structured) {
      alignItems(before, after, path, out);
      return;
    }
  }
  out.push({ path, before, after });
}

/**
 * Unnamed items (routes, rules, tolerations) aligned on the items equal on both sides (a longest
 * common subsequence), so that one inserted or removed item is that one item; between two equal
 * items, the items that differ are compared pair by pair, and the rest are added or removed. An
 * item is named by its index before the change, or after it for an added one.
 */
function alignItems(before: readonly unknown[], after: readonly unknown[], path: string, out: FieldChange[]): void {
  if (before.length * after.length > 250_000) {
    // Too long to align: item by index.
    for (let index = 0; index < Math.max(before.length, after.length); index += 1) {
      if (index >= after.length) out.push({ path: `${path}[${index}]`, before: before[index] });
      else if (index >= before.length) out.push({ path: `${path}[${index}]`, after: after[index] });
      else walk(before[index], after[index], `${path}[${index}]`, out);
    }
    return;
  }
  const rows = before.length + 1;
  const columns = after.length + 1;
  const lengths = new Uint16Array(rows * columns);
  for (let i = before.length - 1; i >= 0; i -= 1) {
    for (let j = after.length - 1; j >= 0; j -= 1) {
      lengths[i * columns + j] = deepEqual(before[i], after[j])
        ? (lengths[(i + 1) * columns + j + 1] as number) + 1
        : Math.max(lengths[(i + 1) * columns + j] as number, lengths[i * columns + j + 1] as number);
    }
  }
  let i = 0;
  let j = 0;
  let removed: number[] = [];
  let added: number[] = [];
  const flush = () => {
    const pairs = Math.min(removed.length, added.length);
    for (let k = 0; k < pairs; k += 1) walk(before[removed[k] as number], after[added[k] as number], `${path}[${removed[k]}]`, out);
    for (const index of removed.slice(pairs)) out.push({ path: `${path}[${index}]`, before: before[index] });
    for (const index of added.slice(pairs)) out.push({ path: `${path}[${index}]`, after: after[index] });
    removed = [];
    added = [];
  };
  while (i < before.length || j < after.length) {
    if (i < before.length && j < after.length && deepEqual(before[i], after[j])) {
      flush();
      i += 1;
      j += 1;
    } else if (
      j >= after.length ||
      (i < before.length && (lengths[(i + 1) * columns + j] as number) >= (lengths[i * columns + j + 1] as number))
    ) {
      removed.push(i);
      i += 1;
    } else {
      added.push(j);
      j += 1;
    }
  }
  flush();
}

/** A value on one line, as YAML flow style would show it, cut to `limit` characters. */
export function showValue(value: unknown, limit = 80): string {
  const text = typeof value === 'string' ? (plainString(value) ? value : JSON.stringify(value)) : flow(value);
  return text.length > limit ? `${text.slice(0, limit - 3)}...` : text;
}

/** A string that reads as itself unquoted: not empty, no spaces or quotes, and not a number, boolean or null in disguise. */
function plainString(value: string): boolean {
  return /^[\w./:@-]+$/.test(value) && !/^([-+]?[\d.]+([eE][-+]?\d+)?|true|false|yes|no|on|off|null|~)$/i.test(value);
}

function flow(value: unknown): string {
  if (value === undefined) return '(none)';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return `[${value.map((item) => (typeof item === 'string' ? showValue(item, 1e9) : flow(item))).join(', ')}]`;
  if (isRecord(value)) {
    return `{${Object.entries(value)
      .map(([key, item]) => `${key}: ${typeof item === 'string' ? showValue(item, 1e9) : flow(item)}`)
      .join(', ')}}`;
  }
  return JSON.stringify(value) ?? String(value);
}

/** Whether a change is best shown as a line diff: either side a string of several lines. */
export function isMultiline(change: FieldChange): boolean {
  return (
    (typeof change.before === 'string' || change.before === undefined) &&
    (typeof change.after === 'string' || change.after === undefined) &&
    [change.before, change.after].some((side) => typeof side === 'string' && side.includes('\n'))
  );
}
