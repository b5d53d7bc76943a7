import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { deepMerge } from '../../constructs/core/merge.js';
import { registeredKinds } from '../../constructs/kinds.js';
import type { HelmChartEntry, PatchEntry } from '../../framework/contributions.js';
import { formatProblem, type Manifest, objectRef, type Problem } from '../../framework/model.js';
import { runSynth } from '../../pipeline/commands.js';
import { type BuiltObject, type DeepResult, deepBuild } from '../../pipeline/deep/build.js';
import { type DeepTools, findTools } from '../../pipeline/deep/tools.js';
import { SchemaRegistry } from '../../pipeline/schemas.js';
import { encryptManifest } from '../../pipeline/sops/encrypt.js';
import { type SynthApp, type SynthCluster, type SynthResult, synthesize } from '../../pipeline/synth.js';
import { sha256Hex } from '../../pipeline/upstream/digest.js';
import { readLock, type UpstreamLock } from '../../pipeline/upstream/lock.js';
import { openStore, type UpstreamStore } from '../../pipeline/upstream/store.js';
import { captureContext, projectRoot } from '../helpers/io.js';

const MIRROR = resolve(projectRoot, '..', 'shared', 'upstream');
const AGE_KEYS = join(projectRoot, 'test/fixtures/sops/example-age-keys.txt');
const TRAEFIK_CRDS =
  'https://raw.githubusercontent.com/traefik/traefik/v3.7.9/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml';
const INSTALL = 'https://raw.githubusercontent.com/argoproj/argo-cd/v3.5.1/manifests/ha/install.yaml';

let synth: SynthResult;
let tools: DeepTools;
let lock: UpstreamLock;
let store: UpstreamStore;
const temporary: string[] = [];
/** Every test builds the whole cluster (cluster policies see every app); unchanged apps come from here. */
const cache = new Map<string, BuiltObject[]>();
const ALL = ['argocd', 'cert-manager', 'cilium', 'democratic-csi', 'gitops', 'monitoring', 'monitoring-crds', 'traefik'];

beforeAll(async () => {
  // The deep build's tools come from 'npm run tools' (CI runs it before the tests).
  tools = findTools(projectRoot, {});
  const read = readLock(projectRoot);
  if (!read.lock) throw new Error(read.problems.map(formatProblem).join('\n'));
  lock = read.lock;
  store = openStore(projectRoot, { UPSTREAM_MIRROR: MIRROR });
  synth = await synthesize({ root: projectRoot, registry: new SchemaRegistry(registeredKinds) });
  expect(synth.problems).toEqual([]);
});
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

interface Change {
  /** The app changed. */
  readonly name: string;
  readonly kustomization?: (document: Record<string, unknown>) => void;
  readonly synthApp?: (app: SynthApp) => SynthApp;
  readonly file?: { readonly name: string; readonly edit: (document: Record<string, unknown>) => void };
}

interface Options {
  readonly lock?: UpstreamLock;
  readonly store?: UpstreamStore;
  /** null: no age key at all. */
  readonly ageKeyFile?: string | null;
}

/** Deep-builds some apps of the default cluster, after the change a test makes to one of them. */
function build(change?: Change, options: Options = {}, apps: readonly string[] = ALL): Promise<DeepResult> {
  const files = new Map(synth.files);
  const cluster = synth.clusters[0] as SynthCluster;
  const edit = (file: string, fn: (document: Record<string, unknown>) => void) => {
    const path = `${cluster.name}/${change?.name}/${file}`;
    const document = parse(files.get(path) ?? '') as Record<string, unknown>;
    fn(document);
    files.set(path, stringify(document));
  };
  if (change?.kustomization) edit('kustomization.yaml', change.kustomization);
  if (change?.file) edit(change.file.name, change.file.edit);
  const selected = cluster.apps
    .filter((app) => apps.includes(app.name))
    .map((app) => (app.name === change?.name && change.synthApp ? change.synthApp(app) : app));
  return deepBuild({
    root: projectRoot,
    files,
    clusters: [{ ...cluster, apps: selected }],
    registry: new SchemaRegistry(registeredKinds),
    lock: options.lock ?? lock,
    store: options.store ?? store,
    tools,
    ageKeyFile: options.ageKeyFile === null ? undefined : (options.ageKeyFile ?? AGE_KEYS),
    cache,
  });
}

const lines = (result: DeepResult) => result.problems.map(formatProblem);
const objectName = (manifest: Manifest) => objectRef(manifest).name;

/** A change adding a patch to an app's kustomization and to what synth knows of it. */
function withPatch(name: string, patch: PatchEntry): Change {
  return {
    name,
    kustomization: (document) => {
      document.patches = [...((document.patches as unknown[]) ?? []), { target: patch.target, patch: stringify(patch.patch) }];
    },
    synthApp: (app) => ({ ...app, patches: [...app.patches, { entry: patch, constructPath: `k8s-235/${name}/test-patch` }] }),
  };
}

/** A change to the values of an app's first Helm chart, in its kustomization and in what synth knows. */
function withValues(name: string, values: Record<string, unknown>): Change {
  const merge = (chart: HelmChartEntry | Record<string, unknown>) => ({
    ...chart,
    valuesInline: deepMerge(chart.valuesInline as Record<string, unknown>, values),
  });
  return {
    name,
    kustomization: (document) => {
      const charts = document.helmCharts as Record<string, unknown>[];
      charts[0] = merge(charts[0] ?? {});
    },
    synthApp: (app) => ({
      ...app,
      helmCharts: app.helmCharts.map((chart, index) => (index === 0 ? (merge(chart) as HelmChartEntry) : chart)),
    }),
  };
}

describe('the deep build of the default cluster', () => {
  it('builds every app folder with the pinned upstream and finds nothing wrong', async () => {
    const result = await build();
    expect(lines(result)).toEqual([]);
    expect(result.stats.apps).toBe(8);
    expect(result.stats.upstreamObjects).toBeGreaterThan(150);
    expect(result.stats.objects).toBeGreaterThan(result.stats.upstreamObjects + 50);
    const notes = result.notes.join('\n');
    expect(notes).toContain("stands in for Argo CD v3.5.1's repo server's kustomize 5.8.1");
    expect(notes).toContain('--enable-exec dropped');
    expect(notes).toContain('SOPS files: decrypted with the age identity of age1rglrvs3n');
  });

  it('fails a patch that matches nothing once built, naming the app and the construct', async () => {
    const patch: PatchEntry = {
      target: { version: 'v1', kind: 'ConfigMap', name: 'argocd-nope' },
      patch: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-nope' }, data: { a: 'b' } },
    };
    expect(lines(await build(withPatch('argocd', patch)))).toEqual([
      'k8s-235/argocd/test-patch: the patch (target version=v1, kind=ConfigMap, name=argocd-nope) matches no object of app "argocd" once built: it changes nothing; fix the target, or the upstream object it was written for has moved or been renamed [deep.patch]',
    ]);
  });

  it('fails a patch whose change another patch overrides, naming the upstream object', async () => {
    // A second patch of argocd-cmd-params-cm, applied after the construct's, takes server.insecure back.
    const patch: PatchEntry = {
      target: { version: 'v1', kind: 'ConfigMap', name: 'argocd-cmd-params-cm' },
      patch: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'argocd-cmd-params-cm' }, data: { 'server.insecure': 'false' } },
    };
    const problems = lines(await build(withPatch('argocd', patch)));
    expect(problems).toEqual([
      expect.stringMatching(
        /^k8s-235\/argocd\/argocd\/CmdParams \(dist\/k8s-235\/argocd\) \[upstream https:\/\/raw\.githubusercontent\.com\/argoproj\/argo-cd\/v3\.5\.1\/manifests\/ha\/install\.yaml, patched\]: ConfigMap argocd\/argocd-cmd-params-cm: the patch \(target version=v1, kind=ConfigMap, name=argocd-cmd-params-cm\) does not show in the built object at data\.server\.insecure/,
      ),
    ]);
  });

  it('fails an upstream object that breaks its schema, saying it came from upstream', async () => {
    const mirror = mkdtempSync(join(tmpdir(), 'deep-mirror-'));
    temporary.push(mirror);
    cpSync(MIRROR, mirror, { recursive: true });
    const path = join(mirror, TRAEFIK_CRDS.slice('https://'.length));
    const changed = readFileSync(path, 'utf8').replace('  scope: Namespaced', '  scope: 17');
    writeFileSync(path, changed);
    const moved: UpstreamLock = {
      ...lock,
      resources: lock.resources.map((entry) => (entry.url === TRAEFIK_CRDS ? { ...entry, sha256: sha256Hex(changed) } : entry)),
    };
    const problems = lines(await build(undefined, { lock: moved, store: { cache: join(mirror, '.cache'), mirror } }));
    expect(problems).toEqual([
      expect.stringMatching(
        /^k8s-235\/traefik \(dist\/k8s-235\/traefik\) \[upstream https:\/\/raw\.githubusercontent\.com\/traefik\/traefik\/v3\.7\.9\/.*, patched\]: CustomResourceDefinition \S+\.traefik\.io: spec\.scope: .*\[schema\]$/,
      ),
    ]);
  });

  it('refuses an upstream file whose digest moved, and builds nothing from it', async () => {
    const moved: UpstreamLock = {
      ...lock,
      resources: lock.resources.map((entry) => (entry.url === INSTALL ? { ...entry, sha256: '0'.repeat(64) } : entry)),
    };
    const result = await build(undefined, { lock: moved });
    const digest = result.problems.filter((p) => p.rule === 'upstream.digest');
    expect(digest.map((p) => p.origin.constructPath)).toEqual(['k8s-235/argocd']);
    expect(formatProblem(digest[0] as Problem)).toContain(INSTALL);
    expect(formatProblem(digest[0] as Problem)).toContain('0'.repeat(64));
    // Nothing of the app was built: the other apps' objects only.
    const full = await build();
    expect(result.stats.apps).toBe(full.stats.apps - 1);
    // What the unbuilt app provides (its CRDs, the Services its Ingress routes to) is not
    // reported missing from the others: its own problem is the one to fix.
    expect(result.problems.filter((p) => p.rule !== 'upstream.digest').map(formatProblem)).toEqual([]);
    expect(result.notes).toContain('policies of k8s-235 not run on the built objects: argocd could not be built (see the problems above)');
  });

  it('fails a chart value override that the chart does not read', async () => {
    const problems = lines(await build(withValues('democratic-csi', { node: { driver: { extraEnvs: [] } }, replicaCont: 3 })));
    expect(problems).toEqual([
      'k8s-235/democratic-csi: Helm chart democratic-csi 0.15.1 (release nfs) does not read value "node.driver.extraEnvs": no template uses .Values.node.driver.extraEnvs or a map above it, and the chart\'s values.yaml has no such key; check the name against the chart\'s values.yaml [deep.chart-values]',
      'k8s-235/democratic-csi: Helm chart democratic-csi 0.15.1 (release nfs) does not read value "replicaCont": no template uses .Values.replicaCont or a map above it, and the chart\'s values.yaml has no such key; check the name against the chart\'s values.yaml [deep.chart-values]',
    ]);
    // A chart with a values schema (cert-manager's) already refuses unknown values when it renders.
    const strict = await build(withValues('cert-manager', { replicaCont: 3 }));
    expect(strict.problems.filter((p) => p.rule === 'deep.build').map(formatProblem)).toEqual([
      expect.stringMatching(
        /^k8s-235\/cert-manager \(dist\/k8s-235\/cert-manager\): kustomize build failed: .*additional properties 'replicaCont' not allowed.*\[deep\.build\]$/,
      ),
    ]);
  });

  it('fails a custom resource a chart renders whose CRD comes from an app it does not depend on', async () => {
    // cert-manager's chart renders a ServiceMonitor, whose CRD app monitoring-crds installs.
    const problems = lines(await build(withValues('cert-manager', { prometheus: { enabled: true, servicemonitor: { enabled: true } } })));
    expect(problems).toEqual([
      'k8s-235/cert-manager (dist/k8s-235/cert-manager) [Helm chart cert-manager v1.21.1 (release cert-manager)]: ServiceMonitor cert-manager/cert-manager: app "cert-manager" uses ServiceMonitor (monitoring.coreos.com), whose CRD app "monitoring-crds" installs; add "monitoring-crds" to the dependsOn of "cert-manager" so that it syncs first [app.dependencies]',
    ]);
  });

  it('fails when a SOPS file never reaches the built output', async () => {
    const problems = lines(await build({ name: 'traefik', kustomization: (document) => delete document.generators }));
    expect(problems).toEqual([
      'k8s-235/traefik/oauth2-proxy-credentials (secrets/k8s-235/traefik/oauth2-proxy.sops.yaml): Secret traefik/oauth2-proxy from secrets/k8s-235/traefik/oauth2-proxy.sops.yaml is not in app "traefik" once built: KSOPS\'s output never reaches the cluster [deep.sops]',
    ]);
  });

  it('fails a SOPS file edited without sops, as KSOPS would: values swapped, or a plaintext field changed under the MAC', async () => {
    const swapped: Change = {
      name: 'traefik',
      file: {
        name: 'secret-oauth2-proxy.sops.yaml',
        edit: (document) => {
          const values = document.stringData as Record<string, unknown>;
          [values['client-id'], values['client-secret']] = [values['client-secret'], values['client-id']];
        },
      },
    };
    expect(lines(await build(swapped))).toEqual([
      'k8s-235/traefik: secrets/k8s-235/traefik/oauth2-proxy.sops.yaml cannot be decrypted for the build: value at stringData.client-id cannot be decrypted: it was changed or moved since encryption [deep.sops]',
    ]);
    const relabelled: Change = {
      name: 'traefik',
      file: {
        name: 'secret-oauth2-proxy.sops.yaml',
        edit: (document) => Object.assign(document.metadata as object, { labels: { a: 'b' } }),
      },
    };
    expect(lines(await build(relabelled))).toEqual([
      'k8s-235/traefik: secrets/k8s-235/traefik/oauth2-proxy.sops.yaml cannot be decrypted for the build: the MAC does not match the values: the file was edited without sops; re-encrypt with sops or npm run encrypt [deep.sops]',
    ]);
  });

  it("fails a SOPS file whose Secret's data is not base64 once decrypted (the API server refuses it)", async () => {
    const recipients = readFileSync(AGE_KEYS, 'utf8').match(/age1[a-z0-9]{58}/g) ?? [];
    const encrypted = await encryptManifest(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'oauth2-proxy', namespace: 'traefik' },
        type: 'Opaque',
        data: { 'client-id': 'bm90IGEgc2VjcmV0', 'client-secret': 'not base64!', 'cookie-secret': '' },
      },
      { ageRecipients: recipients, encryptedRegex: '^(data|stringData)$' },
    );
    const replaced: Change = {
      name: 'traefik',
      file: {
        name: 'secret-oauth2-proxy.sops.yaml',
        edit: (document) => {
          for (const key of Object.keys(document)) delete document[key];
          Object.assign(document, parse(encrypted));
        },
      },
    };
    expect(lines(await build(replaced))).toEqual([
      expect.stringMatching(
        /^k8s-235\/traefik .*\[SOPS file secret-oauth2-proxy\.sops\.yaml\]: Secret traefik\/oauth2-proxy: data\.client-secret: must be base64-encoded \(format "byte"\) \[schema\]$/,
      ),
    ]);
  });

  it("checks every pod template against its namespace's Pod Security level", async () => {
    const privileged: Change = {
      name: 'traefik',
      file: {
        name: 'deployment-oauth2-proxy.yaml',
        edit: (document) => {
          const containers = (document as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } }).spec.template.spec
            .containers;
          containers[0] = { ...containers[0], securityContext: { ...(containers[0]?.securityContext as object), privileged: true } };
        },
      },
    };
    const problems = lines(await build(privileged));
    expect(problems).toEqual([
      expect.stringMatching(
        /^k8s-235\/traefik \(dist\/k8s-235\/traefik\/deployment-oauth2-proxy\.yaml\) \[project file deployment-oauth2-proxy\.yaml\]: Deployment traefik\/oauth2-proxy: namespace traefik enforces restricted: spec\.template\.spec\.containers\[0\]\.securityContext\.privileged: .*\[pod-security\.privileged\]$/,
      ),
    ]);
  });

  it('checks what project objects name in upstream ones: a ServiceMonitor selecting no upstream Service', async () => {
    const change: Change = {
      name: 'argocd',
      file: {
        name: 'servicemonitor-argocd-metrics.yaml',
        edit: (document) => {
          (document as { spec: { selector: unknown } }).spec.selector = { matchLabels: { 'app.kubernetes.io/name': 'argocd-metric' } };
        },
      },
    };
    expect(lines(await build(change))).toEqual([
      expect.stringMatching(
        /^k8s-235\/argocd \(dist\/k8s-235\/argocd\/servicemonitor-argocd-metrics\.yaml\) \[project file servicemonitor-argocd-metrics\.yaml\]: ServiceMonitor argocd\/argocd-metrics: selects no Service in namespace argocd .*\[policy\.metrics\.target\]$/,
      ),
    ]);
  });

  it('without an age key, builds the Secrets without their values and says so', async () => {
    const result = await build(undefined, { ageKeyFile: null });
    expect(lines(result)).toEqual([]);
    expect(result.notes.join('\n')).toContain('built without their values (no age key given: set SOPS_AGE_KEY_FILE');
  });
});

describe('the Cilium bootstrap (docs/bootstrap.md)', () => {
  const bootstrap = readFileSync(join(projectRoot, 'docs/bootstrap.md'), 'utf8');
  const firstBlock = /## 1\. Install Cilium\n\n```sh\n([\s\S]*?)```/.exec(bootstrap)?.[1] ?? '';
  const commands = firstBlock
    .replace(/\\\n\s*/g, '')
    .trim()
    .split('\n');

  it('starts with Cilium, applied server-side as the field manager ArgoCD syncs it with', () => {
    expect(commands).toEqual([
      'kubectl apply --server-side --field-manager=argocd-controller -k dist/k8s-235/monitoring-crds',
      'kustomize build --enable-helm dist/k8s-235/cilium | kubectl apply --server-side --field-manager=argocd-controller -f -',
    ]);
    // ArgoCD syncs both folders server-side (manager argocd-controller): it adopts what the bootstrap applied.
    for (const app of ['monitoring-crds', 'cilium']) {
      const application = parse(readFileSync(join(projectRoot, `dist/k8s-235/gitops/application-${app}.yaml`), 'utf8'));
      expect(application.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
    }
  });

  it('builds the folders it applies with the chart stood in, into the agent, the operator and the BGP objects', async () => {
    expect(lines(await build())).toEqual([]);
    // What the build made of the cilium folder (unchanged by any test, so one entry of the cache).
    const built = [...cache.values()].flat().filter((object) => object.app === 'cilium');
    const cilium = built.map(({ manifest }) => `${manifest.kind}/${objectName(manifest)}`);
    expect(cilium).toEqual(
      expect.arrayContaining([
        'DaemonSet/cilium',
        'Deployment/cilium-operator',
        'Deployment/hubble-relay',
        'ConfigMap/cilium-config',
        'CiliumBGPClusterConfig/cilium-bgp',
        'CiliumLoadBalancerIPPool/services',
        'ServiceMonitor/cilium-agent',
      ]),
    );
    const config = built.find((object) => object.manifest.kind === 'ConfigMap' && objectName(object.manifest) === 'cilium-config')
      ?.manifest as {
      data: Record<string, string>;
    };
    expect(config.data).toMatchObject({
      'routing-mode': 'native',
      'ipv4-native-routing-cidr': '10.234.0.0/16',
      'ipv6-native-routing-cidr': '2a10:4741:36:32::/64',
      'enable-ipv4-masquerade': 'false',
      'enable-ipv6-masquerade': 'false',
      'kube-proxy-replacement': 'true',
      ipam: 'kubernetes',
      'enable-bgp-control-plane': 'true',
      mtu: '1400',
    });
  });

  it('renders the chart the same way twice, so ArgoCD shows no permanent diff', () => {
    const chart = synth.clusters[0]?.apps.find((app) => app.name === 'cilium')?.helmCharts[0];
    const dir = mkdtempSync(join(tmpdir(), 'cilium-values-'));
    temporary.push(dir);
    writeFileSync(join(dir, 'values.yaml'), stringify(chart?.valuesInline ?? {}));
    const render = () =>
      spawnSync(
        tools.helm,
        [
          'template',
          'cilium',
          join(MIRROR, 'charts', 'cilium-1.19.6', 'cilium'),
          '--namespace',
          'kube-system',
          '-f',
          join(dir, 'values.yaml'),
        ],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 28,
        },
      );
    const first = render();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('kind: DaemonSet');
    expect(render().stdout).toBe(first.stdout);
  });
});

describe('npm run synth -- --deep', () => {
  const env = (extra: Record<string, string>) => ({ SOPS_AGE_KEY_FILE: AGE_KEYS, ...extra });

  it('builds the default cluster from the mirror, prints the stand-ins and one summary line', async () => {
    const context = captureContext({ env: env({ UPSTREAM_MIRROR: MIRROR }) });
    expect(await runSynth(['--check', '--deep'], context), context.err.join('\n')).toBe(0);
    const out = context.out.join('\n');
    expect(out).toContain('synth --deep: helm: ');
    expect(out).toMatch(/^synth --deep: 1 cluster, 8 apps built, \d+ objects \(\d+ from upstream\), all checks passed in \d+\.\d\d s$/m);
    expect(out).toMatch(/^synth --check: dist\/ is up to date/m);
  });

  it('names a pin neither the mirror nor the cache holds, with the command that fetches it', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'deep-empty-'));
    temporary.push(empty);
    const context = captureContext({ env: env({ UPSTREAM_MIRROR: empty, UPSTREAM_CACHE: join(empty, 'cache') }) });
    expect(await runSynth(['--check', '--deep'], context)).toBe(1);
    const err = context.err.join('\n');
    expect(err).toContain(`${INSTALL} is in neither`);
    expect(err).toContain('npm run upstream -- fetch');
    expect(err).toMatch(/synth --deep: \d+ problems found; dist\/ left unchanged$/);
  });

  it('refuses an age key file or tool override that names nothing, in one line, before building', async () => {
    const missingKey = captureContext({ env: { UPSTREAM_MIRROR: MIRROR, SOPS_AGE_KEY_FILE: '/nonexistent/keys.txt' } });
    expect(await runSynth(['--check', '--deep'], missingKey)).toBe(1);
    expect(missingKey.err).toContain(
      '.: SOPS_AGE_KEY_FILE=/nonexistent/keys.txt does not exist: point it at an age keys file (age-keygen output), or unset it to build the SOPS files without their values [deep.sops]',
    );
    const noKubectl = captureContext({ env: env({ UPSTREAM_MIRROR: MIRROR, DEEP_KUBECTL: '/nonexistent/kubectl' }) });
    expect(await runSynth(['--check', '--deep'], noKubectl)).toBe(1);
    expect(noKubectl.err.join('\n')).toContain('DEEP_KUBECTL=/nonexistent/kubectl names no executable');
    expect(noKubectl.err.join('\n')).not.toMatch(/^\s+at /m);
  });
});
