import { describe, expect, it } from 'vitest';
import { metricsTargetPolicy } from '../../constructs/monitoring/policies.js';
import type { PolicyObject } from '../../framework/cluster.js';
import type { Manifest } from '../../framework/model.js';
import { selectorMatches } from '../../framework/rules/selectors.js';

const object = (manifest: Manifest): PolicyObject => ({ app: 'web', manifest, origin: { constructPath: `lab/web/${manifest.kind}` } });
const service = object({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web-metrics', namespace: 'web', labels: { 'app.kubernetes.io/name': 'web' } },
  spec: { ports: [{ name: 'metrics', port: 9090 }] },
});
const monitor = (selector: Record<string, unknown>, port = 'metrics', namespaces?: string[]) =>
  object({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: 'web', namespace: 'web' },
    spec: { selector, endpoints: [{ port }], ...(namespaces ? { namespaceSelector: { matchNames: namespaces } } : {}) },
  });
const check = (objects: PolicyObject[], built = true) =>
  metricsTargetPolicy.check(objects, { syncsAfter: () => false, built }).map((p) => p.message);

describe('metrics targets', () => {
  it('passes a ServiceMonitor selecting a Service with the port it scrapes', () => {
    expect(check([service, monitor({ matchLabels: { 'app.kubernetes.io/name': 'web' } })])).toEqual([]);
    expect(check([service, monitor({ matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: ['web'] }] })])).toEqual(
      [],
    );
  });

  it('fails a monitor that selects nothing once every built object is seen, and only then', () => {
    const wrong = monitor({ matchLabels: { 'app.kubernetes.io/name': 'webb' } });
    expect(check([service, wrong])).toEqual([
      'selects no Service in namespace web (selector {"matchLabels":{"app.kubernetes.io/name":"webb"}}): Prometheus would scrape nothing; fix the selector or the namespace',
    ]);
    // A plain synth does not see upstream Services: nothing to say yet.
    expect(check([service, wrong], false)).toEqual([]);
    expect(check([service, monitor({ matchLabels: { 'app.kubernetes.io/name': 'web' } }, 'metrics', ['other'])])).toHaveLength(1);
  });

  it('fails an endpoint port the selected Services do not name', () => {
    expect(check([service, monitor({ matchLabels: { 'app.kubernetes.io/name': 'web' } }, 'http-metrics')], false)).toEqual([
      'spec.endpoints[0].port "http-metrics" is not a port name of what it selects (Service web-metrics); name the port "http-metrics" or scrape one it has',
    ]);
  });

  it('reads selectors as Kubernetes does', () => {
    const labels = { a: '1', b: '2' };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { a: '1' }, matchExpressions: [{ key: 'c', operator: 'DoesNotExist' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'b', operator: 'NotIn', values: ['2'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'b', operator: 'Exists' }] }, labels)).toBe(true);
  });
});
