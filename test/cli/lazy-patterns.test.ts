// The bundle compiles the model packages' RE2 patterns at first use (cli/synth-bundle.mjs).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it, onTestFinished } from 'vitest';
// @ts-expect-error: a plain JavaScript module of the launcher, without declarations.
import { lazyPatterns, packageLocations } from '../../cli/synth-bundle.mjs';
import { projectRoot } from '../helpers/io.js';
import { temporaryDir } from '../helpers/temp.js';

const MONTH_RANGE = join(
  projectRoot,
  'node_modules/@kubernetes-models/prometheus-operator/_schemas/ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoringV1alpha1MonthRange.js',
);

/** A CommonJS bundle of `entry`, as cli/synth-bundle.mjs builds the synth command (re2-wasm finds its WebAssembly file beside itself). */
async function bundled(entry: string, plugins: unknown[]): Promise<string> {
  const result = await build({
    stdin: { contents: entry, resolveDir: projectRoot, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
    plugins: [...plugins, packageLocations] as never,
  });
  return result.outputFiles[0]?.text ?? '';
}

/** Counts the WebAssembly instances made while `run` runs: the RE2 runtime makes one when it loads. */
function wasmInstances<T>(run: () => T): { result: T; instances: number } {
  // The project's TypeScript settings declare no WebAssembly globals.
  const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (...args: unknown[]) => object } }).WebAssembly;
  const original = wasm.Instance;
  let instances = 0;
  wasm.Instance = new Proxy(original, {
    construct(target, args) {
      instances += 1;
      return Reflect.construct(target, args);
    },
  });
  try {
    return { result: run(), instances };
  } finally {
    wasm.Instance = original;
  }
}

describe('lazy RE2 patterns in the bundle', () => {
  it('compiles a schema module pattern, and loads the RE2 runtime, at its first test, and validates as before', async () => {
    const entry = `export { validate } from ${JSON.stringify(MONTH_RANGE)};`;
    const lazy = await bundled(entry, [lazyPatterns]);
    const eager = await bundled(entry, []);
    expect(lazy).toMatch(/pattern\d+ = \{\s*test: \(s\) => \(pattern\d+ = new /);
    expect(eager).not.toMatch(/test: \(s\) =>/);
    const requireHere = createRequire(import.meta.url);
    // Inside the project, so that the runtime resolves from its node_modules.
    mkdirSync(join(projectRoot, '.cache'), { recursive: true });
    const dir = mkdtempSync(join(projectRoot, '.cache', 'lazy-patterns-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, code, atLoad] of [
      ['lazy.cjs', lazy, 0],
      ['eager.cjs', eager, 1],
    ] as const) {
      writeFileSync(join(dir, name), code);
      const loaded = wasmInstances(() => requireHere(join(dir, name)) as { validate: (value: unknown) => boolean });
      expect(loaded.instances, name).toBe(atLoad);
      const { validate } = loaded.result;
      expect(wasmInstances(() => validate('january')).instances, name).toBe(1 - atLoad);
      expect([validate('january'), validate('March'), validate('1:3'), validate('13'), validate('foo'), validate('foo')]).toEqual([
        true,
        true,
        true,
        false,
        false,
        false,
      ]);
    }
  });

  it('leaves a module alone when a pattern is used other than by test()', async () => {
    const dir = temporaryDir('lazy-patterns-');
    const schemas = join(dir, 'node_modules/@kubernetes-models/example/_schemas');
    mkdirSync(schemas, { recursive: true });
    writeFileSync(
      join(schemas, 'Thing.js'),
      'import func0 from"@kubernetes-models/validate/runtime/re2";let pattern0=new func0("^a+$","u");export const source=pattern0.source;export const ok=(s)=>pattern0.test(s);',
    );
    const result = await build({
      entryPoints: [join(schemas, 'Thing.js')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      logLevel: 'silent',
      nodePaths: [join(projectRoot, 'node_modules')],
      plugins: [lazyPatterns],
    });
    expect(result.outputFiles[0]?.text).toMatch(/pattern0 = new /);
    expect(result.outputFiles[0]?.text).not.toMatch(/test: \(s\) =>/);
  });
});
