// The one way tests render constructs and apps: through the pipeline's own render (an app chart
// in a cluster, addons applied, contributions collected, every construct validated), so a test
// sees what synth sees, and finds objects by kind and name.
import type { Addon } from '../../framework/addons.js';
import type { AppChart } from '../../framework/app-chart.js';
import { type AppDefinition, defineCluster } from '../../framework/cluster.js';
import { type Manifest, objectRef } from '../../framework/model.js';
import { type RenderedApp, type RenderResult, renderCluster } from '../../pipeline/render.js';

/** A rendered object: its manifest as a loosely typed tree, for reading fields in assertions. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields of rendered manifests.
export type TestObject = Record<string, any>;

export interface RenderOptions<I> {
  /** @default 'lab' */
  readonly cluster?: string;
  /** The app the scope is built in. @default 'web' */
  readonly app?: string;
  /** The app's namespace. @default the app's name */
  readonly namespace?: string;
  /** What build() and the other apps receive. @default {} */
  readonly inventory?: I;
  /**
   * Addons applied over the cluster, as a composition lists them; or the composition's
   * `addons(inventory)` itself, for tests of what the render makes of a list that fails. @default none
   */
  readonly addons?: readonly Addon[] | ((inventory: I) => readonly Addon[]);
  /** Other apps of the cluster (what the scope's app may depend on and `use`). @default none */
  readonly apps?: readonly AppDefinition<I, unknown>[];
  /** The scope's app's dependencies. @default none */
  readonly dependsOn?: AppDefinition<I, unknown>['dependsOn'];
}

export interface Rendered<T> {
  /** What build returned (the constructs under test); throws when build threw. */
  readonly built: T;
  /** Every object of the scope's app, in construct-tree order. */
  readonly objects: TestObject[];
  /** Every problem of the cluster, as `construct/path: message`. */
  readonly problems: string[];
  /** The same problems' messages alone, for tests of one construct's checks. */
  readonly messages: string[];
  /** The scope's app as the pipeline rendered it: helm charts, patches, SOPS files, CRDs ... */
  readonly app: RenderedApp;
  readonly result: RenderResult;
  /** The object of that kind and name (and namespace, when given), or undefined. */
  find(kind: string, name: string, namespace?: string): TestObject | undefined;
  /** The object of that kind and name; throws, listing what there is, when it is missing. */
  get(kind: string, name: string, namespace?: string): TestObject;
  /** Every object of that kind. */
  all(kind: string): TestObject[];
  /** The construct path each object came from, by `Kind/name`. */
  origin(kind: string, name: string): string | undefined;
}

const label = (manifest: Manifest) => {
  const ref = objectRef(manifest);
  return `${ref.kind}/${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
};

/**
 * Renders `build` as the one app of a cluster (beside `options.apps`), the way synth renders an
 * app: `build` receives the app's chart (an AppChart, so SOPS files and `use` work as in an app).
 */
export function renderScope<T, I = unknown>(build: (chart: AppChart, inventory: I) => T, options: RenderOptions<I> = {}): Rendered<T> {
  const name = options.app ?? 'web';
  let built: { value: T } | undefined;
  const scopeApp: AppDefinition<I, unknown> = {
    name,
    namespace: options.namespace ?? name,
    ...(options.dependsOn ? { dependsOn: options.dependsOn } : {}),
    build(chart, inventory) {
      built = { value: build(chart, inventory) };
      return built.value;
    },
  };
  const result = renderApps([...(options.apps ?? []), scopeApp], options);
  return rendered(result, name, () => {
    if (!built) throw new Error(`the scope's build did not finish: ${renderedProblems(result).join('; ')}`);
    return built.value;
  });
}

/** Renders the app definitions `apps` as one cluster; the result describes the app named `name` (@default the last). */
export function renderApp<I>(
  apps: AppDefinition<I, unknown> | readonly AppDefinition<I, unknown>[],
  options: Omit<RenderOptions<I>, 'app' | 'namespace' | 'apps' | 'dependsOn'> & { readonly name?: string } = {},
): Rendered<unknown> {
  const list: readonly AppDefinition<I, unknown>[] = Array.isArray(apps) ? apps : [apps as AppDefinition<I, unknown>];
  const name = options.name ?? list.at(-1)?.name ?? '';
  return rendered(renderApps(list, options), name, () => {
    throw new Error('renderApp does not hold what build returned: use renderScope');
  });
}

function renderApps<I>(apps: readonly AppDefinition<I, unknown>[], options: RenderOptions<I>): RenderResult {
  const listed = options.addons ?? [];
  const addons = typeof listed === 'function' ? listed : () => listed;
  return renderCluster(
    options.cluster ?? 'lab',
    defineCluster<I>({ parseInventory: (data) => data as I, apps: () => apps, addons }),
    (options.inventory ?? {}) as I,
  );
}

function renderedProblems(result: RenderResult): string[] {
  return result.problems.map((problem) => `${problem.origin.constructPath}: ${problem.message}`);
}

function rendered<T>(result: RenderResult, name: string, built: () => T): Rendered<T> {
  const app = result.apps.find((candidate) => candidate.name === name);
  if (!app) throw new Error(`app ${name} was not rendered: ${renderedProblems(result).join('; ')}`);
  const objects = app.objects.map((object) => object.manifest as TestObject);
  const matches = (manifest: TestObject, kind: string, objectName: string, namespace?: string) =>
    manifest.kind === kind &&
    manifest.metadata?.name === objectName &&
    (namespace === undefined || manifest.metadata?.namespace === namespace);
  const find = (kind: string, objectName: string, namespace?: string) => objects.find((o) => matches(o, kind, objectName, namespace));
  return {
    get built() {
      return built();
    },
    objects,
    problems: renderedProblems(result),
    messages: result.problems.map((problem) => problem.message),
    app,
    result,
    find,
    get(kind, objectName, namespace) {
      const found = find(kind, objectName, namespace);
      if (!found) {
        throw new Error(`no ${kind} ${objectName}${namespace ? ` in ${namespace}` : ''}; there are: ${objects.map(label).join(', ')}`);
      }
      return found;
    },
    all: (kind) => objects.filter((o) => o.kind === kind),
    origin: (kind, objectName) => app.objects.find((o) => matches(o.manifest as TestObject, kind, objectName))?.origin.constructPath,
  };
}
