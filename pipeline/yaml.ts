import { Document, isScalar, LineCounter, parseAllDocuments, Scalar, type Tags, visit } from 'yaml';
import { isRecord, type Manifest, type Problem, type SourcedObject } from '../framework/model.js';
import { DATA_OPTIONS, emitMapping } from './yaml-emit.js';

export interface ParsedFile {
  readonly objects: SourcedObject[];
  readonly problems: Problem[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes file bytes as UTF-8, or returns undefined when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Why file bytes are not UTF-8 text, in words an editor's menu answers (UTF-16 is what some
 * Windows editors save), or undefined when they are.
 */
export function notUtf8(bytes: Uint8Array): string | undefined {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return 'is UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8';
  }
  if (decodeUtf8(bytes) === undefined) return 'is not valid UTF-8 text: save it as UTF-8';
  if (bytes.includes(0)) return 'holds NUL bytes (UTF-16 text without a byte-order mark?): save it as UTF-8';
  return undefined;
}

/** The path at which a value holds one of its own ancestors (an alias to an enclosing node), if any. */
function cyclePath(value: unknown): string | undefined {
  const ancestors = new Set<object>();
  const walk = (node: unknown, path: string): string | undefined => {
    if (typeof node !== 'object' || node === null) return undefined;
    if (ancestors.has(node)) return path;
    ancestors.add(node);
    const entries = Array.isArray(node)
      ? node.map((item, index) => [`[${index}]`, item] as const)
      : Object.entries(node).map(([key, item]) => [`.${key}`, item] as const);
    for (const [step, item] of entries) {
      const found = walk(item, `${path}${step}`);
      if (found !== undefined) return found;
    }
    ancestors.delete(node);
    return undefined;
  };
  return walk(value, '')?.replace(/^\./, '');
}

/** What V8 says when a recursive reader runs out of stack: not a syntax error of the file. */
const STACK_EXHAUSTED = /Maximum call stack size exceeded/;
const tooDeep = (where: string) =>
  `the document nests too deeply to read (the YAML reader ran out of stack ${where}): no Kubernetes object nests like this; flatten the lists and mappings`;

/**
 * The first key a mapping of the document repeats, with the offset of its second use, found in
 * one pass (the YAML library's own check compares every pair with every other). Keys compare as
 * the JSON that Kubernetes sees: `1` and `"1"` are one key. Merge keys (`<<`) are not counted.
 */
export function repeatedKey(document: Document): { readonly key: string; readonly offset: number } | undefined {
  let found: { key: string; offset: number } | undefined;
  visit(document, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (key === '<<' && pair.key.type === Scalar.PLAIN) continue;
        if (seen.has(key)) {
          found = { key, offset: pair.key.range?.[0] ?? 0 };
          return visit.BREAK;
        }
        seen.add(key);
      }
      return undefined;
    },
  });
  return found;
}

/**
 * The YAML 1.1 types as Kubernetes' reader (go-yaml v2, through sigs.k8s.io/yaml) resolves them:
 * it knows no sexagesimal numbers (`1:30` stays a string) and keeps timestamps as strings.
 */
const KUBERNETES_YAML_1_1 = (tags: Tags) =>
  tags
    .filter((tag) => typeof tag === 'string' || !(tag.format === 'TIME' || tag.tag === 'tag:yaml.org,2002:timestamp'))
    .map((tag) => (typeof tag === 'string' || tag.tag !== FLOAT_TAG || !tag.test ? tag : { ...tag, test: goFloat(tag.test) }));

const FLOAT_TAG = 'tag:yaml.org,2002:float';

/**
 * A YAML 1.1 float pattern narrowed to what go-yaml v2 reads as a float: it parses the text with
 * Go's ParseFloat (underscores dropped when it starts with a digit or a sign), so `.`, `._` and
 * `.e5` stay strings (an ArgoCD `path: .` is a path, not NaN).
 */
function goFloat(pattern: RegExp): RegExp {
  return new GoFloatPattern(pattern.source, pattern.flags);
}

/** The yaml package resolves plain scalars with the tag's `test`; this one adds Go's ParseFloat. */
class GoFloatPattern extends RegExp {
  override test(text: string): boolean {
    if (!super.test(text)) return false;
    if (/^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/.test(text)) return true;
    const plain = text.startsWith('.') ? text : text.replace(/_/g, '');
    return !Number.isNaN(Number(plain));
  }
}

/**
 * Parses a multi-document YAML file as Kubernetes reads it (YAML 1.1: `yes`/`on` are booleans,
 * `0644` is octal, `1:30` and `2024-01-01` are strings). Empty documents are skipped; each document reports its first syntax error.
 */
export function parseManifests(input: string | Uint8Array, file: string): ParsedFile {
  const objects: SourcedObject[] = [];
  const problems: Problem[] = [];
  const encodingError = typeof input === 'string' ? undefined : notUtf8(input);
  const text = typeof input === 'string' ? input : decodeUtf8(input);
  if (text === undefined || encodingError) {
    problems.push({ origin: { file }, rule: 'yaml', message: encodingError ?? 'is not valid UTF-8 text' });
    return { objects, problems };
  }
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text.replace(/^\uFEFF/, ''), {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: false,
    version: '1.1',
    customTags: KUBERNETES_YAML_1_1,
  });
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, index) => {
    const origin = { file, document: index };
    const [error] = document.errors;
    if (error) {
      const pos = lineCounter.linePos(error.pos[0]);
      const where = `at line ${pos.line}, column ${pos.col}`;
      const message = error.message.split('\n')[0] ?? error.message;
      problems.push({
        origin,
        rule: 'yaml',
        message: STACK_EXHAUSTED.test(message) ? tooDeep(where) : `YAML syntax error ${where}: ${message}`,
      });
      return;
    }
    const repeated = repeatedKey(document);
    if (repeated) {
      const pos = lineCounter.linePos(repeated.offset);
      problems.push({
        origin,
        rule: 'yaml',
        message: `YAML syntax error at line ${pos.line}, column ${pos.col}: the key "${repeated.key}" appears twice in one mapping (readers keep only one of them): remove the other`,
      });
      return;
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 100 });
    } catch (failure) {
      const message = failure instanceof Error ? (failure.message.split('\n')[0] ?? '') : String(failure);
      problems.push({
        origin,
        rule: 'yaml',
        message: STACK_EXHAUSTED.test(message) ? tooDeep('in this document') : `YAML error: ${message}`,
      });
      return;
    }
    if (value === null || value === undefined) return;
    const cycle = cyclePath(value);
    if (cycle !== undefined) {
      problems.push({
        origin,
        rule: 'yaml',
        message: `the document holds itself: ${cycle} is an alias of a node that encloses it, so the object has no end; a Kubernetes object is a tree: write the values out instead of the alias`,
      });
      return;
    }
    if (!isRecord(value)) {
      problems.push({ origin, rule: 'yaml', message: 'document is not a mapping (a Kubernetes object is a YAML mapping)' });
      return;
    }
    objects.push({ manifest: value, origin });
  });
  return { objects, problems };
}

const LEADING_KEYS = ['apiVersion', 'kind', 'metadata'];

/** apiVersion, kind and metadata first, the rest in the order the object was built. */
function ordered(manifest: Manifest): Manifest {
  const out: Manifest = {};
  for (const key of LEADING_KEYS) if (key in manifest) out[key] = manifest[key];
  for (const [key, value] of Object.entries(manifest)) if (!(key in out)) out[key] = value;
  return out;
}

/** Characters a plain or single-quoted scalar must not carry: readers treat them as line breaks or reject them. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this is for
const NEEDS_ESCAPES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u2028\u2029\ufeff]/;

/**
 * Deterministic YAML that reads back to the same data with a YAML 1.1 reader, as Kubernetes and
 * kustomize use: booleans-in-disguise (`yes`, `on`) are quoted, a `<<` key is quoted so it is not a
 * merge, and strings with control or line-separator characters are double-quoted with escapes.
 */
export function stringifyData(data: unknown): string {
  return emitMapping(data) ?? stringifyWithLibrary(data);
}

/** What `stringifyData` writes, always through the YAML library's document tree (its reference). */
export function stringifyWithLibrary(data: unknown): string {
  const document = new Document(data, DATA_OPTIONS);
  visit(document, {
    Pair(_, pair) {
      if (isScalar(pair.key) && pair.key.value === '<<') pair.key.type = Scalar.QUOTE_DOUBLE;
    },
    Scalar(_, node) {
      if (typeof node.value === 'string' && NEEDS_ESCAPES.test(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  // Such characters only occur inside the double-quoted scalars forced above; spell them as escapes.
  return document.toString({ lineWidth: 0, indentSeq: true }).replace(ESCAPED, (char) => ESCAPES[char] ?? escapeCode(char));
}

const ESCAPED = /[\u007f-\u009f\u2028\u2029\ufeff]/g;
const ESCAPES: Record<string, string> = { '\u0085': '\\N', '\u00a0': '\\_', '\u2028': '\\L', '\u2029': '\\P' };
const escapeCode = (char: string) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;

export function stringifyManifest(manifest: Manifest): string {
  return stringifyData(ordered(manifest));
}
