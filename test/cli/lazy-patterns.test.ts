// The bundle compiles the model packages' RE2 patterns at first use (cli/synth-bundle.mjs).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it, onTestFinished } from 'vitest';
// @ts-expect-error: a plain JavaScript module of the launcher, without declarations.
import { lazyPatterns } from '../../cli/synth-bundle.mjs';
import { projectRoot } from '../helpers/io.js';
import { temporaryDir } from '../helpers/temp.js';

const MONTH_RANGE = join(
  projectRoot,
  'node_modules/@kubernetes-models/prometheus-operator/_schemas/ComGithubPrometheusOperatorPrometheusOperatorPkgApisMonitoringV1alpha1MonthRange.js',
);

async function bundled(entry: string, plugins: unknown[]): Promise<string> {
  const result = await build({
    stdin: { contents: entry, resolveDir: projectRoot, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    logLevel: 'silent',
    // The RE2 runtime stays a package (it reads its WebAssembly file beside itself).
    external: ['@kubernetes-models/validate/*'],
    plugins: plugins as never,
  });
  return result.outputFiles[0]?.text ?? '';
}

describe('lazy RE2 patterns in the bundle', () => {
  it('compiles a schema module pattern at its first test, and validates as before', async () => {
    const entry = `export { validate } from ${JSON.stringify(MONTH_RANGE)};`;
    const lazy = await bundled(entry, [lazyPatterns]);
    const eager = await bundled(entry, []);
    expect(lazy).toMatch(/pattern\d+ = \{\s*test: \(s\) => \(pattern\d+ = new /);
    expect(eager).not.toMatch(/test: \(s\) =>/);
    // Inside the project, so that the runtime resolves from its node_modules.
    mkdirSync(join(projectRoot, '.cache'), { recursive: true });
    const dir = mkdtempSync(join(projectRoot, '.cache', 'lazy-patterns-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    for (const [name, code] of [
      ['lazy.mjs', lazy],
      ['eager.mjs', eager],
    ] as const) {
      writeFileSync(join(dir, name), code);
      const { validate } = (await import(join(dir, name))) as { validate: (value: unknown) => boolean };
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
