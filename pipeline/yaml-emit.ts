/**
 * A direct YAML emitter for the data synth writes, byte for byte what `stringifyData` gets from
 * the YAML library (YAML 1.1 tags, no line folding, indented sequences), for the shapes that make
 * up nearly every manifest: mappings, sequences, plain and simply quoted strings, literal blocks,
 * integers, booleans and null. It returns undefined for anything else (a float, a control
 * character, a string that needs escapes or single quotes, a sequence in a sequence, a value that
 * is not plain data), and the caller then asks the library. Building the library's document tree
 * for every object was most of the YAML time of a synth; this walks the data once.
 *
 * Which strings may be plain is decided as the library decides it: by the same indicator rules
 * and by the implicit tags of its YAML 1.1 schema (a string that would read back as a number,
 * a boolean, null or a timestamp is quoted), taken from the library itself.
 */
import { Document, type Tags } from 'yaml';
import { isRecord } from '../framework/model.js';

/**
 * The library's document options of `stringifyData`: YAML 1.1, without the merge tag (so a `<<`
 * key is an ordinary string, quoted there) and with no aliases for repeated objects.
 */
export const DATA_OPTIONS = {
  version: '1.1',
  customTags: (tags: Tags) => tags.filter((tag) => typeof tag === 'string' || tag.tag !== 'tag:yaml.org,2002:merge'),
  aliasDuplicateObjects: false,
} as const;

/** The implicit tags of the library's YAML 1.1 schema that a plain string must not match. */
let implicitTags: readonly RegExp[] | undefined;
function implicit(): readonly RegExp[] {
  if (implicitTags) return implicitTags;
  const schema = new Document(null, DATA_OPTIONS).schema as unknown as {
    tags: readonly { default?: unknown; tag: string; test?: RegExp }[];
    compat?: readonly { default?: unknown; tag: string; test?: RegExp }[] | null;
  };
  implicitTags = [...schema.tags, ...(schema.compat ?? [])]
    .filter((tag) => tag.default && tag.tag !== 'tag:yaml.org,2002:str' && tag.test instanceof RegExp)
    .map((tag) => tag.test as RegExp);
  return implicitTags;
}

/** Characters the library escapes (it double-quotes a string holding one), and tabs: left to it. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this is for
const HANDED_BACK = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\ufeff\ud800-\udfff]/;
/** Characters a double-quoted string escapes or that make the library choose single quotes. */
const NOT_SIMPLY_QUOTED = /["\\]/;
/** The library's rule for a string that cannot be plain (start indicators, `: `, ` #`, edges). */
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
/** A line that starts a document or ends one. */
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;

/** A one-line string as a key or value: plain, or double-quoted when plain would read as another type. */
function flowString(value: string): string | undefined {
  if (value === '') return '""';
  if (HANDED_BACK.test(value) || value.includes('\n') || DOCUMENT_MARKER.test(value)) return undefined;
  const quoted = NOT_SIMPLY_QUOTED.test(value) ? undefined : `"${value}"`;
  if (NOT_PLAIN.test(value)) return quoted;
  for (const test of implicit()) if (test.test(value)) return quoted;
  return value;
}

/**
 * A multi-line string as a literal block under a key at `indent`: only the common case of no
 * leading spaces or newlines and at most one final newline, with no whitespace before it.
 */
function literalBlock(value: string, indent: string): string | undefined {
  // A block under a key is indented, so a line starting `---` in it marks no document.
  if (HANDED_BACK.test(value)) return undefined;
  if (value[0] === ' ' || value[0] === '\n') return undefined;
  const body = value.endsWith('\n') ? value.slice(0, -1) : value;
  const last = body[body.length - 1];
  if (last === undefined || last === '\n' || last === ' ') return undefined;
  const chomp = value.endsWith('\n') ? '' : '-';
  return `|${chomp}\n${indent}${body.replace(/\n+/g, `$&${indent}`)}`;
}

/** A scalar after `key:` or `- `, with its separator, or undefined when the library must write it. */
function scalar(value: unknown, indent: string): string | undefined {
  if (value === null) return ' null';
  switch (typeof value) {
    case 'boolean':
      return value ? ' true' : ' false';
    case 'number':
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? ` ${value}` : undefined;
    case 'string': {
      if (value.includes('\n')) {
        const block = literalBlock(value, indent);
        return block === undefined ? undefined : ` ${block}`;
      }
      const text = flowString(value);
      return text === undefined ? undefined : ` ${text}`;
    }
    default:
      return undefined;
  }
}

/** A record the library would write as a mapping of its own keys (not a class instance it converts). */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Writes a non-empty mapping's pairs at `indent` (the first after `first`, when given); false when some part must go to the library. */
function mapping(value: Record<string, unknown>, indent: string, out: string[], first?: string): boolean {
  let lead = first;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item = value[key];
    if (item === undefined) return false;
    // A key over 1,024 characters is written as an explicit `? key`; `<<` is quoted (stringifyData).
    const name = key.length > 1000 || key === '<<' ? undefined : flowString(key);
    if (name === undefined) return false;
    const prefix = lead ?? indent;
    lead = undefined;
    if (!node(item, `${prefix}${name}:`, indent, out)) return false;
  }
  return true;
}

/**
 * Writes `head` (the `key:` or `- ` so far) and the value after it, the value's own lines at
 * `indent` plus one step.
 */
function node(value: unknown, head: string, indent: string, out: string[]): boolean {
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push(`${head} []`);
      return true;
    }
    out.push(head);
    for (const item of value) if (!sequenceItem(item, inner, out)) return false;
    return true;
  }
  if (isPlainObject(value)) {
    if (Object.keys(value).length === 0) {
      out.push(`${head} {}`);
      return true;
    }
    out.push(head);
    return mapping(value, inner, out);
  }
  const text = scalar(value, inner);
  if (text === undefined) return false;
  out.push(`${head}${text}`);
  return true;
}

/** Writes one `- item` of a sequence at `indent`; a mapping item starts on the dash's line. */
function sequenceItem(item: unknown, indent: string, out: string[]): boolean {
  if (Array.isArray(item)) {
    if (item.length > 0) return false;
    out.push(`${indent}- []`);
    return true;
  }
  if (isPlainObject(item)) {
    if (Object.keys(item).length === 0) {
      out.push(`${indent}- {}`);
      return true;
    }
    return mapping(item, `${indent}  `, out, `${indent}- `);
  }
  const text = scalar(item, `${indent}  `);
  if (text === undefined) return false;
  out.push(`${indent}-${text}`);
  return true;
}

/** The YAML document of a mapping, as `stringifyData` writes it, or undefined when the library must. */
export function emitMapping(data: unknown): string | undefined {
  if (!isPlainObject(data)) return undefined;
  if (Object.keys(data).length === 0) return '{}\n';
  const out: string[] = [];
  if (!mapping(data, '', out)) return undefined;
  return `${out.join('\n')}\n`;
}
