import { ApiObject, App, Chart } from 'cdk8s';
import { Construct, type IConstruct } from 'constructs';
import type { AppDefinition, ClusterDefinition } from './cluster.js';
import {
  type EncryptedFileEntry,
  type HelmChartEntry,
  isKustomizeContributor,
  KUSTOMIZE_CONTRIBUTION,
  type PatchEntry,
} from './contributions.js';
import type { Problem, SourcedObject } from './model.js';
import { dns1123LabelError } from './rules/metadata.js';

export interface RenderedApp {
  readonly cluster: string;
  readonly name: string;
  readonly namespace?: string;
  readonly objects: SourcedObject[];
  readonly resources: string[];
  readonly helmCharts: HelmChartEntry[];
  readonly patches: PatchEntry[];
  readonly encryptedFiles: { readonly entry: EncryptedFileEntry; readonly constructPath: string }[];
  readonly manifestFiles: { readonly source: string; readonly constructPath: string }[];
}

export interface RenderResult {
  readonly apps: RenderedApp[];
  readonly problems: Problem[];
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function renderApp<I>(scope: Construct, cluster: string, app: AppDefinition<I>, inventory: I, problems: Problem[]): RenderedApp {
  const chart = new Chart(scope, app.name, { disableResourceNameHashes: true });
  const rendered: RenderedApp = {
    cluster,
    name: app.name,
    namespace: app.namespace,
    objects: [],
    resources: [],
    helmCharts: [],
    patches: [],
    encryptedFiles: [],
    manifestFiles: [],
  };
  try {
    app.build(chart, inventory);
  } catch (error) {
    problems.push({ origin: { constructPath: chart.node.path }, rule: 'construct', message: message(error) });
    return rendered;
  }
  for (const construct of chart.node.findAll() as IConstruct[]) {
    const constructPath = construct.node.path;
    for (const error of construct.node.validate()) {
      problems.push({ origin: { constructPath }, rule: 'construct', message: error });
    }
    if (ApiObject.isApiObject(construct)) {
      try {
        rendered.objects.push({ manifest: construct.toJson() as Record<string, unknown>, origin: { constructPath } });
      } catch (error) {
        problems.push({ origin: { constructPath }, rule: 'construct', message: message(error) });
      }
    }
    if (isKustomizeContributor(construct)) {
      try {
        const entries = construct[KUSTOMIZE_CONTRIBUTION]();
        rendered.resources.push(...(entries.resources ?? []));
        rendered.helmCharts.push(...(entries.helmCharts ?? []));
        rendered.patches.push(...(entries.patches ?? []));
        for (const entry of entries.encryptedFiles ?? []) rendered.encryptedFiles.push({ entry, constructPath });
        for (const { source } of entries.manifestFiles ?? []) rendered.manifestFiles.push({ source, constructPath });
      } catch (error) {
        problems.push({ origin: { constructPath }, rule: 'construct', message: message(error) });
      }
    }
  }
  return rendered;
}

/** Renders every app of one cluster; construct errors are collected with their construct paths. */
export function renderCluster<I>(cluster: string, definition: ClusterDefinition<I>, inventory: I): RenderResult {
  const problems: Problem[] = [];
  const scope = new Construct(new App({ outdir: '.' }), cluster);
  let apps: readonly AppDefinition<I>[];
  try {
    for (const [key, value] of Object.entries(definition.context?.(inventory) ?? {})) scope.node.setContext(key, value);
    apps = definition.apps(inventory);
  } catch (error) {
    return { apps: [], problems: [{ origin: { constructPath: cluster }, rule: 'construct', message: message(error) }] };
  }
  const names = new Set<string>();
  const rendered: RenderedApp[] = [];
  for (const app of apps) {
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
    rendered.push(renderApp(scope, cluster, app, inventory, problems));
  }
  return { apps: rendered, problems };
}
