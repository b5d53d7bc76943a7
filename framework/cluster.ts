import type { IConstruct } from 'constructs';
import type { Addon } from './addons.js';
import type { AppChart } from './app-chart.js';
import type { ExampleValue } from './contributions.js';
import type { Manifest, Origin, Problem } from './model.js';

/**
 * One ArgoCD Application: a folder `dist/<cluster>/<name>/`. `O` is what the app provides to the
 * apps that depend on it (the value its build returns, read with `chart.use(app)`).
 */
export interface AppDefinition<I, O = void> {
  /** Folder and Application name: a DNS-1123 label. */
  readonly name: string;
  /** Namespace given to namespaced objects that do not name one. */
  readonly namespace?: string;
  /** Apps of the same cluster that must be synced and healthy first (their CRDs, issuers, ...). @default none */
  readonly dependsOn?: readonly AppDefinition<I, unknown>[];
  /** Apply with server-side apply (for apps carrying CRDs too large for client-side apply). @default false */
  readonly serverSideApply?: boolean;
  /**
   * Deleting the app's Application leaves its objects in the cluster (no cascade finalizer): for
   * apps the cluster cannot lose by a removed or renamed Application, such as its CNI. @default false
   */
  readonly keepResourcesOnDelete?: boolean;
  /**
   * Adds the app's constructs to its chart. Reads nothing but the typed inventory, the cluster's
   * app list and what the apps it depends on provide (`chart.use(dependency)`); returns what it
   * provides to the apps that depend on it (objects such as ClusterIssuers or a Middleware).
   * Apps are built after the apps they depend on.
   */
  build(chart: AppChart, inventory: I, cluster: ClusterApps): O;
}

/** The names of the apps `app` depends on (a JavaScript composition may also give names). */
export function dependencyNames(app: { readonly dependsOn?: readonly unknown[] }): string[] {
  return (app.dependsOn ?? []).map((dependency) =>
    typeof dependency === 'string' ? dependency : String((dependency as { name?: unknown } | null)?.name ?? dependency),
  );
}

/** What an app may know about its cluster's apps: enough to generate one GitOps Application per app. */
export interface ClusterApps {
  readonly name: string;
  readonly apps: readonly AppSummary[];
  /**
   * The upstream sources the cluster's apps pin (Helm chart repositories, remote manifest URLs),
   * sorted. Complete only once every app is built: call it lazily (cdk8s `Lazy.any`), it throws
   * when called during build().
   */
  pinnedSources(): readonly string[];
}

export interface AppSummary {
  readonly name: string;
  readonly namespace?: string;
  readonly dependsOn: readonly string[];
  /** Sync wave from the dependencies: 0 without any, else one after the latest. */
  readonly wave: number;
  readonly serverSideApply: boolean;
  readonly keepResourcesOnDelete?: boolean;
}

/**
 * The composition of a cluster, the default export of `apps/<cluster>.ts`. The pipeline reads
 * `inventory/<cluster>.json` once and hands the parsed inventory to `apps`.
 */
export interface ClusterDefinition<I> {
  /** Turns the inventory JSON into typed facts; throws InventoryError listing every problem. */
  parseInventory(data: unknown): I;
  apps(inventory: I): readonly AppDefinition<I, unknown>[];
  /**
   * Custom resource groups (or some of their kinds) whose CRDs are installed outside this
   * composition, each with the reason. Every other custom resource's CRD must come from its own
   * app or an app it depends on. @default none
   */
  externalCustomResources?(inventory: I): readonly ExternalCustomResources[];
  /**
   * Cross-cutting behaviour the cluster opts into (metrics scraping, say), applied in order over
   * every app's construct tree once all apps are built, before anything is collected or
   * validated. @default none
   */
  addons?(inventory: I): readonly Addon[];
  /** Cluster-wide checks run over every object of every app once each object is valid. @default none */
  policies?(inventory: I): readonly ClusterPolicy[];
  /**
   * The inventory's example values (placeholders the operator replaces), each in
   * `inventory/<cluster>.json` unless it names another file. A SOPS file encrypted for an age
   * recipient listed here is an example-encrypted secret. @default none
   */
  examples?(inventory: I): readonly ExampleValue[];
}

/** CRDs the cluster has without any app of the composition installing them. */
export interface ExternalCustomResources {
  readonly group: string;
  /** @default every kind of the group */
  readonly kinds?: readonly string[];
  /** Why they are there (for the reader of the composition). */
  readonly reason: string;
}

/** An object as a cluster policy sees it: valid, namespaced where it must be, with its app. */
export interface PolicyObject {
  readonly manifest: Manifest;
  readonly origin: Origin;
  readonly app: string;
}

/**
 * A check over the whole cluster (for example: every Ingress names an issuer that exists). It
 * returns every problem it finds; the pipeline reports them with the others and writes nothing.
 */
export interface ClusterPolicy {
  readonly name: string;
  check(objects: readonly PolicyObject[], context?: PolicyContext): readonly Problem[];
}

/** What a policy may ask about the composition beyond its objects (synth always passes it). */
export interface PolicyContext {
  /** The cluster being checked. */
  readonly cluster?: string;
  /** Every app of the cluster, by name, in the composition's order. */
  readonly apps?: readonly string[];
  /**
   * Whether app `app` syncs after app `other`: `other` is among its dependencies, directly or
   * through other apps (the same app does not count).
   */
  syncsAfter(app: string, other: string): boolean;
  /**
   * The objects are everything the apps' folders build to, upstream manifests and charts
   * included (the deep build): a reference that none of them satisfies is then a real problem.
   * A plain synth sees only the project's own objects. @default false
   */
  readonly built?: boolean;
}

const REGISTERED_POLICIES: unique symbol = Symbol.for('homelab-cdk8s.cluster-policies');

/**
 * Registers cluster checks a construct depends on, so that no composition can forget them: they
 * run over the whole cluster whenever the construct is part of it. Registering is idempotent by
 * policy name (the first registration of a name wins), and any scope of the cluster finds the
 * same registry.
 */
export function registerPolicies(scope: IConstruct, ...policies: readonly ClusterPolicy[]): void {
  const root = scope.node.root as unknown as Record<symbol, Map<string, ClusterPolicy> | undefined>;
  const registry = root[REGISTERED_POLICIES] ?? new Map<string, ClusterPolicy>();
  root[REGISTERED_POLICIES] = registry;
  for (const policy of policies) if (!registry.has(policy.name)) registry.set(policy.name, policy);
}

/** The policies constructs under `scope`'s root registered, in registration order. */
export function registeredPolicies(scope: IConstruct): readonly ClusterPolicy[] {
  const root = scope.node.root as unknown as Record<symbol, Map<string, ClusterPolicy> | undefined>;
  return [...(root[REGISTERED_POLICIES]?.values() ?? [])];
}

export function defineCluster<I>(definition: ClusterDefinition<I>): ClusterDefinition<I> {
  return definition;
}

export interface InventoryIssue {
  /** JSON path, e.g. `hosts[1].ipv4`. */
  readonly path: string;
  readonly message: string;
}

export class InventoryError extends Error {
  readonly issues: readonly InventoryIssue[];
  constructor(issues: readonly InventoryIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
    this.name = 'InventoryError';
    this.issues = issues;
  }
}
