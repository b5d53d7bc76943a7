import { ApiObject } from 'cdk8s';
import type { IConstruct } from 'constructs';
import { isRecord } from '../../framework/model.js';

/** A Service an upstream manifest or chart brings: known by namespace and labels, seen only by the deep build. */
export interface UpstreamMetricsService {
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * A metrics endpoint a construct serves. Declaring it renders nothing: a cluster that opts into
 * the metrics addon (`metricsAddon`) gets one ServiceMonitor for it, under the declaring construct.
 */
export interface MetricsEndpointProps {
  /** Construct id of the ServiceMonitor under the declaring construct. @default 'ServiceMonitor' */
  readonly id?: string;
  /** Name of the ServiceMonitor. */
  readonly name: string;
  /** Labels of the ServiceMonitor itself. @default none */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * The Service serving the metrics. A Service of the construct tree is selected by its namespace
   * and labels and must have the port; an upstream one only by namespace and labels.
   */
  readonly service: ApiObject | UpstreamMetricsService;
  /** Name of the Service port serving metrics. @default 'metrics' */
  readonly port?: string;
  /** HTTP path of the metrics. @default Prometheus's own default, /metrics (not written) */
  readonly path?: string;
  /** @default '30s' */
  readonly interval?: string;
}

/** A declaration as the metrics addon reads it: defaults applied, the Service resolved to namespace and labels. */
export interface MetricsEndpoint {
  readonly id: string;
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly namespace: string;
  /** Labels of the Service(s) to scrape, in `namespace`. */
  readonly selector: Readonly<Record<string, string>>;
  readonly port: string;
  readonly path?: string;
  readonly interval: string;
}

const METRICS_ENDPOINTS: unique symbol = Symbol.for('homelab-cdk8s.metrics-endpoints');

type Holder = Record<symbol, MetricsEndpointProps[] | undefined>;

function stringRecord(value: unknown): Record<string, string> {
  return isRecord(value) ? Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, String(entry)])) : {};
}

/** The names of the ports of a Service object. */
function portNames(service: ApiObject): string[] {
  const spec = (service.toJson() as { spec?: unknown }).spec;
  const ports = isRecord(spec) && Array.isArray(spec.ports) ? spec.ports : [];
  return ports.flatMap((port) => (isRecord(port) && typeof port.name === 'string' ? [port.name] : []));
}

/**
 * Declares that `scope` serves metrics on a port of a Service. Nothing is rendered for it unless
 * the cluster applies the metrics addon. A Service of the tree that lacks the port, or is no
 * Service, is an error of `scope`.
 */
export function declareMetrics(scope: IConstruct, props: MetricsEndpointProps): void {
  const holder = scope as unknown as Holder;
  const declared = holder[METRICS_ENDPOINTS] ?? [];
  const id = props.id ?? 'ServiceMonitor';
  if (declared.some((endpoint) => (endpoint.id ?? 'ServiceMonitor') === id)) {
    throw new Error(`metrics endpoint "${id}" is declared twice on ${scope.node.path}: give each its own id`);
  }
  holder[METRICS_ENDPOINTS] = [...declared, props];
  const { service } = props;
  if (!ApiObject.isApiObject(service)) return;
  const port = props.port ?? 'metrics';
  scope.node.addValidation({
    validate: () => {
      if (service.apiVersion !== 'v1' || service.kind !== 'Service') {
        return [`metrics endpoint "${id}": ${service.kind} ${service.name} is not a Service; pass the Service serving the metrics`];
      }
      if (service.metadata.namespace === undefined) {
        return [`metrics endpoint "${id}": Service ${service.name} names no namespace; set its metadata.namespace`];
      }
      const names = portNames(service);
      if (names.includes(port)) return [];
      return [
        `metrics endpoint "${id}": Service ${service.name} has no port named "${port}" (its ports: ${names.join(', ') || 'none'}); name the metrics port "${port}" or declare the port it has`,
      ];
    },
  });
}

/** The metrics endpoints `construct` declares, in declaration order. */
export function metricsEndpoints(construct: IConstruct): MetricsEndpoint[] {
  return ((construct as unknown as Holder)[METRICS_ENDPOINTS] ?? []).map((props) => {
    const { service } = props;
    const target = ApiObject.isApiObject(service)
      ? { namespace: service.metadata.namespace ?? '', selector: stringRecord(service.metadata.toJson().labels) }
      : { namespace: service.namespace, selector: { ...service.labels } };
    return {
      id: props.id ?? 'ServiceMonitor',
      name: props.name,
      ...(props.labels ? { labels: { ...props.labels } } : {}),
      ...target,
      port: props.port ?? 'metrics',
      ...(props.path === undefined ? {} : { path: props.path }),
      interval: props.interval ?? '30s',
    };
  });
}
