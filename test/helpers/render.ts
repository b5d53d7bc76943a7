import { App, Chart } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { type Addon, applyAddons } from '../../framework/addons.js';
import { isKustomizeContributor, KUSTOMIZE_CONTRIBUTION, type KustomizeEntries } from '../../framework/contributions.js';
import type { Manifest } from '../../framework/model.js';

/** What a construct test sees of a rendered scope: its objects, its kustomization entries, its errors. */
export interface RenderedScope {
  readonly chart: Chart;
  /** Every object of the scope, as synth serializes it (addons applied first). */
  readonly objects: Manifest[];
  /** Every construct's kustomization entries (patches, resources, charts, SOPS files ...), in tree order. */
  readonly contributions: KustomizeEntries[];
  /** Every validation error of the tree, `path: message`, as synth reports construct problems. */
  readonly errors: string[];
  /** The one object of a kind and name; throws naming what there is otherwise. */
  find(kind: string, name: string): Manifest;
  /** The objects of a kind. */
  all(kind: string): Manifest[];
  /** Every entry of one field across the contributions (`entries('patches')`). */
  entries<K extends keyof KustomizeEntries>(field: K): NonNullable<KustomizeEntries[K]> extends readonly (infer E)[] ? E[] : never;
}

export interface RenderOptions {
  /** Addons applied over the scope before it is serialized, as a composition opts in. @default none */
  readonly addons?: readonly Addon[];
  /** Context values set on the chart before the build (cdk8s context). */
  readonly context?: Readonly<Record<string, unknown>>;
}

const nameOf = (object: Manifest) => (object.metadata as { name?: string } | undefined)?.name;

/**
 * Builds constructs into a chart as the pipeline builds an app (no generated name hashes) and
 * returns what synth would take from it. The one harness of the construct and app tests.
 */
export function renderScope(build: (chart: Chart) => void, options: RenderOptions = {}): RenderedScope {
  const chart = new Chart(new App(), 'test', { disableResourceNameHashes: true });
  for (const [key, value] of Object.entries(options.context ?? {})) chart.node.setContext(key, value);
  build(chart);
  const failures = applyAddons(chart, options.addons ?? []);
  if (failures.length > 0) throw new Error(`addon failed: ${JSON.stringify(failures)}`);
  const constructs: IConstruct[] = chart.node.findAll();
  const errors = constructs.flatMap((construct) => construct.node.validate().map((message) => `${construct.node.path}: ${message}`));
  const contributions = constructs.filter(isKustomizeContributor).map((construct) => construct[KUSTOMIZE_CONTRIBUTION]());
  // Serializing a tree with validation errors may throw: tests of errors read `errors` only.
  let serialized: Manifest[] | undefined;
  const objects = () => {
    serialized ??= chart.toJson() as Manifest[];
    return serialized;
  };
  return {
    chart,
    get objects() {
      return objects();
    },
    contributions,
    errors,
    find(kind, name) {
      const found = objects().filter((object) => object.kind === kind && nameOf(object) === name);
      if (found.length !== 1) {
        const have = objects().map((object) => `${String(object.kind)}/${nameOf(object) ?? '?'}`);
        throw new Error(`expected one ${kind} "${name}", found ${found.length} among: ${have.join(', ')}`);
      }
      return found[0] as Manifest;
    },
    all: (kind) => objects().filter((object) => object.kind === kind),
    entries: ((field: keyof KustomizeEntries) =>
      contributions.flatMap((entry) => {
        const value = entry[field];
        return Array.isArray(value) ? value : [];
      })) as RenderedScope['entries'],
  };
}
