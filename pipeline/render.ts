import { ApiObject, App, Chart } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import { type Addon, addonError, applyAddons } from '../framework/addons.js';
import { AppChart, type AppChartProps } from '../framework/app-chart.js';
import {
  type AppDefinition,
  type ClusterApps,
  type ClusterDefinition,
  type ClusterPolicy,
  dependencyNames,
  registeredPolicies,
} from '../framework/cluster.js';
import {
  type CustomResourceKinds,
  type EncryptedFileEntry,
  type ExampleValue,
  type HelmChartEntry,
  isKustomizeContributor,
  KUSTOMIZE_CONTRIBUTION,
  type PatchEntry,
  type RenderToolchain,
} from '../framework/contributions.js';
import { compareStrings, type Problem, type SourcedObject } from '../framework/model.js';
import { dns1123LabelError } from '../framework/rules/metadata.js';
import { dependencyClosure } from './custom-resources.js';
import { orderByDependencies } from './order.js';
import { describeThrown } from './thrown.js';
import type { Watchdog } from './watchdog.js';

export interface RenderedApp {
  readonly cluster: string;
  readonly name: string;
  readonly namespace?: string;
  /** Sync wave derived from the apps it depends on (0 without dependencies). */
  readonly wave?: number;
  readonly dependsOn: readonly string[];
  readonly objects: SourcedObject[];
  readonly resources: string[];
  readonly helmCharts: HelmChartEntry[];
  readonly patches: PatchEntry[];
  /** The same patches with the construct that contributed each. */
  readonly patchSources: { readonly entry: PatchEntry; readonly constructPath: string }[];
  readonly encryptedFiles: { readonly entry: EncryptedFileEntry; readonly constructPath: string }[];
  readonly manifestFiles: { readonly source: string; readonly constructPath: string }[];
  readonly crds: { readonly crds: CustomResourceKinds; readonly constructPath: string }[];
  /** The kustomization `namespace:` each contributor asks for (they must agree). */
  readonly kustomizeNamespaces: { readonly namespace: string; readonly constructPath: string }[];
  /** Example values the app's constructs report. */
  readonly examples: { readonly example: ExampleValue; readonly constructPath: string }[];
  /** Renderer toolchains the app's constructs declare (a cluster has at most one). */
  readonly toolchains: { readonly toolchain: RenderToolchain; readonly constructPath: string }[];
}

export interface RenderResult {
  readonly apps: RenderedApp[];
  readonly problems: Problem[];
  /** The cluster checks the apps' constructs registered (registerPolicies). */
  readonly policies: readonly ClusterPolicy[];
  /** The construct tree every app was built into, for tools that look for constructs of one kind. */
  readonly scope: Construct;
}

/** How a render reports on what it does, and where thrown errors point. */
export interface RenderOptions {
  /** Project root: a thrown error names the project file and line it came from. */
  readonly root?: string;
  /** Told each step (an app's build), so that a step that never ends is named. */
  readonly watchdog?: Watchdog;
}

interface BuiltApp {
  readonly rendered: RenderedApp;
  /** Absent when build() failed: nothing of the app is collected. */
  readonly chart?: Chart;
  /** What build() returned, for the apps that depend on it (`chart.use`). */
  readonly provided?: unknown;
}

/** How an app's chart reaches the rest of the cluster: what the other apps provided, and the order. */
interface ClusterScope {
  readonly provided: AppChartProps['provided'];
  readonly syncsAfter: AppChartProps['syncsAfter'];
}

/** Runs an app's build() into its own chart. */
function buildApp<I>(
  scope: Construct,
  cluster: ClusterApps,
  clusterScope: ClusterScope,
  app: AppDefinition<I, unknown>,
  wave: number | undefined,
  inventory: I,
  problems: Problem[],
  options: RenderOptions,
): BuiltApp {
  const message = (error: unknown) => describeThrown(error, options.root);
  options.watchdog?.step(`building app ${cluster.name}/${app.name}`);
  const chart = new AppChart(scope, {
    cluster: cluster.name,
    definition: app as AppDefinition<unknown, unknown>,
    provided: clusterScope.provided,
    syncsAfter: clusterScope.syncsAfter,
  });
  const rendered: RenderedApp = {
    cluster: cluster.name,
    name: app.name,
    namespace: app.namespace,
    wave,
    dependsOn: dependencyNames(app),
    objects: [],
    resources: [],
    helmCharts: [],
    patches: [],
    patchSources: [],
    encryptedFiles: [],
    manifestFiles: [],
    crds: [],
    kustomizeNamespaces: [],
    toolchains: [],
    examples: [],
  };
  let provided: unknown;
  try {
    provided = app.build(chart, inventory, cluster);
    if (typeof (provided as { then?: unknown } | undefined)?.then === 'function') {
      (provided as Promise<unknown>).catch(() => undefined);
      problems.push({
        origin: { constructPath: chart.node.path },
        rule: 'construct',
        message: 'build() returned a Promise: build must be synchronous, or objects added after an await are lost',
      });
      return { rendered };
    }
  } catch (error) {
    problems.push({ origin: { constructPath: chart.node.path }, rule: 'construct', message: message(error) });
    return { rendered };
  }
  return { rendered, chart, provided };
}

/**
 * The order apps are built in: each after the apps it depends on (so that it can use what they
 * provide), otherwise in the composition's order. Apps on a cycle keep the composition's order.
 */
function buildOrder<I>(apps: readonly AppDefinition<I, unknown>[]): AppDefinition<I, unknown>[] {
  const byName = new Map(apps.map((app) => [app.name, app]));
  const order: AppDefinition<I, unknown>[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (app: AppDefinition<I, unknown>) => {
    if (state.has(app.name)) return;
    state.set(app.name, 'visiting');
    for (const dependency of dependencyNames(app)) {
      const found = byName.get(dependency);
      if (found) visit(found);
    }
    state.set(app.name, 'done');
    order.push(app);
  };
  for (const app of apps) visit(app);
  return order;
}

/** Collects what an app's constructs add to its kustomization (before any object is serialized). */
function collectContributions({ rendered, chart }: BuiltApp, problems: Problem[], message: (error: unknown) => string): void {
  for (const construct of chart?.node.findAll() ?? []) {
    const constructPath = construct.node.path;
    if (isKustomizeContributor(construct)) {
      try {
        const entries = construct[KUSTOMIZE_CONTRIBUTION]();
        rendered.resources.push(...(entries.resources ?? []));
        rendered.helmCharts.push(...(entries.helmCharts ?? []));
        rendered.patches.push(...(entries.patches ?? []));
        for (const entry of entries.patches ?? []) rendered.patchSources.push({ entry, constructPath });
        for (const entry of entries.encryptedFiles ?? []) rendered.encryptedFiles.push({ entry, constructPath });
        for (const { source } of entries.manifestFiles ?? []) rendered.manifestFiles.push({ source, constructPath });
        for (const crds of entries.crds ?? []) rendered.crds.push({ crds, constructPath });
        if (entries.namespace !== undefined) rendered.kustomizeNamespaces.push({ namespace: entries.namespace, constructPath });
        if (entries.toolchain !== undefined) rendered.toolchains.push({ toolchain: entries.toolchain, constructPath });
        for (const example of entries.examples ?? []) rendered.examples.push({ example, constructPath });
      } catch (error) {
        problems.push({ origin: { constructPath }, rule: 'construct', message: message(error) });
      }
    }
  }
}

/** Validates the app's constructs and serializes its objects. */
function collectObjects({ rendered, chart }: BuiltApp, problems: Problem[], message: (error: unknown) => string): void {
  for (const construct of (chart?.node.findAll() ?? []) as IConstruct[]) {
    const constructPath = construct.node.path;
    for (const error of construct.node.validate()) {
      problems.push({ origin: { constructPath }, rule: 'construct', message: error });
    }
    if (ApiObject.isApiObject(construct)) {
      try {
        const manifest = construct.toJson() as Record<string, unknown>;
        for (const message of generatedIdentity(construct, manifest))
          problems.push({ origin: { constructPath }, rule: 'construct.name', message });
        rendered.objects.push({ manifest, origin: { constructPath } });
      } catch (error) {
        problems.push({ origin: { constructPath }, rule: 'construct', message: message(error) });
      }
    }
  }
}

/** The addons the composition opts into; a failing or malformed list is a problem and applies none of it. */
function clusterAddons<I>(
  cluster: string,
  definition: ClusterDefinition<I>,
  inventory: I,
  problems: Problem[],
  message: (error: unknown) => string,
): readonly Addon[] {
  let listed: unknown;
  try {
    listed = definition.addons?.(inventory) ?? [];
  } catch (error) {
    problems.push({ origin: { constructPath: cluster }, rule: 'addon', message: `the composition's addons failed: ${message(error)}` });
    return [];
  }
  if (!Array.isArray(listed)) {
    problems.push({ origin: { constructPath: cluster }, rule: 'addon', message: 'addons() must return a list of addons' });
    return [];
  }
  const errors = listed.flatMap((addon: unknown, index) => {
    const error = addonError(addon);
    return error === undefined ? [] : [`addons() item ${index + 1} ${error}`];
  });
  for (const error of errors) problems.push({ origin: { constructPath: cluster }, rule: 'addon', message: error });
  return errors.length === 0 ? (listed as Addon[]) : [];
}

/** Applies the addons to every app that built; a visit that throws is a problem at the construct visited. */
function applyClusterAddons(
  cluster: string,
  built: readonly BuiltApp[],
  addons: readonly Addon[],
  problems: Problem[],
  options: RenderOptions,
): void {
  if (addons.length === 0) return;
  for (const { rendered, chart } of built) {
    if (!chart) continue;
    options.watchdog?.step(`applying the addons to app ${cluster}/${rendered.name}`);
    for (const failure of applyAddons(chart, addons)) {
      problems.push({
        origin: { constructPath: failure.constructPath },
        rule: 'construct',
        message: `addon "${failure.addon}": ${describeThrown(failure.error, options.root)}`,
      });
    }
  }
}

/** The upstream sources an app pins: Helm chart repositories and remote manifest URLs. */
function pinnedSourcesOf(app: RenderedApp): string[] {
  return [...app.helmCharts.map((chart) => chart.repo), ...app.resources.filter((resource) => /^[a-z][a-z0-9+.-]*:\/\//.test(resource))];
}

/** A label cdk8s+ derives from the construct path; as an immutable selector it breaks on any refactor. */
const ADDRESS_LABEL = 'cdk8s.io/metadata.addr';

/**
 * Names and labels cdk8s generated from the construct path: they change when code moves, which
 * replaces objects in the cluster, so dist only takes explicit ones.
 */
function generatedIdentity(object: ApiObject, manifest: Record<string, unknown>): string[] {
  const problems: string[] = [];
  if (object.name === Chart.of(object).generateObjectName(object)) {
    problems.push(
      `${object.kind} has no explicit metadata.name (cdk8s would generate "${object.name}" from the construct path); set metadata.name`,
    );
  }
  if (JSON.stringify(manifest).includes(`"${ADDRESS_LABEL}"`)) {
    problems.push(
      `${object.kind} carries the label ${ADDRESS_LABEL}, derived from the construct path; give the workload explicit selector labels (cdk8s-plus: select: false plus explicit labels)`,
    );
  }
  return problems;
}

function appDefinitionError(app: unknown, index: number): string | undefined {
  const candidate = app as Partial<AppDefinition<unknown>> | undefined;
  if (typeof candidate !== 'object' || candidate === null)
    return `apps() item ${index + 1} is ${candidate === null ? 'null' : typeof candidate}, not an app definition`;
  if (typeof candidate.name !== 'string') return `apps() item ${index + 1} has no name (a string)`;
  if (typeof candidate.build !== 'function') return `app "${candidate.name}" has no build(chart, inventory) function`;
  if (candidate.namespace !== undefined && typeof candidate.namespace !== 'string')
    return `app "${candidate.name}" namespace must be a string`;
  return undefined;
}

/** Renders every app of one cluster; construct errors are collected with their construct paths. */
export function renderCluster<I>(
  cluster: string,
  definition: ClusterDefinition<I>,
  inventory: I,
  options: RenderOptions = {},
): RenderResult {
  const problems: Problem[] = [];
  const message = (error: unknown) => describeThrown(error, options.root);
  options.watchdog?.step(`listing the apps of cluster ${cluster}`);
  const scope = new Construct(new App({ outdir: '.' }), cluster);
  let apps: readonly AppDefinition<I, unknown>[];
  try {
    apps = definition.apps(inventory);
  } catch (error) {
    return {
      apps: [],
      problems: [{ origin: { constructPath: cluster }, rule: 'construct', message: message(error) }],
      policies: [],
      scope,
    };
  }
  if (!Array.isArray(apps)) {
    return {
      apps: [],
      problems: [{ origin: { constructPath: cluster }, rule: 'app', message: 'apps() must return a list of app definitions' }],
      policies: [],
      scope,
    };
  }
  const names = new Set<string>();
  const valid: AppDefinition<I, unknown>[] = [];
  for (const [index, app] of apps.entries()) {
    const definitionError = appDefinitionError(app, index);
    if (definitionError) {
      problems.push({ origin: { constructPath: cluster }, rule: 'app', message: definitionError });
      continue;
    }
    const nameError = dns1123LabelError(app.name);
    if (nameError) {
      problems.push({ origin: { constructPath: `${cluster}/${app.name}` }, rule: 'app', message: `app name "${app.name}" ${nameError}` });
      continue;
    }
    if (names.has(app.name)) {
      problems.push({
        origin: { constructPath: `${cluster}/${app.name}` },
        rule: 'app',
        message: `app "${app.name}" is defined twice in cluster ${cluster}`,
      });
      continue;
    }
    names.add(app.name);
    valid.push(app);
  }
  const ordering = orderByDependencies(valid.map((app) => ({ name: app.name, dependsOn: dependencyNames(app) })));
  for (const message of ordering.errors) problems.push({ origin: { constructPath: cluster }, rule: 'app.dependencies', message });
  let pinnedSources: readonly string[] | undefined;
  const clusterApps: ClusterApps = {
    name: cluster,
    pinnedSources: () => {
      if (pinnedSources === undefined) {
        throw new Error('pinnedSources() is complete only once every app is built: read it lazily (cdk8s Lazy.any)');
      }
      return pinnedSources;
    },
    apps: valid.map((app) => ({
      name: app.name,
      namespace: app.namespace,
      dependsOn: dependencyNames(app),
      wave: ordering.waves.get(app.name) ?? 0,
      serverSideApply: app.serverSideApply ?? false,
      ...(app.keepResourcesOnDelete ? { keepResourcesOnDelete: true } : {}),
    })),
  };
  // Every app is built before any object is serialized, so that an app may list what the others pin,
  // and after the apps it depends on, so that it may use what they provide.
  const builtByName = new Map<string, BuiltApp>();
  const closure = dependencyClosure(valid.map((app) => ({ name: app.name, dependsOn: dependencyNames(app) })));
  const clusterScope: ClusterScope = {
    provided: (app) => {
      const found = builtByName.get(app);
      return found?.chart ? { built: true, value: found.provided } : { built: false };
    },
    syncsAfter: (app, other) => closure.get(app)?.has(other) ?? false,
  };
  for (const app of buildOrder(valid)) {
    builtByName.set(app.name, buildApp(scope, clusterApps, clusterScope, app, ordering.waves.get(app.name), inventory, problems, options));
  }
  const built = valid.flatMap((app) => builtByName.get(app.name) ?? []);
  // Addons see every app complete, and what they add is collected and validated like the rest.
  applyClusterAddons(cluster, built, clusterAddons(cluster, definition, inventory, problems, message), problems, options);
  for (const app of built) {
    options.watchdog?.step(`collecting the contributions of app ${cluster}/${app.rendered.name}`);
    collectContributions(app, problems, message);
  }
  pinnedSources = [...new Set(built.flatMap(({ rendered }) => pinnedSourcesOf(rendered)))].sort(compareStrings);
  for (const app of built) {
    options.watchdog?.step(`validating and serializing the objects of app ${cluster}/${app.rendered.name}`);
    collectObjects(app, problems, message);
  }
  return { apps: built.map(({ rendered }) => rendered), problems, policies: registeredPolicies(scope), scope };
}
