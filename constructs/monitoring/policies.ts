import type { ClusterPolicy, PolicyContext, PolicyObject } from '../../framework/cluster.js';
import { isRecord, labelsOf, objectRef, type Problem } from '../../framework/model.js';
import { podTemplatePorts } from '../../framework/rules/api-server.js';
import { selectorMatches } from '../../framework/rules/selectors.js';

/** The namespaces a monitor's `namespaceSelector` names: every one (`any`), the listed ones, or its own. */
function monitoredNamespaces(spec: Record<string, unknown>, own: string): { any: boolean; names: string[] } {
  const selector = isRecord(spec.namespaceSelector) ? spec.namespaceSelector : {};
  if (selector.any === true) return { any: true, names: [] };
  return { any: false, names: Array.isArray(selector.matchNames) ? selector.matchNames.map(String) : [own] };
}

/**
 * Every ServiceMonitor selects at least one Service of its namespaces, and every endpoint's
 * named port exists on a Service it selects; every PodMonitor selects at least one pod template
 * (of a Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod) of its namespaces, and every
 * endpoint's named port is a container port of one: otherwise Prometheus scrapes nothing and no
 * alert says so. A plain synth does not see what upstream manifests and charts bring, so a
 * monitor that selects nothing is reported where every built object is visible (the deep
 * build); a port the selected objects lack is reported always.
 */
export function createMetricsTargetPolicy(options: MetricsTargetPolicyOptions = {}): ClusterPolicy {
  return { name: 'metrics', check: (objects, context) => checkMetricsTargets(objects, options, context) };
}

/** A Service that exists in the cluster without any app rendering it (the API server's, one an operator maintains). */
export interface ExternalMetricsService {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Its port names. */
  readonly ports: readonly string[];
  /** Who makes it, recorded with the policy. */
  readonly reason: string;
}

export interface MetricsTargetPolicyOptions {
  /** Services outside the composition that monitors may select. @default none */
  readonly externalServices?: readonly ExternalMetricsService[];
}

export const metricsTargetPolicy: ClusterPolicy = createMetricsTargetPolicy();

function checkMetricsTargets(objects: readonly PolicyObject[], options: MetricsTargetPolicyOptions, context?: PolicyContext): Problem[] {
  const problems: Problem[] = [];
  const external: PolicyObject[] = (options.externalServices ?? []).map((service) => ({
    app: '',
    origin: { source: `external Service (${service.reason})` },
    manifest: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: service.name, namespace: service.namespace, labels: { ...service.labels } },
      spec: { ports: service.ports.map((name) => ({ name })) },
    },
  }));
  const services = [...objects, ...external].filter((object) => object.manifest.apiVersion === 'v1' && object.manifest.kind === 'Service');
  const templates = objects.flatMap((object) => {
    const found = podTemplatePorts(object.manifest);
    return found ? [{ object, ...found }] : [];
  });
  for (const monitor of objects) {
    const { manifest } = monitor;
    if (manifest.apiVersion !== 'monitoring.coreos.com/v1') continue;
    if (manifest.kind !== 'ServiceMonitor' && manifest.kind !== 'PodMonitor') continue;
    const pods = manifest.kind === 'PodMonitor';
    const ref = objectRef(manifest);
    const spec = isRecord(manifest.spec) ? manifest.spec : {};
    const namespaces = monitoredNamespaces(spec, ref.namespace ?? '');
    const inNamespaces = (object: PolicyObject) => namespaces.any || namespaces.names.includes(objectRef(object.manifest).namespace ?? '');
    const report = (message: string) => problems.push({ origin: monitor.origin, object: ref, rule: 'policy.metrics.target', message });
    const where = namespaces.any ? 'any namespace' : `namespace${namespaces.names.length === 1 ? '' : 's'} ${namespaces.names.join(', ')}`;
    // Each selected object with the port names it offers.
    const selected: { name: string; ports: Set<string> }[] = pods
      ? templates
          .filter((template) => inNamespaces(template.object) && selectorMatches(spec.selector, template.labels))
          .map((template) => ({
            name: `${template.object.manifest.kind as string} ${objectRef(template.object.manifest).name}`,
            ports: template.ports,
          }))
      : services
          .filter((service) => inNamespaces(service) && selectorMatches(spec.selector, labelsOf(service.manifest)))
          .map((service) => {
            const ports = isRecord(service.manifest.spec) && Array.isArray(service.manifest.spec.ports) ? service.manifest.spec.ports : [];
            return {
              name: `Service ${objectRef(service.manifest).name}`,
              ports: new Set(ports.flatMap((port) => (isRecord(port) && typeof port.name === 'string' ? [port.name] : []))),
            };
          });
    if (selected.length === 0) {
      if (context?.built) {
        report(
          `selects no ${pods ? 'pod template' : 'Service'} in ${where} (selector ${JSON.stringify(spec.selector ?? {})}): Prometheus would scrape nothing; fix the selector or the namespace`,
        );
      }
      continue;
    }
    const field = pods ? 'podMetricsEndpoints' : 'endpoints';
    const endpoints = Array.isArray(spec[field]) ? (spec[field] as unknown[]).filter(isRecord) : [];
    for (const [index, endpoint] of endpoints.entries()) {
      if (typeof endpoint.port !== 'string') continue;
      if (selected.some((target) => target.ports.has(endpoint.port as string))) continue;
      report(
        `spec.${field}[${index}].port "${endpoint.port}" is not a ${pods ? 'container port' : 'port'} name of what it selects (${selected.map((target) => target.name).join(', ')}); name the port "${endpoint.port}" or scrape one it has`,
      );
    }
  }
  return problems;
}
