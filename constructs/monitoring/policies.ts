import type { ClusterPolicy, PolicyContext, PolicyObject } from '../../framework/cluster.js';
import { isRecord, objectRef, type Problem } from '../../framework/model.js';
import { selectorMatches } from '../../framework/rules/selectors.js';

function labelsOf(manifest: Record<string, unknown>): Record<string, unknown> {
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : {};
  return isRecord(metadata.labels) ? metadata.labels : {};
}

/**
 * Every ServiceMonitor selects at least one Service of its namespaces, and every endpoint's
 * named port exists on a Service it selects: otherwise Prometheus scrapes nothing and no alert
 * says so. A plain synth does not see Services that upstream manifests and charts bring, so the
 * check runs where every built object is visible (the deep build), or for monitors whose
 * Services the project renders itself.
 */
export const metricsTargetPolicy: ClusterPolicy = {
  name: 'metrics',
  check: (objects: readonly PolicyObject[], context?: PolicyContext) => {
    const problems: Problem[] = [];
    const services = objects.filter((object) => object.manifest.apiVersion === 'v1' && object.manifest.kind === 'Service');
    for (const monitor of objects) {
      const { manifest } = monitor;
      if (manifest.kind !== 'ServiceMonitor' || manifest.apiVersion !== 'monitoring.coreos.com/v1') continue;
      const ref = objectRef(manifest);
      const spec = isRecord(manifest.spec) ? manifest.spec : {};
      const namespaceSelector = isRecord(spec.namespaceSelector) ? spec.namespaceSelector : {};
      const namespaces = Array.isArray(namespaceSelector.matchNames) ? namespaceSelector.matchNames.map(String) : [ref.namespace ?? ''];
      const selected = services.filter((service) => {
        const namespace = objectRef(service.manifest).namespace ?? '';
        return (
          (namespaceSelector.any === true || namespaces.includes(namespace)) && selectorMatches(spec.selector, labelsOf(service.manifest))
        );
      });
      const report = (message: string) => problems.push({ origin: monitor.origin, object: ref, rule: 'policy.metrics.target', message });
      if (selected.length === 0) {
        if (context?.built) {
          report(
            `selects no Service in namespace${namespaces.length === 1 ? '' : 's'} ${namespaces.join(', ')} (selector ${JSON.stringify(spec.selector ?? {})}): Prometheus would scrape nothing; fix the selector or the namespace`,
          );
        }
        continue;
      }
      const endpoints = Array.isArray(spec.endpoints) ? spec.endpoints.filter(isRecord) : [];
      for (const [index, endpoint] of endpoints.entries()) {
        if (typeof endpoint.port !== 'string') continue;
        const named = selected.some((service) => {
          const ports = isRecord(service.manifest.spec) && Array.isArray(service.manifest.spec.ports) ? service.manifest.spec.ports : [];
          return ports.some((port) => isRecord(port) && port.name === endpoint.port);
        });
        if (!named) {
          const names = selected.map((service) => objectRef(service.manifest).name).join(', ');
          report(
            `spec.endpoints[${index}].port "${endpoint.port}" is not a port name of the Service${selected.length === 1 ? '' : 's'} it selects (${names})`,
          );
        }
      }
    }
    return problems;
  },
};
