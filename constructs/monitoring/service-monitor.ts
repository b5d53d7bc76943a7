import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import type { ApiObject } from 'cdk8s';
import type { Construct } from 'constructs';
import { modelObject } from '../core/model-object.js';

export interface MetricsServiceMonitorProps {
  readonly name: string;
  readonly namespace: string;
  /** Labels of the ServiceMonitor itself. @default none */
  readonly labels?: Readonly<Record<string, string>>;
  /** Labels of the Service(s) to scrape, in `namespace`. */
  readonly selector: Readonly<Record<string, string>>;
  /** Name of the Service port serving metrics. @default 'metrics' */
  readonly port?: string;
  /** HTTP path of the metrics. @default Prometheus's own default, /metrics (not written) */
  readonly path?: string;
  /** @default '30s' */
  readonly interval?: string;
}

/** A prometheus-operator ServiceMonitor scraping one named port of the selected Services of its own namespace. */
export function metricsServiceMonitor(scope: Construct, id: string, props: MetricsServiceMonitorProps): ApiObject {
  return modelObject(
    scope,
    id,
    new ServiceMonitor({
      metadata: { name: props.name, namespace: props.namespace, ...(props.labels ? { labels: { ...props.labels } } : {}) },
      spec: {
        selector: { matchLabels: { ...props.selector } },
        namespaceSelector: { matchNames: [props.namespace] },
        endpoints: [
          {
            port: props.port ?? 'metrics',
            ...(props.path === undefined ? {} : { path: props.path }),
            interval: props.interval ?? '30s',
          },
        ],
      },
    }),
  );
}
