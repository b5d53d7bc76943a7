import type { Manifest } from '../../../framework/model.js';
import { compareDists, type DistDiff } from '../../../pipeline/diff/compare.js';
import { type Danger, findDangers } from '../../../pipeline/diff/dangers.js';
import { renderedTree } from '../../../pipeline/diff/trees.js';
import { stringifyManifest } from '../../../pipeline/yaml.js';

/** A dist/ of one cluster (`c`) as files: objects by app, each object in its own file, and extra files by path. */
export function dist(apps: Record<string, readonly Manifest[]>, extra: Record<string, string> = {}): Map<string, string> {
  const files = new Map<string, string>();
  for (const [app, objects] of Object.entries(apps)) {
    const names: string[] = [];
    for (const object of objects) {
      const metadata = object.metadata as { name: string };
      const file = `${String(object.kind).toLowerCase()}-${metadata.name}.yaml`;
      names.push(file);
      files.set(`c/${app}/${file}`, stringifyManifest(object));
    }
    if (!extra[`c/${app}/kustomization.yaml`]) {
      files.set(
        `c/${app}/kustomization.yaml`,
        stringifyManifest({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: names }),
      );
    }
  }
  for (const [path, content] of Object.entries(extra)) files.set(path, content);
  return files;
}

export function diffOf(before: Map<string, string>, after: Map<string, string>): DistDiff {
  return compareDists(renderedTree(before, 'before'), renderedTree(after, 'after'));
}

export function dangersOf(before: Map<string, string>, after: Map<string, string>, allow?: ReadonlySet<string>): Danger[] {
  return findDangers(diffOf(before, after), allow);
}

export function deployment(name: string, spec: Record<string, unknown> = {}, pod: Record<string, unknown> = {}): Manifest {
  const labels = { 'app.kubernetes.io/name': name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'web' },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'app', image: 'example/app:1.0.0', ports: [{ name: 'http', containerPort: 8080 }] }], ...pod },
      },
      ...spec,
    },
  };
}

export function object(
  apiVersion: string,
  kind: string,
  name: string,
  body: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): Manifest {
  return { apiVersion, kind, metadata: { name, ...metadata }, ...body };
}
