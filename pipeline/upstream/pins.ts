import { compareStrings, type Problem } from '../../framework/model.js';
import { loadClusters } from '../load.js';
import { renderCluster } from '../render.js';
import { withoutHost } from '../sandbox.js';
import { type ChartPin, chartKey, compareCharts } from './lock.js';

/** What the project's apps pin, sorted and each once. */
export interface ProjectPins {
  readonly resources: string[];
  readonly charts: { repo: string; name: string; version: string }[];
}

/** Every remote resource URL (`https://`) and Helm chart the apps of every cluster pin, rendered from the project. */
export async function collectPins(root: string): Promise<{ pins: ProjectPins; problems: Problem[] }> {
  const loaded = await loadClusters(root);
  const problems: Problem[] = [...loaded.problems];
  const resources = new Set<string>();
  const charts = new Map<string, ChartPin>();
  for (const cluster of loaded.clusters) {
    const rendered = withoutHost(root, () => renderCluster(cluster.name, cluster.definition, cluster.inventory));
    problems.push(...rendered.problems);
    for (const app of rendered.apps) {
      for (const resource of app.resources) if (resource.startsWith('https://')) resources.add(resource);
      for (const { repo, name, version } of app.helmCharts) charts.set(chartKey({ repo, name, version }), { repo, name, version });
    }
  }
  return {
    pins: {
      resources: [...resources].sort(compareStrings),
      charts: [...charts.values()].sort(compareCharts).map(({ repo, name, version }) => ({ repo, name, version })),
    },
    problems,
  };
}
