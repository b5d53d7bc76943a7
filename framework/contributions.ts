import type { IConstruct } from 'constructs';

/**
 * Constructs add entries to their app's kustomization through this protocol; the pipeline
 * collects them without knowing which component they belong to.
 */
export const KUSTOMIZE_CONTRIBUTION: unique symbol = Symbol.for('cdk8s-gitops.kustomize-contribution');

/** A `helmCharts` entry of a kustomization (kustomize's HelmChartInflationGenerator). */
export interface HelmChartEntry {
  readonly name: string;
  readonly repo: string;
  readonly version: string;
  readonly releaseName: string;
  readonly namespace: string;
  readonly includeCRDs?: boolean;
  readonly valuesInline?: Record<string, unknown>;
}

/** A kustomize patch applied to the app's resources (typically to pinned upstream objects). */
export interface PatchEntry {
  readonly target: {
    readonly group?: string;
    readonly version?: string;
    readonly kind: string;
    readonly name?: string;
    readonly namespace?: string;
  };
  /** Strategic-merge patch or JSON6902 operations, as data. */
  readonly patch: Record<string, unknown> | readonly Record<string, unknown>[];
}

/** A SOPS-encrypted manifest in the repository, decrypted by KSOPS when ArgoCD builds the app. */
export interface EncryptedFileEntry {
  /** Path relative to the project root, e.g. `secrets/<cluster>/<app>/token.sops.yaml`. */
  readonly source: string;
  /** The object the file must hold. */
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  /**
   * How kustomize combines the decrypted object with one of the same name the app already has
   * (from an upstream manifest): `merge` adds its keys. The file must carry the matching
   * `kustomize.config.k8s.io/behavior` annotation. @default 'create'
   */
  readonly behavior?: 'create' | 'merge' | 'replace';
  /** Keys the Secret must hold under `data` or `stringData` (SOPS leaves keys readable). @default none */
  readonly keys?: readonly string[];
  /**
   * The plaintext object of an example file (placeholder values), which `npm run new` encrypts
   * for a new cluster. @default a Secret with an obviously fake value for each key
   */
  readonly example?: () => Record<string, unknown>;
}

/** A hand-written YAML file of plain objects, included in the app and checked like rendered ones. */
export interface ManifestFileEntry {
  /** Path relative to the project root. */
  readonly source: string;
}

/** Custom resource kinds of one API group whose CRDs an upstream resource installs. */
export interface CustomResourceKinds {
  readonly group: string;
  readonly kinds: readonly string[];
  /**
   * The CRDs are not among the rendered objects: a workload of the app registers them when it
   * starts (an operator creating its own CRDs), as this says. The deep build then counts them as
   * installed by the app although no built object defines them. @default rendered with the app
   */
  readonly registeredAtRuntime?: string;
}

/**
 * The tools that build every app folder inside the cluster (for ArgoCD, its repo server), as
 * data: synth checks that they can render what the apps use, and the deep build runs the same
 * build options. Contributed once per cluster, by the construct that configures the renderer.
 */
export interface RenderToolchain {
  /** Who renders, for messages, e.g. `Argo CD v3.5.1's repo server`. */
  readonly renderer: string;
  readonly kustomize: {
    /** Exact version, e.g. `5.8.1`. */
    readonly version: string;
    /** Where that version comes from, e.g. `bundled with Argo CD v3.5.1`. */
    readonly source: string;
  };
  /** Exact versions of the helm binaries kustomize can run, e.g. `['4.2.1']`. */
  readonly helm: readonly string[];
  /** Flags given to `kustomize build`, e.g. `--enable-helm`. */
  readonly buildOptions: readonly string[];
  /** Executables on the renderer's PATH that KRM exec functions may name (e.g. `ksops`). */
  readonly execFunctions: readonly string[];
  /** The age recipient whose identity the renderer decrypts SOPS files with, when known. */
  readonly decryptsFor?: string;
}

export interface KustomizeEntries {
  readonly resources?: readonly string[];
  readonly helmCharts?: readonly HelmChartEntry[];
  readonly patches?: readonly PatchEntry[];
  readonly encryptedFiles?: readonly EncryptedFileEntry[];
  readonly manifestFiles?: readonly ManifestFileEntry[];
  /** CRDs the app installs through upstream resources synth does not render (charts, remote manifests). */
  readonly crds?: readonly CustomResourceKinds[];
  /**
   * The kustomization's `namespace:`: kustomize sets it on every namespaced object of the app,
   * for upstream manifests that leave their objects without one (applying them as they are
   * would install into whatever namespace kubectl or ArgoCD defaults to). Every contributor of
   * one app must agree, and the app's own objects must already be in it. @default none
   */
  readonly namespace?: string;
  /** The cluster's renderer, from the construct that configures it. @default none */
  readonly toolchain?: RenderToolchain;
  /** Values the construct can tell are examples (an address at a reserved domain). @default none */
  readonly examples?: readonly ExampleValue[];
}

/**
 * A value that only stands in for the operator's own (an address at example.com, an example
 * key): synth lists every one to replace before the first sync, and fails with `--production`.
 */
export interface ExampleValue {
  /** The file holding it, relative to the project root, when it is in one. */
  readonly file?: string;
  /** The field, e.g. `acme.email` or `spec.acme.email`. */
  readonly field: string;
  readonly value: string;
  /** What it is and what to put instead. */
  readonly replace: string;
}

export interface KustomizeContributor extends IConstruct {
  readonly [KUSTOMIZE_CONTRIBUTION]: () => KustomizeEntries;
}

export function isKustomizeContributor(construct: IConstruct): construct is KustomizeContributor {
  return typeof (construct as Partial<KustomizeContributor>)[KUSTOMIZE_CONTRIBUTION] === 'function';
}

/** The executable the KSOPS generator runs as a KRM exec function (found on the renderer's PATH). */
export const KSOPS_EXEC = 'ksops';
