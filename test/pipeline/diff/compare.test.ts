import { describe, expect, it } from 'vitest';
import { findDangers } from '../../../pipeline/diff/dangers.js';
import { formatJson, formatMarkdown, formatText } from '../../../pipeline/diff/format.js';
import { diffValues } from '../../../pipeline/diff/values.js';
import { stringifyManifest } from '../../../pipeline/yaml.js';
import { deployment, diffOf, dist, object } from './helpers.js';

const options = { colour: false, verbose: false, maxChars: 100_000 };

describe('field diff', () => {
  it('matches containers, ports and env by name, not by index', () => {
    const before = {
      containers: [
        {
          name: 'a',
          image: 'x:1',
          env: [
            { name: 'A', value: '1' },
            { name: 'B', value: '2' },
          ],
        },
        { name: 'b', image: 'y:1' },
      ],
    };
    const after = {
      containers: [
        { name: 'new', image: 'z:1' },
        {
          name: 'a',
          image: 'x:2',
          env: [
            { name: 'B', value: '2' },
            { name: 'A', value: '1' },
            { name: 'C', value: '3' },
          ],
        },
        { name: 'b', image: 'y:1' },
      ],
    };
    expect(diffValues(before, after)).toEqual([
      { path: 'containers[name=a].image', before: 'x:1', after: 'x:2' },
      { path: 'containers[name=a].env[name=C]', after: { name: 'C', value: '3' } },
      { path: 'containers[name=new]', after: { name: 'new', image: 'z:1' } },
    ]);
  });

  it('matches volume mounts by mount path and falls back to the index for unnamed items', () => {
    expect(
      diffValues(
        { m: [{ mountPath: '/a', readOnly: true }, { mountPath: '/b' }] },
        { m: [{ mountPath: '/b' }, { mountPath: '/a', readOnly: false }] },
      ),
    ).toEqual([{ path: 'm[mountPath=/a].readOnly', before: true, after: false }]);
    expect(diffValues({ t: [{ key: 'a', effect: 'NoSchedule' }] }, { t: [{ key: 'a', effect: 'NoExecute' }] })).toEqual([
      { path: 't[0].effect', before: 'NoSchedule', after: 'NoExecute' },
    ]);
  });

  it('aligns unnamed items on the equal ones, so one inserted item is one change', () => {
    const route = (receiver: string) => ({ receiver, matchers: [{ name: 'severity', value: receiver }] });
    expect(
      diffValues({ routes: [route('a'), route('b'), route('c')] }, { routes: [route('a'), route('x'), route('b'), route('c')] }),
    ).toEqual([{ path: 'routes[1]', after: route('x') }]);
    expect(
      diffValues({ routes: [route('a'), route('b'), route('c')] }, { routes: [route('a'), { ...route('b'), continue: true }, route('c')] }),
    ).toEqual([{ path: 'routes[1].continue', after: true }]);
    expect(diffValues({ routes: [route('a'), route('b')] }, { routes: [route('b')] })).toEqual([{ path: 'routes[0]', before: route('a') }]);
  });

  it('sees no change in key order, and a change in the order of plain values', () => {
    expect(diffValues({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 })).toEqual([]);
    expect(diffValues({ args: ['--a', '--b'] }, { args: ['--b', '--a'] })).toEqual([
      { path: 'args', before: ['--a', '--b'], after: ['--b', '--a'] },
    ]);
  });

  it('quotes keys a dotted path would misread', () => {
    expect(
      diffValues({ metadata: { labels: { 'app.kubernetes.io/name': 'a' } } }, { metadata: { labels: { 'app.kubernetes.io/name': 'b' } } }),
    ).toEqual([{ path: 'metadata.labels["app.kubernetes.io/name"]', before: 'a', after: 'b' }]);
  });
});

describe('object diff of two dists', () => {
  it('shows nothing for reordered keys, reformatted YAML, a comment or an object moved to another file', () => {
    const before = dist({ web: [deployment('api')] });
    const after = new Map(before);
    const file = 'c/web/deployment-api.yaml';
    const manifest = deployment('api');
    after.delete(file);
    // Flow style, keys reversed, a comment, another file name: the same object.
    const reversed = Object.fromEntries(Object.entries(manifest).reverse());
    after.set('c/web/moved.yaml', `# moved\n${JSON.stringify(reversed)}\n`);
    after.set('c/web/kustomization.yaml', kustomize({ resources: ['./moved.yaml'] }));
    const diff = diffOf(before, after);
    expect(diff.apps).toEqual([]);
    expect(formatText(diff, [], options)).toContain('summary: no change; no dangerous change');
  });

  it('matches objects by group, kind, namespace and name, the kustomization namespace included', () => {
    const kustomization = (namespace: string) =>
      stringifyManifest({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', namespace, resources: ['cm.yaml'] });
    const cm = stringifyManifest(object('v1', 'ConfigMap', 'settings', { data: { a: '1' } }));
    const before = new Map([
      ['c/web/kustomization.yaml', kustomization('one')],
      ['c/web/cm.yaml', cm],
    ]);
    const after = new Map([
      ['c/web/kustomization.yaml', kustomization('two')],
      ['c/web/cm.yaml', cm],
    ]);
    const [app] = diffOf(before, after).apps;
    expect(app?.objects.map((change) => `${change.change} ${change.ref.namespace}/${change.ref.name}`)).toEqual([
      'removed one/settings',
      'added two/settings',
    ]);
    expect(app?.kustomization).toEqual([{ subject: 'kustomization', path: 'namespace', before: 'one', after: 'two' }]);
  });

  it('groups changes by cluster and app with a count per app', () => {
    const diff = diffOf(
      dist({
        web: [deployment('api'), object('v1', 'ConfigMap', 'old', {}, { namespace: 'web' })],
        db: [object('v1', 'Secret', 's', {}, { namespace: 'db' })],
      }),
      dist({ web: [deployment('api', { replicas: 3 }), object('v1', 'ConfigMap', 'new', {}, { namespace: 'web' })] }),
    );
    const text = formatText(diff, findDangers(diff), options);
    expect(text).toContain('c/db (app removed: 1 removed)');
    expect(text).toContain('c/web (1 added, 1 changed, 1 removed)');
    expect(text).toContain('      spec.replicas: 2 → 3');
    expect(text).toMatch(/summary: c\/db app removed: 1 removed; c\/web 1 added, 1 changed, 1 removed; 1 dangerous change/);
  });
});

const kustomize = (body: Record<string, unknown>) =>
  stringifyManifest({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...body });

describe('kustomization changes', () => {
  const install = (version: string) => `https://raw.githubusercontent.com/argoproj/argo-cd/${version}/manifests/ha/install.yaml`;
  const chart = (replicaCount: number, version = 'v1.21.1') => ({
    name: 'cert-manager',
    repo: 'https://charts.jetstack.io',
    version,
    releaseName: 'cert-manager',
    valuesInline: { replicaCount, crds: { enabled: true } },
  });

  it('shows an upstream version bump as one line', () => {
    const diff = diffOf(
      new Map([['c/argocd/kustomization.yaml', kustomize({ resources: [install('v3.5.1'), 'ns.yaml'] })]]),
      new Map([['c/argocd/kustomization.yaml', kustomize({ resources: [install('v3.5.2'), 'ns.yaml'] })]]),
    );
    expect(formatText(diff, [], options)).toContain(
      '  upstream raw.githubusercontent.com/argoproj/argo-cd: v3.5.1 → v3.5.2 (manifests/ha/install.yaml)',
    );
  });

  it('shows chart values and version changes field by field', () => {
    const diff = diffOf(
      new Map([['c/cert-manager/kustomization.yaml', kustomize({ helmCharts: [chart(2)] })]]),
      new Map([['c/cert-manager/kustomization.yaml', kustomize({ helmCharts: [chart(3, 'v1.21.2')] })]]),
    );
    const text = formatText(diff, [], options);
    expect(text).toContain('  chart cert-manager: version: v1.21.1 → v1.21.2');
    expect(text).toContain('  chart cert-manager values: replicaCount: 2 → 3');
  });

  it('shows a patch by its target, the patched fields as paths', () => {
    const patch = (memory: string) => ({
      target: { group: 'apps', version: 'v1', kind: 'Deployment', name: 'argocd-server' },
      patch: `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: argocd-server\nspec:\n  template:\n    spec:\n      containers:\n        - name: argocd-server\n          resources:\n            limits:\n              memory: ${memory}\n`,
    });
    const diff = diffOf(
      new Map([['c/argocd/kustomization.yaml', kustomize({ patches: [patch('512Mi')] })]]),
      new Map([['c/argocd/kustomization.yaml', kustomize({ patches: [patch('1Gi')] })]]),
    );
    expect(formatText(diff, [], options)).toContain(
      'patch of Deployment.apps argocd-server: spec.template.spec.containers[name=argocd-server].resources.limits.memory: 512Mi → 1Gi',
    );
  });
});

/** A SOPS-encrypted Secret as synth writes it: plaintext metadata, encrypted values, a sops block. */
function sopsSecret(
  values: Record<string, string>,
  recipient = 'age1example',
  mac = 'ENC[AES256_GCM,data:mac,iv:i,tag:t,type:str]',
): string {
  return stringifyManifest({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'argocd-secret' },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(values).map(([key, value]) => [key, `ENC[AES256_GCM,data:${value},iv:abc,tag:def,type:str]`])),
    sops: {
      age: [{ recipient, enc: '-----BEGIN AGE ENCRYPTED FILE-----\nsecretkeymaterial\n-----END AGE ENCRYPTED FILE-----\n' }],
      lastmodified: '2026-01-01T00:00:00Z',
      mac,
      version: '3.9.0',
    },
  });
}

describe('SOPS files', () => {
  const files = (secret: string) =>
    new Map([
      ['c/argocd/kustomization.yaml', kustomize({ namespace: 'argocd', generators: ['./secret-generator.yaml'] })],
      [
        'c/argocd/secret-generator.yaml',
        stringifyManifest({
          apiVersion: 'viaduct.ai/v1',
          kind: 'ksops',
          metadata: { name: 'secrets' },
          files: ['./secret-argocd-secret.sops.yaml'],
        }),
      ],
      ['c/argocd/secret-argocd-secret.sops.yaml', secret],
    ]);
  const all = (before: string, after: string) => {
    const diff = diffOf(files(before), files(after));
    const dangers = findDangers(diff);
    return {
      diff,
      outputs: [
        formatText(diff, dangers, { ...options, verbose: true }),
        formatMarkdown(diff, dangers, { ...options, verbose: true }),
        formatJson(diff, dangers),
      ],
    };
  };

  it('says re-encrypted, and never shows a ciphertext, the key material or the MAC', () => {
    const { outputs } = all(
      sopsSecret({ token: 'Zm9v' }),
      sopsSecret({ token: 'YmFy' }, 'age1example', 'ENC[AES256_GCM,data:mac2,iv:i,tag:t,type:str]'),
    );
    expect(outputs[0]).toContain('~ Secret argocd/argocd-secret (SOPS): re-encrypted');
    for (const output of outputs) {
      expect(output).not.toMatch(/Zm9v|YmFy|secretkeymaterial|mac2|ENC\[/);
    }
  });

  it('names the keys added and removed, and the recipients', () => {
    const { outputs } = all(sopsSecret({ a: 'AAAA', b: 'BBBB' }), sopsSecret({ a: 'AAAA', c: 'CCCC' }, 'age1other'));
    expect(outputs[0]).toContain('keys added: c; keys removed: b; recipients added: age:age1other; recipients removed: age:age1example');
    for (const output of outputs) expect(output).not.toMatch(/AAAA|BBBB|CCCC/);
  });

  it('shows nothing when the file did not change', () => {
    expect(all(sopsSecret({ a: 'AAAA' }), sopsSecret({ a: 'AAAA' })).diff.apps).toEqual([]);
  });
});

describe('formats', () => {
  const before = dist({
    web: [deployment('api'), object('networking.k8s.io/v1', 'NetworkPolicy', 'deny', { spec: { podSelector: {} } }, { namespace: 'web' })],
  });
  const after = dist({ web: [deployment('api', { replicas: 3 })] });

  it('text: colour only when asked, and a line diff of the YAML with --verbose', () => {
    const diff = diffOf(before, after);
    const dangers = findDangers(diff);
    expect(formatText(diff, dangers, options)).not.toContain('\u001b[');
    expect(formatText(diff, dangers, { ...options, colour: true })).toContain('\u001b[31m');
    const verbose = formatText(diff, dangers, { ...options, verbose: true });
    expect(verbose).toContain('      -   replicas: 2');
    expect(verbose).toContain('      +   replicas: 3');
  });

  it('markdown: dangers first, a table of apps, each app folded, diff-coloured lines', () => {
    const diff = diffOf(before, after);
    const text = formatMarkdown(diff, findDangers(diff), options);
    expect(text).toContain('**1 dangerous change**');
    expect(text).toContain('| ⚠️ | `exposure.removed-network-policy` | `c/web NetworkPolicy web/deny` |');
    expect(text).toContain('| `c/web` | 0 | 1 | 1 |  |');
    expect(text).toContain('<details><summary><code>c/web</code> (1 changed, 1 removed)</summary>');
    expect(text).toContain('\n-  - NetworkPolicy web/deny');
  });

  it('markdown: cut at the size cap, saying which apps it left out', () => {
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, index) => [`app-${index}`, [deployment(`api-${index}`)]]));
    const changed = Object.fromEntries(
      Array.from({ length: 40 }, (_, index) => [
        `app-${index}`,
        [deployment(`api-${index}`, { replicas: 5, minReadySeconds: 10, revisionHistoryLimit: 3 })],
      ]),
    );
    const diff = diffOf(dist(many), dist(changed));
    const text = formatMarkdown(diff, [], { ...options, maxChars: 4000 });
    expect(text.length).toBeLessThanOrEqual(4000 + 2000);
    expect(text).toMatch(/\*\*Cut at 4000 characters:\*\* the changes of \d+ of 40 apps are not shown/);
  });

  it('json: counts, dangers and fields for tools', () => {
    const diff = diffOf(before, after);
    const report = JSON.parse(formatJson(diff, findDangers(diff)));
    expect(report.summary).toEqual({
      apps: [{ cluster: 'c', app: 'web', change: 'changed', added: 0, changed: 1, removed: 1, kustomization: false }],
      dangers: 1,
      allowed: 0,
    });
    expect(report.apps[0].objects[0]).toMatchObject({
      change: 'changed',
      group: 'apps',
      kind: 'Deployment',
      namespace: 'web',
      name: 'api',
      fields: [{ path: 'spec.replicas', before: 2, after: 3 }],
    });
    expect(report.dangers[0]).toMatchObject({ rule: 'exposure.removed-network-policy', object: 'NetworkPolicy web/deny' });
  });
});

describe('what a reviewer found', () => {
  it('says which files of a dist/ ArgoCD could not build, instead of guessing', () => {
    const good = dist({ web: [deployment('api')] });
    const broken = new Map(good);
    broken.set('c/web/deployment-api.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  name: again\n');
    broken.set('c/web/list.yaml', '- just\n- a list\n');
    broken.set('c/web/kustomization.yaml', kustomize({ resources: ['deployment-api.yaml', 'list.yaml'] }));
    expect(diffOf(good, broken).problems).toEqual([
      'after: dist/c/web/deployment-api.yaml (document 1): YAML syntax error at line 5, column 3: the key "name" appears twice in one mapping (readers keep only one of them): remove the other',
      'after: dist/c/web/list.yaml (document 1): document is not a mapping (a Kubernetes object is a YAML mapping)',
    ]);
    const duplicate = new Map(good);
    duplicate.set('c/web/copy.yaml', stringifyManifest(deployment('api', { replicas: 9 })));
    duplicate.set('c/web/kustomization.yaml', kustomize({ resources: ['deployment-api.yaml', 'copy.yaml'] }));
    expect(diffOf(good, duplicate).problems).toEqual([
      'after: dist/c/web/copy.yaml holds Deployment web/api, which dist/c/web/deployment-api.yaml holds too: kustomize refuses two objects with one identity in a build',
    ]);
    const kustomization = new Map(good);
    kustomization.set('c/web/kustomization.yaml', 'resources: [a.yaml\n');
    expect(diffOf(good, kustomization).problems[0]).toMatch(/^after: dist\/c\/web\/kustomization.yaml is not valid YAML/);
  });

  it('counts as deployed only what the kustomization lists, and its generators name', () => {
    const pvc = object(
      'v1',
      'PersistentVolumeClaim',
      'data',
      { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
      { namespace: 'web' },
    );
    const before = dist({ web: [pvc, deployment('api')] });
    const after = new Map(before);
    after.set('c/web/kustomization.yaml', kustomize({ resources: ['deployment-api.yaml'] }));
    const diff = diffOf(before, after);
    expect(diff.apps[0]?.objects.map((change) => `${change.change} ${change.ref.kind}`)).toEqual(['removed PersistentVolumeClaim']);
    expect(findDangers(diff).map((danger) => danger.rule)).toEqual(['data-loss.removed-pvc']);
    const missing = new Map(before);
    missing.set('c/web/kustomization.yaml', kustomize({ resources: ['deployment-api.yaml', 'gone.yaml'] }));
    expect(diffOf(before, missing).problems).toEqual([
      'after: dist/c/web/kustomization.yaml lists gone.yaml in resources, which is not in the folder: kustomize cannot build it',
    ]);
    const generator = (files: string[]) =>
      stringifyManifest({ apiVersion: 'viaduct.ai/v1', kind: 'ksops', metadata: { name: 'secrets' }, files });
    const secret = stringifyManifest(
      object('v1', 'Secret', 's', { data: { a: 'ENC[AES256_GCM,data:AAAA,iv:i,tag:t,type:str]' }, sops: { mac: 'x' } }),
    );
    const withSecret = (files: string[]) =>
      new Map([
        ['c/web/kustomization.yaml', kustomize({ namespace: 'web', generators: ['./gen.yaml'] })],
        ['c/web/gen.yaml', generator(files)],
        ['c/web/s.sops.yaml', secret],
      ]);
    const text = formatText(diffOf(withSecret(['./s.sops.yaml']), withSecret([])), [], options);
    expect(text).toContain('  generator gen.yaml: files: - ./s.sops.yaml');
    expect(text).toContain('  - Secret web/s (SOPS)  [s.sops.yaml]');
  });

  it('reads a v1 List as its items', () => {
    const list = new Map([
      [
        'c/web/all.yaml',
        stringifyManifest({
          apiVersion: 'v1',
          kind: 'List',
          items: [deployment('api'), object('v1', 'ConfigMap', 'x', {}, { namespace: 'web' })],
        }),
      ],
    ]);
    const one = new Map([['c/web/all.yaml', stringifyManifest({ apiVersion: 'v1', kind: 'List', items: [deployment('api')] })]]);
    const [app] = diffOf(list, one).apps;
    expect(app?.objects.map((change) => `${change.change} ${change.ref.kind}`)).toEqual(['removed ConfigMap']);
  });

  it('compares timestamps, and keys named like built-in methods', () => {
    const at = (date: string) =>
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: web\n  annotations:\n    at: ${date}\n`;
    expect(diffOf(new Map([['c/web/x.yaml', at('2024-01-01')]]), new Map([['c/web/x.yaml', at('2025-06-30')]])).apps).toHaveLength(1);
    expect(diffValues({ toString: '1' }, {})).toEqual([{ path: 'toString', before: '1' }]);
    expect(diffValues({}, { constructor: '1' })).toEqual([{ path: 'constructor', after: '1' }]);
  });

  it('shows an object moved between apps as moved, not as a deletion', () => {
    const cm = object('v1', 'ConfigMap', 'x', { data: { a: '1' } }, { namespace: 'web' });
    const diff = diffOf(dist({ a: [cm], b: [] }), dist({ a: [], b: [cm] }));
    const text = formatText(diff, findDangers(diff), options);
    expect(text).toContain('- ConfigMap web/x (moved to app b)');
    expect(text).toContain('+ ConfigMap web/x (moved from app a)');
    expect(findDangers(diff)).toEqual([]);
  });

  it('never prints a ciphertext found outside a SOPS file, nor control characters', () => {
    const before = dist({
      web: [
        object(
          'v1',
          'ConfigMap',
          'x',
          { data: { a: 'ENC[AES256_GCM,data:SECRET1,iv:i,tag:t,type:str]', b: 'fine' } },
          { namespace: 'web' },
        ),
      ],
    });
    const after = dist({
      web: [
        object(
          'v1',
          'ConfigMap',
          'x',
          { data: { a: 'ENC[AES256_GCM,data:SECRET2,iv:i,tag:t,type:str]', b: 'line\u001b[2K\rsummary: fake' } },
          { namespace: 'web' },
        ),
      ],
    });
    const diff = diffOf(before, after);
    for (const output of [formatText(diff, [], options), formatMarkdown(diff, [], options), formatJson(diff, [])]) {
      expect(output).not.toMatch(/SECRET1|SECRET2/);
    }
    expect(formatText(diff, [], options)).not.toContain('\u001b');
    expect(formatText(diff, [], options)).toContain('\\u001b[2K\\rsummary: fake');
  });

  it('keeps markdown a note: no value breaks the table or the page, the dangers are capped too', () => {
    const hostile = 'a.example.org\n\n**No dangerous change.** <img src=x>\n</details>|';
    const policy = (name: string) =>
      object('networking.k8s.io/v1', 'NetworkPolicy', name, { spec: { podSelector: {} } }, { namespace: 'web' });
    const many = Array.from({ length: 300 }, (_, index) => policy(`deny-${index}`));
    const diff = diffOf(
      dist({ web: [...many, object('v1', 'ConfigMap', hostile.replace(/\W/g, '-'), {}, { namespace: 'web' })] }),
      dist({ web: [] }),
    );
    const dangers = findDangers(diff).map((danger, index) => (index === 0 ? { ...danger, detail: hostile } : danger));
    const text = formatMarkdown(diff, dangers, { ...options, maxChars: 8000 });
    expect(text.length).toBeLessThan(9000);
    expect(text).toContain('**and ');
    expect(text).not.toContain('<img');
    expect(text).not.toMatch(/\n\*\*No dangerous change/);
    const row = text.split('\n').find((line) => line.includes('a.example.org'));
    expect(row).toContain('&lt;img src=x&gt; &lt;/details&gt;\\|');
  });

  it('json keeps what a kustomization change says: added or removed, and its files', () => {
    const diff = diffOf(
      new Map([
        [
          'c/argocd/kustomization.yaml',
          kustomize({ resources: ['https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml'] }),
        ],
      ]),
      new Map([['c/argocd/kustomization.yaml', kustomize({ resources: [] })]]),
    );
    expect(JSON.parse(formatJson(diff, [])).apps[0].kustomization).toEqual([
      {
        subject: 'upstream raw.githubusercontent.com/argoproj/argo-cd',
        note: 'manifests/ha/install.yaml removed at v3.5.1',
        items: ['manifests/ha/install.yaml'],
        path: '',
      },
    ]);
  });
});

describe('what a second review found', () => {
  const pvc = (name: string, metadata: Record<string, unknown> = {}) =>
    object(
      'v1',
      'PersistentVolumeClaim',
      name,
      { spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
      { namespace: 'web', ...metadata },
    );
  const configMap = (name: string, data: Record<string, string>, metadata: Record<string, unknown> = {}) =>
    object('v1', 'ConfigMap', name, { data }, metadata);

  it('compares a broken base as far as it reads: the change that mends it is reviewable', () => {
    const good = dist({ web: [deployment('api')] });
    const broken = new Map(good);
    broken.set('c/web/kustomization.yaml', kustomize({ resources: ['deployment-api.yaml', 'missing.yaml'] }));
    const diff = diffOf(broken, good);
    expect(diff.problems).toEqual([]);
    expect(diff.warnings).toEqual([
      'before: dist/c/web/kustomization.yaml lists missing.yaml in resources, which is not in the folder: kustomize cannot build it',
    ]);
    expect(formatText(diff, [], options)).toContain('warning: before: dist/c/web/kustomization.yaml lists missing.yaml');
    expect(formatMarkdown(diff, [], { ...options, maxChars: 60000 })).toContain('**The base does not read in full**');
    expect(JSON.parse(formatJson(diff, [])).warnings).toHaveLength(1);
    // The same problem on the head is still one.
    expect(diffOf(good, broken).problems).toHaveLength(1);
  });

  it('matches a generated object kustomize merges into another as a change of its own, not a second object', () => {
    const files = (value: string) =>
      new Map([
        ['c/web/secret.yaml', stringifyManifest(object('v1', 'Secret', 's', { data: { a: 'YQ==' } }, { namespace: 'web' }))],
        [
          'c/web/gen.yaml',
          stringifyManifest({ apiVersion: 'viaduct.ai/v1', kind: 'ksops', metadata: { name: 'g' }, files: ['s.sops.yaml'] }),
        ],
        [
          'c/web/s.sops.yaml',
          stringifyManifest(
            object(
              'v1',
              'Secret',
              's',
              { data: { b: `ENC[AES256_GCM,data:${value},iv:i,tag:t,type:str]` }, sops: { mac: 'x' } },
              { namespace: 'web', annotations: { 'kustomize.config.k8s.io/behavior': 'merge' } },
            ),
          ),
        ],
        ['c/web/kustomization.yaml', kustomize({ resources: ['secret.yaml'], generators: ['gen.yaml'] })],
      ]);
    const diff = diffOf(files('AAAA'), files('BBBB'));
    expect(diff.problems).toEqual([]);
    expect(diff.apps[0]?.objects.map((change) => `${change.change} ${change.file} ${change.sops?.reencrypted}`)).toEqual([
      'changed s.sops.yaml true',
    ]);
  });

  it('takes remote bases, inline configurations, normalised paths and hooks named by generateName as kustomize and ArgoCD do', () => {
    const before = dist({ web: [configMap('a', { x: '1' })] });
    const after = new Map(before);
    after.set(
      'c/web/kustomization.yaml',
      kustomize({
        resources: [
          './sub/../configmap-a.yaml',
          'git@github.com:example/repo//deploy?ref=v1.0.0',
          'gitlab.com/example/repo//deploy?ref=v1.0.0',
          'git::https://github.com/example/repo//x?ref=v1',
          '../../elsewhere/base',
          'job.yaml',
        ],
        transformers: ['apiVersion: builtin\nkind: PrefixSuffixTransformer\nmetadata:\n  name: p\nprefix: a-\n'],
      }),
    );
    after.set('c/web/job.yaml', stringifyManifest(object('batch/v1', 'Job', '', {}, { name: undefined, generateName: 'migrate-' })));
    const diff = diffOf(before, after);
    expect(diff.problems).toEqual([]);
    expect(diff.apps[0]?.objects.map((change) => `${change.change} ${change.ref.kind} ${change.ref.name}`)).toEqual([
      'added Job migrate-*',
    ]);
    const trailing = new Map(before);
    trailing.set('c/web/kustomization.yaml', `${kustomize({ resources: ['configmap-a.yaml'] })}---\n`);
    expect(diffOf(before, trailing).problems).toEqual([]);
  });

  it('refuses a kustomization kustomize cannot read: a list field that is not a list, a namespace that is not a string', () => {
    const before = dist({ web: [pvc('data')] });
    for (const [body, message] of [
      [{ resources: 'persistentvolumeclaim-data.yaml' }, 'has resources that is not a list'],
      [{ resources: ['persistentvolumeclaim-data.yaml'], namespace: ['web'] }, 'has namespace that is not a string'],
    ] as const) {
      const after = new Map(before);
      after.set('c/web/kustomization.yaml', kustomize(body));
      expect(diffOf(before, after).problems).toEqual([`after: dist/c/web/kustomization.yaml ${message}: kustomize cannot read it`]);
    }
  });

  it('shows changes of patch files, chart values and generator sources, without ciphertext or wrapped keys', () => {
    const files = (replicas: number, key: string) =>
      new Map([
        ['c/web/configmap-a.yaml', stringifyManifest(configMap('a', { x: '1' }))],
        ['c/web/patch.yaml', stringifyManifest({ spec: { replicas } })],
        ['c/web/values.yaml', stringifyManifest({ controller: { privileged: replicas > 1 } })],
        ['c/web/app.env', `sops_kms__list_0__map_enc=${key}\nNAME=ENC[AES256_GCM,data:${key},iv:i,tag:t,type:str]\n`],
        [
          'c/web/kustomization.yaml',
          kustomize({
            resources: ['configmap-a.yaml'],
            patches: [{ path: 'patch.yaml', target: { kind: 'Deployment', name: 'api' } }],
            helmCharts: [{ name: 'chart', repo: 'https://charts.example.org', version: '1.0.0', valuesFile: 'values.yaml' }],
            secretGenerator: [{ name: 'app', envs: ['app.env'] }],
          }),
        ],
      ]);
    const diff = diffOf(files(1, 'KEYONE'), files(2, 'KEYTWO'));
    expect(diff.problems).toEqual([]);
    const lines = diff.apps[0]?.kustomization.map((change) => `${change.subject} ${change.path ?? ''} ${change.note ?? ''}`.trim());
    expect(lines).toEqual(['input app.env  changed', 'input patch.yaml spec.replicas', 'input values.yaml controller.privileged']);
    const text = formatText(diff, [], { ...options, verbose: true });
    expect(text).toContain('spec.replicas: 1 → 2');
    expect(text).not.toContain('KEYONE');
    expect(text).not.toContain('KEYTWO');
  });

  it('follows nested kustomizations and components, with the namespace kustomize gives', () => {
    const base = (resources: string[]) =>
      new Map([
        ['c/web/kustomization.yaml', kustomize({ namespace: 'web', resources: ['base'], components: ['extra'] })],
        ['c/web/base/kustomization.yaml', kustomize({ namespace: 'inner', resources })],
        ['c/web/base/pvc.yaml', stringifyManifest(pvc('data', { namespace: undefined }))],
        ['c/web/base/cm.yaml', stringifyManifest(configMap('a', { x: '1' }))],
        ['c/web/base/unused.yaml', stringifyManifest(configMap('unused', { x: '1' }))],
        ['c/web/extra/kustomization.yaml', kustomize({ kind: 'Component', resources: ['cm.yaml'] })],
        ['c/web/extra/cm.yaml', stringifyManifest(configMap('b', { x: '1' }))],
      ]);
    const before = base(['pvc.yaml', 'cm.yaml']);
    const after = base(['cm.yaml']);
    after.set('c/web/base/unused.yaml', stringifyManifest(configMap('unused', { x: '2' })));
    after.set('c/web/extra/cm.yaml', stringifyManifest(configMap('b', { x: '2' })));
    const diff = diffOf(before, after);
    expect(diff.problems).toEqual([]);
    expect(diff.apps[0]?.objects.map((change) => `${change.change} ${change.ref.kind} ${change.ref.namespace}/${change.ref.name}`)).toEqual(
      ['changed ConfigMap web/b', 'removed PersistentVolumeClaim web/data'],
    );
    expect(findDangers(diff).map((danger) => danger.rule)).toEqual(['data-loss.removed-pvc']);
    const plain = new Map(before);
    plain.delete('c/web/extra/kustomization.yaml');
    expect(diffOf(before, plain).problems).toEqual([
      'after: dist/c/web/kustomization.yaml lists extra in components, a folder without a kustomization: kustomize cannot build it',
    ]);
  });

  it('reads JSON manifests as objects', () => {
    const privileged = deployment('api', {}, { hostNetwork: true });
    const before = new Map([['c/web/cm.json', JSON.stringify(configMap('a', { x: '1' }))]]);
    const after = new Map([...before, ['c/web/deployment.json', JSON.stringify(privileged)]]);
    const diff = diffOf(before, after);
    expect(diff.apps[0]?.objects.map((change) => `${change.change} ${change.ref.kind}`)).toEqual(['added Deployment']);
    expect(findDangers(diff).map((danger) => danger.rule)).toEqual(['privilege.host-namespaces']);
  });
});
