import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { ApiObject } from 'cdk8s';
import type { Construct, IConstruct } from 'constructs';
import type { Addon } from '../../framework/addons.js';
import { modelObject } from '../core/model-object.js';
import { type MetricsEndpoint, metricsEndpoints } from './metrics.js';

/** A prometheus-operator ServiceMonitor scraping one named port of the selected Services of its own namespace. */
export function metricsServiceMonitor(scope: Construct, endpoint: MetricsEndpoint): ApiObject {
  const { name, namespace, labels } = endpoint;
  return modelObject(
    scope,
    endpoint.id,
    new ServiceMonitor({
      metadata: { name, namespace, ...(labels ? { labels: { ...labels } } : {}) },
      spec: {
        selector: { matchLabels: { ...endpoint.selector } },
        namespaceSelector: { matchNames: [namespace] },
        endpoints: [
          {
            port: endpoint.port,
            ...(endpoint.path === undefined ? {} : { path: endpoint.path }),
            interval: endpoint.interval,
          },
        ],
      },
    }),
  );
}

/**
 * Metrics scraping: one ServiceMonitor for each metrics endpoint a construct declares
 * (`declareMetrics`), under that construct. A cluster opts in with `addons: () => [metricsAddon]`;
 * without it no ServiceMonitor is rendered for a declared endpoint.
 */
export const metricsAddon: Addon = {
  name: 'metrics',
  visit(construct: IConstruct) {
    for (const endpoint of metricsEndpoints(construct)) {
      // A Service without a namespace is the declaration's error; a monitor in no namespace would only add noise.
      if (endpoint.namespace !== '') metricsServiceMonitor(construct as Construct, endpoint);
    }
  },
};
