import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runSynth } from '../../pipeline/commands.js';
import { listFiles } from '../../pipeline/output.js';
import { captureContext, projectRoot } from '../helpers/io.js';
import { configMapComposition, makeProject } from '../helpers/project.js';

const temporary: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'synth-out-'));
  temporary.push(dir);
  return dir;
}
function project(files: Record<string, string>): string {
  const root = makeProject(files);
  temporary.push(root);
  return root;
}
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree(dir: string): Record<string, string> {
  const files = listFiles(dir).filter((path) => path !== 'node_modules');
  return Object.fromEntries(files.map((path) => [path, readFileSync(join(dir, path), 'utf8')]));
}

/** Runs the real CLI in a child process (as the operator and CI do). */
function cli(args: string[], options: { cwd?: string; env?: Record<string, string>; preload?: string } = {}) {
  const preload = options.preload ? ['--import', options.preload] : [];
  // tsx by absolute URL, so the CLI can run from any working directory.
  const tsx = pathToFileURL(join(projectRoot, 'node_modules/tsx/dist/loader.mjs')).href;
  return spawnSync(process.execPath, [...preload, '--import', tsx, join(projectRoot, 'cli/synth.ts'), ...args], {
    cwd: options.cwd ?? projectRoot,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
  });
}

const tinyCluster = join(projectRoot, 'test/fixtures/tiny-cluster');

describe('synth', () => {
  it('renders a second cluster from nothing but an inventory and a composition', async () => {
    const out = tempDir();
    const context = captureContext();
    expect(await runSynth(['--root', tinyCluster, '--out', out], context)).toBe(0);
    expect(listFiles(out)).toEqual([
      'README.md',
      'tiny/hello/configmap-greeting.yaml',
      'tiny/hello/kustomization.yaml',
      'tiny/hello/namespace-hello.yaml',
    ]);
    const configMap = readFileSync(join(out, 'tiny/hello/configmap-greeting.yaml'), 'utf8');
    expect(configMap).toContain('namespace: hello');
    expect(configMap).toContain('message: hello from tiny (k8s.example.org)');
    expect(readFileSync(join(out, 'tiny/hello/namespace-hello.yaml'), 'utf8')).not.toContain('namespace:');
    expect(context.out[0]).toMatch(/^synth: 1 cluster, 1 app, 2 objects, 4 files written to .+ \(4 files new or changed\) in \d+\.\d\d s$/);
  });

  it('writes only what changed: nothing when dist is up to date, one file for one changed object', async () => {
    // Two projects writing one dist: the second changes one object (a process imports a composition once).
    const composition = (message: string) => configMapComposition({ web: { greeting: { message }, farewell: { message: 'bye' } } });
    const hello = project({ 'inventory/lab.json': '{ "name": "lab" }', 'apps/lab.ts': composition('hello') });
    const hi = project({ 'inventory/lab.json': '{ "name": "lab" }', 'apps/lab.ts': composition('hi') });
    const dist = tempDir();
    expect(await runSynth(['--root', hello, '--out', dist], captureContext())).toBe(0);
    const inodes = () => Object.fromEntries(listFiles(dist).map((path) => [path, statSync(join(dist, path)).ino]));
    const before = inodes();
    const again = captureContext();
    expect(await runSynth(['--root', hello, '--out', dist], again)).toBe(0);
    expect(again.out[0]).toMatch(/: already up to date, nothing written in /);
    expect(inodes()).toEqual(before);

    const changed = captureContext();
    expect(await runSynth(['--root', hi, '--out', dist], changed)).toBe(0);
    expect(changed.out[0]).toMatch(/ written to .+ \(1 file new or changed\) in /);
    const after = inodes();
    // The changed object's file is new; every other file is the same file, linked into the new tree.
    expect(Object.keys(before).filter((path) => after[path] !== before[path])).toEqual(['lab/web/configmap-greeting.yaml']);
    expect(readFileSync(join(dist, 'lab/web/configmap-greeting.yaml'), 'utf8')).toContain('message: hi');
  });

  it('says where the time went with --timings, on the standard error only', async () => {
    const plain = captureContext();
    const timed = captureContext();
    expect(await runSynth(['--root', tinyCluster, '--out', tempDir()], plain)).toBe(0);
    expect(await runSynth(['--root', tinyCluster, '--out', tempDir(), '--timings'], timed)).toBe(0);
    expect(plain.err).toEqual([]);
    expect(timed.err).toHaveLength(1);
    expect(timed.err[0]).toMatch(
      /^synth timings: start \d+\.\d{3} s, load \d+\.\d{3} s, render \d+\.\d{3} s, validate \d+\.\d{3} s, layout \d+\.\d{3} s, write \d+\.\d{3} s$/,
    );
    expect(timed.out.length).toBe(plain.out.length);
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!kubectl)('writes app folders kustomize can build (needs kubectl)', async () => {
    const out = tempDir();
    await runSynth(['--root', tinyCluster, '--out', out], captureContext());
    const built = spawnSync('kubectl', ['kustomize', join(out, 'tiny/hello')], { encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    expect(built.stdout).toContain('kind: Namespace');
    expect(built.stdout).toContain('name: greeting');
  });

  it('lists resources in a stable order in kustomization.yaml', async () => {
    const out = tempDir();
    await runSynth(['--root', tinyCluster, '--out', out], captureContext());
    const kustomization = readFileSync(join(out, 'tiny/hello/kustomization.yaml'), 'utf8');
    expect(kustomization).toContain('resources:\n  - configmap-greeting.yaml\n  - namespace-hello.yaml\n');
  });

  it('is byte-identical across runs, time zones, locales and working directories', () => {
    const first = tempDir();
    const second = tempDir();
    const a = cli(['--out', first], { env: { TZ: 'UTC', LC_ALL: 'C', LANG: 'C' } });
    const b = cli(['--out', second], { cwd: tmpdir(), env: { TZ: 'Pacific/Kiritimati', LC_ALL: 'tr_TR.UTF-8', LANG: 'tr_TR.UTF-8' } });
    expect(a.status, a.stderr).toBe(0);
    expect(b.status, b.stderr).toBe(0);
    expect(Object.keys(tree(first)).length).toBeGreaterThan(3);
    expect(tree(second)).toEqual(tree(first));
  });

  it('writes nothing and reports every problem when any object is invalid', async () => {
    const root = project({
      'inventory/broken.json': '{}\n',
      'apps/broken.ts': configMapComposition({ web: { Bad_Name: { a: '1' }, 'also-bad.': { b: '2' } } }),
    });
    const out = tempDir();
    expect(await runSynth(['--root', tinyCluster, '--out', out], captureContext())).toBe(0);
    const previous = tree(out);
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', out], context)).toBe(1);
    expect(context.err).toEqual([
      expect.stringMatching(
        /^broken\/web\/Bad_Name: ConfigMap web\/Bad_Name: metadata.name "Bad_Name" must be a DNS-1123 subdomain.*\[metadata.name\]$/,
      ),
      expect.stringMatching(
        /^broken\/web\/also-bad\.: ConfigMap web\/also-bad\.: metadata.name "also-bad\." must be a DNS-1123 subdomain.*\[metadata.name\]$/,
      ),
      expect.stringMatching(/^synth: 2 problems found; .+ left unchanged$/),
    ]);
    expect(tree(out)).toEqual(previous);
  });

  it('reports construct errors with the construct path', async () => {
    const root = project({
      'inventory/lab.json': '{}\n',
      'apps/lab.ts': `import { defineCluster } from '${join(projectRoot, 'framework/cluster.ts')}';
import { HelmChart } from '${join(projectRoot, 'constructs/core/helm-chart.ts')}';
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'tools', namespace: 'tools', build(chart) {
    new HelmChart(chart, 'dashboard', { repo: 'https://charts.example.com', chart: 'dashboard', version: 'latest', namespace: 'tools' });
  } }],
});
`,
    });
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', tempDir()], context)).toBe(1);
    expect(context.err[0]).toBe(
      'lab/tools/dashboard: Helm chart dashboard: version "latest" is not an exact release (expected e.g. 1.2.3 or v1.2.3; no ranges, "latest", branches or HEAD) [construct]',
    );
  });

  it('reports inventory problems with the file and JSON path', async () => {
    const root = project({
      'inventory/lab.json': '{ "name": "lab", "hosts": [] \n',
      'apps/lab.ts': configMapComposition({}),
    });
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', tempDir()], context)).toBe(1);
    expect(context.err[0]).toMatch(/^inventory\/lab.json: invalid JSON: .+ \[inventory\]$/);

    const duplicated = project({
      'inventory/lab.json': '{\n  "acme": {\n    "email": "a@tdude.co",\n    "email": "b@tdude.co"\n  },\n  "email": 1\n}\n',
      'apps/lab.ts': configMapComposition({}),
    });
    const twice = captureContext();
    expect(await runSynth(['--root', duplicated, '--out', tempDir()], twice)).toBe(1);
    expect(twice.err[0]).toBe(
      'inventory/lab.json: invalid JSON: the key "email" appears twice in one object at line 4, column 5; JSON readers keep only one of them: remove the other [inventory]',
    );
    // Where the reader stopped, although V8 does not say for every error (NaN, a bad literal).
    const nan = project({ 'inventory/lab.json': '{\n  "mtu": NaN\n}\n', 'apps/lab.ts': configMapComposition({}) });
    const notANumber = captureContext();
    expect(await runSynth(['--root', nan, '--out', tempDir()], notANumber)).toBe(1);
    expect(notANumber.err[0]).toMatch(/^inventory\/lab\.json: invalid JSON: .* at line 2, column 10 \[inventory\]$/);
    // UTF-16, as some editors save: named as such, not as a syntax error.
    const utf16 = project({ 'inventory/lab.json': '', 'apps/lab.ts': configMapComposition({}) });
    writeFileSync(join(utf16, 'inventory/lab.json'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{}', 'utf16le')]));
    const wide = captureContext();
    expect(await runSynth(['--root', utf16, '--out', tempDir()], wide)).toBe(1);
    expect(wide.err[0]).toBe(
      'inventory/lab.json: the inventory is UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8 [inventory]',
    );
    // A control character or a replaced byte in a fact reaches files and commands unseen.
    const nul = project({
      'inventory/lab.json': '{ "gitops": { "targetRevision": "mas\\u0000ter" } }\n',
      'apps/lab.ts': configMapComposition({}),
    });
    const control = captureContext();
    expect(await runSynth(['--root', nul, '--out', tempDir()], control)).toBe(1);
    expect(control.err[0]).toBe(
      'inventory/lab.json: gitops.targetRevision: holds the control character U+0000 at character 4: remove it [inventory]',
    );
    // The same key in two objects is fine.
    const apart = project({ 'inventory/lab.json': '{ "a": { "email": 1 }, "email": 2 }\n', 'apps/lab.ts': configMapComposition({}) });
    expect(await runSynth(['--root', apart, '--out', tempDir()], captureContext())).toBe(0);

    // A composition whose inventory is missing would be left out silently.
    const orphan = project({
      'inventory/lab.json': '{}',
      'apps/lab.ts': configMapComposition({}),
      'apps/edge.ts': configMapComposition({}),
    });
    const alone = captureContext();
    expect(await runSynth(['--root', orphan, '--out', tempDir()], alone)).toBe(1);
    expect(alone.err[0]).toBe(
      'apps/edge.ts: defines a cluster, but inventory/edge.json does not exist, so synth would leave it out: add the inventory, or remove the composition [cluster]',
    );

    const missingComposition = project({ 'inventory/lab.json': '{}' });
    const second = captureContext();
    expect(await runSynth(['--root', missingComposition, '--out', tempDir()], second)).toBe(1);
    expect(second.err[0]).toBe(
      'inventory/lab.json: cluster "lab" has no composition: create apps/lab.ts exporting defineCluster(...) as default [cluster]',
    );
  });

  it('prunes the files of removed objects and apps', async () => {
    const out = tempDir();
    const before = project({
      'inventory/lab.json': '{}',
      'apps/lab.ts': configMapComposition({ web: { one: { a: '1' }, two: { b: '2' } }, api: { three: { c: '3' } } }),
    });
    expect(await runSynth(['--root', before, '--out', out], captureContext())).toBe(0);
    expect(listFiles(out)).toContain('lab/api/configmap-three.yaml');
    const after = project({ 'inventory/lab.json': '{}', 'apps/lab.ts': configMapComposition({ web: { one: { a: '1' } } }) });
    expect(await runSynth(['--root', after, '--out', out], captureContext())).toBe(0);
    expect(listFiles(out)).toEqual(['README.md', 'lab/web/configmap-one.yaml', 'lab/web/kustomization.yaml']);
  });

  it('--check lists stale, missing and extra files, writes nothing, and passes when current', async () => {
    const out = tempDir();
    expect(await runSynth(['--root', tinyCluster, '--out', out], captureContext())).toBe(0);
    const current = captureContext();
    expect(await runSynth(['--root', tinyCluster, '--out', out, '--check'], current)).toBe(0);
    expect(current.out[0]).toMatch(/is up to date/);

    writeFileSync(join(out, 'tiny/hello/configmap-greeting.yaml'), 'edited by hand\n');
    rmSync(join(out, 'tiny/hello/namespace-hello.yaml'));
    writeFileSync(join(out, 'tiny/hello/leftover.yaml'), 'old\n');
    const before = tree(out);
    const stale = captureContext({ cwd: out });
    expect(await runSynth(['--root', tinyCluster, '--out', out, '--check'], stale)).toBe(1);
    expect(stale.err).toEqual([
      'stale:   ./tiny/hello/configmap-greeting.yaml',
      'missing: ./tiny/hello/namespace-hello.yaml',
      'extra:   ./tiny/hello/leftover.yaml',
      "synth --check: ./ is out of date (3 files); run 'npm run synth' and commit the result",
    ]);
    expect(tree(out)).toEqual(before);
  });

  it.each([
    ['the project root', (_out: string, root: string) => root],
    ['a parent of the project root', (_out: string, root: string) => join(root, '..')],
    ['a source folder', (_out: string, root: string) => join(root, 'apps')],
    ['a file', (_out: string, root: string) => join(root, 'inventory/lab.json')],
  ])('refuses to replace %s and changes nothing', async (_what, target) => {
    const root = project({ 'inventory/lab.json': '{}', 'apps/lab.ts': configMapComposition({ web: { one: { a: '1' } } }) });
    const before = tree(root);
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', target('', root)], context)).toBe(2);
    expect(context.err[0]).toMatch(
      /^synth: output folder .+ (is the project root|exists and was not written by synth|exists and is not a folder)/,
    );
    expect(tree(root)).toEqual(before);
  });

  it('replaces a folder it wrote before, and an empty one', async () => {
    const out = tempDir();
    expect(await runSynth(['--root', tinyCluster, '--out', out], captureContext())).toBe(0);
    expect(await runSynth(['--root', tinyCluster, '--out', out], captureContext())).toBe(0);
    expect(readFileSync(join(out, 'README.md'), 'utf8')).toContain('Do not edit it');
  });

  it('reports an unusable output path without a stack trace', async () => {
    const root = project({ 'inventory/lab.json': '{}', 'apps/lab.ts': configMapComposition({ web: { one: { a: '1' } } }) });
    for (const args of [
      ['--out', join(root, 'inventory/lab.json/x')],
      ['--check', '--out', join(root, 'inventory/lab.json/x')],
    ]) {
      const context = captureContext();
      expect(await runSynth(['--root', root, ...args], context)).toBe(1);
      expect(context.err).toEqual([expect.stringMatching(/^synth: cannot (write|read) .+: ENOTDIR/)]);
    }
  });

  it('rejects async builds, generated names, path-derived selectors and malformed compositions', async () => {
    const root = project({
      'inventory/lab.json': '{}',
      'apps/lab.ts': `import { k8s } from 'cdk8s-plus-28';
import * as plus from 'cdk8s-plus-28';
import { defineCluster } from '${join(projectRoot, 'framework/cluster.ts')}';
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [
    { name: 'later', namespace: 'later', async build(chart) { await Promise.resolve(); new k8s.KubeNamespace(chart, 'ns', { metadata: { name: 'later' } }); } },
    { name: 'unnamed', namespace: 'unnamed', build(chart) {
      new k8s.KubeConfigMap(chart, 'settings', { data: { a: '1' } });
      new plus.Deployment(chart, 'web', { metadata: { name: 'web' }, containers: [{ image: 'registry.example.com/web:1.0.0' }] });
    } },
    undefined,
    { name: 'nobuild' },
  ],
});
`,
    });
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', tempDir()], context)).toBe(1);
    const lines = context.err.join('\n');
    expect(lines).toContain('lab/later: build() returned a Promise: build must be synchronous');
    expect(lines).toMatch(/lab\/unnamed\/settings: ConfigMap has no explicit metadata.name \(cdk8s would generate "lab-unnamed-settings"/);
    expect(lines).toMatch(/lab\/unnamed\/web\/Resource: Deployment carries the label cdk8s.io\/metadata.addr/);
    expect(lines).toContain('lab: apps() item 3 is undefined, not an app definition [app]');
    expect(lines).toContain('lab: app "nobuild" has no build(chart, inventory) function [app]');
  });

  it('lets a Secret be named generator when the app has no KSOPS generator', async () => {
    const root = project({
      'inventory/lab.json': '{}',
      '.sops.yaml': 'creation_rules: []\n',
      'apps/lab.ts': `import { k8s } from 'cdk8s-plus-28';
import { defineCluster } from '${join(projectRoot, 'framework/cluster.ts')}';
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'web', namespace: 'web', build(chart) { new k8s.KubeSecret(chart, 's', { metadata: { name: 'generator' } }); } }],
});
`,
    });
    const out = tempDir();
    const context = captureContext();
    expect(await runSynth(['--root', root, '--out', out], context)).toBe(0);
    expect(listFiles(out)).toContain('lab/web/secret-generator.yaml');
  });

  it('exits 2 on unknown options', async () => {
    const context = captureContext();
    expect(await runSynth(['--frobnicate'], context)).toBe(2);
    expect(context.err[0]).toMatch(/^synth: Unknown option '--frobnicate'/);
  });

  it.each([
    ['while writing files', 'writeFileSync', 3],
    ['between the two renames', 'renameSync', 1],
  ])('leaves the previous dist intact when killed %s', (_when, call, after) => {
    const out = join(tempDir(), 'dist');
    const root = project({ 'inventory/lab.json': '{}', 'apps/lab.ts': configMapComposition({ web: { one: { a: '1' } } }) });
    expect(cli(['--root', root, '--out', out]).status).toBe(0);
    const previous = tree(out);

    const changed = project({
      'inventory/lab.json': '{}',
      'apps/lab.ts': configMapComposition({ web: { one: { a: 'changed' }, two: { b: '2' } }, api: { three: { c: '3' } } }),
    });
    const killed = cli(['--root', changed, '--out', out], {
      preload: join(projectRoot, 'test/helpers/kill-after.mjs'),
      env: { KILL_AFTER_CALL: call, KILL_AFTER_COUNT: String(after) },
    });
    expect(killed.signal).toBe('SIGKILL');
    const parent = join(out, '..');
    const leftovers = readdirSync(parent).filter((name) => name.startsWith('.dist-'));
    expect(leftovers.length).toBeGreaterThan(0);

    // The next run (here a --check, which writes nothing else) restores or keeps the previous tree.
    const check = cli(['--root', root, '--out', out, '--check']);
    expect(check.status, check.stderr).toBe(0);
    expect(tree(out)).toEqual(previous);
    expect(readdirSync(parent).filter((name) => name.startsWith('.dist-'))).toEqual([]);
    expect(existsSync(join(out, 'lab/api'))).toBe(false);
  });
});
