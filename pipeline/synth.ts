import { checkEncryptedFile, loadSopsConfig } from './encrypted-files.js';
import { layoutApp } from './layout.js';
import { loadClusters } from './load.js';
import { isRecord, type Manifest, type Problem, type SourcedObject } from './model.js';
import { type RenderedApp, renderCluster } from './render.js';
import type { SchemaRegistry } from './schemas.js';
import { validateObjects } from './validate.js';

export interface SynthOptions {
  /** Project root: holds inventory/, apps/, secrets/ and .sops.yaml. */
  readonly root: string;
  readonly registry: SchemaRegistry;
}

export interface SynthStats {
  readonly clusters: number;
  readonly apps: number;
  readonly objects: number;
  readonly files: number;
}

export interface SynthResult {
  /** Paths relative to dist (`<cluster>/<app>/<file>`) to content; empty when there are problems. */
  readonly files: Map<string, string>;
  readonly problems: Problem[];
  readonly stats: SynthStats;
}

/** Gives namespaced objects that name no namespace their app's namespace. */
async function defaultNamespaces(app: RenderedApp, registry: SchemaRegistry): Promise<SourcedObject[]> {
  if (app.namespace === undefined) return app.objects;
  return Promise.all(
    app.objects.map(async (object) => {
      const { manifest } = object;
      const metadata = manifest.metadata;
      if (!isRecord(metadata) || metadata.namespace !== undefined) return object;
      if (typeof manifest.apiVersion !== 'string' || typeof manifest.kind !== 'string') return object;
      const info = await registry.resolve(manifest.apiVersion, manifest.kind);
      if (info?.scope !== 'Namespaced') return object;
      const withNamespace: Manifest = { ...manifest, metadata: { ...metadata, namespace: app.namespace } };
      return { ...object, manifest: withNamespace };
    }),
  );
}

/** Renders and validates every cluster of the project; returns the dist tree or every problem found. */
export async function synthesize(options: SynthOptions): Promise<SynthResult> {
  const { root, registry } = options;
  const loaded = await loadClusters(root);
  const problems: Problem[] = [...loaded.problems];
  const files = new Map<string, string>();
  const sops = { loaded: false, value: {} as ReturnType<typeof loadSopsConfig> };
  let apps = 0;
  let objects = 0;

  for (const cluster of loaded.clusters) {
    const rendered = renderCluster(cluster.name, cluster.definition, cluster.inventory);
    problems.push(...rendered.problems);
    const perApp: { app: RenderedApp; objects: SourcedObject[]; encrypted: { manifest: Manifest; content: string }[] }[] = [];
    const clusterObjects: SourcedObject[] = [];
    for (const app of rendered.apps) {
      const appObjects = await defaultNamespaces(app, registry);
      const encrypted: { manifest: Manifest; content: string }[] = [];
      for (const { entry, constructPath } of app.encryptedFiles) {
        if (!sops.loaded) sops.value = loadSopsConfig(root);
        sops.loaded = true;
        const checked = checkEncryptedFile(root, entry, constructPath, sops.value);
        problems.push(...checked.problems);
        if (checked.file) {
          encrypted.push({ manifest: checked.file.object.manifest, content: checked.file.content });
          clusterObjects.push(checked.file.object);
        }
      }
      clusterObjects.push(...appObjects);
      perApp.push({ app, objects: appObjects, encrypted });
    }
    const validation = await validateObjects(clusterObjects, { registry });
    problems.push(...validation.problems);

    for (const { app, objects: appObjects, encrypted } of perApp) {
      const layout = layoutApp({
        appName: app.name,
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
  }
  const stats = { clusters: loaded.clusters.length, apps, objects, files: files.size };
  if (problems.length > 0) return { files: new Map(), problems, stats };
  return { files, problems, stats };
}
