import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSynth } from '../../pipeline/commands.js';
import { encryptManifest } from '../../pipeline/sops/encrypt.js';
import { captureContext, projectRoot } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

/** Example public keys from the repository's .sops.yaml (operator, then ArgoCD). */
const sopsConfig = readFileSync(join(projectRoot, '.sops.yaml'), 'utf8');
const [operatorKey, argocdKey] = [...sopsConfig.matchAll(/age1[0-9a-z]{58}/g)].map((match) => match[0]);
const OTHER_KEY = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

const secret = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'web' },
  type: 'Opaque',
  stringData: { token: 'example-token' },
});

const mergeable = (name: string, data: Record<string, unknown>, annotated = true) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'web', ...(annotated ? { annotations: { 'kustomize.config.k8s.io/behavior': 'merge' } } : {}) },
  type: 'Opaque',
  ...data,
});

const composition = `import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { SopsSecret } from '${PROJECT}constructs/secrets/sops-secret.ts';
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'web', namespace: 'web', build(chart) {
    for (const name of ['good', 'missing', 'plaintext', 'partly-plaintext', 'wrong-recipients', 'wrong-object', 'no-rule']) {
      const dir = name === 'no-rule' ? 'elsewhere' : 'secrets/lab/web';
      new SopsSecret(chart, name, { file: dir + '/' + name + '.sops.yaml', name, namespace: 'web' });
    }
    const merged = (name, props) => new SopsSecret(chart, name, { file: 'secrets/lab/web/' + name + '.sops.yaml', name, namespace: 'web', ...props });
    merged('merge-good', { behavior: 'merge', keys: ['token'] });
    merged('merge-unannotated', { behavior: 'merge' });
    merged('merge-undeclared', {});
    merged('merge-string-data', { behavior: 'merge' });
    merged('missing-keys', { keys: ['token', 'webhook.secret', 'other'] });
  } }],
});
`;

let root: string;
let context: ReturnType<typeof captureContext>;
let code: number;

beforeAll(async () => {
  const both = { ageRecipients: [operatorKey as string, argocdKey as string], encryptedRegex: '^(data|stringData)$' };
  const partly = (await encryptManifest(secret('partly-plaintext'), both)).replace(
    /(stringData:\n\s+token: ENC\[[^\]]+\])/,
    '$1\n    extra: plain-value',
  );
  root = makeProject({
    'inventory/lab.json': '{}',
    'apps/lab.ts': composition,
    '.sops.yaml':
      'creation_rules:\n  - path_regex: ^secrets/lab/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n' +
      `    age: ${operatorKey},${argocdKey}\n`,
    'secrets/lab/web/good.sops.yaml': await encryptManifest(secret('good'), both),
    'secrets/lab/web/plaintext.sops.yaml': `apiVersion: v1\nkind: Secret\nmetadata:\n  name: plaintext\n  namespace: web\nstringData:\n  token: x\n`,
    'secrets/lab/web/partly-plaintext.sops.yaml': partly,
    'secrets/lab/web/wrong-recipients.sops.yaml': await encryptManifest(secret('wrong-recipients'), {
      ageRecipients: [operatorKey as string, OTHER_KEY],
      encryptedRegex: '^(data|stringData)$',
    }),
    'secrets/lab/web/wrong-object.sops.yaml': await encryptManifest(secret('someone-else'), both),
    'secrets/lab/web/merge-good.sops.yaml': await encryptManifest(mergeable('merge-good', { data: { token: 'dG9rZW4=' } }), both),
    'secrets/lab/web/merge-unannotated.sops.yaml': await encryptManifest(
      mergeable('merge-unannotated', { data: { token: 'dG9rZW4=' } }, false),
      both,
    ),
    'secrets/lab/web/merge-undeclared.sops.yaml': await encryptManifest(
      mergeable('merge-undeclared', { data: { token: 'dG9rZW4=' } }),
      both,
    ),
    'secrets/lab/web/merge-string-data.sops.yaml': await encryptManifest(
      mergeable('merge-string-data', { stringData: { token: 't' } }),
      both,
    ),
    'secrets/lab/web/missing-keys.sops.yaml': await encryptManifest(secret('missing-keys'), both),
    'elsewhere/no-rule.sops.yaml': await encryptManifest(secret('no-rule'), both),
  });
  context = captureContext();
  code = await runSynth(['--root', root, '--out', join(root, 'dist')], context);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('SopsSecret files at synth', () => {
  it('fails and writes nothing', () => {
    expect(code).toBe(1);
    expect(context.err.at(-1)).toMatch(/^synth: \d+ problems found; .* left unchanged$/);
  });

  const problem = (name: string) => context.err.filter((line) => line.startsWith(`lab/web/${name} (`));

  it('accepts a file encrypted for every recipient of its creation rule', () => {
    expect(problem('good')).toEqual([]);
  });

  it('rejects a missing file', () => {
    expect(problem('missing')).toEqual([
      'lab/web/missing (secrets/lab/web/missing.sops.yaml): Secret web/missing: the SOPS file does not exist [sops.file]',
    ]);
  });

  it('rejects a file that is not encrypted', () => {
    expect(problem('plaintext')).toEqual([
      'lab/web/plaintext (secrets/lab/web/plaintext.sops.yaml): Secret web/plaintext: is not SOPS-encrypted properly: has no "sops" block: it is not SOPS-encrypted [sops.encryption]',
    ]);
  });

  it('rejects a file holding any plaintext value', () => {
    expect(problem('partly-plaintext')).toEqual([
      'lab/web/partly-plaintext (secrets/lab/web/partly-plaintext.sops.yaml): Secret web/partly-plaintext: is not SOPS-encrypted properly: holds plaintext values at stringData.extra [sops.encryption]',
    ]);
  });

  it("rejects a file not encrypted for ArgoCD's key from the creation rule", () => {
    expect(problem('wrong-recipients')).toEqual([
      `lab/web/wrong-recipients (secrets/lab/web/wrong-recipients.sops.yaml): Secret web/wrong-recipients: is also encrypted for age ${OTHER_KEY}, which .sops.yaml does not list (a removed key can still decrypt it); run "sops updatekeys secrets/lab/web/wrong-recipients.sops.yaml" and "sops rotate -i secrets/lab/web/wrong-recipients.sops.yaml" [sops.recipients]`,
      `lab/web/wrong-recipients (secrets/lab/web/wrong-recipients.sops.yaml): Secret web/wrong-recipients: is not encrypted for age ${argocdKey} required by .sops.yaml; re-key it with "sops updatekeys secrets/lab/web/wrong-recipients.sops.yaml" [sops.recipients]`,
    ]);
  });

  it('rejects a file holding another object than the construct declares', () => {
    expect(problem('wrong-object')).toEqual([
      'lab/web/wrong-object (secrets/lab/web/wrong-object.sops.yaml): Secret web/wrong-object: holds Secret web/someone-else, but the construct declares Secret web/wrong-object [sops.file]',
    ]);
  });

  it('rejects a file no creation rule covers', () => {
    expect(problem('no-rule')).toEqual([
      'lab/web/no-rule (elsewhere/no-rule.sops.yaml): Secret web/no-rule: no creation rule in .sops.yaml matches elsewhere/no-rule.sops.yaml [sops.config]',
    ]);
  });

  it('accepts a file merged into an upstream Secret when file and construct agree, with the keys declared', () => {
    expect(problem('merge-good')).toEqual([]);
  });

  it('rejects a merge the file does not announce, and an announced merge the construct does not declare', () => {
    expect(problem('merge-unannotated')).toEqual([
      'lab/web/merge-unannotated (secrets/lab/web/merge-unannotated.sops.yaml): Secret web/merge-unannotated: must carry the annotation kustomize.config.k8s.io/behavior: merge (metadata stays readable; re-create the file with it, as editing plaintext breaks the MAC), or kustomize will not merge it into the upstream Secret [sops.behavior]',
    ]);
    expect(problem('merge-undeclared')).toEqual([
      'lab/web/merge-undeclared (secrets/lab/web/merge-undeclared.sops.yaml): Secret web/merge-undeclared: carries kustomize.config.k8s.io/behavior: merge, but the construct creates the Secret; remove the annotation or declare behavior "merge" [sops.behavior]',
    ]);
  });

  it('rejects stringData in a merged Secret, which kustomize would drop', () => {
    expect(problem('merge-string-data').join('\n')).toContain('uses stringData, which kustomize drops when it merges');
  });

  it('rejects a file lacking keys the construct needs, naming them', () => {
    expect(problem('missing-keys')).toEqual([
      'lab/web/missing-keys (secrets/lab/web/missing-keys.sops.yaml): Secret web/missing-keys: lacks the keys "webhook.secret", "other" under data or stringData [sops.keys]',
    ]);
  });
});
