// Runs a command of the project (synth, diff) from its one-file build in .cache/
// (cli/synth-bundle.mjs), building it first when any file it was built from changed. Plain
// JavaScript, so a command starts without a TypeScript loader. `node --import tsx cli/synth.ts`
// runs the same command from source; so does this launcher for another project (--root) or when
// the build fails (a file that does not compile is then reported as synth always reports it).
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { recordResult, repeatResult } from './result-cache.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cache = join(root, '.cache');
// Node 22+ keeps V8's compiled code of the bundle between runs; Node 20 has no such cache.
module.enableCompileCache?.(join(cache, 'compile'));

/** The current bundle when the manifest says it was built from the files as they are now, else undefined. */
async function freshBundle() {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(cache, 'synth.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest.format !== 2 || manifest.root !== root) return undefined;
  let moved = false;
  for (const entry of manifest.files) {
    const stats = statSync(join(root, entry.path), { throwIfNoEntry: false });
    if (entry.missing || !stats) {
      if (entry.missing && !stats) continue;
      return undefined;
    }
    const key = `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
    if (key === entry.stat) continue;
    // Touched, copied back or checked out again: the bundle holds it still if its content is the same.
    const { contentHash } = await import('./synth-bundle.mjs');
    if (contentHash(join(root, entry.path), stats.isDirectory()) !== entry.hash) return undefined;
    entry.stat = key;
    moved = true;
  }
  const bundle = join(cache, manifest.bundle);
  if (!statSync(bundle, { throwIfNoEntry: false })) return undefined;
  if (moved) {
    try {
      writeFileSync(join(cache, 'synth.json'), `${JSON.stringify(manifest, null, 1)}\n`);
    } catch {
      // Only the next run's check is slower.
    }
  }
  return bundle;
}

/** The commands the bundle holds (cli/<command>.ts); the bundle's entry runs the one named here. */
export const COMMAND = Symbol.for('homelab-cdk8s.command');

/**
 * Runs a command of the bundle (`synth`, `diff`): from the current bundle, from a new one when
 * a file it was built from changed, or from source.
 */
export async function launch(command) {
  globalThis[COMMAND] = command;
  const fromSource = async () => {
    await import('tsx');
    await import(`./${command}.ts`);
  };
  const args = process.argv.slice(2);
  const has = (option) => args.some((arg) => arg === option || arg.startsWith(`${option}=`));
  // The bundle holds this project's compositions, not another's; a diff of two commits renders nothing.
  if (has('--root') && !(command === 'diff' && has('--head'))) {
    await fromSource();
    return;
  }
  let bundle = await freshBundle();
  if (!bundle) {
    const { buildSynthBundle } = await import('./synth-bundle.mjs');
    const built = await buildSynthBundle(root);
    bundle = built.bundle;
    // Quietly: running from source reports what does not compile as a problem of its file.
    if (!bundle) {
      await fromSource();
      return;
    }
  }
  // Nothing the last identical run read has changed: its result, without loading the bundle.
  if (repeatResult(cache, command, args, bundle)) return;
  let recorded = () => {};
  runBundle(bundle, () => {
    recorded = recordResult(cache, command, args, bundle);
  });
  recorded();
}

// Taken now: the sandbox replaces the fs functions while a command runs.
const writeCache = writeFileSync;
const renameCache = renameSync;

/**
 * Runs the CommonJS bundle through V8's code cache: its compiled code, kept beside it for this
 * V8 (`<bundle>.<v8 version>.code`), spares the compile of several megabytes of JavaScript at
 * each start. The cache is written at exit, when it holds the functions the run compiled too.
 * `beforeRun` is called once the launcher has read what it needs, just before the bundle runs.
 */
function runBundle(bundle, beforeRun) {
  const codeFile = `${bundle}.${process.versions.v8}-${process.arch}.code`;
  let cachedData;
  try {
    cachedData = readFileSync(codeFile);
  } catch {
    cachedData = undefined;
  }
  // The bundle is ASCII (esbuild's charset), so Latin-1 reads it as UTF-8 would, at half the cost.
  const source = readFileSync(bundle, 'latin1');
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: bundle,
    cachedData,
  });
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        const temporary = `${codeFile}.${process.pid}`;
        writeCache(temporary, script.createCachedData());
        renameCache(temporary, codeFile);
      } catch {
        // Only the next start is slower.
      }
    });
  }
  // The bundle imports what it does not hold (pipeline/bundle.ts importModule) through this.
  globalThis[Symbol.for('homelab-cdk8s.import')] = (specifier) => import(specifier);
  const bundleModule = { exports: {} };
  beforeRun();
  script.runInThisContext()(bundleModule.exports, module.createRequire(bundle), bundleModule, bundle, dirname(bundle));
}
