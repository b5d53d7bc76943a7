import type { HelmChartEntry } from '../framework/contributions.js';
import { isRecord, type Manifest, objectRef, type Problem, type SourcedObject } from '../framework/model.js';
import { dns1123LabelError } from '../framework/rules/metadata.js';
import type { SchemaRegistry } from './schemas.js';

const RULE = 'kustomize.namespace';

export interface NamespaceRequest {
  readonly namespace: string;
  readonly constructPath: string;
}

/**
 * The namespace an app's kustomization sets (its `namespace:` field), from what its constructs
 * ask for: every request must be a valid namespace name and all must agree.
 */
export function kustomizeNamespaceOf(requests: readonly NamespaceRequest[], problems: Problem[]): NamespaceRequest | undefined {
  const valid: NamespaceRequest[] = [];
  for (const request of requests) {
    const error = typeof request.namespace === 'string' ? dns1123LabelError(request.namespace) : 'is not a string';
    if (error) {
      problems.push({
        origin: { constructPath: request.constructPath },
        rule: RULE,
        message: `the kustomization namespace "${String(request.namespace)}" ${error}`,
      });
    } else {
      valid.push(request);
    }
  }
  const [first, ...others] = valid;
  if (!first) return undefined;
  for (const other of others) {
    if (other.namespace !== first.namespace) {
      problems.push({
        origin: { constructPath: other.constructPath },
        rule: RULE,
        message: `asks for the kustomization namespace "${other.namespace}", but ${first.constructPath} asks for "${first.namespace}"; an app's kustomization has one namespace, so split the app or agree on one`,
      });
    }
  }
  return first;
}

function* withItems(manifest: Manifest): Generator<Manifest> {
  if (manifest.apiVersion === 'v1' && manifest.kind === 'List' && Array.isArray(manifest.items)) {
    for (const item of manifest.items) if (isRecord(item)) yield* withItems(item);
  } else {
    yield manifest;
  }
}

/**
 * Kustomize moves every namespaced object of an app whose kustomization sets a namespace into
 * it, so an object rendered for another namespace (or a chart released into one) would silently
 * land elsewhere: that is an error here.
 */
export function checkKustomizeNamespace(
  namespace: string,
  objects: readonly SourcedObject[],
  helmCharts: readonly HelmChartEntry[],
  origin: string,
): Problem[] {
  const problems: Problem[] = [];
  for (const object of objects) {
    for (const manifest of withItems(object.manifest)) {
      const ref = objectRef(manifest);
      if (manifest.apiVersion === 'v1' && manifest.kind === 'Namespace' && ref.name !== namespace) {
        problems.push({
          origin: object.origin,
          object: ref,
          rule: RULE,
          message: `is a Namespace other than "${namespace}", which the app's kustomization sets (from ${origin}): kustomize renames every Namespace of the app to it; create "${ref.name}" in another app`,
        });
      }
      if (ref.namespace !== undefined && ref.namespace !== namespace) {
        problems.push({
          origin: object.origin,
          object: ref,
          rule: RULE,
          message: `is in namespace "${ref.namespace}", but the app's kustomization sets namespace "${namespace}" (from ${origin}), which kustomize would move it into; put it in "${namespace}" or in another app`,
        });
      }
    }
  }
  for (const chart of helmCharts) {
    if (chart.namespace !== namespace) {
      problems.push({
        origin: { constructPath: origin },
        rule: RULE,
        message: `the Helm release "${chart.releaseName}" is installed into namespace "${chart.namespace}", but the app's kustomization sets namespace "${namespace}", which kustomize would apply to the chart's objects; put the release in "${namespace}" or in another app`,
      });
    }
  }
  return problems;
}

/** The manifest with the namespace filled in when its kind is namespaced and it names none (List items too). */
export async function withNamespace(manifest: Manifest, namespace: string, registry: SchemaRegistry): Promise<Manifest> {
  if (manifest.apiVersion === 'v1' && manifest.kind === 'List' && Array.isArray(manifest.items)) {
    const items = await Promise.all(
      manifest.items.map((item: unknown) => (isRecord(item) ? withNamespace(item, namespace, registry) : item)),
    );
    return { ...manifest, items };
  }
  const metadata = manifest.metadata;
  if (!isRecord(metadata) || metadata.namespace !== undefined) return manifest;
  if (typeof manifest.apiVersion !== 'string' || typeof manifest.kind !== 'string') return manifest;
  const info = await registry.resolve(manifest.apiVersion, manifest.kind);
  if (info?.scope !== 'Namespaced') return manifest;
  return { ...manifest, metadata: { ...metadata, namespace } };
}
