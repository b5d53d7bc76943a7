import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ClusterDefinition, InventoryError } from '../framework/cluster.js';
import { compareStrings, type Problem } from '../framework/model.js';
import { dns1123LabelError } from '../framework/rules/metadata.js';
import { bundledComposition, importModule } from './bundle.js';
import { readProjectFile } from './project-files.js';
import { withoutHost, withoutHostWhileLoading } from './sandbox.js';
import { describeThrown } from './thrown.js';
import type { Watchdog } from './watchdog.js';
import { notUtf8 } from './yaml.js';

export interface LoadedCluster {
  readonly name: string;
  readonly definition: ClusterDefinition<unknown>;
  readonly inventory: unknown;
}

export interface LoadResult {
  readonly clusters: LoadedCluster[];
  readonly problems: Problem[];
}

function isClusterDefinition(value: unknown): value is ClusterDefinition<unknown> {
  const candidate = value as Partial<ClusterDefinition<unknown>> | undefined;
  return typeof candidate?.parseInventory === 'function' && typeof candidate.apps === 'function';
}

/** The first key a JSON text repeats inside one object, with where, or undefined. */
function duplicateKey(text: string): string | undefined {
  const repeated = repeatedJsonKey(text);
  if (!repeated) return undefined;
  const before = text.slice(0, repeated.offset);
  const line = before.split('\n').length;
  const col = repeated.offset - before.lastIndexOf('\n');
  return `invalid JSON: the key "${repeated.key}" appears twice in one object at line ${line}, column ${col}; JSON readers keep only one of them: remove the other`;
}

/**
 * The first key repeated inside one object of a text JSON.parse accepted, with its offset. A
 * scan of the tokens: a YAML parse of the whole inventory did the same at ten times the cost.
 */
export function repeatedJsonKey(text: string): { key: string; offset: number } | undefined {
  // One entry per open container: the keys of an object, or undefined for an array.
  const open: (Set<string> | undefined)[] = [];
  let expectKey = false;
  for (let at = 0; at < text.length; at += 1) {
    const char = text[at];
    if (char === '"') {
      const start = at;
      for (at += 1; at < text.length && text[at] !== '"'; at += 1) if (text[at] === '\\') at += 1;
      const keys = open[open.length - 1];
      if (expectKey && keys) {
        const key = JSON.parse(text.slice(start, at + 1)) as string;
        if (keys.has(key)) return { key, offset: start };
        keys.add(key);
        expectKey = false;
      }
    } else if (char === '{') {
      open.push(new Set());
      expectKey = true;
    } else if (char === '[') {
      open.push(undefined);
    } else if (char === '}' || char === ']') {
      open.pop();
    } else if (char === ',') {
      expectKey = open[open.length - 1] !== undefined;
    }
  }
  return undefined;
}

/**
 * The offset of the first character a strict JSON reader stops at (V8's messages do not always
 * say where: "Unexpected token 'N'"), or undefined when the text is JSON.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let at = 0;
  const space = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at] as string)) at += 1;
  };
  const fail = (): never => {
    throw at;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, at)) at += word.length;
    else fail();
  };
  const string = () => {
    at += 1;
    while (at < text.length && text[at] !== '"') {
      const char = text.charCodeAt(at);
      if (char < 0x20) fail();
      if (text[at] === '\\') {
        at += 1;
        if (text[at] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 1, at + 5))) fail();
          at += 4;
        } else if (!'"\\/bfnrt'.includes(text[at] ?? 'x')) fail();
      }
      at += 1;
    }
    if (at >= text.length) fail();
    at += 1;
  };
  const value = (depth: number): void => {
    if (depth > 10_000) fail();
    space();
    const char = text[at];
    if (char === '{' || char === '[') {
      const close = char === '{' ? '}' : ']';
      at += 1;
      space();
      if (text[at] === close) {
        at += 1;
        return;
      }
      for (;;) {
        if (char === '{') {
          space();
          if (text[at] !== '"') fail();
          string();
          space();
          if (text[at] !== ':') fail();
          at += 1;
        }
        value(depth + 1);
        space();
        if (text[at] === ',') at += 1;
        else if (text[at] === close) {
          at += 1;
          return;
        } else fail();
      }
    }
    const word = { t: 'true', f: 'false', n: 'null' }[char ?? ''];
    if (char === '"') string();
    else if (word !== undefined) literal(word);
    else {
      const number = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(at, at + 400));
      if (!number) fail();
      at += (number as RegExpExecArray)[0].length;
    }
  };
  try {
    value(0);
    space();
    return at < text.length ? at : undefined;
  } catch (offset) {
    if (typeof offset === 'number') return offset;
    throw offset;
  }
}

/** Where a JSON.parse error is, as 1-based line and column. */
function jsonErrorLocation(text: string): string {
  const offset = jsonErrorOffset(text);
  if (offset === undefined) return '';
  const before = text.slice(0, offset).split('\n');
  return ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/**
 * The first string of the data holding a control character (a NUL, an escape) or U+FFFD (what
 * a byte that is not UTF-8 became): no fact of an inventory has one, and each ends up in files
 * and commands unseen.
 */
function controlCharacter(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what this is for
    const match = /[\u0000-\u001f\u007f\ufffd]/.exec(value);
    if (!match) return undefined;
    const code = (match[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    const what = code === 'FFFD' ? 'U+FFFD (a byte that was not UTF-8)' : `the control character U+${code}`;
    return `${path || '(root)'}: holds ${what} at character ${match.index + 1}: remove it`;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = controlCharacter(item, `${path}[${index}]`);
      if (found) return found;
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const found = controlCharacter(item, path ? `${path}.${key}` : key);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * An inventory's text as JSON data, or a one-line error: a leading UTF-8 BOM is dropped,
 * a syntax error says where, and a key repeated in one object is refused (JSON.parse
 * would keep the last one without a word). The NixOS plan reads the same text the same way.
 */
export function parseInventoryJson(raw: string): { data: unknown } | { error: string } {
  const text = raw.replace(/^\uFEFF/, '');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // V8's message already quotes the text near the error; the location is ours (not every V8 gives one).
    const reason =
      error instanceof Error
        ? `${error.message.replace(/,? (?:in JSON )?at position \d+.*$/s, '').replace(/\s*\n\s*/g, ' ')}${jsonErrorLocation(text)}`
        : String(error);
    return { error: `invalid JSON: ${reason}` };
  }
  const duplicate = duplicateKey(text);
  if (duplicate) return { error: duplicate };
  const control = controlCharacter(data, '');
  return control ? { error: control } : { data };
}

/**
 * Compositions (`apps/<name>.ts` calling defineCluster) without an inventory: synth renders
 * clusters from inventories, so such a cluster would be left out without a word.
 */
function orphanCompositions(root: string, clusters: ReadonlySet<string>): Problem[] {
  const appsDir = join(root, 'apps');
  if (!existsSync(appsDir)) return [];
  return readdirSync(appsDir)
    .filter((file) => file.endsWith('.ts') && !clusters.has(file.slice(0, -'.ts'.length)))
    .sort(compareStrings)
    .filter((file) => {
      const read = readProjectFile(root, `apps/${file}`);
      return 'content' in read && /\bdefineCluster\s*\(/.test(read.content.toString('utf8'));
    })
    .map((file) => ({
      origin: { file: `apps/${file}` },
      rule: 'cluster',
      message: `defines a cluster, but inventory/${file.slice(0, -'.ts'.length)}.json does not exist, so synth would leave it out: add the inventory, or remove the composition`,
    }));
}

/**
 * Finds the clusters of a project: each `inventory/<cluster>.json` with its composition
 * `apps/<cluster>.ts`. Reads each inventory once and parses it into typed facts.
 */
export async function loadClusters(root: string, watchdog?: Watchdog): Promise<LoadResult> {
  const problems: Problem[] = [];
  const clusters: LoadedCluster[] = [];
  const inventoryDir = join(root, 'inventory');
  if (!existsSync(inventoryDir)) {
    return { clusters, problems: [{ origin: { file: 'inventory/' }, rule: 'cluster', message: 'no inventory folder: nothing to render' }] };
  }
  const files = readdirSync(inventoryDir)
    .filter((file) => file.endsWith('.json'))
    .sort(compareStrings);
  problems.push(...orphanCompositions(root, new Set(files.map((file) => file.slice(0, -'.json'.length)))));
  for (const file of files) {
    const name = file.slice(0, -'.json'.length);
    const inventoryFile = `inventory/${file}`;
    const nameError = dns1123LabelError(name);
    if (nameError) {
      problems.push({ origin: { file: inventoryFile }, rule: 'cluster', message: `cluster name "${name}" ${nameError}` });
      continue;
    }
    const compositionFile = `apps/${name}.ts`;
    if (!existsSync(join(root, compositionFile))) {
      problems.push({
        origin: { file: inventoryFile },
        rule: 'cluster',
        message: `cluster "${name}" has no composition: create ${compositionFile} exporting defineCluster(...) as default`,
      });
      continue;
    }
    const read = readProjectFile(root, inventoryFile);
    if ('error' in read) {
      problems.push({ origin: { file: inventoryFile }, rule: 'inventory', message: `the inventory ${read.error}` });
      continue;
    }
    const encodingError = notUtf8(read.content);
    if (encodingError) {
      problems.push({ origin: { file: inventoryFile }, rule: 'inventory', message: `the inventory ${encodingError}` });
      continue;
    }
    const parsed = parseInventoryJson(read.content.toString('utf8'));
    if ('error' in parsed) {
      problems.push({ origin: { file: inventoryFile }, rule: 'inventory', message: parsed.error });
      continue;
    }
    const data = parsed.data;
    let module: { default?: unknown };
    try {
      // The composition's top level (and that of every app file it imports) runs without the host.
      // A bundled command (.cache/synth-<hash>.cjs) holds the project's compositions; tsx loads them from source.
      const path = join(root, compositionFile);
      const bundled = bundledComposition(path);
      const url = pathToFileURL(path).href;
      watchdog?.step(`loading ${compositionFile}`);
      module = (await withoutHostWhileLoading(root, () => (bundled ? bundled() : importModule(url)))) as { default?: unknown };
    } catch (error) {
      problems.push({
        origin: { file: compositionFile },
        rule: 'cluster',
        message: `cannot load the composition: ${describeThrown(error, root)}`,
      });
      continue;
    }
    if (!isClusterDefinition(module.default)) {
      problems.push({
        origin: { file: compositionFile },
        rule: 'cluster',
        message: 'the default export is not a cluster definition (use `export default defineCluster({ parseInventory, apps })`)',
      });
      continue;
    }
    try {
      const definition = module.default;
      watchdog?.step(`reading ${inventoryFile} (parseInventory of ${compositionFile})`);
      clusters.push({ name, definition, inventory: withoutHost(root, () => definition.parseInventory(data)) });
    } catch (error) {
      if (error instanceof InventoryError) {
        for (const issue of error.issues) {
          problems.push({ origin: { file: inventoryFile }, rule: 'inventory', message: `${issue.path}: ${issue.message}` });
        }
      } else {
        problems.push({ origin: { file: inventoryFile }, rule: 'inventory', message: describeThrown(error, root) });
      }
    }
  }
  return { clusters, problems };
}
