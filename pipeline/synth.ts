import type { ClusterDefinition, ClusterPolicy, ExternalCustomResources, PolicyContext, PolicyObject } from '../framework/cluster.js';
import type { EncryptedFileEntry, ExampleValue, HelmChartEntry, PatchEntry, RenderToolchain } from '../framework/contributions.js';
import { KSOPS_EXEC } from '../framework/contributions.js';
import type { Manifest, Problem, SourcedObject } from '../framework/model.js';
import { sopsRecipients } from '../framework/rules/sops.js';
import { type CustomResourceApp, checkCustomResources, dependencyClosure } from './custom-resources.js';
import { checkEncryptedFile, loadSopsConfig } from './encrypted-files.js';
import { checkKustomizeNamespace, kustomizeNamespaceOf, withNamespace } from './kustomize-namespace.js';
import { layoutApp } from './layout.js';
import { loadClusters } from './load.js';
import { OUTPUT_MARKER_FILE, OUTPUT_MARKER_TEXT } from './output.js';
import type { PhaseClock } from './phases.js';
import { readProjectFile } from './project-files.js';
import { type RenderedApp, renderCluster } from './render.js';
import { withoutHost } from './sandbox.js';
import type { SchemaRegistry } from './schemas.js';
import { describeThrown } from './thrown.js';
import { checkToolchain, clusterToolchain } from './toolchain.js';
import { validateObjects } from './validate.js';
import type { Watchdog } from './watchdog.js';
import { parseManifests } from './yaml.js';

export interface SynthOptions {
  /** Project root: holds inventory/, apps/, secrets/ and .sops.yaml. */
  readonly root: string;
  readonly registry: SchemaRegistry;
  /** Told each step, so that a step that never ends is named (the CLI's watchdog). */
  readonly watchdog?: Watchdog;
  /** Told each phase (load, render, validate, layout), for `--timings`. */
  readonly phases?: PhaseClock;
}

export interface SynthStats {
  readonly clusters: number;
  readonly apps: number;
  readonly objects: number;
  readonly files: number;
}

/** What synth knows of an app beyond its files: what the deep build checks the built folder against. */
export interface SynthApp {
  readonly name: string;
  /** `<cluster>/<app>`: where problems of the whole app are reported. */
  readonly constructPath: string;
  readonly dependsOn: readonly string[];
  /** The kustomization's `namespace:`, when it sets one. */
  readonly kustomizeNamespace?: string;
  readonly resources: readonly string[];
  readonly helmCharts: readonly HelmChartEntry[];
  readonly patches: readonly { readonly entry: PatchEntry; readonly constructPath: string }[];
  readonly encryptedFiles: readonly { readonly entry: EncryptedFileEntry; readonly constructPath: string }[];
  /** The CRDs the app's constructs say its upstream resources install. */
  readonly crds: CustomResourceApp['declaredCrds'];
}

export interface SynthCluster {
  readonly name: string;
  readonly definition: ClusterDefinition<unknown>;
  readonly inventory: unknown;
  readonly apps: readonly SynthApp[];
  /** The renderer the composition configures (ArgoCD's repo server), when one does. */
  readonly toolchain?: RenderToolchain;
  readonly externalCustomResources: readonly ExternalCustomResources[];
  /** The composition's policies and those its constructs registered, each name once. */
  readonly policies: readonly ClusterPolicy[];
}

export interface SynthResult {
  /** Paths relative to dist (`<cluster>/<app>/<file>`) to content; empty when there are problems. */
  readonly files: Map<string, string>;
  readonly problems: Problem[];
  readonly stats: SynthStats;
  /** Every cluster rendered, with what the deep build needs; empty when there are problems. */
  readonly clusters: readonly SynthCluster[];
  /** Example values still in the project, to replace before the first sync. */
  readonly examples: readonly FoundExample[];
  /** Findings of the cluster checks on objects of constructs that refused their props, not reported. */
  readonly heldBack: number;
}

/** An example value, where it was found. */
export interface FoundExample extends ExampleValue {
  readonly cluster: string;
  /** The file, or the construct path when the value is not in a file of the project. */
  readonly where: string;
}

/**
 * The cluster's example values: the composition's (its inventory), those its constructs report
 * (unless the inventory already lists the same value), and every SOPS file encrypted for an
 * example recipient.
 */
function clusterExamples(
  cluster: { readonly name: string; readonly definition: ClusterDefinition<unknown>; readonly inventory: unknown },
  rendered: readonly { readonly examples: readonly { readonly example: ExampleValue; readonly constructPath: string }[] }[],
  encrypted: readonly { readonly source: string; readonly manifest: Manifest }[],
  problems: Problem[],
): FoundExample[] {
  let declared: readonly ExampleValue[] = [];
  try {
    // The composition's examples are the inventory's: in its file unless they name another.
    const inventoryFile = `inventory/${cluster.name}.json`;
    declared = (cluster.definition.examples?.(cluster.inventory) ?? []).map((example) => ({
      ...example,
      file: example.file ?? inventoryFile,
    }));
  } catch (error) {
    problems.push({
      origin: { constructPath: cluster.name },
      rule: 'example',
      message: error instanceof Error ? error.message : String(error),
    });
  }
  const found: FoundExample[] = declared.map((example) => ({ ...example, cluster: cluster.name, where: example.file ?? cluster.name }));
  const values = new Set(declared.map((example) => example.value));
  for (const { example, constructPath } of rendered.flatMap((app) => app.examples)) {
    if (values.has(example.value)) continue;
    values.add(example.value);
    found.push({ ...example, cluster: cluster.name, where: example.file ?? constructPath });
  }
  for (const file of encrypted) {
    const recipient = sopsRecipients(file.manifest).age.find((candidate) => declared.some((example) => example.value === candidate));
    if (recipient === undefined) continue;
    const example = declared.find((candidate) => candidate.value === recipient);
    found.push({
      cluster: cluster.name,
      where: file.source,
      field: 'sops.age',
      value: recipient,
      replace: `encrypted for the example age key ${recipient.slice(0, 12)}... (${example?.file ?? 'inventory'} ${example?.field ?? ''}), whose private key is public: re-encrypt it with real values for your own keys (docs/secrets.md)`,
    });
  }
  return found;
}

/** Gives namespaced objects that name no namespace their app's namespace. */
async function defaultNamespaces(
  objects: readonly SourcedObject[],
  namespace: string | undefined,
  registry: SchemaRegistry,
): Promise<SourcedObject[]> {
  if (namespace === undefined) return [...objects];
  return Promise.all(objects.map(async (object) => ({ ...object, manifest: await withNamespace(object.manifest, namespace, registry) })));
}

/** Reads the hand-written manifest files an app includes; their objects keep file and construct path. */
export function includedObjects(root: string, app: RenderedApp, problems: Problem[]): SourcedObject[] {
  const objects: SourcedObject[] = [];
  for (const { source, constructPath } of app.manifestFiles) {
    const read = readProjectFile(root, source);
    if ('error' in read) {
      problems.push({ origin: { constructPath, file: source }, rule: 'manifest.file', message: `the manifest file ${read.error}` });
      continue;
    }
    const parsed = parseManifests(read.content, source);
    problems.push(...parsed.problems.map((problem) => ({ ...problem, origin: { ...problem.origin, constructPath } })));
    objects.push(...parsed.objects.map((object) => ({ ...object, origin: { ...object.origin, constructPath } })));
  }
  return objects;
}

/**
 * The checks a cluster runs: those its composition lists, then those its constructs registered
 * that the composition does not list by name (a construct's own checks cannot be left out).
 */
function clusterPolicies(
  cluster: { readonly name: string; readonly definition: ClusterDefinition<unknown>; readonly inventory: unknown },
  registered: readonly ClusterPolicy[],
  problems: Problem[],
  root: string,
): readonly ClusterPolicy[] {
  let listed: readonly ClusterPolicy[] = [];
  try {
    listed = cluster.definition.policies?.(cluster.inventory) ?? [];
    if (!Array.isArray(listed)) throw new Error('policies() must return a list');
    listed.forEach((policy: Partial<ClusterPolicy> | undefined, index) => {
      if (typeof policy?.name !== 'string' || typeof policy.check !== 'function') {
        throw new Error(`policies() item ${index + 1} is not a cluster policy ({ name, check(objects, context) })`);
      }
    });
  } catch (error) {
    const reason = describeThrown(error, root);
    problems.push({ origin: { constructPath: cluster.name }, rule: 'policy', message: `the composition's policies failed: ${reason}` });
    listed = [];
  }
  const names = new Set(listed.map((policy) => policy.name));
  return [...listed, ...registered.filter((policy) => !names.has(policy.name))];
}

/** The CRDs a cluster declares as installed outside its composition; a failing declaration is a problem. */
function externalCustomResources(
  cluster: { readonly name: string; readonly definition: ClusterDefinition<unknown>; readonly inventory: unknown },
  problems: Problem[],
): readonly ExternalCustomResources[] {
  try {
    const declared = cluster.definition.externalCustomResources?.(cluster.inventory) ?? [];
    if (!Array.isArray(declared)) throw new Error('externalCustomResources() must return a list');
    return declared;
  } catch (error) {
    problems.push({ origin: { constructPath: cluster.name }, rule: 'crd.external', message: describeThrown(error) });
    return [];
  }
}

/** Renders and validates every cluster of the project; returns the dist tree or every problem found. */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const { root, registry, watchdog, phases } = options;
  phases?.enter('load');
  const loaded = await loadClusters(root, watchdog);
  const problems: Problem[] = [...loaded.problems];
  const files = new Map<string, string>();
  const sops = { loaded: false, value: {} as ReturnType<typeof loadSopsConfig> };
  let apps = 0;
  let objects = 0;
  const synthClusters: SynthCluster[] = [];
  const examples: FoundExample[] = [];
  let heldBack = 0;

  for (const cluster of loaded.clusters) {
    phases?.enter('render');
    const rendered = withoutHost(root, () => renderCluster(cluster.name, cluster.definition, cluster.inventory, { root, watchdog }));
    problems.push(...rendered.problems);
    // The renderer must be able to build what every app uses.
    const toolchain = clusterToolchain(
      cluster.name,
      rendered.apps.flatMap((app) => app.toolchains),
      problems,
    );
    if (toolchain) {
      problems.push(
        ...checkToolchain(
          toolchain,
          rendered.apps.map((app) => ({
            app: app.name,
            constructPath: `${cluster.name}/${app.name}`,
            helmCharts: app.helmCharts.length,
            execFunctions: app.encryptedFiles.length > 0 ? [KSOPS_EXEC] : [],
          })),
        ),
      );
    }
    const perApp: {
      app: RenderedApp;
      objects: SourcedObject[];
      encrypted: { manifest: Manifest; content: string; source: string }[];
      kustomizeNamespace?: string;
    }[] = [];
    const clusterObjects: (SourcedObject & { readonly app: string })[] = [];
    const sopsFileObjects = new WeakSet<Manifest>();
    for (const app of rendered.apps) {
      const appObjects = await defaultNamespaces([...app.objects, ...includedObjects(root, app, problems)], app.namespace, registry);
      const request = kustomizeNamespaceOf(app.kustomizeNamespaces, problems);
      const kustomizeNamespace = request?.namespace;
      if (request !== undefined) {
        // The Application's destination (and CreateNamespace) is the app's namespace: they must agree.
        if (app.namespace !== undefined && app.namespace !== request.namespace) {
          problems.push({
            origin: { constructPath: request.constructPath },
            rule: 'kustomize.namespace',
            message: `asks for the kustomization namespace "${request.namespace}", but app "${app.name}" is in namespace "${app.namespace}" (its Application's destination, which ArgoCD creates): set the app's namespace to "${request.namespace}" or ask for "${app.namespace}"`,
          });
        }
        problems.push(...checkKustomizeNamespace(request.namespace, appObjects, app.helmCharts, request.constructPath));
      }
      const encrypted: { manifest: Manifest; content: string; source: string }[] = [];
      for (const { entry, constructPath } of app.encryptedFiles) {
        if (!sops.loaded) sops.value = loadSopsConfig(root);
        sops.loaded = true;
        const checked = checkEncryptedFile(root, entry, constructPath, sops.value, kustomizeNamespace);
        problems.push(...checked.problems);
        if (checked.file) {
          encrypted.push({ manifest: checked.file.object.manifest, content: checked.file.content, source: entry.source });
          sopsFileObjects.add(checked.file.object.manifest);
          clusterObjects.push({ ...checked.file.object, app: app.name });
        }
      }
      perApp.push({ app, objects: appObjects, encrypted, kustomizeNamespace });
    }
    const external = externalCustomResources(cluster, problems);
    // Every custom resource's CRD is accounted for; those arriving in the same sync skip the dry run.
    const customResources = checkCustomResources(
      cluster.name,
      perApp.map(({ app, objects: appObjects }) => ({
        name: app.name,
        dependsOn: app.dependsOn,
        objects: appObjects,
        declaredCrds: app.crds,
      })),
      external,
    );
    problems.push(...customResources.problems);
    for (const entry of perApp) {
      entry.objects = customResources.objects.get(entry.app.name) ?? entry.objects;
      clusterObjects.push(...entry.objects.map((object) => ({ ...object, app: entry.app.name })));
    }
    // Secrets reach dist only as SOPS files behind KSOPS: nothing else may carry secret values.
    phases?.enter('validate');
    const validation = await validateObjects(clusterObjects, { registry, sopsFile: (object) => sopsFileObjects.has(object.manifest) });
    problems.push(...validation.problems);
    // Validation keeps each object's app, List items included.
    const policyObjects: readonly PolicyObject[] = validation.objects;
    const closure = dependencyClosure(rendered.apps);
    const policyContext: PolicyContext = {
      cluster: cluster.name,
      apps: rendered.apps.map((app) => app.name),
      syncsAfter: (app, other) => closure.get(app)?.has(other) ?? false,
    };
    const policies = withoutHost(root, () => clusterPolicies(cluster, rendered.policies, problems, root));
    // A construct that refused its own props already said what is wrong with its objects: the
    // cluster checks' findings on them would say it again, in other words.
    const refused = rendered.problems
      .filter((problem) => problem.rule === 'construct')
      .map((problem) => problem.origin.constructPath ?? '');
    const onRefused = (problem: Problem) =>
      refused.some(
        (path) => path !== '' && (problem.origin.constructPath === path || problem.origin.constructPath?.startsWith(`${path}/`)),
      );
    for (const policy of policies) {
      watchdog?.step(`running the check ${policy.name} of cluster ${cluster.name}`);
      try {
        // A policy is construct code: it runs without the host like a build.
        const found = withoutHost(root, () => policy.check(policyObjects, policyContext));
        heldBack += found.filter(onRefused).length;
        problems.push(...found.filter((problem) => !onRefused(problem)));
      } catch (error) {
        const reason = describeThrown(error, root);
        problems.push({ origin: { constructPath: cluster.name }, rule: `policy.${policy.name}`, message: `the policy failed: ${reason}` });
      }
    }

    phases?.enter('layout');
    for (const { app, objects: appObjects, encrypted, kustomizeNamespace } of perApp) {
      const layout = layoutApp({
        appName: app.name,
        namespace: kustomizeNamespace,
        objects: appObjects,
        encryptedFiles: encrypted,
        resources: app.resources,
        helmCharts: app.helmCharts,
        patches: app.patches,
      });
      problems.push(...layout.problems);
      for (const [file, content] of layout.files) files.set(`${cluster.name}/${app.name}/${file}`, content);
      apps += 1;
      objects += appObjects.length + encrypted.length;
    }
    examples.push(
      ...clusterExamples(
        cluster,
        rendered.apps,
        perApp.flatMap(({ encrypted }) => encrypted),
        problems,
      ),
    );
    synthClusters.push({
      name: cluster.name,
      definition: cluster.definition,
      inventory: cluster.inventory,
      toolchain,
      externalCustomResources: external,
      policies,
      apps: perApp.map(({ app, kustomizeNamespace }) => ({
        name: app.name,
        constructPath: `${cluster.name}/${app.name}`,
        dependsOn: app.dependsOn,
        kustomizeNamespace,
        resources: app.resources,
        helmCharts: app.helmCharts,
        patches: app.patchSources,
        encryptedFiles: app.encryptedFiles,
        crds: app.crds,
      })),
    });
  }
  // A broken .sops.yaml is one problem, not one per SOPS file.
  const sopsError = sops.loaded && !sops.value.config ? sops.value.error : undefined;
  if (sopsError !== undefined) {
    const repeated = problems.filter((problem) => problem.rule === 'sops.config' && problem.message === sopsError);
    if (repeated.length > 1) {
      const first = problems.indexOf(repeated[0] as Problem);
      const kept = problems.filter((problem) => !repeated.includes(problem));
      kept.splice(first, 0, {
        origin: { file: '.sops.yaml' },
        rule: 'sops.config',
        message: `${sopsError.replace(/^\.sops\.yaml: /, '')} (${repeated.length} SOPS files cannot be checked until it is fixed)`,
      });
      problems.splice(0, problems.length, ...kept);
    }
  }
  // A promise app code left behind fails in a later turn of the event loop: let it, so that the
  // command reports it (cli/project.ts) before anything is written.
  await new Promise<void>((resolve) => setImmediate(resolve));
  files.set(OUTPUT_MARKER_FILE, OUTPUT_MARKER_TEXT);
  const stats = { clusters: loaded.clusters.length, apps, objects, files: files.size };
  if (problems.length > 0) return { files: new Map(), problems, stats, clusters: [], examples: [], heldBack };
  return { files, problems, stats, clusters: synthClusters, examples, heldBack };
}
