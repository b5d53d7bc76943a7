import { describe, expect, it } from 'vitest';
import type { Manifest, SourcedObject } from '../../framework/model.js';
import { type CustomResourceApp, checkCustomResources, SKIP_DRY_RUN, SYNC_OPTIONS_ANNOTATION } from '../../pipeline/custom-resources.js';

const object = (manifest: Manifest, app: string): SourcedObject => ({ manifest, origin: { constructPath: `lab/${app}/${manifest.kind}` } });
const middleware = (annotations?: Record<string, string>): Manifest => ({
  apiVersion: 'traefik.io/v1alpha1',
  kind: 'Middleware',
  metadata: { name: 'auth', namespace: 'web', ...(annotations ? { annotations } : {}) },
  spec: {},
});
const crd = (group: string, kind: string): Manifest => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `${kind.toLowerCase()}s.${group}` },
  spec: { group, names: { kind, plural: `${kind.toLowerCase()}s` }, scope: 'Namespaced', versions: [] },
});
const traefikApp = (objects: Manifest[] = []): CustomResourceApp => ({
  name: 'traefik',
  dependsOn: [],
  objects: objects.map((m) => object(m, 'traefik')),
  declaredCrds: [{ crds: { group: 'traefik.io', kinds: ['Middleware', 'IngressRoute'] }, constructPath: 'lab/traefik/Crds' }],
});
const app = (name: string, dependsOn: string[], objects: Manifest[]): CustomResourceApp => ({
  name,
  dependsOn,
  objects: objects.map((m) => object(m, name)),
  declaredCrds: [],
});
const annotations = (result: ReturnType<typeof checkCustomResources>, appName: string, index = 0) =>
  ((result.objects.get(appName)?.[index]?.manifest.metadata ?? {}) as { annotations?: Record<string, string> }).annotations;

describe('custom resources and their CRDs', () => {
  it('marks a custom resource whose CRD the same app installs to skip the dry run', () => {
    const result = checkCustomResources('lab', [traefikApp([middleware()])], []);
    expect(result.problems).toEqual([]);
    expect(annotations(result, 'traefik')).toEqual({ [SYNC_OPTIONS_ANNOTATION]: SKIP_DRY_RUN });
  });

  it('keeps the sync options an object already has, and adds the option once', () => {
    const result = checkCustomResources('lab', [traefikApp([middleware({ [SYNC_OPTIONS_ANNOTATION]: 'Prune=false' })])], []);
    expect(annotations(result, 'traefik')).toEqual({ [SYNC_OPTIONS_ANNOTATION]: `Prune=false,${SKIP_DRY_RUN}` });
    const again = checkCustomResources('lab', [traefikApp([middleware({ [SYNC_OPTIONS_ANNOTATION]: `${SKIP_DRY_RUN}` })])], []);
    expect(annotations(again, 'traefik')).toEqual({ [SYNC_OPTIONS_ANNOTATION]: SKIP_DRY_RUN });
  });

  it('counts a CustomResourceDefinition rendered by the app, and leaves built-in kinds and the CRD itself alone', () => {
    const configMap: Manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'x' } };
    const widget: Manifest = { apiVersion: 'example.org/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'x' } };
    const result = checkCustomResources('lab', [app('widgets', [], [crd('example.org', 'Widget'), widget, configMap])], []);
    expect(result.problems).toEqual([]);
    expect(annotations(result, 'widgets', 0)).toBeUndefined();
    expect(annotations(result, 'widgets', 1)).toEqual({ [SYNC_OPTIONS_ANNOTATION]: SKIP_DRY_RUN });
    expect(annotations(result, 'widgets', 2)).toBeUndefined();
  });

  it('marks custom resources inside a List item by item', () => {
    const list: Manifest = {
      apiVersion: 'v1',
      kind: 'List',
      items: [middleware(), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }],
    };
    const result = checkCustomResources('lab', [traefikApp([list])], []);
    const items = (result.objects.get('traefik')?.[0]?.manifest.items ?? []) as Manifest[];
    expect(((items[0]?.metadata ?? {}) as Manifest).annotations).toEqual({ [SYNC_OPTIONS_ANNOTATION]: SKIP_DRY_RUN });
    expect(((items[1]?.metadata ?? {}) as Manifest).annotations).toBeUndefined();
  });

  it('accepts a custom resource whose CRD an app it depends on installs, directly or through another app', () => {
    const apps = [traefikApp(), app('sso', ['traefik'], []), app('web', ['sso'], [middleware()])];
    const result = checkCustomResources('lab', apps, []);
    expect(result.problems).toEqual([]);
    // The CRD exists before this app syncs: no dry-run skip.
    expect(annotations(result, 'web')).toBeUndefined();
  });

  it('fails when the app installing the CRD is not among the dependencies, naming both apps', () => {
    const result = checkCustomResources('lab', [traefikApp(), app('web', [], [middleware(), middleware()])], []);
    expect(result.problems).toEqual([
      {
        origin: { constructPath: 'lab/web/Middleware' },
        object: { apiVersion: 'traefik.io/v1alpha1', kind: 'Middleware', namespace: 'web', name: 'auth' },
        rule: 'app.dependencies',
        message:
          'app "web" uses Middleware (traefik.io), whose CRD app "traefik" installs; add "traefik" to the dependsOn of "web" so that it syncs first',
      },
    ]);
  });

  it('fails when no app installs the CRD and the cluster does not declare it external', () => {
    const monitor: Manifest = { apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor', metadata: { name: 'm', namespace: 'web' } };
    const result = checkCustomResources('lab', [app('web', [], [monitor])], []);
    expect(result.problems.map((p) => [p.rule, p.message.split(':')[0]])).toEqual([
      ['crd.missing', 'no app of cluster lab installs the CRD for ServiceMonitor (monitoring.coreos.com)'],
    ]);
    const external = checkCustomResources('lab', [app('web', [], [monitor])], [{ group: 'monitoring.coreos.com', reason: 'preinstalled' }]);
    expect(external.problems).toEqual([]);
    // Nothing in the composition guarantees the CRD: without the option ArgoCD's dry run of this
    // object would fail the whole app on a cluster that lacks it.
    expect(annotations(external, 'web')).toEqual({ [SYNC_OPTIONS_ANNOTATION]: SKIP_DRY_RUN });
    const otherKind = checkCustomResources(
      'lab',
      [app('web', [], [monitor])],
      [{ group: 'monitoring.coreos.com', kinds: ['PodMonitor'], reason: 'only PodMonitors are preinstalled' }],
    );
    expect(otherKind.problems.map((p) => p.rule)).toEqual(['crd.missing']);
  });

  it('leaves a removed Kubernetes API to validation instead of calling it a custom resource', () => {
    const ingress: Manifest = { apiVersion: 'extensions/v1beta1', kind: 'Ingress', metadata: { name: 'old', namespace: 'web' } };
    expect(checkCustomResources('lab', [app('web', [], [ingress])], []).problems).toEqual([]);
  });

  it('fails when two apps install the same CRD', () => {
    const other = app('ingress', [], [crd('traefik.io', 'Middleware')]);
    const result = checkCustomResources('lab', [traefikApp(), other], []);
    expect(result.problems.map((p) => [p.rule, p.origin.constructPath])).toEqual([
      ['crd.duplicate', 'lab/ingress/CustomResourceDefinition'],
    ]);
    expect(result.problems[0]?.message).toContain('installed by app "traefik" (lab/traefik/Crds) and by app "ingress"');
  });
});
