import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Problem } from '../../framework/model.js';
import { runSynth, runValidate } from '../../pipeline/commands.js';
import { checkKustomizeNamespace, kustomizeNamespaceOf } from '../../pipeline/kustomize-namespace.js';
import { encryptManifest } from '../../pipeline/sops/encrypt.js';
import { captureContext, projectRoot } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';

const sopsConfig = readFileSync(join(projectRoot, '.sops.yaml'), 'utf8');
const recipients = [...sopsConfig.matchAll(/age1[0-9a-z]{58}/g)].map((match) => match[0]);
const encryption = { ageRecipients: recipients, encryptedRegex: '^(data|stringData)$' };

const UPSTREAM = 'https://example.com/tools/v1.2.3/install.yaml';

/** A Secret file for KSOPS; `namespace: undefined` leaves metadata.namespace out. */
const secretFile = (name: string, namespace: string | undefined, behavior?: 'merge' | 'replace') =>
  encryptManifest(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        ...(namespace === undefined ? {} : { namespace }),
        ...(behavior ? { annotations: { 'kustomize.config.k8s.io/behavior': behavior } } : {}),
      },
      type: 'Opaque',
      data: { token: 'dG9rZW4=' },
    },
    encryption,
  );

/** One app "tools": an upstream manifest without namespaces, placed in `tools` by the kustomization. */
const composition = (body: string, appNamespace = 'tools') => `import { k8s } from 'cdk8s-plus-28';
import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { RemoteResource } from '${PROJECT}constructs/core/remote-resource.ts';
import { SopsSecret } from '${PROJECT}constructs/secrets/sops-secret.ts';
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'tools', namespace: '${appNamespace}', build(chart) {
    new k8s.KubeNamespace(chart, 'ns', { metadata: { name: 'tools' } });
    new RemoteResource(chart, 'install', { url: '${UPSTREAM}', namespace: 'tools' });
    ${body}
  } }],
});
`;

const sopsRules = `creation_rules:\n  - path_regex: ^secrets/lab/.*\\.yaml$\n    encrypted_regex: ^(data|stringData)$\n    age: ${recipients.join(',')}\n`;

async function synth(files: Record<string, string>) {
  const root = makeProject({ 'inventory/lab.json': '{}', '.sops.yaml': sopsRules, ...files });
  const context = captureContext();
  const code = await runSynth(['--root', root, '--out', join(root, 'dist')], context);
  return { root, context, code };
}

describe('the kustomization namespace', () => {
  it('comes from the constructs that ask for it; disagreeing or invalid requests are errors', () => {
    const problems: Problem[] = [];
    expect(kustomizeNamespaceOf([], problems)).toBeUndefined();
    expect(
      kustomizeNamespaceOf(
        [
          { namespace: 'tools', constructPath: 'lab/tools/a' },
          { namespace: 'other', constructPath: 'lab/tools/b' },
          { namespace: 'Bad_Name', constructPath: 'lab/tools/c' },
        ],
        problems,
      ),
    ).toEqual({ namespace: 'tools', constructPath: 'lab/tools/a' });
    expect(problems.map((problem) => `${problem.origin.constructPath}: ${problem.message} [${problem.rule}]`)).toEqual([
      expect.stringMatching(/^lab\/tools\/c: the kustomization namespace "Bad_Name" .+ \[kustomize\.namespace\]$/),
      'lab/tools/b: asks for the kustomization namespace "other", but lab/tools/a asks for "tools"; an app\'s kustomization has one namespace, so split the app or agree on one [kustomize.namespace]',
    ]);
  });

  it('refuses objects and Helm releases of the app in another namespace, List items included', () => {
    const configMap = (name: string, namespace?: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, ...(namespace ? { namespace } : {}) },
    });
    const problems = checkKustomizeNamespace(
      'tools',
      [
        { manifest: configMap('here', 'tools'), origin: { constructPath: 'lab/tools/here' } },
        { manifest: configMap('unset'), origin: { constructPath: 'lab/tools/unset' } },
        { manifest: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'tools' } }, origin: { constructPath: 'lab/tools/ns' } },
        { manifest: configMap('elsewhere', 'web'), origin: { constructPath: 'lab/tools/elsewhere' } },
        { manifest: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } }, origin: { constructPath: 'lab/tools/web-ns' } },
        {
          manifest: { apiVersion: 'v1', kind: 'List', items: [configMap('listed', 'web')] },
          origin: { constructPath: 'lab/tools/list' },
        },
      ],
      [{ name: 'chart', repo: 'https://charts.example.com', version: '1.0.0', releaseName: 'chart', namespace: 'web' }],
      'lab/tools/install',
    );
    expect(problems.map((problem) => [problem.origin.constructPath, problem.object?.name, problem.rule])).toEqual([
      ['lab/tools/elsewhere', 'elsewhere', 'kustomize.namespace'],
      ['lab/tools/web-ns', 'web', 'kustomize.namespace'],
      ['lab/tools/list', 'listed', 'kustomize.namespace'],
      ['lab/tools/install', undefined, 'kustomize.namespace'],
    ]);
    expect(problems[0]?.message).toBe(
      'is in namespace "web", but the app\'s kustomization sets namespace "tools" (from lab/tools/install), which kustomize would move it into; put it in "tools" or in another app',
    );
    expect(problems[1]?.message).toBe(
      'is a Namespace other than "tools", which the app\'s kustomization sets (from lab/tools/install): kustomize renames every Namespace of the app to it; create "web" in another app',
    );
    expect(problems[3]?.message).toMatch(/^the Helm release "chart" is installed into namespace "web"/);
  });
});

describe('an app whose upstream manifest needs the kustomization namespace', () => {
  let good: Awaited<ReturnType<typeof synth>>;
  let bad: Awaited<ReturnType<typeof synth>>;

  beforeAll(async () => {
    good = await synth({
      'apps/lab.ts': composition(`
    new SopsSecret(chart, 'merged', { file: 'secrets/lab/tools/merged.sops.yaml', name: 'tools-secret', namespace: 'tools', behavior: 'merge', keys: ['token'] });
    new SopsSecret(chart, 'created', { file: 'secrets/lab/tools/created.sops.yaml', name: 'own-secret', namespace: 'tools' });
    new SopsSecret(chart, 'replaced', { file: 'secrets/lab/tools/replaced.sops.yaml', name: 'tools-config', namespace: 'tools', behavior: 'replace' });`),
      'secrets/lab/tools/merged.sops.yaml': await secretFile('tools-secret', undefined, 'merge'),
      'secrets/lab/tools/replaced.sops.yaml': await secretFile('tools-config', undefined, 'replace'),
      'secrets/lab/tools/created.sops.yaml': await secretFile('own-secret', 'tools'),
    });
    bad = await synth({
      'apps/lab.ts': composition(`
    new k8s.KubeConfigMap(chart, 'cm', { metadata: { name: 'settings', namespace: 'web' } });
    new SopsSecret(chart, 'merged', { file: 'secrets/lab/tools/merged.sops.yaml', name: 'tools-secret', namespace: 'tools', behavior: 'merge' });
    new SopsSecret(chart, 'elsewhere', { file: 'secrets/lab/tools/elsewhere.sops.yaml', name: 'web-secret', namespace: 'web' });`),
      'secrets/lab/tools/merged.sops.yaml': await secretFile('tools-secret', 'tools', 'merge'),
      'secrets/lab/tools/elsewhere.sops.yaml': await secretFile('web-secret', 'web'),
    });
  });
  afterAll(() => {
    for (const run of [good, bad]) if (run) rmSync(run.root, { recursive: true, force: true });
  });

  it("fails when the kustomization namespace is not the app's namespace, where its Application points", async () => {
    const run = await synth({ 'apps/lab.ts': composition('', 'web') });
    try {
      expect(run.code).toBe(1);
      expect(run.context.err).toContain(
        'lab/tools/install: asks for the kustomization namespace "tools", but app "tools" is in namespace "web" (its Application\'s destination, which ArgoCD creates): set the app\'s namespace to "tools" or ask for "web" [kustomize.namespace]',
      );
    } finally {
      rmSync(run.root, { recursive: true, force: true });
    }
  });

  it('writes the namespace into the kustomization, and merges a file that names none', () => {
    expect(good.context.err).toEqual([]);
    expect(good.code).toBe(0);
    const kustomization = readFileSync(join(good.root, 'dist/lab/tools/kustomization.yaml'), 'utf8');
    expect(kustomization).toContain(`kind: Kustomization\nnamespace: tools\nresources:\n  - ${UPSTREAM}\n`);
    expect(readFileSync(join(good.root, 'dist/lab/tools/secret-tools-secret.sops.yaml'), 'utf8')).not.toContain('namespace:');
  });

  it('fails for a merge file naming the namespace, and for objects and files in another namespace', () => {
    expect(bad.code).toBe(1);
    expect(bad.context.err.filter((line) => line.includes('[kustomize.namespace]') || line.includes('[sops.file]'))).toEqual([
      'lab/tools/cm: ConfigMap web/settings: is in namespace "web", but the app\'s kustomization sets namespace "tools" (from lab/tools/install), which kustomize would move it into; put it in "tools" or in another app [kustomize.namespace]',
      'lab/tools/merged (secrets/lab/tools/merged.sops.yaml): Secret tools/tools-secret: names namespace "tools", but a file that kustomize merges into an upstream object must name none: the app\'s kustomization sets namespace "tools" only after generated objects are merged, and the upstream object has none until then (kustomize would report that Secret tools/tools-secret does not exist); re-create the file without metadata.namespace [sops.file]',
      'lab/tools/elsewhere (secrets/lab/tools/elsewhere.sops.yaml): Secret web/web-secret: the construct puts the Secret in namespace "web", but the app\'s kustomization sets namespace "tools", which kustomize would move it into [kustomize.namespace]',
    ]);
  });
});

describe('npm run validate in a folder whose kustomization sets the namespace', () => {
  const configMap = (name: string, namespace?: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}data:\n  a: b\n`;

  it('validates objects as kustomize builds them: in that namespace', async () => {
    const root = makeProject({
      'tools/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: tools\n',
      'tools/configmap-unset.yaml': configMap('unset'),
      'tools/configmap-here.yaml': configMap('here', 'tools'),
      'plain/configmap-unset.yaml': configMap('unset'),
    });
    try {
      const good = captureContext({ cwd: root });
      expect(await runValidate(['tools'], good)).toBe(0);
      expect(good.out.at(-1)).toBe('validate: 2 files, 2 objects: all valid');
      // Without a kustomization namespace the rule stands: namespaced objects name theirs.
      const plain = captureContext({ cwd: root });
      expect(await runValidate(['plain'], plain)).toBe(1);
      expect(plain.out[0]).toContain('ConfigMap is namespaced and must name its namespace explicitly [metadata.namespace]');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('ignores an empty namespace, as kustomize does, and reports one it cannot read', async () => {
    const root = makeProject({
      'empty/kustomization.yaml': 'namespace: ""\n',
      'empty/configmap-unset.yaml': configMap('unset'),
      'typed/Kustomization': 'namespace: [tools]\n',
      'typed/configmap-here.yaml': configMap('here', 'tools'),
      'broken/kustomization.yml': 'namespace: [tools\n',
      'broken/configmap-here.yaml': configMap('here', 'tools'),
    });
    try {
      const context = captureContext({ cwd: root });
      expect(await runValidate(['empty', 'typed', 'broken'], context)).toBe(1);
      expect(context.out.slice(0, -1)).toEqual([
        'typed/Kustomization: namespace must be a string [kustomization]',
        expect.stringMatching(/^broken\/kustomization\.yml: is not valid YAML: .+ at line 2, column 1 \[kustomization\]$/),
        'empty/configmap-unset.yaml (document 1): ConfigMap unset: ConfigMap is namespaced and must name its namespace explicitly [metadata.namespace]',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('reports an object the kustomization would move out of its namespace', async () => {
    const root = makeProject({
      'tools/kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: tools\n',
      'tools/configmap-elsewhere.yaml': configMap('elsewhere', 'web'),
    });
    try {
      const context = captureContext({ cwd: root });
      expect(await runValidate(['tools'], context)).toBe(1);
      expect(context.out[0]).toBe(
        'tools/configmap-elsewhere.yaml (document 1): ConfigMap web/elsewhere: is in namespace "web", but the app\'s kustomization sets namespace "tools" (from tools/kustomization.yaml), which kustomize would move it into; put it in "tools" or in another app [kustomize.namespace]',
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
