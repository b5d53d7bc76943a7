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

  it.each([
    [
      'starting a process',
      "execSync('hostname')",
      "import { execSync } from 'node:child_process';",
      'calling child_process.execSync("hostname")',
    ],
    [
      'writing a file',
      "(writeFileSync('/tmp/sandbox-escape', 'x'), 'w')",
      "import { writeFileSync } from 'node:fs';",
      'calling fs.writeFileSync("/tmp/sandbox-escape")',
    ],
    [
      'copying a file',
      "(copyFileSync('/etc/hostname', '/tmp/sandbox-copy'), 'c')",
      "import { copyFileSync } from 'node:fs';",
      'calling fs.copyFileSync("/etc/hostname")',
    ],
    ['reading standard input', 'readSync(0, Buffer.alloc(8))', "import { readSync } from 'node:fs';", 'calling fs.readSync('],
    ['reading the host name', 'os.hostname()', "import * as os from 'node:os';", 'calling os.hostname()'],
    ['reading the clock', 'Date.now()', '', 'reading the clock (Date.now())'],
    ['reading the clock with new Date()', 'new Date().toISOString()', '', 'reading the clock (new Date())'],
    ['drawing a random number', 'Math.random()', '', 'calling Math.random()'],
    ['drawing a random id', 'randomUUID()', "import { randomUUID } from 'node:crypto';", 'calling crypto.randomUUID()'],
    ['scheduling work after the build', "(setTimeout(() => { throw new Error('late'); }, 1), 'x')", '', 'calling setTimeout()'],
    ['reaching the network', "(fetch('http://127.0.0.1:9/'), 'x')", '', 'calling fetch("http://127.0.0.1:9/")'],
    ['reading the working directory', 'process.cwd()', '', 'calling process.cwd()'],
    ['reading the command line', 'process.argv.join(" ")', '', 'reading process.argv'],
  ])('refuses app code %s', async (_what, body, imports, expected) => {
    const result = await synthWith(body, imports);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`lab/web: ${expected}`);
    expect(result.err).toContain('while building');
  });

  it('lets app code use a date it is given and libraries do their work', async () => {
    const result = await synthWith("new Date('2024-01-02T00:00:00Z').toISOString()");
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(readFileSync(join(result.root, 'dist/lab/web/configmap-facts.yaml'), 'utf8')).toContain('2024-01-02T00:00:00.000Z');
    expect(typeof Date.now()).toBe('number');
    expect(process.cwd()).toBeTruthy();
  });

  it('refuses the top level of a composition reaching the host, naming the file', async () => {
    const root = makeProject({
      'inventory/lab.json': '{}',
      'apps/lab.ts': `import { hostname } from 'node:os';
import { defineCluster } from '${PROJECT}framework/cluster.ts';
const host = hostname();
export default defineCluster({ parseInventory: (data) => data, apps: () => [{ name: 'web', namespace: host, build() {} }] });
`,
    });
    roots.push(root);
    const context = captureContext();
    const code = await runSynth(['--root', root, '--out', join(root, 'dist')], context);
    expect(code).toBe(1);
    expect(context.err.join('\n')).toMatch(
      /^apps\/lab\.ts: cannot load the composition: calling os\.hostname\(\) while building: .*\(at apps\/lab\.ts:3\)/m,
    );
  });
});
