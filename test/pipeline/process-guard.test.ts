import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

let lastRoot = '';

function synthCli(composition: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const root = makeProject({ 'inventory/lab.json': '{}', 'apps/lab.ts': composition });
  roots.push(root);
  lastRoot = root;
  const tsx = pathToFileURL(join(projectRoot, 'node_modules/tsx/dist/loader.mjs')).href;
  return spawnSync(
    process.execPath,
    ['--import', tsx, join(projectRoot, 'cli/synth.ts'), '--root', root, '--out', join(root, 'dist'), ...args],
    { encoding: 'utf8', env: { ...process.env, ...env } },
  );
}

const cluster = (build: string, before = '') => `import { defineCluster } from '${PROJECT}framework/cluster.ts';
${before}
export default defineCluster({ parseInventory: (data) => data, apps: () => [{ name: 'web', build(chart) { ${build} } }] });
`;

describe('app code cannot end synth', () => {
  it('a process.exit(0) in build() fails synth, naming the app', () => {
    const result = synthCli(cluster('process.exit(0);'));
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'lab/web: process.exit(0) was called while the command ran: app code may not end the process (at apps/lab.ts:3) [construct]',
    );
  });

  it('a process.exit(0) while the composition loads fails too, also with --check', () => {
    const result = synthCli(cluster('', 'process.exit(0);'), ['--check']);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('process.exit(0) was called while the command ran');
  });

  it('a synth that stops before its summary line is a failure', () => {
    // The composition never finishes loading: the event loop empties with synth half done.
    const result = synthCli(cluster('', 'await new Promise(() => {});'));
    expect(result.stdout).not.toContain('synth:');
    expect(result.stderr).toContain('error: the command ended before it finished');
    expect(result.status).toBe(1);
  });

  it('a process.exit(0) at the top of a composition names the composition line, not the guard', () => {
    const result = synthCli(cluster('', 'process.exit(0);'));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^apps\/lab\.ts: cannot load the composition: process\.exit\(0\) was called .*\(at apps\/lab\.ts:2\)/m);
  });

  it('a build that never ends is stopped by the watchdog, naming the app, and writes nothing', () => {
    const started = Date.now();
    const result = synthCli(cluster('for (;;) {}'), [], { SYNTH_STEP_TIMEOUT: '1' });
    expect(result.status === 0).toBe(false);
    expect(result.stderr).toContain(
      'synth: building app lab/web did not finish within 1 s (an endless loop or a blocking call in app or construct code, or an input too large for this step?); stopped, nothing written',
    );
    expect(result.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('a bad step limit is a usage error', () => {
    const result = synthCli(cluster(''), [], { SYNTH_STEP_TIMEOUT: 'soon' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('synth: SYNTH_STEP_TIMEOUT must be a positive number of seconds, not "soon"');
  });

  it('a promise app code leaves to fail later fails synth with one line, not a stack, before anything is written', () => {
    const result = synthCli(cluster("void Promise.reject(new Error('late failure'));"));
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: late failure \(at \/.*\/apps\/lab\.ts:3\) was thrown outside any step/m);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.stdout).not.toContain('written to');
    expect(existsSync(join(lastRoot, 'dist'))).toBe(false);
  });
});
