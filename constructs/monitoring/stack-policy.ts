import type { ClusterPolicy, PolicyContext, PolicyObject } from '../../framework/cluster.js';
import { isKind, isRecord, type Manifest, objectRef, type Problem, valueAt } from '../../framework/model.js';
import { type AlertRoute, checkRouting, RoutingError, routeAlert } from './routing.js';
import { alertSeverities } from './rule-policy.js';

const MONITORING = 'monitoring.coreos.com';

const is = (object: PolicyObject, group: string, kind: string) => isKind(object.manifest, group, kind);
const at = valueAt;

/** Why a StorageClass serves NFS volumes, or undefined when nothing says it does. */
export function nfsEvidence(storageClass: Manifest): string | undefined {
  const parameters = isRecord(storageClass.parameters) ? storageClass.parameters : {};
  if (typeof parameters.fsType === 'string' && parameters.fsType.toLowerCase() === 'nfs') return 'parameters.fsType is nfs';
  const mountOptions = Array.isArray(storageClass.mountOptions) ? storageClass.mountOptions.map(String) : [];
  const nfsOption = mountOptions.find((option) => /^(nfsvers|vers)=/.test(option));
  if (nfsOption) return `mount option ${nfsOption}`;
  if (typeof storageClass.provisioner === 'string' && /nfs/i.test(storageClass.provisioner)) {
    return `provisioner ${storageClass.provisioner}`;
  }
  return undefined;
}

/** The Service a cluster-internal URL names (`http://<service>.<namespace>.svc[.<domain>]:<port>/…` or `http://<service>/…`), or why it names none. */
export function serviceOfUrl(url: string, ownNamespace: string): { namespace: string; name: string; port: number } | { error: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { error: 'is not a URL' };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { error: `uses ${parsed.protocol} (expected http or https)` };
  const labels = parsed.hostname.split('.');
  const svc = labels.indexOf('svc');
  let name: string | undefined;
  let namespace: string | undefined;
  // `<service>.<namespace>` alone reads like a public domain (discord.com): only the .svc form and a bare name are the cluster's.
  if (svc === 2) [name, namespace] = labels;
  else if (labels.length === 1) [name, namespace] = [labels[0], ownNamespace];
  if (!name || !namespace) return { error: `points outside the cluster (${parsed.hostname})` };
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  return { namespace, name, port };
}

/**
 * The monitoring stack's cluster checks, in general terms:
 * - `policy.monitoring.tsdb-storage`: a Prometheus keeps its TSDB on a persistent claim, and not of
 *   an NFS class (Prometheus does not support NFS: corrupt blocks, lost WAL);
 * - `policy.alerting.webhook`: every webhook of an AlertmanagerConfig points at a Service the
 *   cluster renders, on one of its ports;
 * - `policy.alerting.routing`: every receiver a route names exists, the root names the default;
 *   and every alert of the cluster's PrometheusRules, by its name and severity, is routed by a
 *   route that matches it: an alert that falls through to a default receiver notifying no one
 *   would never be seen.
 */
export const monitoringStackPolicy: ClusterPolicy = {
  name: 'monitoring-stack',
  check: (objects: readonly PolicyObject[], _context?: PolicyContext) => {
    const problems: Problem[] = [];
    const report = (object: PolicyObject, rule: string, message: string) =>
      problems.push({ origin: object.origin, object: objectRef(object.manifest), rule, message });
    const storageClasses = new Map(
      objects
        .filter((object) => is(object, 'storage.k8s.io', 'StorageClass'))
        .map((object) => [objectRef(object.manifest).name, object.manifest]),
    );
    for (const object of objects.filter((candidate) => is(candidate, MONITORING, 'Prometheus'))) {
      const template = at(object.manifest, ['spec', 'storage', 'volumeClaimTemplate']);
      if (!isRecord(template)) {
        report(
          object,
          'policy.monitoring.tsdb-storage',
          'spec.storage.volumeClaimTemplate is not set: the TSDB lives in an emptyDir and every restart loses it; give it a claim of a block StorageClass',
        );
        continue;
      }
      const className = at(template, ['spec', 'storageClassName']);
      if (typeof className !== 'string') continue;
      const storageClass = storageClasses.get(className);
      const evidence = storageClass && nfsEvidence(storageClass);
      if (evidence) {
        const blocks = [...storageClasses].filter(([, manifest]) => !nfsEvidence(manifest)).map(([name]) => name);
        report(
          object,
          'policy.monitoring.tsdb-storage',
          `spec.storage.volumeClaimTemplate.spec.storageClassName "${className}" is an NFS class (${evidence}): Prometheus does not support NFS for its TSDB; use a block class${blocks.length > 0 ? ` (${blocks.join(', ')})` : ''}`,
        );
      }
    }

    const services = objects.filter((object) => is(object, '', 'Service'));
    for (const object of objects.filter((candidate) => is(candidate, MONITORING, 'AlertmanagerConfig'))) {
      const own = objectRef(object.manifest).namespace ?? '';
      const receivers = at(object.manifest, ['spec', 'receivers']);
      (Array.isArray(receivers) ? receivers : []).forEach((receiver, index) => {
        const webhooks = isRecord(receiver) && Array.isArray(receiver.webhookConfigs) ? receiver.webhookConfigs : [];
        webhooks.forEach((webhook, hook) => {
          if (!isRecord(webhook) || typeof webhook.url !== 'string') return;
          const path = `spec.receivers[${index}].webhookConfigs[${hook}].url`;
          const target = serviceOfUrl(webhook.url, own);
          if ('error' in target) {
            report(
              object,
              'policy.alerting.webhook',
              `${path} "${webhook.url}" ${target.error}: point it at a Service the cluster renders (http://<service>.<namespace>.svc:<port>/)`,
            );
            return;
          }
          const service = services.find((candidate) => {
            const ref = objectRef(candidate.manifest);
            return ref.name === target.name && ref.namespace === target.namespace;
          });
          if (!service) {
            report(
              object,
              'policy.alerting.webhook',
              `${path} "${webhook.url}" names Service ${target.namespace}/${target.name}, which the cluster does not render; fix the URL or render the Service`,
            );
            return;
          }
          const ports = at(service.manifest, ['spec', 'ports']);
          const numbers = (Array.isArray(ports) ? ports : []).flatMap((port) =>
            isRecord(port) && typeof port.port === 'number' ? [port.port] : [],
          );
          if (!numbers.includes(target.port)) {
            report(
              object,
              'policy.alerting.webhook',
              `${path} "${webhook.url}" uses port ${target.port}, which Service ${target.namespace}/${target.name} does not have (its ports: ${numbers.join(', ') || 'none'})`,
            );
          }
        });
      });
    }
    const severities = alertSeverities(objects);
    for (const object of objects.filter((candidate) => is(candidate, MONITORING, 'AlertmanagerConfig'))) {
      const spec = isRecord(object.manifest.spec) ? object.manifest.spec : {};
      const routingIssues = checkRouting(spec);
      for (const issue of routingIssues) report(object, 'policy.alerting.routing', issue.message);
      if (routingIssues.length > 0 || !isRecord(spec.route)) continue;
      const receivers = Array.isArray(spec.receivers) ? spec.receivers.filter(isRecord) : [];
      const notifies = (name: string | undefined) => {
        const receiver = receivers.find((entry) => entry.name === name);
        return (
          receiver !== undefined &&
          Object.entries(receiver).some(([key, value]) => key.endsWith('Configs') && Array.isArray(value) && value.length > 0)
        );
      };
      for (const [severity, alerts] of severities) {
        const unrouted = alerts.filter(({ alert }) => {
          try {
            const { matched } = routeAlert(spec.route as AlertRoute, { alertname: alert, severity });
            // Only the root matched: nothing chose where it goes.
            return matched.every((match) => match.steps.length <= 1 && !notifies(match.receiver));
          } catch (error) {
            if (error instanceof RoutingError) return false;
            throw error;
          }
        });
        if (unrouted.length === 0) continue;
        const names = [...new Set(unrouted.map(({ alert }) => alert))];
        report(
          object,
          'policy.alerting.routing',
          `severity "${severity}" (alert${names.length === 1 ? '' : 's'} ${names.slice(0, 5).join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}) reaches only the default receiver, which notifies no one: add a route for it, or route those alerts to a null receiver on purpose`,
        );
      }
    }
    return problems;
  },
};
