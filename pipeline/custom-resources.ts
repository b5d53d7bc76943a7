import type { ExternalCustomResources } from '../framework/cluster.js';
import type { CustomResourceKinds } from '../framework/contributions.js';
import { definedKind, groupOf, isRecord, type Manifest, objectRef, type Problem, type SourcedObject } from '../framework/model.js';
import { isBuiltInGroup, removedApi } from './schemas.js';

/** ArgoCD's per-object sync options annotation (comma-separated `Option=value`). */
export const SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';
/** Lets ArgoCD apply a custom resource whose CRD it creates in the same sync (no dry run against a missing kind). */
export const SKIP_DRY_RUN = 'SkipDryRunOnMissingResource=true';

export interface CustomResourceApp {
  readonly name: string;
  readonly dependsOn: readonly string[];
  readonly objects: readonly SourcedObject[];
  /** CRDs installed by upstream resources the app pins (Helm charts, remote manifests), as their constructs declare them. */
  readonly declaredCrds: readonly { readonly crds: CustomResourceKinds; readonly constructPath: string }[];
}

interface Provider {
  readonly app: string;
  readonly where: string;
}

const key = (group: string, kind: string) => `${group}/${kind}`;

/** Every app an app depends on, directly or through others. */
export function dependencyClosure(
  apps: readonly { readonly name: string; readonly dependsOn: readonly string[] }[],
): Map<string, Set<string>> {
  const byName = new Map(apps.map((app) => [app.name, app]));
  const closure = new Map<string, Set<string>>();
  const visit = (name: string, seen: Set<string>) => {
    for (const dependency of byName.get(name)?.dependsOn ?? []) {
      if (seen.has(dependency)) continue;
      seen.add(dependency);
      visit(dependency, seen);
    }
  };
  for (const app of apps) {
    const seen = new Set<string>();
    visit(app.name, seen);
    closure.set(app.name, seen);
  }
  return closure;
}

/** Top-level objects and the items of `kind: List` objects. */
function* eachObject(manifest: Manifest): Generator<Manifest> {
  if (manifest.apiVersion === 'v1' && manifest.kind === 'List' && Array.isArray(manifest.items)) {
    for (const item of manifest.items) if (isRecord(item)) yield* eachObject(item);
    return;
  }
  yield manifest;
}

function withSkipDryRun(manifest: Manifest): Manifest {
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
  const annotations = isRecord(metadata.annotations) ? metadata.annotations : {};
  const current = annotations[SYNC_OPTIONS_ANNOTATION];
  const options =
    typeof current === 'string'
      ? current
          .split(',')
          .map((option) => option.trim())
          .filter(Boolean)
      : [];
  if (options.includes(SKIP_DRY_RUN)) return manifest;
  return {
    ...manifest,
    metadata: { ...metadata, annotations: { ...annotations, [SYNC_OPTIONS_ANNOTATION]: [...options, SKIP_DRY_RUN].join(',') } },
  };
}

function mapObjects(manifest: Manifest, map: (object: Manifest) => Manifest): Manifest {
  if (manifest.apiVersion === 'v1' && manifest.kind === 'List' && Array.isArray(manifest.items)) {
    return { ...manifest, items: manifest.items.map((item: unknown) => (isRecord(item) ? mapObjects(item, map) : item)) };
  }
  return map(manifest);
}

export interface CustomResourceResult {
  /** Each app's objects, custom resources whose CRD the same app or nothing in the composition installs marked to skip ArgoCD's dry run. */
  readonly objects: ReadonlyMap<string, SourcedObject[]>;
  readonly problems: Problem[];
}

/**
 * Accounts for the CRD of every custom resource of a cluster, as ArgoCD syncs an app: it dry-runs
 * every object of the app first and applies nothing when any dry run fails, and a custom resource
 * whose CRD the cluster lacks fails its dry run unless it carries `SkipDryRunOnMissingResource=true`.
 * So a custom resource's CRD must be installed by the same app (the object gets the option: its
 * CRD arrives in the same sync), by an app it depends on (that app syncs, and is healthy, first),
 * or outside the composition as the cluster declares (the object gets the option too: nothing in
 * the composition guarantees the CRD, and without it the whole app would fail, not only this
 * object). Two apps installing the same CRD would fight over it.
 */
export function checkCustomResources(
  cluster: string,
  apps: readonly CustomResourceApp[],
  external: readonly ExternalCustomResources[],
): CustomResourceResult {
  const problems: Problem[] = [];
  const providers = new Map<string, Provider>();
  const provide = (group: string, kind: string, provider: Provider, constructPath: string) => {
    const existing = providers.get(key(group, kind));
    if (existing && existing.app !== provider.app) {
      problems.push({
        origin: { constructPath },
        rule: 'crd.duplicate',
        message: `the CRD for ${kind} (${group}) is installed by app "${existing.app}" (${existing.where}) and by app "${provider.app}" (${provider.where}); keep it in one app and let the other depend on it`,
      });
      return;
    }
    if (!existing) providers.set(key(group, kind), provider);
  };
  for (const app of apps) {
    for (const { crds, constructPath } of app.declaredCrds) {
      for (const kind of crds.kinds) provide(crds.group, kind, { app: app.name, where: constructPath }, constructPath);
    }
    for (const object of app.objects) {
      for (const manifest of eachObject(object.manifest)) {
        const defined = definedKind(manifest);
        const where = object.origin.constructPath ?? object.origin.file ?? app.name;
        if (defined) provide(defined.group, defined.kind, { app: app.name, where }, where);
      }
    }
  }

  const isExternal = (group: string, kind: string) =>
    external.some((entry) => entry.group === group && (entry.kinds === undefined || entry.kinds.includes(kind)));
  const closure = dependencyClosure(apps);
  const result = new Map<string, SourcedObject[]>();
  for (const app of apps) {
    const reported = new Set<string>();
    const objects = app.objects.map((object) => {
      let skipDryRun = false;
      for (const manifest of eachObject(object.manifest)) {
        if (typeof manifest.apiVersion !== 'string' || typeof manifest.kind !== 'string') continue;
        const group = groupOf(manifest.apiVersion);
        // A removed Kubernetes API (extensions/v1beta1 Ingress) is no custom resource: validation names it.
        if (isBuiltInGroup(group) || removedApi(manifest.apiVersion, manifest.kind) !== undefined) continue;
        const provider = providers.get(key(group, manifest.kind));
        if (provider?.app === app.name || (provider === undefined && isExternal(group, manifest.kind))) {
          skipDryRun = true;
          continue;
        }
        const problemKey = `${group}/${manifest.kind}`;
        if (reported.has(problemKey)) continue;
        const ref = objectRef(manifest);
        const object_ = { apiVersion: manifest.apiVersion, kind: manifest.kind, namespace: ref.namespace, name: ref.name };
        if (provider) {
          if (closure.get(app.name)?.has(provider.app)) continue;
          reported.add(problemKey);
          problems.push({
            origin: object.origin,
            object: object_,
            rule: 'app.dependencies',
            message: `app "${app.name}" uses ${manifest.kind} (${group}), whose CRD app "${provider.app}" installs; add "${provider.app}" to the dependsOn of "${app.name}" so that it syncs first`,
          });
        } else if (!isExternal(group, manifest.kind)) {
          reported.add(problemKey);
          problems.push({
            origin: object.origin,
            object: object_,
            rule: 'crd.missing',
            message: `no app of cluster ${cluster} installs the CRD for ${manifest.kind} (${group}): add the app that installs it (and depend on it), declare the CRDs a pinned upstream resource installs with its "crds" option, or list the group in the cluster's externalCustomResources with the reason`,
          });
        }
      }
      return skipDryRun
        ? { ...object, manifest: mapObjects(object.manifest, (m) => (definedKind(m) ? m : maybeSkip(m, app.name))) }
        : object;
    });
    result.set(app.name, objects);
  }

  function maybeSkip(manifest: Manifest, appName: string): Manifest {
    if (typeof manifest.apiVersion !== 'string' || typeof manifest.kind !== 'string') return manifest;
    const group = groupOf(manifest.apiVersion);
    if (isBuiltInGroup(group)) return manifest;
    const provider = providers.get(key(group, manifest.kind));
    const skip = provider === undefined ? isExternal(group, manifest.kind) : provider.app === appName;
    return skip ? withSkipDryRun(manifest) : manifest;
  }

  return { objects: result, problems };
}
