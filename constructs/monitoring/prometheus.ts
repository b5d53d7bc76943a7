import { Alertmanager as AlertmanagerModel } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Alertmanager';
import { Prometheus as PrometheusModel } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/Prometheus';
import type { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { registerPolicies } from '../../framework/cluster.js';
import { quantityError } from '../../framework/rules/api-server.js';
import { modelObject } from '../core/model-object.js';
import { type AlertmanagerConfiguration, namedServicePort } from './alerting.js';
import { KUBE_PROMETHEUS_COMPONENTS, KUBE_PROMETHEUS_VERSION, type KubePrometheusComponents } from './kube-prometheus.js';
import { monitoringStackPolicy } from './stack-policy.js';

/** Prometheus's duration format: one or more number-unit pairs, largest unit first (`15d`, `1w2d`, `90m`). */
const DURATION = /^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$/;
/** Prometheus's retention size format (`50GB`, `512MiB`). */
const BYTE_SIZE = /^(0|([0-9]*(\.[0-9]+)?(B|KB|MB|GB|TB|PB|EB)))$/;

function labelsOf(component: string, instance: string, name: string, version: string): Record<string, string> {
  return {
    'app.kubernetes.io/component': component,
    'app.kubernetes.io/instance': instance,
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/part-of': 'kube-prometheus',
    'app.kubernetes.io/version': version,
  };
}

/** What `version` of kube-prometheus runs, or the pinned release's when it is not known (its construct reports that). */
function componentsOf(version: string): KubePrometheusComponents {
  const pinned = KUBE_PROMETHEUS_COMPONENTS[KUBE_PROMETHEUS_VERSION] as KubePrometheusComponents;
  return KUBE_PROMETHEUS_COMPONENTS[version] ?? pinned;
}

export interface PrometheusStorage {
  /** The StorageClass of the TSDB's claims: a block class (Prometheus does not support NFS). */
  readonly storageClass: k8s.KubeStorageClass;
  /** Size of each replica's claim, e.g. `50Gi`. */
  readonly size: string;
}

export interface PrometheusServerProps {
  /** @default 'k8s' (the name kube-prometheus's Services, rules and RBAC expect) */
  readonly name?: string;
  /** @default 'monitoring' */
  readonly namespace?: string;
  /** @default KUBE_PROMETHEUS_VERSION */
  readonly kubePrometheusVersion?: string;
  /** @default 2 */
  readonly replicas?: number;
  /** How long samples are kept, e.g. `15d`. */
  readonly retention: string;
  /** The most the TSDB may use before the oldest blocks go, e.g. `45GB`: set it below the claim's size. @default none */
  readonly retentionSize?: string;
  /** The TSDB's persistent claims. */
  readonly storage: PrometheusStorage;
  /** The URL Prometheus is reached at (links in alerts and the UI). @default none */
  readonly externalUrl?: string;
  /** The Alertmanager it sends alerts to. */
  readonly alertmanager: AlertmanagerServer;
  /** @default requests 400Mi memory, as kube-prometheus; limits 2Gi memory */
  readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> };
}

/**
 * Prometheus `k8s` as kube-prometheus defines it (same labels, ServiceAccount, security context,
 * empty selectors: every ServiceMonitor, PodMonitor, Probe, ScrapeConfig and rule of every
 * namespace), with what the operator chooses: replicas, retention, the TSDB on a persistent claim
 * of a block StorageClass, and the external URL.
 */
export class PrometheusServer extends Construct {
  readonly name: string;
  readonly namespace: string;
  readonly resource: ApiObject;
  /** The ServiceAccount the Prometheus pods run as (kube-prometheus's). */
  readonly serviceAccountName = 'prometheus-k8s';

  constructor(scope: Construct, id: string, props: PrometheusServerProps) {
    super(scope, id);
    registerPolicies(this, monitoringStackPolicy);
    const name = props.name ?? 'k8s';
    const namespace = props.namespace ?? 'monitoring';
    this.name = name;
    this.namespace = namespace;
    const { prometheus: version } = componentsOf(props.kubePrometheusVersion ?? KUBE_PROMETHEUS_VERSION);
    const labels = labelsOf('prometheus', name, 'prometheus', version);
    this.resource = modelObject(
      this,
      'Resource',
      new PrometheusModel({
        metadata: { name, namespace, labels },
        spec: {
          alerting: {
            alertmanagers: [
              { apiVersion: 'v2', name: props.alertmanager.serviceName, namespace: props.alertmanager.namespace, port: 'web' },
            ],
          },
          image: `quay.io/prometheus/prometheus:v${version}`,
          version,
          replicas: props.replicas ?? 2,
          retention: props.retention,
          ...(props.retentionSize === undefined ? {} : { retentionSize: props.retentionSize }),
          ...(props.externalUrl === undefined ? {} : { externalUrl: props.externalUrl }),
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          podMetadata: { labels },
          resources: props.resources ?? { requests: { memory: '400Mi' }, limits: { memory: '2Gi' } },
          securityContext: { fsGroup: 2000, runAsNonRoot: true, runAsUser: 1000 },
          serviceAccountName: this.serviceAccountName,
          serviceDiscoveryRole: 'EndpointSlice',
          serviceMonitorSelector: {},
          serviceMonitorNamespaceSelector: {},
          podMonitorSelector: {},
          podMonitorNamespaceSelector: {},
          probeSelector: {},
          probeNamespaceSelector: {},
          ruleSelector: {},
          ruleNamespaceSelector: {},
          scrapeConfigSelector: {},
          scrapeConfigNamespaceSelector: {},
          storage: {
            // The CRD's embedded claim has optional apiVersion and kind; the model's types mistake them for its own.
            volumeClaimTemplate: {
              spec: {
                storageClassName: props.storage.storageClass.name,
                accessModes: ['ReadWriteOnce'],
                resources: { requests: { storage: props.storage.size } },
              },
            } as never,
          },
        },
      }),
    );
    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (!DURATION.test(props.retention) || props.retention === '') {
          errors.push(`retention "${props.retention}" is not a Prometheus duration (e.g. 15d, 2w, 36h)`);
        }
        if (props.retentionSize !== undefined && !BYTE_SIZE.test(props.retentionSize)) {
          errors.push(`retentionSize "${props.retentionSize}" is not a Prometheus size (e.g. 45GB, 500MB; units B, KB, MB, GB, TB)`);
        }
        if (quantityError(props.storage.size)) errors.push(`storage.size "${props.storage.size}" is not a quantity (e.g. 50Gi)`);
        const replicas = props.replicas ?? 2;
        if (!Number.isInteger(replicas) || replicas < 1) errors.push(`replicas ${replicas} must be a whole number of at least 1`);
        return errors;
      },
    });
  }
}

export interface AlertmanagerServerProps {
  /** The routing, receivers and inhibition: an AlertmanagerConfig of the same namespace. */
  readonly configuration: AlertmanagerConfiguration;
  /** @default 'main' (the name kube-prometheus's Service, rules and NetworkPolicies expect) */
  readonly name?: string;
  /** @default 'monitoring' */
  readonly namespace?: string;
  /** @default KUBE_PROMETHEUS_VERSION */
  readonly kubePrometheusVersion?: string;
  /** @default 3 */
  readonly replicas?: number;
  /** The URL Alertmanager is reached at (links in notifications). @default none */
  readonly externalUrl?: string;
}

/**
 * Alertmanager `main` as kube-prometheus defines it (3 replicas, its labels, ServiceAccount and
 * resources), configured by one AlertmanagerConfig, its global configuration.
 */
export class AlertmanagerServer extends Construct {
  readonly name: string;
  readonly namespace: string;
  /** The Service kube-prometheus puts in front of it. */
  readonly serviceName: string;
  readonly resource: ApiObject;
  readonly configuration: AlertmanagerConfiguration;

  constructor(scope: Construct, id: string, props: AlertmanagerServerProps) {
    super(scope, id);
    registerPolicies(this, monitoringStackPolicy);
    const name = props.name ?? 'main';
    const namespace = props.namespace ?? 'monitoring';
    this.name = name;
    this.namespace = namespace;
    this.serviceName = `alertmanager-${name}`;
    const { alertmanager: version } = componentsOf(props.kubePrometheusVersion ?? KUBE_PROMETHEUS_VERSION);
    const labels = labelsOf('alert-router', name, 'alertmanager', version);
    const { 'app.kubernetes.io/version': _version, ...podSelectorLabels } = labels;
    this.resource = modelObject(
      this,
      'Resource',
      new AlertmanagerModel({
        metadata: { name, namespace, labels },
        spec: {
          image: `quay.io/prometheus/alertmanager:v${version}`,
          version,
          replicas: props.replicas ?? 3,
          ...(props.externalUrl === undefined ? {} : { externalUrl: props.externalUrl }),
          nodeSelector: { 'kubernetes.io/os': 'linux' },
          podMetadata: { labels },
          resources: { limits: { cpu: '100m', memory: '100Mi' }, requests: { cpu: '4m', memory: '100Mi' } },
          securityContext: { fsGroup: 2000, runAsNonRoot: true, runAsUser: 1000 },
          serviceAccountName: `alertmanager-${name}`,
          // The global configuration: its route tree is the root, its receivers the only ones.
          alertmanagerConfiguration: { name: props.configuration.name },
        },
      }),
    );
    this.configuration = props.configuration;
    // The webhook bridges admit no one by themselves: these policies let this Alertmanager's pods in.
    const targets = new Map<k8s.KubeService, string | number>();
    for (const receiver of props.configuration.receivers) {
      for (const webhook of receiver.webhooks) {
        const port = namedServicePort(webhook.service, webhook.port);
        if (port) targets.set(webhook.service, port.targetPort);
      }
    }
    for (const [service, targetPort] of targets) {
      const selector = (service.toJson().spec as { selector?: Record<string, string> } | undefined)?.selector ?? {};
      new k8s.KubeNetworkPolicy(this, `Webhook-${service.name}`, {
        metadata: { name: `${service.name}-from-alertmanager-${name}`, namespace: service.metadata.namespace ?? namespace },
        spec: {
          podSelector: { matchLabels: { ...selector } },
          policyTypes: ['Ingress'],
          ingress: [
            {
              // Not the version label: an upgrade of Alertmanager must not cut its notifications.
              from: [{ podSelector: { matchLabels: podSelectorLabels } }],
              ports: [
                {
                  port: typeof targetPort === 'number' ? k8s.IntOrString.fromNumber(targetPort) : k8s.IntOrString.fromString(targetPort),
                  protocol: 'TCP',
                },
              ],
            },
          ],
        },
      });
    }
    this.node.addValidation({
      validate: () =>
        props.configuration.namespace === namespace
          ? []
          : [
              `configuration: AlertmanagerConfig ${props.configuration.namespace}/${props.configuration.name} is not in the Alertmanager's namespace ${namespace}; the global configuration must be`,
            ],
    });
  }
}
