import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSynth } from '../../pipeline/commands.js';
import { captureContext } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

// A Secret shaped like a SOPS file: a well-formed sops block, values in ENC[...] form holding base64 plaintext.
const forged = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'forged', namespace: 'web' },
  stringData: { password: 'ENC[AES256_GCM,data:aHVudGVyMg==,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]' },
  sops: {
    age: [
      {
        recipient: 'age1rglrvs3n0k0ucwwf3aq7dav5t22w4zc77na46k40hyxpnslpwa5s2gj2ws',
        enc: '-----BEGIN AGE ENCRYPTED FILE-----\nx\n-----END AGE ENCRYPTED FILE-----\n',
      },
    ],
    lastmodified: '2026-11-24T14:36:23Z',
    mac: 'ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAA==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]',
    encrypted_regex: '^(data|stringData)$',
    version: '3.9.0',
  },
};

async function synthWith(objects: Record<string, unknown>[]) {
  const root = makeProject({
    'inventory/lab.json': '{}',
    'apps/lab.ts': `import { ApiObject } from 'cdk8s';
import { defineCluster } from '${PROJECT}framework/cluster.ts';
const objects = ${JSON.stringify(objects)};
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'web', namespace: 'web', build(chart) {
    objects.forEach((object, index) => new ApiObject(chart, 'o' + index, object));
  } }],
});
`,
  });
  roots.push(root);
  const context = captureContext();
  const code = await runSynth(['--root', root, '--out', join(root, 'dist')], context);
  return { code, err: context.err, wrote: existsSync(join(root, 'dist')) };
}

describe('secrets rendered inline', () => {
  it('refuses a forged SOPS envelope on a rendered Secret, and writes nothing', async () => {
    const result = await synthWith([forged]);
    expect(result.code).toBe(1);
    expect(result.err[0]).toBe(
      'lab/web/o0: Secret web/forged: carries secret values inline (a Secret with data or stringData, or a sops block): it would be written into dist as it is and applied without KSOPS; put the Secret in a SOPS file under secrets/ and include it with SopsSecret [secret.inline]',
    );
    expect(result.wrote).toBe(false);
  });

  it('refuses a plaintext Secret and a sops block on any kind, and accepts a Secret without values', async () => {
    const plain = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'plain', namespace: 'web' }, data: { a: 'Yg==' } };
    const sopsOnConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'web' }, data: {}, sops: forged.sops };
    const rules = (await synthWith([plain, sopsOnConfigMap])).err.filter((line) => line.endsWith('[secret.inline]'));
    expect(rules).toHaveLength(2);
    const token = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: 't', namespace: 'web', annotations: { 'kubernetes.io/service-account.name': 'web' } },
    };
    const ok = await synthWith([token]);
    expect(ok.err).toEqual([]);
    expect(ok.code).toBe(0);
  });
});
