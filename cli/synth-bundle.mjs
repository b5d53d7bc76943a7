// Builds the one-file synth command (.cache/synth-<hash>.cjs) that cli/synth.mjs runs: the
// command, the pipeline, the library, the packages they use and every composition of the
// project in one ES module, so a synth loads one file instead of hundreds through tsx. Plain
// JavaScript: it runs before anything could compile TypeScript.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** The folder of built files (git-ignored). */
export const CACHE = '.cache';
/** What says which bundle is current and what it was built from. */
export const MANIFEST = 'synth.json';
/** Bumped when the layout of the manifest or the bundle changes. */
const FORMAT = 2;
/** Written by the bundle's runs (pipeline/bundle.ts MODEL_MODULES_FILE): the kinds' model modules the next build holds. */
const MODEL_MODULES = '.cache/model-modules.json';
/** A kind's module of a model package, as pipeline/schemas.ts imports it: only these are taken from the list. */
const MODEL_SPECIFIER = /^(kubernetes-models|@kubernetes-models\/[a-z0-9-]+)\/([a-z0-9.-]+\/)?v[a-z0-9]+\/[A-Za-z][A-Za-z0-9]*$/;
/** Files outside the bundle's inputs that decide what it holds or how its results are repeated: packages, compiler settings, the launcher's scripts, the model list. */
const SETTINGS = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'cli/launch.mjs',
  'cli/synth.mjs',
  'cli/diff.mjs',
  'cli/synth-bundle.mjs',
  'cli/result-cache.mjs',
  MODEL_MODULES,
];
/** Folders whose listing decides what the bundle holds: a new inventory or composition is a new cluster. */
const LISTED = ['apps', 'inventory'];
/** The folders of the project's code. */
const SOURCES = ['apps', 'constructs', 'framework', 'pipeline', 'inventory', 'cli', 'imports'];

/** What a file or folder holds, as a hash: a folder's sorted entry names, a file's bytes. */
export function contentHash(path, isDirectory) {
  const hash = createHash('sha256');
  if (isDirectory) hash.update(readdirSync(path).sort().join('\n'));
  else hash.update(readFileSync(path));
  return hash.digest('hex');
}

/** The stat fields a change of content always moves (a write sets ctime, and so does setting mtime back). */
export function statKey(stats) {
  return `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

/** The compositions of the project: apps/<cluster>.ts of each inventory/<cluster>.json, as loadClusters finds them. */
function compositions(root) {
  const inventory = join(root, 'inventory');
  if (!existsSync(inventory)) return [];
  return readdirSync(inventory)
    .filter((file) => file.endsWith('.json'))
    .map((file) => `apps/${file.slice(0, -'.json'.length)}.ts`)
    .filter((file) => existsSync(join(root, file)))
    .sort();
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * Where each source starts in the generated file, from a source map's mappings: flat triples of
 * 0-based line, column and source index, one each time the source changes. The sandbox looks a
 * call site up here on every guarded call, so it is kept this small.
 */
export function sourceStarts(mappings) {
  const digits = new Int8Array(128).fill(-1);
  for (let index = 0; index < BASE64.length; index += 1) digits[BASE64.charCodeAt(index)] = index;
  const starts = [];
  let line = 0;
  let column = 0;
  let source = 0;
  let current = -1;
  let at = 0;
  const value = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const digit = digits[mappings.charCodeAt(at)];
      at += 1;
      result += (digit & 31) << shift;
      if ((digit & 32) === 0) break;
      shift += 5;
    }
    return result & 1 ? -(result >>> 1) : result >>> 1;
  };
  while (at < mappings.length) {
    const char = mappings[at];
    if (char === ';') {
      line += 1;
      column = 0;
      at += 1;
      continue;
    }
    if (char === ',') {
      at += 1;
      continue;
    }
    column += value();
    const hasSource = at < mappings.length && mappings[at] !== ',' && mappings[at] !== ';';
    if (!hasSource) continue;
    source += value();
    value(); // original line
    value(); // original column
    if (at < mappings.length && mappings[at] !== ',' && mappings[at] !== ';') value(); // name
    if (source !== current) {
      starts.push(line, column, source);
      current = source;
    }
  }
  return starts;
}

/**
 * CommonJS packages that read `__dirname` or `__filename` (cdk8s finds a helper script beside
 * itself) get their own values: an ES module has neither.
 */
export const packageLocations = {
  name: 'package-locations',
  setup(build) {
    build.onLoad({ filter: /[\\/]node_modules[\\/].*\.c?js$/ }, (args) => {
      const contents = readFileSync(args.path, 'utf8');
      if (!/\b__(?:dirname|filename)\b/.test(contents)) return undefined;
      const locals = `var __dirname = ${JSON.stringify(dirname(args.path))}, __filename = ${JSON.stringify(args.path)};`;
      // On the first line (after a "use strict", which must stay first), so no line moves.
      const directive = /^\s*(['"])use strict\1;?/.exec(contents)?.[0] ?? '';
      return { contents: `${directive}${locals} ${contents.slice(directive.length)}`, loader: 'js', resolveDir: dirname(args.path) };
    });
  },
};

/**
 * The schema modules of the model packages compile their RE2 patterns (Go's regular expressions,
 * in WebAssembly) when they load: one of prometheus-operator's alone cost 50 ms of each start.
 * Each is compiled at its first test() instead, where a module uses its patterns only so; the
 * RE2 runtime itself (a WebAssembly module, about 7 ms to instantiate) is then loaded at that
 * first test too, so a run whose objects have none of these fields never loads it.
 */
const RE2_IMPORT = /import (func\d+) from\s*"@kubernetes-models\/validate\/runtime\/re2";/;
/** What the model packages' RE2 runtime module holds when it is only re2-wasm's class. */
const RE2_RUNTIME = /^import \{ RE2 \} from "re2-wasm";\s*export default RE2;\s*(\/\/# sourceMappingURL=\S+\s*)?$/;

/** The re2-wasm file the RE2 runtime module re-exports, resolved as the runtime would; undefined when it holds anything else. */
async function re2Package(build, resolveDir) {
  const runtime = await build.resolve('@kubernetes-models/validate/runtime/re2', { kind: 'import-statement', resolveDir });
  if (runtime.errors.length > 0 || !RE2_RUNTIME.test(readFileSync(runtime.path, 'utf8'))) return undefined;
  const engine = await build.resolve('re2-wasm', { kind: 'require-call', resolveDir: dirname(runtime.path) });
  return engine.errors.length > 0 ? undefined : engine.path;
}

export const lazyPatterns = {
  name: 'lazy-re2-patterns',
  setup(build) {
    build.onLoad(
      { filter: /[\\/]node_modules[\\/](@kubernetes-models[\\/][^\\/]+|kubernetes-models)[\\/]_schemas[\\/][^\\/]+\.js$/ },
      async (args) => {
        const contents = readFileSync(args.path, 'utf8');
        const re2 = RE2_IMPORT.exec(contents)?.[1];
        if (!re2) return undefined;
        const declared = new RegExp(`let (pattern\\d+)=new ${re2}\\(("(?:[^"\\\\]|\\\\.)*"),"u"\\);`, 'g');
        const names = [...contents.matchAll(declared)].map((match) => match[1]);
        // Only where every use of each pattern is a test() call.
        const uses = names.every((name) => {
          const all = contents.match(new RegExp(`\\b${name}\\b`, 'g'))?.length ?? 0;
          const tests = contents.match(new RegExp(`\\b${name}\\.test\\(`, 'g'))?.length ?? 0;
          return all === tests + 1;
        });
        if (names.length === 0 || !uses) return undefined;
        let lazy = contents.replace(
          declared,
          (_, name, pattern) => `let ${name}={test:(s)=>(${name}=new ${re2}(${pattern},"u")).test(s)};`,
        );
        const engine = await re2Package(build, dirname(args.path));
        // The runtime only passes re2-wasm's class on; a require() of that package loads at the call.
        if (engine)
          lazy = lazy.replace(
            RE2_IMPORT,
            `const ${re2}=function(pattern,flags){return new(require(${JSON.stringify(engine)}).RE2)(pattern,flags)};`,
          );
        return { contents: lazy, loader: 'js', resolveDir: dirname(args.path) };
      },
    );
  },
};

/**
 * The require() of the bundled CommonJS packages. Node warns that its punycode module is
 * deprecated unless the caller is in node_modules; in the bundle no caller is, so a package's
 * require('punycode') (ajv-formats-draft2019) would print a warning it never prints from source.
 */
const REQUIRE = `var __bundleUrl = require('node:url').pathToFileURL(__filename).href;
require = ((base) => {
  const bundleRequire = (id) => {
    if (id !== 'punycode') return base(id);
    const emitWarning = process.emitWarning;
    process.emitWarning = (warning, ...rest) =>
      (typeof rest[0] === 'object' ? rest[0]?.code : rest[1]) === 'DEP0040' ? undefined : emitWarning.call(process, warning, ...rest);
    try {
      return base(id);
    } finally {
      process.emitWarning = emitWarning;
    }
  };
  return Object.assign(bundleRequire, base);
})(require);`;

/** The entry of the bundle: registers the compositions and model modules it holds, then runs the command cli/launch.mjs names, as cli/<command>.ts does. */
function entry(root, files, models) {
  const loaders = files.map((file) => `  ${JSON.stringify(join(root, file))}: () => import(${JSON.stringify(`./${file}`)}),`);
  const modelLoaders = models.map((specifier) => `  ${JSON.stringify(specifier)}: () => import(${JSON.stringify(specifier)}),`);
  return [
    "import { recordModelModules, registerBundle } from './pipeline/bundle.ts';",
    "import { modelModulesLoaded } from './pipeline/schemas.ts';",
    '',
    `registerBundle(import.meta.url, {\n${loaders.join('\n')}\n}, {\n${modelLoaders.join('\n')}\n});`,
    // The kinds this run validated that the bundle lacks go to the list the next build holds.
    "process.on('exit', () => recordModelModules(modelModulesLoaded()));",
    // cli/launch.mjs names the command; both are in the bundle, and only the one named runs.
    "if (globalThis[Symbol.for('homelab-cdk8s.command')] === 'diff') import('./cli/diff.ts');",
    "else import('./cli/synth.ts');",
    '',
  ].join('\n');
}

/**
 * The model modules earlier runs loaded (.cache/model-modules.json), each a package's kind
 * module that is still installed: a kind a package upgrade dropped would fail every build.
 */
function modelModules(root) {
  try {
    const listed = JSON.parse(readFileSync(join(root, MODEL_MODULES), 'utf8'));
    if (!Array.isArray(listed)) return [];
    const installed = (entry) => existsSync(join(root, 'node_modules', `${entry}.js`));
    return listed.filter((entry) => typeof entry === 'string' && MODEL_SPECIFIER.test(entry) && installed(entry)).sort();
  } catch {
    return [];
  }
}

/** The stat keys of every file and folder a bundle can be built from, by path from the root. */
function statsOf(root) {
  const stats = new Map();
  const visit = (path) => {
    const found = statSync(join(root, path), { throwIfNoEntry: false });
    if (!found) return;
    stats.set(path, statKey(found));
    if (found.isDirectory()) for (const name of readdirSync(join(root, path))) visit(join(path, name));
  };
  for (const path of [...SOURCES, ...SETTINGS]) visit(path);
  return stats;
}

function record(root, path) {
  const full = join(root, path);
  const stats = statSync(full, { throwIfNoEntry: false });
  if (!stats) return undefined;
  const isDirectory = stats.isDirectory();
  return { path, directory: isDirectory, stat: statKey(stats), hash: contentHash(full, isDirectory) };
}

/**
 * Builds the bundle of `root` into `<root>/.cache/` and writes the manifest naming it. Returns the
 * bundle's path, or undefined with the reason when it cannot be built (esbuild missing, a file
 * that does not compile): the caller then runs the command from source, which reports the
 * problem as it always does.
 */
export async function buildSynthBundle(root) {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch (error) {
    return { error: `esbuild cannot be loaded: ${error instanceof Error ? error.message : String(error)}` };
  }
  const cache = join(root, CACHE);
  mkdirSync(cache, { recursive: true });
  const before = statsOf(root);
  const temporary = join(cache, `synth-build-${process.pid}.cjs`);
  let result;
  try {
    result = await esbuild.build({
      stdin: {
        contents: entry(root, compositions(root), modelModules(root)),
        resolveDir: root,
        sourcefile: 'synth-entry.mjs',
        loader: 'js',
      },
      bundle: true,
      // The metafile names its inputs relative to this folder, whatever the caller's directory.
      absWorkingDir: root,
      platform: 'node',
      format: 'cjs',
      charset: 'ascii',
      legalComments: 'none',
      minifyWhitespace: true,
      define: { 'import.meta.url': '__bundleUrl' },
      target: 'node20',
      outfile: temporary,
      // CommonJS, so that cli/launch.mjs can run it through V8's code cache (vm.Script's
      // cachedData; Node has no such cache for ES modules before 22). import.meta.url is the
      // bundle's; ASCII only and no comments, so reading it takes V8's fast path.
      banner: { js: REQUIRE },
      sourcemap: 'external',
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [lazyPatterns, packageLocations],
      write: true,
    });
  } catch (error) {
    rmSync(temporary, { force: true });
    rmSync(`${temporary}.map`, { force: true });
    return { error: error instanceof Error ? error.message : String(error) };
  }
  const inputs = Object.keys(result.metafile.inputs)
    .filter((input) => !input.startsWith('<') && input !== 'synth-entry.mjs')
    .map((input) => relative(root, resolve(root, input)))
    .filter((input) => !input.startsWith(`..${sep}`) && !input.split(sep).includes('node_modules'));
  const records = [...new Set([...inputs, ...SETTINGS, ...LISTED])].sort().map((path) => record(root, path) ?? { path, missing: true });
  // A file changed while esbuild ran: what it read may not be what was hashed, so this build is
  // used once and the next run builds again.
  const changed = records.some((entry) => (entry.stat ?? undefined) !== before.get(entry.path));
  // Named by what it holds too: packages are not among the records (package-lock.json stands for
  // them), so a changed package with the same lock builds a different bundle from the same
  // records. Under the old name, the results recorded for it and V8's cached code of it (which
  // V8 takes for any source of the same length) would be taken for this one's.
  const key = createHash('sha256')
    .update(JSON.stringify([FORMAT, records.map((entry) => [entry.path, entry.hash ?? null])]))
    .update(readFileSync(temporary))
    .digest('hex')
    .slice(0, 16);
  const bundle = join(cache, `synth-${key}.cjs`);
  const map = JSON.parse(readFileSync(`${temporary}.map`, 'utf8'));
  const sources = map.sources.map((source) => resolve(cache, source));
  writeFileSync(`${bundle}.sources.json`, JSON.stringify({ sources, starts: sourceStarts(map.mappings) }));
  renameSync(`${temporary}.map`, `${bundle}.map`);
  renameSync(temporary, bundle);
  if (!changed) {
    const manifest = { format: FORMAT, root, bundle: relative(cache, bundle), files: records };
    const written = join(cache, `${MANIFEST}.${process.pid}`);
    writeFileSync(written, `${JSON.stringify(manifest, null, 1)}\n`);
    renameSync(written, join(cache, MANIFEST));
  }
  // Earlier bundles go once no run of them can still be reading their map (an hour is ample).
  for (const file of readdirSync(cache)) {
    if (!file.startsWith('synth-') || file.startsWith(`synth-${key}.`)) continue;
    const path = join(cache, file);
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats && Date.now() - stats.mtimeMs > 3_600_000) rmSync(path, { force: true });
  }
  return { bundle };
}
