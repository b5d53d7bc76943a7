import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSynth } from '../../pipeline/commands.js';
import { captureContext } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

async function synthWith(body: string, imports = '') {
  const root = makeProject({
    'inventory/lab.json': '{}',
    'apps/lab.ts': `import { k8s } from 'cdk8s-plus-28';
import { defineCluster } from '${PROJECT}framework/cluster.ts';
${imports}
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'web', namespace: 'web', build(chart) {
    new k8s.KubeConfigMap(chart, 'facts', { metadata: { name: 'facts' }, data: { value: String(${body}) } });
  } }],
});
`,
  });
  roots.push(root);
  const context = captureContext();
  const code = await runSynth(['--root', root, '--out', join(root, 'dist')], context);
  return { code, err: context.err.join('\n'), root };
}

describe('what a build may read', () => {
  it('refuses app code reading the environment, naming the app', async () => {
    const result = await synthWith('process.env.HOME');
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /^lab\/web: reading process\.env\.HOME while building: apps and constructs read nothing but the typed inventory .* \[construct\]$/m,
    );
  });

  it('refuses app code reading a file, whatever the import style', async () => {
    const named = await synthWith("readFileSync('/etc/hostname', 'utf8')", "import { readFileSync } from 'node:fs';");
    expect(named.code).toBe(1);
    expect(named.err).toContain('lab/web: calling fs.readFileSync("/etc/hostname") while building');
    const namespace = await synthWith("fs.existsSync('/etc/hostname')", "import * as fs from 'node:fs';");
    expect(namespace.err).toContain('calling fs.existsSync("/etc/hostname") while building');
  });

  it('leaves the pipeline its environment and files after the build, and builds plain apps as before', async () => {
    const result = await synthWith("'plain'");
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(readFileSync(join(result.root, 'dist/lab/web/configmap-facts.yaml'), 'utf8')).toContain('value: plain');
    expect(process.env.PATH).toBeTruthy();
  });
});
