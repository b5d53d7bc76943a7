import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import { type ClusterDefinition, InventoryError } from '../framework/cluster.js';
import { compareStrings, type Problem } from '../framework/model.js';
import { dns1123LabelError } from '../framework/rules/metadata.js';
import { readProjectFile } from './project-files.js';
import { withoutHost, withoutHostWhileLoading } from './sandbox.js';
import { describeThrown } from './thrown.js';
import type { Watchdog } from './watchdog.js';
import { repeatedKey } from './yaml.js';

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
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const repeated = repeatedKey(document);
  if (!repeated) return undefined;
  const { line, col } = lineCounter.linePos(repeated.offset);
  return `invalid JSON: the key "${repeated.key}" appears twice in one object at line ${line}, column ${col}; JSON readers keep only one of them: remove the other`;
}

/** The 1-based line and column of a JSON.parse error position, when the message carries one. */
function jsonErrorLocation(text: string, error: Error): string {
  const match = /position (\d+)/.exec(error.message);
  if (!match) return '';
  const offset = Number(match[1]);
  const before = text.slice(0, offset).split('\n');
  return ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
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
    const reason = error instanceof Error ? `${error.message}${jsonErrorLocation(text, error)}` : String(error);
    return { error: `invalid JSON: ${reason}` };
  }
  const duplicate = duplicateKey(text);
  return duplicate ? { error: duplicate } : { data };
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
    const parsed = parseInventoryJson(read.content.toString('utf8'));
    if ('error' in parsed) {
      problems.push({ origin: { file: inventoryFile }, rule: 'inventory', message: parsed.error });
      continue;
    }
    const data = parsed.data;
    let module: { default?: unknown };
    try {
      // The composition's top level (and that of every app file it imports) runs without the host.
      const url = pathToFileURL(join(root, compositionFile)).href;
      watchdog?.step(`loading ${compositionFile}`);
      module = (await withoutHostWhileLoading(root, () => import(url))) as { default?: unknown };
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
