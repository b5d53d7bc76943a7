import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function synthCli(composition: string, args: string[] = []) {
  const root = makeProject({ 'inventory/lab.json': '{}', 'apps/lab.ts': composition });
  roots.push(root);
  const tsx = pathToFileURL(join(projectRoot, 'node_modules/tsx/dist/loader.mjs')).href;
  return spawnSync(
    process.execPath,
    ['--import', tsx, join(projectRoot, 'cli/synth.ts'), '--root', root, '--out', join(root, 'dist'), ...args],
    {
      encoding: 'utf8',
    },
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
      'lab/web: process.exit(0) was called while the command ran: app code may not end the process [construct]',
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
});
