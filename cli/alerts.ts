/**
 * Which receivers an alert reaches, in the Alertmanagers the project's clusters render:
 *
 *   npm run alerts -- route alertname=X severity=critical namespace=y [--cluster NAME]
 *
 * Renders each cluster as synth does (its compositions, apps, addons and the manifest files
 * apps include; nothing is written), finds every Alertmanager whose
 * `spec.alertmanagerConfiguration.name` names an AlertmanagerConfig of its namespace (the
 * global configuration) and evaluates that configuration's routing tree for the labels, as
 * `amtool config routes test` does (constructs/monitoring/routing.ts). Objects that reach the
 * cluster only through a deep build (upstream manifests, Helm charts) are not seen.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  checkRouting,
  describeMatch,
  formatLabels,
  LabelError,
  type Labels,
  parseLabels,
  RoutingError,
  routeAlert,
} from '../constructs/monitoring/routing.js';
import { compareStrings, formatProblem, isRecord, type Manifest, type Problem, type SourcedObject } from '../framework/model.js';
import type { CommandContext, Io } from '../pipeline/commands.js';
import { isEntryPoint } from '../pipeline/entry-point.js';
import { kustomizeNamespaceOf } from '../pipeline/kustomize-namespace.js';
import { loadClusters } from '../pipeline/load.js';
import { type RenderedApp, renderCluster } from '../pipeline/render.js';
import { withoutHost } from '../pipeline/sandbox.js';
import { includedObjects } from '../pipeline/synth.js';
import { exitWith, projectContext } from './project.js';

const USAGE = `usage: npm run alerts -- route NAME=VALUE... [--cluster NAME]

Renders the project's clusters as synth does (writing nothing) and, for each Alertmanager whose
spec.alertmanagerConfiguration.name names an AlertmanagerConfig of its namespace, prints the
receivers an alert with these labels reaches and the routes that send it there, as
'amtool config routes test' does. A label not given is empty, as in Alertmanager.

  --cluster NAME  only this cluster (default: every cluster)
  -h, --help      this text

Exit 0 when every Alertmanager sends the alert to a receiver; 1 when one sends it to none (a
tree without a default receiver, a receiver its configuration does not define, a configuration
with problems, or one that is not rendered); 2 on usage errors, when a cluster does not render,
or when no cluster renders an Alertmanager with a configuration.`;

const ALERTMANAGER = { apiVersion: 'monitoring.coreos.com/v1', kind: 'Alertmanager' };
const ALERTMANAGER_CONFIG = { apiVersion: 'monitoring.coreos.com/v1alpha1', kind: 'AlertmanagerConfig' };
const RULE = 'alertmanager.routing';

/** A cluster as rendered: every object of its apps, with where it came from. */
export interface RenderedCluster {
  readonly name: string;
  readonly objects: readonly SourcedObject[];
}

const metadataOf = (manifest: Manifest) => (isRecord(manifest.metadata) ? manifest.metadata : {});
const nameOf = (manifest: Manifest) => String(metadataOf(manifest).name ?? '');
const namespaceOf = (manifest: Manifest) => String(metadataOf(manifest).namespace ?? '');
const isKind = (manifest: Manifest, kind: { apiVersion: string; kind: string }) =>
  manifest.apiVersion === kind.apiVersion && manifest.kind === kind.kind;

/** A `v1 List`'s items (recursively), or the object itself. */
function withItems(object: SourcedObject): SourcedObject[] {
  const { manifest } = object;
  if (manifest.apiVersion !== 'v1' || manifest.kind !== 'List' || !Array.isArray(manifest.items)) return [object];
  return manifest.items.flatMap((item, index) =>
    isRecord(item) ? withItems({ manifest: item, origin: { ...object.origin, listItem: index } }) : [],
  );
}

/**
 * The app's objects in the namespace they land in: the kustomization's when it sets one, else
 * their own, else the app's (what synth gives a namespaced object that names none). Only the
 * two kinds this command reads, both namespaced, are moved.
 */
function appObjects(root: string, app: RenderedApp, problems: Problem[]): SourcedObject[] {
  const objects: SourcedObject[] = [...app.objects, ...includedObjects(root, app, problems)];
  const kustomize = kustomizeNamespaceOf(app.kustomizeNamespaces, problems)?.namespace;
  return objects.flatMap(withItems).map((object) => {
    const { manifest } = object;
    if (!isKind(manifest, ALERTMANAGER) && !isKind(manifest, ALERTMANAGER_CONFIG)) return object;
    const namespace = kustomize ?? (namespaceOf(manifest) || app.namespace);
    if (namespace === undefined || namespace === namespaceOf(manifest)) return object;
    return { ...object, manifest: { ...manifest, metadata: { ...metadataOf(manifest), namespace } } };
  });
}

/** The clusters of the project (every inventory, or the one asked for), rendered; or why they could not be. */
export async function renderClusters(
  root: string,
  only?: string,
): Promise<{ readonly clusters: RenderedCluster[] } | { readonly usage: string } | { readonly problems: Problem[] }> {
  const inventoryDir = join(root, 'inventory');
  const names = existsSync(inventoryDir)
    ? readdirSync(inventoryDir)
        .filter((file) => file.endsWith('.json'))
        .map((file) => file.slice(0, -'.json'.length))
        .sort(compareStrings)
    : [];
  if (only !== undefined && !names.includes(only)) {
    return { usage: `no cluster "${only}" in this project (clusters: ${names.join(', ') || 'none'})` };
  }
  const loaded = await loadClusters(root);
  const wanted = loaded.clusters.filter((cluster) => only === undefined || cluster.name === only);
  // Another cluster that does not load is for synth to report, when one cluster is asked for.
  if ((only === undefined && loaded.problems.length > 0) || (only !== undefined && wanted.length === 0)) {
    return { problems: loaded.problems };
  }
  const clusters: RenderedCluster[] = [];
  const problems: Problem[] = [];
  for (const cluster of wanted) {
    const rendered = withoutHost(root, () => renderCluster(cluster.name, cluster.definition, cluster.inventory, { root }));
    problems.push(...rendered.problems);
    clusters.push({ name: cluster.name, objects: rendered.apps.flatMap((app) => appObjects(root, app, problems)) });
  }
  return problems.length > 0 ? { problems } : { clusters };
}

/** How one Alertmanager routes the alert: lines for the output and the errors, and whether it reaches a receiver. */
function routeOne(
  cluster: string,
  alertmanager: SourcedObject,
  objects: readonly SourcedObject[],
  labels: Labels,
): { readonly evaluated: boolean; readonly routed: boolean; readonly out: string[]; readonly err: string[] } {
  const namespace = namespaceOf(alertmanager.manifest);
  const who = `${cluster}: Alertmanager ${namespace}/${nameOf(alertmanager.manifest)}`;
  const spec = isRecord(alertmanager.manifest.spec) ? alertmanager.manifest.spec : {};
  const configuration = isRecord(spec.alertmanagerConfiguration) ? spec.alertmanagerConfiguration.name : undefined;
  if (typeof configuration !== 'string' || configuration === '') {
    return {
      evaluated: false,
      routed: true,
      out: [],
      err: [`${who}: takes its configuration from a Secret (no spec.alertmanagerConfiguration.name): not evaluated`],
    };
  }
  const config = objects.find(
    ({ manifest }) => isKind(manifest, ALERTMANAGER_CONFIG) && nameOf(manifest) === configuration && namespaceOf(manifest) === namespace,
  );
  if (config === undefined) {
    return {
      evaluated: false,
      routed: false,
      out: [`${who}: no receiver`],
      err: [
        `${who}: spec.alertmanagerConfiguration.name names the AlertmanagerConfig "${configuration}", but the cluster renders none of that name in namespace ${namespace} (${ALERTMANAGER_CONFIG.apiVersion}): render it, or name the one it renders`,
      ],
    };
  }
  const header = `${who} (AlertmanagerConfig ${configuration})`;
  const problems = checkRouting(config.manifest.spec);
  const err = problems.map((problem) =>
    formatProblem({
      origin: config.origin,
      object: { kind: ALERTMANAGER_CONFIG.kind, namespace, name: configuration },
      rule: RULE,
      message: problem.message,
    }),
  );
  // A tree without a default still routes what its child routes match; any other problem is an error.
  const refused = problems.some((problem) => problem.kind === 'error');
  const configSpec = isRecord(config.manifest.spec) ? config.manifest.spec : {};
  if (!isRecord(configSpec.route)) return { evaluated: true, routed: false, out: [`${header}: no receiver (no spec.route)`], err };
  let result: ReturnType<typeof routeAlert>;
  try {
    result = routeAlert(configSpec.route, labels);
  } catch (error) {
    if (!(error instanceof RoutingError)) throw error;
    return { evaluated: true, routed: false, out: [`${header}: cannot be evaluated: ${error.message}`], err };
  }
  const defined = new Set(
    (Array.isArray(configSpec.receivers) ? configSpec.receivers : []).flatMap((receiver) =>
      isRecord(receiver) && typeof receiver.name === 'string' ? [receiver.name] : [],
    ),
  );
  const lines = result.matched.map((match) => {
    const missing = match.receiver !== undefined && !defined.has(match.receiver) ? ' (not defined in spec.receivers)' : '';
    return `  ${describeMatch(match)}${missing}`;
  });
  const unrouted = result.matched.some((match) => match.receiver === undefined || !defined.has(match.receiver));
  const reached = result.receivers.length > 0 ? result.receivers.join(', ') : 'no receiver';
  const note = refused && !unrouted ? ' (but the configuration has problems, listed)' : '';
  return { evaluated: true, routed: !unrouted && !refused, out: [`${header}: ${reached}${note}`, ...lines], err };
}

/**
 * Prints, per cluster and Alertmanager, the receivers an alert with these labels reaches and
 * the routes on the way; returns the exit code (0 every Alertmanager reaches a receiver, 1 one
 * does not, 2 no Alertmanager with a configuration was rendered).
 */
export function routeCommand(clusters: readonly RenderedCluster[], labels: Labels, io: Io): number {
  io.out(`alert ${formatLabels(labels)}`);
  let evaluated = 0;
  let found = 0;
  const failed: string[] = [];
  for (const cluster of clusters) {
    for (const alertmanager of cluster.objects.filter(({ manifest }) => isKind(manifest, ALERTMANAGER))) {
      const result = routeOne(cluster.name, alertmanager, cluster.objects, labels);
      for (const line of result.err) io.err(line);
      for (const line of result.out) io.out(line);
      if (result.evaluated) evaluated += 1;
      if (result.out.length > 0) found += 1;
      if (!result.routed) failed.push(`${cluster.name}/${nameOf(alertmanager.manifest)}`);
    }
  }
  if (evaluated === 0) {
    const where = clusters.length === 1 ? `cluster ${clusters[0]?.name}` : `clusters ${clusters.map((cluster) => cluster.name).join(', ')}`;
    io.err(
      `alerts route: no Alertmanager with a configuration is rendered in ${where || 'no cluster'}: nothing to route (an Alertmanager's spec.alertmanagerConfiguration.name must name an AlertmanagerConfig of its namespace)`,
    );
    return 2;
  }
  if (failed.length > 0) {
    io.err(`alerts route: the alert reaches no receiver in ${failed.length} of ${found} Alertmanagers (${failed.join(', ')})`);
    return 1;
  }
  return 0;
}

/** Runs the command; returns the exit code (see the usage). */
export async function main(argv: readonly string[], context: Pick<CommandContext, 'root' | 'io'>): Promise<number> {
  const { io } = context;
  const usage = (message: string) => {
    io.err(`alerts: ${message}`);
    io.err(USAGE);
    return 2;
  };
  let parsed: { values: { cluster?: string; help?: boolean }; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { cluster: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  if (parsed.values.help) {
    io.out(USAGE);
    return 0;
  }
  const [command, ...args] = parsed.positionals;
  if (command === undefined) return usage('no command given');
  if (command !== 'route') return usage(`unknown command "${command}"`);
  if (args.length === 0) return usage("route: give the alert's labels as NAME=VALUE (alertname=X severity=critical)");
  let labels: Labels;
  try {
    labels = parseLabels(args);
  } catch (error) {
    if (error instanceof LabelError) return usage(`route: ${error.message}`);
    throw error;
  }
  const rendered = await renderClusters(context.root, parsed.values.cluster);
  if ('usage' in rendered) return usage(rendered.usage);
  if ('problems' in rendered) {
    for (const problem of rendered.problems) io.err(formatProblem(problem));
    const count = rendered.problems.length;
    io.err(
      `alerts: the project does not render (${count} ${count === 1 ? 'problem' : 'problems'}): fix it first ('npm run synth' lists the same)`,
    );
    return 2;
  }
  return routeCommand(rendered.clusters, labels, io);
}

if (isEntryPoint(import.meta.url)) {
  exitWith(main(process.argv.slice(2), projectContext));
}
