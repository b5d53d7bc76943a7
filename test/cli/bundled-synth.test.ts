// `npm run synth` runs cli/synth.mjs, which runs the command from its one-file build in .cache/.
// These run that launcher in a temporary project laid out like this one (its own apps/ and
// inventory/, this project's code and packages), so what holds under tsx must hold in the bundle:
// the sandbox refuses app code by the file it is written in, and errors name that file and line.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundledProject, labComposition as composition } from '../helpers/bundled-project.js';

const timeless = (text: string) => text.replace(/ in \d+\.\d+ s\b/g, ' in N s');

/**
 * Runs synth through the launcher, and once more from source (tsx): both must say the same.
 * (Not for a failure of cli/ code: from source, the copied cli/ is not this library's engine.)
 */
function synth(root: string, files: Record<string, string>, compare = true) {
  for (const [path, content] of Object.entries(files)) writeFileSync(join(root, path), content);
  // From a folder other than the project root: what the build records must not depend on it.
  const run = (args: string[]) =>
    spawnSync(process.execPath, args, { cwd: join(root, 'apps'), encoding: 'utf8', env: { ...process.env, INIT_CWD: root } });
  // Each run from an empty dist/: a second run over an unchanged one writes nothing, and says so.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  const bundled = run([join(root, 'cli/synth.mjs')]);
  if (!compare) return bundled;
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  const source = run(['--import', 'tsx', join(root, 'cli/synth.ts')]);
  expect({ status: bundled.status, stdout: timeless(bundled.stdout), stderr: timeless(bundled.stderr) }).toEqual({
    status: source.status,
    stdout: timeless(source.stdout),
    stderr: timeless(source.stderr),
  });
  return bundled;
}

/** The bundle the manifest names: the launcher ran the build, not the sources. */
function currentBundle(root: string): string {
  const manifest = JSON.parse(readFileSync(join(root, '.cache/synth.json'), 'utf8')) as { bundle: string };
  const bundle = join(root, '.cache', manifest.bundle);
  expect(existsSync(bundle)).toBe(true);
  return bundle;
}

describe('the bundled synth', () => {
  const root = bundledProject('synth-bundle-test-');

  it('renders a plain cluster from the bundle', () => {
    const result = synth(root, { 'apps/lab.ts': composition('') });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(readFileSync(join(root, 'dist/lab/web/configmap-facts.yaml'), 'utf8')).toContain('value: plain');
    currentBundle(root);
  });

  it('refuses app code reading the environment, naming the app, after rebuilding for the changed composition', () => {
    const before = currentBundle(root);
    const result = synth(root, { 'apps/lab.ts': composition('void process.env.HOME;') });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^lab\/web: reading process\.env\.HOME while building: apps and constructs read nothing .* \[construct\]$/m,
    );
    expect(currentBundle(root)).not.toBe(before);
  });

  it('names the line of the composition an error was thrown at, not the bundle', () => {
    const result = synth(root, { 'apps/lab.ts': composition("throw new Error('no facts');") });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('lab/web: no facts (at apps/lab.ts:7) [construct]');
    expect(result.stderr).not.toContain('.cache');
  });

  it('refuses the top level of a composition reaching the host, naming the file and line', () => {
    const result = synth(root, { 'apps/lab.ts': composition('', "import { hostname } from 'node:os';\nconst host = hostname();") });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^apps\/lab\.ts: cannot load the composition: calling os\.hostname\(\) while building: .*\(at apps\/lab\.ts:4\)/m,
    );
  });

  it.each([
    [
      'a process.exit in build()',
      'process.exit(0);',
      /^lab\/web: process\.exit\(0\) was called while the command ran: .*\(at apps\/lab\.ts:7\) \[construct\]$/m,
    ],
    [
      'a promise left to fail',
      "void Promise.reject(new Error('late'));",
      /^error: late \(at \/.*\/apps\/lab\.ts:7\) was thrown outside any step/m,
    ],
  ])('reports %s at the app line', (_what, build, expected) => {
    const result = synth(root, { 'apps/lab.ts': composition(build) }, false);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(expected);
  });

  it('lets library code the app calls reach the host, as it does from source', () => {
    const result = synth(root, { 'apps/lab.ts': composition('') });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('holds the model modules earlier runs validated with, after one rebuild, and then stays', () => {
    const files = { 'apps/lab.ts': composition('') };
    synth(root, files, false);
    const listed = JSON.parse(readFileSync(join(root, '.cache/model-modules.json'), 'utf8')) as string[];
    expect(listed).toContain('kubernetes-models/v1/ConfigMap');
    synth(root, files, false);
    const holding = currentBundle(root);
    expect(readFileSync(holding, 'utf8')).toContain('node_modules/kubernetes-models/v1/ConfigMap.js');
    const again = synth(root, files);
    expect(again.status).toBe(0);
    expect(currentBundle(root)).toBe(holding);
  });
});
