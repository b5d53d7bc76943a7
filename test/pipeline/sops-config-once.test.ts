import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { runSynth } from '../../pipeline/commands.js';
import { encryptManifest } from '../../pipeline/sops/encrypt.js';
import { captureContext } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

it('reports a broken .sops.yaml once, with how many SOPS files wait for it', async () => {
  const keys = { ageRecipients: ['age1rglrvs3n0k0ucwwf3aq7dav5t22w4zc77na46k40hyxpnslpwa5s2gj2ws'], encryptedRegex: '^(data|stringData)$' };
  const secret = (name: string) =>
    encryptManifest({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'web' }, stringData: { token: 'x' } }, keys);
  const root = makeProject({
    'inventory/lab.json': '{}',
    '.sops.yaml': 'creation_rules: [\n',
    'apps/lab.ts': `import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { SopsSecret } from '${PROJECT}constructs/secrets/sops-secret.ts';
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'web', namespace: 'web', build(chart) {
    for (const name of ['a', 'b', 'c']) new SopsSecret(chart, name, { file: 'secrets/' + name + '.sops.yaml', name, namespace: 'web' });
  } }],
});
`,
    'secrets/a.sops.yaml': await secret('a'),
    'secrets/b.sops.yaml': await secret('b'),
    'secrets/c.sops.yaml': await secret('c'),
  });
  roots.push(root);
  const context = captureContext();
  expect(await runSynth(['--root', root, '--out', join(root, 'dist')], context)).toBe(1);
  const config = context.err.filter((line) => line.endsWith('[sops.config]'));
  expect(config).toEqual([
    expect.stringMatching(
      /^\.sops\.yaml: YAML syntax error at line 2, column 1: .* \(3 SOPS files cannot be checked until it is fixed\) \[sops\.config\]$/,
    ),
  ]);
});
