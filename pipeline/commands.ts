import { existsSync, lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  collapseRepeats,
  compareStrings,
  foldPerFile,
  formatProblem,
  isRecord,
  type Problem,
  type SourcedObject,
} from '../framework/model.js';
import type { RegisteredKind } from '../framework/schema.js';
import { checkKustomizeNamespace, withNamespace } from './kustomize-namespace.js';
import { compareTree, outputTargetError, recoverInterruptedWrite, type TreeWrite, writeTree } from './output.js';
import { PhaseClock } from './phases.js';
import { SchemaRegistry } from './schemas.js';
import { type FoundExample, synthesize } from './synth.js';
import { validateObjects } from './validate.js';
import { NO_WATCHDOG, startWatchdog, stepTimeout } from './watchdog.js';
import { parseManifests } from './yaml.js';

export interface Io {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export const consoleIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export interface CommandContext {
  /** Project root (inventory/, apps/, secrets/, dist/). */
  readonly root: string;
  readonly kinds: readonly RegisteredKind[];
  readonly io: Io;
  /** Working directory used to show and resolve user-given paths. */
  readonly cwd?: string;
  /** Environment of the deep build (UPSTREAM_MIRROR, UPSTREAM_CACHE, SOPS_AGE_KEY_FILE, DEEP_KUBECTL, HELM). @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Watch every step of the render from another thread, ending the process when one runs longer
   * than SYNTH_STEP_TIMEOUT seconds (default 120). Only for a command in its own process.
   */
  readonly watch?: boolean;
  /** The clock of commands that stamp what they write (SOPS lastmodified). @default the real one */
  readonly now?: Date;
  /** Reads all of standard input (for `-` as a file argument). */
  readonly readStdin?: () => Promise<string>;
  /** Whether the standard output is a terminal (colour is only for one). @default false */
  readonly terminal?: boolean;
}

/** The default step limit: fifteen times what a whole synth of 10,000 objects takes here. */
const STEP_TIMEOUT_SECONDS = 120;

const SYNTH_USAGE = `usage: npm run synth [-- --check] [--deep] [--production] [--timings] [--no-cache] [--root DIR] [--out DIR]

Renders every app of every cluster (inventory/<cluster>.json + apps/<cluster>.ts), validates
every object and writes dist/<cluster>/<app>/. Writes nothing when any problem is found.

  --check      render and validate, compare with the output folder, write nothing;
               exit 1 listing stale, missing and extra files
  --production fail while any example value (a placeholder) remains, naming the file and
               field of each; without it synth lists them
  --deep       also build every app folder as the cluster's renderer (ArgoCD) does, with the
               pinned upstream files and charts (upstream.lock.json; UPSTREAM_MIRROR or the
               cache of 'npm run upstream -- fetch'), and check every object built; SOPS files
               are decrypted with SOPS_AGE_KEY_FILE when set; needs 'npm run tools'
  --timings    print where the time went on the standard error: start (Node and the modules),
               load, render, validate, layout (YAML), compare or write
  --no-cache   render even when nothing an identical earlier run read has changed; without
               it, 'npm run synth' and its --check (with or without --production) repeat
               that run's result after checking every file, folder and variable it read
  --root DIR   project root (default: this project)
  --out DIR    output folder (default: <root>/dist)`;

const VALIDATE_USAGE = `usage: npm run validate -- [--no-strict] PATH...

Validates YAML files (and JSON files holding Kubernetes objects), or folders of them
(recursively), with the object rules synth applies. A path that holds none is an error.
Fields a kind does not define are errors, as for the API server's strict field validation;
--no-strict lets them pass (foreign YAML, objects written for another Kubernetes version).
Exit 0 when all are valid, 1 when any is not, 2 on usage errors.`;

function seconds(): string {
  return `${(performance.now() / 1000).toFixed(2)} s`;
}

export function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

export function report(problems: readonly Problem[], line: (text: string) => void): void {
  for (const problem of problems) line(formatProblem(problem));
}

/** Reports the problems, exact repeats once, and returns how many distinct ones there are. */
function reportDistinct(problems: readonly Problem[], line: (text: string) => void): number {
  const distinct = foldPerFile(collapseRepeats(problems));
  report(distinct, line);
  return distinct.length;
}

/** The example values still in the project, one short line each (SOPS files of one key on one line). */
function announceExamples(examples: readonly FoundExample[], io: Io): void {
  if (examples.length === 0) return;
  const short = (value: string) => (value.length > 48 ? `${value.slice(0, 45)}...` : value);
  io.out(
    `synth: replace before the first sync (${plural(examples.length, 'example value')}; 'npm run synth -- --production' fails while any remain):`,
  );
  const sops = new Map<string, string[]>();
  for (const example of examples) {
    if (example.field === 'sops.age') sops.set(example.value, [...(sops.get(example.value) ?? []), example.where]);
    else io.out(`  ${example.where}  ${example.field} = ${short(example.value)}`);
  }
  for (const [recipient, files] of sops) {
    io.out(`  ${plural(files.length, 'SOPS file')} encrypted for the example key ${short(recipient)}: ${files.join(', ')}`);
  }
}

export async function runSynth(argv: readonly string[], context: CommandContext): Promise<number> {
  const { io } = context;
  // Everything before this line (Node's start, loading the modules) is the start phase.
  const phases = new PhaseClock();
  phases.record('start', performance.now());
  let values: {
    check?: boolean;
    deep?: boolean;
    production?: boolean;
    root?: string;
    out?: string;
    help?: boolean;
    timings?: boolean;
    'no-cache'?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        check: { type: 'boolean' },
        deep: { type: 'boolean' },
        production: { type: 'boolean' },
        root: { type: 'string' },
        out: { type: 'string' },
        timings: { type: 'boolean' },
        'no-cache': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    io.err(`synth: ${error instanceof Error ? error.message : String(error)}`);
    io.err(SYNTH_USAGE);
    return 2;
  }
  if (values.help) {
    io.out(SYNTH_USAGE);
    return 0;
  }
  const cwd = context.cwd ?? process.cwd();
  const root = values.root ? resolve(cwd, values.root) : context.root;
  const distDir = values.out ? resolve(cwd, values.out) : join(root, 'dist');
  const shown = relative(cwd, distDir) || '.';
  const targetError = outputTargetError(distDir, root, values.out === undefined);
  if (targetError) {
    io.err(`synth: output folder ${shown} ${targetError}`);
    return 2;
  }
  let watchdog = NO_WATCHDOG;
  if (context.watch) {
    const limit = stepTimeout((context.env ?? process.env).SYNTH_STEP_TIMEOUT, STEP_TIMEOUT_SECONDS);
    if (typeof limit !== 'number') {
      io.err(`synth: ${limit.error}`);
      return 2;
    }
    watchdog = startWatchdog('synth', limit);
  }
  const result = await synthesize({ root, registry: new SchemaRegistry(context.kinds), watchdog, phases });
  phases.leave();
  watchdog.stop();
  // On the standard error, so that what synth prints on its output stays the same with it.
  const timings = () => {
    phases.leave();
    if (values.timings) io.err(`synth timings: ${phases.describe()}`);
  };
  const { stats } = result;
  if (result.problems.length > 0) {
    const count = reportDistinct(result.problems, io.err);
    const held =
      result.heldBack > 0
        ? ` (and ${plural(result.heldBack, 'finding')} of the cluster checks on the same constructs, shown once these are fixed)`
        : '';
    io.err(`synth: ${plural(count, 'problem')} found${held}; ${shown}/ left unchanged`);
    return 1;
  }
  const summary = `${plural(stats.clusters, 'cluster')}, ${plural(stats.apps, 'app')}, ${plural(stats.objects, 'object')}, ${plural(stats.files, 'file')}`;
  if (values.production && result.examples.length > 0) {
    for (const example of result.examples) {
      io.err(`${example.where}: ${example.field} "${example.value}" is an example value: ${example.replace} [example]`);
    }
    io.err(
      `synth --production: ${plural(result.examples.length, 'example value')} to replace before the first sync; ${shown}/ left unchanged`,
    );
    return 1;
  }
  if (values.deep) {
    // Loaded only here: a plain synth never pays for the deep build's modules.
    const { runDeep } = await import('./deep/run.js');
    const deep = await runDeep(root, result, context);
    if (deep.problems.length > 0) {
      const count = reportDistinct(deep.problems, io.err);
      io.err(`synth --deep: ${plural(count, 'problem')} found; ${shown}/ left unchanged`);
      return 1;
    }
  }
  const failed = (error: unknown) => {
    io.err(`synth: cannot ${values.check ? 'read' : 'write'} ${shown}/: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  };
  if (values.check) {
    let diff: ReturnType<typeof compareTree>;
    try {
      phases.enter('compare');
      recoverInterruptedWrite(distDir);
      diff = compareTree(distDir, result.files);
    } catch (error) {
      return failed(error);
    }
    const count = diff.stale.length + diff.missing.length + diff.extra.length;
    for (const path of diff.stale) io.err(`stale:   ${shown}/${path}`);
    for (const path of diff.missing) io.err(`missing: ${shown}/${path}`);
    for (const path of diff.extra) io.err(`extra:   ${shown}/${path}`);
    if (count > 0) {
      io.err(`synth --check: ${shown}/ is out of date (${plural(count, 'file')}); run 'npm run synth' and commit the result`);
      return 1;
    }
    timings();
    io.out(`synth --check: ${shown}/ is up to date (${summary}) in ${seconds()}`);
    announceExamples(result.examples, io);
    return 0;
  }
  let write: TreeWrite;
  try {
    phases.enter('write');
    write = writeTree(distDir, result.files);
  } catch (error) {
    return failed(error);
  }
  const changes = write.unchanged
    ? ': already up to date, nothing written'
    : ` written to ${shown}/ (${plural(write.written, 'file')} new or changed)`;
  timings();
  io.out(`synth: ${summary}${changes} in ${seconds()}`);
  announceExamples(result.examples, io);
  return 0;
}

const YAML_FILE = /\.ya?ml$/;
const JSON_FILE = /\.json$/;
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const KUSTOMIZATION_NAMES = new Set(KUSTOMIZATION_FILES);

/** Why a path cannot be read, in words. */
function unreadable(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'is a broken link';
  if (code === 'ELOOP') return 'is a link that loops back on itself';
  if (code === 'EACCES') return 'permission denied';
  return String(code ?? error);
}

/**
 * A JSON file found while walking a folder is validated when it is a Kubernetes object (a
 * mapping with apiVersion and kind); other JSON (dashboards, configs) is data, not a manifest.
 */
function isJsonManifest(path: string): boolean {
  try {
    const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return isRecord(data) && typeof data.apiVersion === 'string' && typeof data.kind === 'string';
  } catch {
    // Unreadable or invalid JSON under a .json name is not claimed to be a manifest.
    return false;
  }
}

/**
 * YAML files under a path (sorted, dot-files and kustomization files skipped when walking
 * folders), and JSON files that hold Kubernetes objects. A link, named or found, must lead
 * inside the folder it is in (the named folder, when walking); one that leaves it is reported
 * and never read.
 */
function collectYamlFiles(
  path: string,
  shown: string,
  out: string[],
  problems: Problem[],
  root?: string,
  visited: Set<string> = new Set(),
): void {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch (error) {
    problems.push({ origin: { file: shown }, rule: 'file', message: `cannot be read: ${unreadable(error)}` });
    return;
  }
  const boundary = root ?? dirname(path);
  if (lstatSync(path).isSymbolicLink()) {
    const target = realpathSync(path);
    const inside = realpathSync(boundary);
    const rel = relative(inside, target);
    if (rel.startsWith('..') || resolve(inside, rel) !== target) {
      problems.push({
        origin: { file: shown },
        rule: 'file',
        message: `is a link that leads outside ${boundary} (to ${target}); it is not read: name the target itself to validate it`,
      });
      return;
    }
  }
  // A link found while walking a folder must stay inside the folder that was named.
  const top = root ?? realpathSync(path);
  if (stat.isDirectory()) {
    // A link back to a folder already walked (`up -> ..`) is fine, and walked once.
    const real = realpathSync(path);
    if (visited.has(real)) return;
    visited.add(real);
    const entries = readdirSync(path, { withFileTypes: true }).sort((a, b) => compareStrings(a.name, b.name));
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const child = join(path, entry.name);
      const childShown = join(shown, entry.name);
      if (KUSTOMIZATION_NAMES.has(entry.name)) continue;
      if (entry.isDirectory() || YAML_FILE.test(entry.name)) collectYamlFiles(child, childShown, out, problems, top, visited);
      else if (JSON_FILE.test(entry.name)) {
        if (!entry.isSymbolicLink() && isJsonManifest(child)) out.push(child);
        else if (entry.isSymbolicLink()) collectYamlFiles(child, childShown, out, problems, top, visited);
      } else if (entry.isSymbolicLink()) {
        // A link to a folder is walked; a broken or looping one is reported; others are not manifests.
        let targetStat: ReturnType<typeof statSync> | undefined;
        try {
          targetStat = statSync(child);
        } catch (error) {
          problems.push({ origin: { file: childShown }, rule: 'file', message: `cannot be read: ${unreadable(error)}` });
        }
        if (targetStat?.isDirectory()) collectYamlFiles(child, childShown, out, problems, top, visited);
      }
    }
  } else if (stat.isFile()) {
    // A JSON file reached through a link while walking is held to the same test as any other.
    if (root !== undefined && JSON_FILE.test(path) && !isJsonManifest(path)) return;
    out.push(path);
  } else {
    problems.push({ origin: { file: shown }, rule: 'file', message: 'is not a regular file' });
  }
}

/** The folder kustomize builds an object's file in: the nearest one above it holding a kustomization. */
function buildRoot(file: string, cache: Map<string, string>): string {
  const folder = dirname(file);
  const known = cache.get(folder);
  if (known !== undefined) return known;
  const found = KUSTOMIZATION_FILES.some((name) => existsSync(join(folder, name)))
    ? folder
    : dirname(folder) === folder
      ? folder
      : buildRoot(folder, cache);
  cache.set(folder, found);
  return found;
}

/**
 * The `namespace:` a build root's kustomization sets, which kustomize gives every namespaced
 * object built there; a kustomization that cannot be read is a problem.
 */
function kustomizationNamespace(
  root: string,
  cache: Map<string, { namespace: string; file: string } | undefined>,
  cwd: string,
  problems: Problem[],
): { namespace: string; file: string } | undefined {
  if (cache.has(root)) return cache.get(root);
  let found: { namespace: string; file: string } | undefined;
  const file = KUSTOMIZATION_FILES.map((name) => join(root, name)).find((path) => existsSync(path));
  if (file !== undefined) {
    const shown = relative(cwd, file) || file;
    try {
      const document: unknown = parseYaml(readFileSync(file, 'utf8'), { uniqueKeys: false });
      const value = isRecord(document) ? document.namespace : undefined;
      // kustomize ignores an empty namespace.
      if (typeof value === 'string' && value !== '') found = { namespace: value, file: shown };
      else if (value !== undefined && value !== null && value !== '') {
        problems.push({ origin: { file: shown }, rule: 'kustomization', message: 'namespace must be a string' });
      }
    } catch (error) {
      const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '').replace(/:$/, '') : String(error);
      problems.push({ origin: { file: shown }, rule: 'kustomization', message: `is not valid YAML: ${reason}` });
    }
  }
  cache.set(root, found);
  return found;
}

export async function runValidate(argv: readonly string[], context: CommandContext): Promise<number> {
  const { io } = context;
  let positionals: string[];
  let help = false;
  let strict = true;
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: { help: { type: 'boolean', short: 'h' }, 'no-strict': { type: 'boolean' } },
      allowPositionals: true,
      strict: true,
    });
    positionals = parsed.positionals;
    help = parsed.values.help ?? false;
    strict = !(parsed.values['no-strict'] ?? false);
  } catch (error) {
    io.err(`validate: ${error instanceof Error ? error.message : String(error)}`);
    io.err(VALIDATE_USAGE);
    return 2;
  }
  if (help) {
    io.out(VALIDATE_USAGE);
    return 0;
  }
  if (positionals.length === 0) {
    io.err('validate: no PATH given');
    io.err(VALIDATE_USAGE);
    return 2;
  }
  const cwd = context.cwd ?? process.cwd();
  const found: string[] = [];
  const problems: Problem[] = [];
  for (const path of positionals) {
    const absolute = resolve(cwd, path);
    if (!existsSync(absolute)) {
      io.err(`validate: ${path}: no such file or directory`);
      return 2;
    }
    const before = found.length;
    const problemsBefore = problems.length;
    collectYamlFiles(absolute, relative(cwd, absolute) || path, found, problems);
    if (found.length === before && problems.length === problemsBefore) {
      problems.push({
        origin: { file: relative(cwd, absolute) || path },
        rule: 'file',
        message: 'holds no YAML file and no JSON Kubernetes object: nothing was validated (is it the right path?)',
      });
    }
  }
  // Each file once, even when named twice or reached through a link.
  const seenFiles = new Set<string>();
  const files = found.filter((file) => {
    const real = realpathSync(file);
    if (seenFiles.has(real)) return false;
    seenFiles.add(real);
    return true;
  });
  const objects: (SourcedObject & { readonly buildRoot: string })[] = [];
  const roots = new Map<string, string>();
  const namespaces = new Map<string, { namespace: string; file: string } | undefined>();
  const registry = new SchemaRegistry(context.kinds);
  for (const file of files) {
    const shown = relative(cwd, file) || file;
    const parsed = parseManifests(readFileSync(file), shown);
    problems.push(...parsed.problems);
    const root = buildRoot(file, roots);
    const kustomization = kustomizationNamespace(root, namespaces, cwd, problems);
    if (kustomization === undefined) {
      objects.push(...parsed.objects.map((object) => ({ ...object, buildRoot: root })));
      continue;
    }
    // Validated as kustomize will build them: in the kustomization's namespace.
    problems.push(...checkKustomizeNamespace(kustomization.namespace, parsed.objects, [], kustomization.file));
    for (const object of parsed.objects) {
      objects.push({ ...object, manifest: await withNamespace(object.manifest, kustomization.namespace, registry), buildRoot: root });
    }
  }
  // Objects only collide when one kustomize build (one app folder) holds both; synth checks whole clusters.
  const result = await validateObjects(objects, {
    registry,
    duplicateScope: (object) => object.buildRoot,
    strict,
  });
  problems.push(...result.problems);
  report(problems, io.out);
  const badFiles = new Set(problems.map((problem) => problem.origin.file)).size;
  const scanned = `${plural(files.length, 'file')}, ${plural(result.objects.length, 'object')}`;
  if (problems.length > 0) {
    io.out(`validate: ${scanned}: ${plural(problems.length, 'problem')} in ${plural(badFiles, 'file')}`);
    return 1;
  }
  io.out(`validate: ${scanned}: all valid`);
  return 0;
}
