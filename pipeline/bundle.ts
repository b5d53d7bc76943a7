import fs from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The one-file build of a command (`.cache/synth-<hash>.cjs`, made by cli/synth-bundle.mjs): its entry
 * registers here, before the command runs, the compositions it holds and where its source map
 * is. Every stack frame of such a build names the bundle file; the sandbox and the error messages
 * read through this module which project file a frame really is. Without a bundle (tsx, tests)
 * every function here answers as if there were none.
 */
interface Bundle {
  /** The bundle file, as a path and as a URL (ES module frames name the URL). */
  readonly path: string;
  readonly url: string;
  /** Composition loaders by absolute file path. */
  readonly compositions: ReadonlyMap<string, () => Promise<unknown>>;
  /** Loaders of the model modules (`kubernetes-models/apps/v1/Deployment`) the bundle holds. */
  readonly models: ReadonlyMap<string, () => Promise<unknown>>;
  /** The bundle's source files (absolute paths). */
  readonly sources: readonly string[];
  /** Where each source starts in the bundle: flat triples of 0-based line, column and source index, in order. */
  readonly starts: readonly number[];
}

let bundle: Bundle | undefined;
let sourceMap: SourceMap | undefined;
// Taken before the sandbox replaces them: this module reads the bundle's map while it is on.
const readFile = fs.readFileSync;
const writeFile = fs.writeFileSync;
const rename = fs.renameSync;

const IMPORTER = Symbol.for('homelab-cdk8s.import');

/**
 * Imports a module the bundle does not hold. The bundle runs as a script through V8's code cache
 * (cli/launch.mjs), where import() has no loader of its own: the launcher lends its own. From
 * source, and in tests, this is import().
 */
export function importModule(specifier: string): Promise<unknown> {
  const importer = (globalThis as Record<symbol, unknown>)[IMPORTER];
  return typeof importer === 'function' ? (importer as (specifier: string) => Promise<unknown>)(specifier) : import(specifier);
}

/** The file, beside the bundles, listing the model modules synth loaded: the next build holds them. */
export const MODEL_MODULES_FILE = 'model-modules.json';

/** Called by the bundle's entry: `sources` is the table cli/synth-bundle.mjs wrote beside the bundle. */
export function registerBundle(
  url: string,
  compositions: Record<string, () => Promise<unknown>>,
  models: Record<string, () => Promise<unknown>> = {},
): void {
  const path = fileURLToPath(url);
  const table = JSON.parse(readFile(`${path}.sources.json`, 'utf8')) as { sources: string[]; starts: number[] };
  bundle = {
    path,
    url,
    compositions: new Map(Object.entries(compositions)),
    models: new Map(Object.entries(models)),
    sources: table.sources,
    starts: table.starts,
  };
}

/** The loader of a model module the bundle holds, or undefined (it is then imported from node_modules). */
export function bundledModel(specifier: string): (() => Promise<unknown>) | undefined {
  return bundle?.models.get(specifier);
}

/**
 * Adds the model modules a run loaded to the list the next build reads, when the bundle lacks
 * any: the kinds a project uses change seldom, so the list only grows, and a build follows it.
 */
export function recordModelModules(loaded: readonly string[]): void {
  if (!bundle || loaded.every((specifier) => bundle?.models.has(specifier))) return;
  const file = resolve(dirname(bundle.path), MODEL_MODULES_FILE);
  let known: string[] = [];
  try {
    const parsed = JSON.parse(readFile(file, 'utf8')) as unknown;
    if (Array.isArray(parsed)) known = parsed.filter((entry): entry is string => typeof entry === 'string');
  } catch {
    // None yet.
  }
  const all = [...new Set([...known, ...loaded])].sort();
  if (all.length === known.length) return;
  try {
    writeFile(`${file}.${process.pid}`, `${JSON.stringify(all, null, 1)}\n`);
    rename(`${file}.${process.pid}`, file);
  } catch {
    // Only the next runs are slower.
  }
}

/** The loader of a composition the bundle holds (by absolute path), or undefined. */
export function bundledComposition(file: string): (() => Promise<unknown>) | undefined {
  return bundle?.compositions.get(file);
}

/**
 * The project file a stack frame is in: for a frame of the bundle (1-based line and column, as
 * call sites give them) the source file that code came from, for any other frame its own file.
 */
export function frameFile(file: string, line: number | null, column: number | null): string {
  if (!bundle || (file !== bundle.url && file !== bundle.path) || line === null) return file;
  const { starts, sources } = bundle;
  const targetLine = line - 1;
  const targetColumn = (column ?? 1) - 1;
  // The last start at or before the position.
  let low = 0;
  let high = starts.length / 3 - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const startLine = starts[middle * 3] as number;
    const startColumn = starts[middle * 3 + 1] as number;
    if (startLine < targetLine || (startLine === targetLine && startColumn <= targetColumn)) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found < 0 ? file : (sources[starts[found * 3 + 2] as number] ?? file);
}

function originalPosition(line: number, column: number): { file: string; line: number; column: number } | undefined {
  if (!bundle) return undefined;
  sourceMap ??= new SourceMap(JSON.parse(readFile(`${bundle.path}.map`, 'utf8')) as SourceMapPayload);
  const entry = sourceMap.findEntry(line - 1, column - 1) as {
    originalSource?: string;
    originalLine?: number;
    originalColumn?: number;
  };
  if (entry.originalSource === undefined || entry.originalLine === undefined) return undefined;
  // Sources are written relative to the bundle's folder.
  const source = entry.originalSource.startsWith('file:')
    ? fileURLToPath(entry.originalSource)
    : resolve(dirname(bundle.path), entry.originalSource);
  return { file: source, line: entry.originalLine + 1, column: (entry.originalColumn ?? 0) + 1 };
}

/**
 * A stack as it would read without the bundle: each position in the bundle replaced by the
 * source file, line and column it came from (ES module frames keep their file URL form).
 */
export function unbundledStack(stack: string): string {
  if (!bundle) return stack;
  const { path, url } = bundle;
  if (!stack.includes(path) && !stack.includes(url)) return stack;
  return stack.replace(/(file:\/\/[^()\s]+|\/[^()\s]+):(\d+):(\d+)/g, (whole, file: string, line: string, column: string) => {
    if (file !== url && file !== path) return whole;
    const original = originalPosition(Number(line), Number(column));
    if (!original) return whole;
    const shown = file === url ? pathToFileURL(original.file).href : original.file;
    return `${shown}:${original.line}:${original.column}`;
  });
}
