// The launcher repeats the result of an identical earlier synth when nothing that run read has
// changed (cli/result-cache.mjs). These run it in a temporary project and change, one at a time,
// each kind of thing a run reads: the result must follow every change, and only runs that end
// well and write nothing are repeated.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript module of the launcher, without declarations.
import { REPEATED_NOTE } from '../../cli/result-cache.mjs';
import { bundledProject, labComposition } from '../helpers/bundled-project.js';
import { projectRoot } from '../helpers/io.js';
import { temporaryDir } from '../helpers/temp.js';

function launcher(root: string) {
  return (args: string[], env: Record<string, string> = {}) => {
    const result = spawnSync(process.execPath, [join(root, 'cli/synth.mjs'), ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, INIT_CWD: root, ...env },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, repeated: result.stdout.includes(REPEATED_NOTE) };
  };
}

const records = (root: string) => (existsSync(join(root, '.cache/results')) ? readdirSync(join(root, '.cache/results')).length : 0);

describe('the repeated result of an unchanged synth', () => {
  const root = bundledProject('result-cache-test-');
  const data = join(root, 'facts.txt');
  writeFileSync(data, 'first\n');
  // Library code (cdk8s-plus ConfigMap.addFile) reads this file on the app's behalf.
  const composition = labComposition(
    `const files = new kplus.ConfigMap(chart, 'files', { metadata: { name: 'files' } });
    files.addFile(${JSON.stringify(data)}, 'facts.txt');`,
    "import * as kplus from 'cdk8s-plus-28';",
  );
  writeFileSync(join(root, 'apps/lab.ts'), composition);
  const synth = launcher(root);

  it('records a synth that writes nothing, and repeats it, the same but for its time', () => {
    const written = synth([]);
    expect(written.status, written.stderr).toBe(0);
    expect(written.stdout).toContain('written to dist/');
    // It wrote dist/: the facts it read are no longer what is on disk, so nothing is recorded.
    expect(records(root)).toBe(0);
    const unchanged = synth([]);
    expect(unchanged.stdout).toContain('already up to date, nothing written');
    expect(unchanged.repeated).toBe(false);
    expect(records(root)).toBe(1);
    const repeated = synth([]);
    expect(repeated.status).toBe(0);
    expect(repeated.repeated).toBe(true);
    const timeless = (text: string) => text.replace(/ in \d+\.\d\d s.*$/gm, ' in N s');
    expect(timeless(repeated.stdout)).toBe(timeless(unchanged.stdout));
    expect(repeated.stderr).toBe(unchanged.stderr);
  });

  it('keeps a record per set of options: --check has its own', () => {
    expect(synth(['--check']).repeated).toBe(false);
    const again = synth(['--check']);
    expect(again.status).toBe(0);
    expect(again.repeated).toBe(true);
    expect(again.stdout).toMatch(/^synth --check: dist\/ is up to date \(.*\) in \d+\.\d\d s \(the result/m);
  });

  it('renders again when a file a library read for the app changed, and finds dist/ stale', () => {
    writeFileSync(data, 'second\n');
    const check = synth(['--check']);
    expect(check.status).toBe(1);
    expect(check.stderr).toContain('stale:   dist/lab/web/configmap-files.yaml');
    expect(synth([]).stdout).toContain('written to dist/');
    synth(['--check']);
    expect(synth(['--check']).repeated).toBe(true);
  });

  it.each([
    [
      'a changed file of dist/',
      (dist: string) => appendFileSync(join(dist, 'lab/web/configmap-facts.yaml'), '# edited\n'),
      'stale:   dist/lab/web/configmap-facts.yaml',
    ],
    [
      'a missing file of dist/',
      (dist: string) => rmSync(join(dist, 'lab/web/configmap-facts.yaml')),
      'missing: dist/lab/web/configmap-facts.yaml',
    ],
    [
      'an extra file in dist/',
      (dist: string) => writeFileSync(join(dist, 'lab/web/extra.yaml'), 'kind: x\n'),
      'extra:   dist/lab/web/extra.yaml',
    ],
  ])('checks dist/ again: %s fails the check', (_what, change, expected) => {
    synth(['--check']);
    expect(synth(['--check']).repeated).toBe(true);
    change(join(root, 'dist'));
    const check = synth(['--check']);
    expect(check.status).toBe(1);
    expect(check.repeated).toBe(false);
    expect(check.stderr).toContain(expected);
    synth([]);
  });

  it('renders again when the inventory or an environment variable synth reads changed', () => {
    synth(['--check']);
    expect(synth(['--check']).repeated).toBe(true);
    writeFileSync(join(root, 'inventory/lab.json'), '{ "unused": true }\n');
    expect(synth(['--check']).repeated).toBe(false);
    expect(synth(['--check']).repeated).toBe(true);
    const bad = synth(['--check'], { SYNTH_STEP_TIMEOUT: 'soon' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('SYNTH_STEP_TIMEOUT');
  });

  it('never repeats a failure, a timed run or a run with --no-cache, which records afresh', () => {
    writeFileSync(join(root, 'apps/lab.ts'), labComposition("throw new Error('no facts');"));
    const failed = synth(['--check']);
    expect(failed.status).toBe(1);
    const again = synth(['--check']);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('lab/web: no facts');
    writeFileSync(join(root, 'apps/lab.ts'), composition);
    synth(['--check']);
    expect(synth(['--check', '--timings']).stderr).toMatch(/^synth timings: start/m);
    expect(synth(['--check', '--timings']).repeated).toBe(false);
    const fresh = synth(['--check', '--no-cache']);
    expect(fresh.status).toBe(0);
    expect(fresh.repeated).toBe(false);
    expect(synth(['--check']).repeated).toBe(true);
  });

  it('stops quietly when the reader of a repeated result closes the pipe early', () => {
    synth(['--check']);
    expect(synth(['--check']).repeated).toBe(true);
    const piped = spawnSync('sh', ['-c', `"${process.execPath}" cli/synth.mjs --check | head -c 5; exit \${PIPESTATUS:-0}`], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(piped.stdout).toBe('synth');
    expect(piped.stderr).toBe('');
  });

  it('ignores a record it cannot read', () => {
    synth(['--check']);
    for (const file of readdirSync(join(root, '.cache/results'))) writeFileSync(join(root, '.cache/results', file), '{"format":');
    const check = synth(['--check']);
    expect(check.status).toBe(0);
    expect(check.repeated).toBe(false);
  });
});

describe('what a recording leaves out', () => {
  const cache = temporaryDir('result-cache-unit-');
  const input = join(temporaryDir('result-cache-input-'), 'input.txt');
  const module = pathToFileURL(join(projectRoot, 'cli/result-cache.mjs')).href;
  // A stand-in for the bundle: reads a file, then does `also`, then settles with status 0. The
  // command (and so what it records under) is the same whatever `also` is.
  const run = (also: string) =>
    spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import fs from 'node:fs';
        import { recordResult, repeatResult } from ${JSON.stringify(module)};
        const cache = ${JSON.stringify(cache)};
        const also = Object.getPrototypeOf(async () => {}).constructor('fs', 'cache', 'external', process.env.ALSO);
        const external = fs.writeFileSync;
        if (repeatResult(cache, 'synth', ['--check'], cache + '/bundle.cjs')) process.exit();
        const done = recordResult(cache, 'synth', ['--check'], cache + '/bundle.cjs');
        process.stdout.write('read ' + fs.readFileSync(${JSON.stringify(input)}, 'utf8') + ' in 0.10 s\\n');
        fs.appendFileSync(cache + '/runs', 'x');
        await also(fs, cache, external);
        done();
        process.exitCode = 0;`,
      ],
      { encoding: 'utf8', env: { ...process.env, ALSO: also } },
    );
  const recorded = () => existsSync(join(cache, 'results')) && readdirSync(join(cache, 'results')).length > 0;
  const runs = () => (existsSync(join(cache, 'runs')) ? readFileSync(join(cache, 'runs'), 'utf8').length : 0);

  it.each([
    ['reading the clock', 'Date.now();'],
    ['starting a process', "(await import('node:child_process')).execFileSync('true');"],
    ['listing the environment', 'Object.keys(process.env);'],
    ['reading through a descriptor', `fs.readSync(fs.openSync(${JSON.stringify(projectRoot)} + '/package.json', 'r'), Buffer.alloc(8));`],
    ['writing outside the cache', `fs.writeFileSync(${JSON.stringify(`${input}.out`)}, 'x');`],
    ['asking the host', "(await import('node:os')).hostname();"],
    // As another process would change it: through the write function taken before the recording.
    [
      'reading a file that changed while it ran',
      `external(${JSON.stringify(input)}, 'two'); fs.readFileSync(${JSON.stringify(input)}, 'utf8');`,
    ],
  ])('records nothing after %s', (_what, also) => {
    rmSync(join(cache, 'results'), { recursive: true, force: true });
    writeFileSync(input, 'one');
    const result = run(also);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('read one in 0.10 s\n');
    expect(recorded()).toBe(false);
  });

  it('records a run that only reads and writes inside the cache, and follows the file it read', () => {
    rmSync(join(cache, 'results'), { recursive: true, force: true });
    writeFileSync(input, 'one');
    run(`fs.writeFileSync(cache + '/own.json', '{}'); process.env.HOME;`);
    expect(recorded()).toBe(true);
    const before = runs();
    expect(run('').stdout).toBe('read one in 0.10 s\n');
    expect(runs()).toBe(before);
    writeFileSync(input, 'two');
    expect(run('').stdout).toBe('read two in 0.10 s\n');
    expect(runs()).toBe(before + 1);
    expect(run('').stdout).toBe('read two in 0.10 s\n');
    expect(runs()).toBe(before + 1);
  });
});

describe('a bundle rebuilt from the same files with a changed package', () => {
  // The project's packages, and one of its own that the composition uses: a package the bundle
  // holds but its records do not (package-lock.json stands for the packages).
  const root = bundledProject('result-cache-package-test-');
  rmSync(join(root, 'node_modules'));
  mkdirSync(join(root, 'node_modules/lab-greeting'), { recursive: true });
  for (const name of readdirSync(join(projectRoot, 'node_modules'))) {
    symlinkSync(join(projectRoot, 'node_modules', name), join(root, 'node_modules', name));
  }
  const greeting = join(root, 'node_modules/lab-greeting/index.js');
  writeFileSync(join(root, 'node_modules/lab-greeting/package.json'), '{"name":"lab-greeting","version":"1.0.0","main":"index.js"}\n');
  writeFileSync(greeting, "exports.greeting = 'hello';\n");
  writeFileSync(
    join(root, 'apps/lab.ts'),
    labComposition(
      "new k8s.KubeConfigMap(chart, 'greeting', { metadata: { name: 'greeting' }, data: { greeting } });",
      "import { greeting } from 'lab-greeting';",
    ),
  );
  const synth = launcher(root);

  it('is a new bundle: neither the results recorded for the old one nor its compiled code are taken for it', () => {
    expect(synth([]).status).toBe(0);
    expect(synth(['--check']).status).toBe(0);
    expect(synth(['--check']).repeated).toBe(true);
    const before = JSON.parse(readFileSync(join(root, '.cache/synth.json'), 'utf8')).bundle;
    // Of the same length, so that V8 would take the old bundle's cached code for the new one.
    writeFileSync(greeting, "exports.greeting = 'howdy';\n");
    // A rebuild from unchanged records (as after editing an app and putting it back).
    rmSync(join(root, '.cache/synth.json'));
    const check = synth(['--check']);
    expect(JSON.parse(readFileSync(join(root, '.cache/synth.json'), 'utf8')).bundle).not.toBe(before);
    expect(check.repeated).toBe(false);
    expect(check.status).toBe(1);
    expect(check.stdout + check.stderr).toMatch(/stale: .*greeting/);
    expect(synth([]).status).toBe(0);
    expect(
      readdirSync(join(root, 'dist/lab/web')).some((file) => readFileSync(join(root, 'dist/lab/web', file), 'utf8').includes('howdy')),
    ).toBe(true);
  });
});
