import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSynth } from '../../pipeline/commands.js';
import { captureContext } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

// A construct that refuses a bad value, and a cluster check that would say the same of its object.
const composition = (value: string) => `import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { defineCluster } from '${PROJECT}framework/cluster.ts';
class Greeting extends Construct {
  constructor(scope, id, text) {
    super(scope, id);
    new k8s.KubeConfigMap(this, 'Resource', { metadata: { name: 'greeting' }, data: { text } });
    this.node.addValidation({ validate: () => (text === text.toLowerCase() ? [] : ['text must be lower case']) });
  }
}
const shouting = { name: 'shouting', check: (objects) => objects
  .filter((o) => o.manifest.kind === 'ConfigMap' && o.manifest.data.text !== o.manifest.data.text.toLowerCase())
  .map((o) => ({ origin: o.origin, rule: 'policy.shouting', message: 'shouts' })) };
export default defineCluster({
  parseInventory: (data) => data,
  policies: () => [shouting],
  apps: () => [{ name: 'web', namespace: 'web', build(chart) { new Greeting(chart, 'greeting', ${JSON.stringify(value)}); } }],
});
`;

describe('a construct that refuses its props', () => {
  it('is reported once: the cluster checks on its objects are held back and counted', async () => {
    const root = makeProject({ 'inventory/lab.json': '{}', 'apps/lab.ts': composition('HELLO') });
    roots.push(root);
    const context = captureContext({ cwd: root });
    expect(await runSynth(['--root', root, '--out', join(root, 'dist')], context)).toBe(1);
    expect(context.err).toEqual([
      'lab/web/greeting: text must be lower case [construct]',
      'synth: 1 problem found (and 1 finding of the cluster checks on the same constructs, shown once these are fixed); dist/ left unchanged',
    ]);
  });
});
