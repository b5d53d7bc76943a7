import { Construct } from 'constructs';
import type { CustomResourceKinds } from '../../framework/contributions.js';
import { crdSyncOptions } from '../core/kustomize-patch.js';
import { floatingVersionError } from '../core/pinning.js';
import { RemoteResource } from '../core/remote-resource.js';
import { UpstreamService } from '../core/upstream-service.js';

/** The kube-prometheus release the monitoring stack installs (prometheus-operator v0.92.0, Prometheus 3.12.0). */
export const KUBE_PROMETHEUS_VERSION = 'v0.18.0';

/** The versions of what a kube-prometheus release runs, from its manifests. */
export interface KubePrometheusComponents {
  readonly prometheus: string;
  readonly alertmanager: string;
  readonly grafana: string;
}

/** Component versions per kube-prometheus release, as its manifests pin the images. */
export const KUBE_PROMETHEUS_COMPONENTS: Readonly<Record<string, KubePrometheusComponents>> = {
  'v0.18.0': { prometheus: '3.12.0', alertmanager: '0.33.0', grafana: '13.0.2' },
};

/** Each kind prometheus-operator's CRDs define, with the stem of its file in `manifests/setup/` (`0<stem>CustomResourceDefinition.yaml`). */
export const CRD_FILE_STEMS: Readonly<Record<string, string>> = {
  // In the order of the files' names, the order kustomize lists them in.
  AlertmanagerConfig: 'alertmanagerConfig',
  Alertmanager: 'alertmanager',
  PodMonitor: 'podmonitor',
  Probe: 'probe',
  Prometheus: 'prometheus',
  PrometheusAgent: 'prometheusagent',
  PrometheusRule: 'prometheusrule',
  ScrapeConfig: 'scrapeconfig',
  ServiceMonitor: 'servicemonitor',
  ThanosRuler: 'thanosruler',
};

/** The custom resource kinds prometheus-operator's CRDs define (kube-prometheus `manifests/setup/`). */
export const PROMETHEUS_OPERATOR_CRDS: readonly CustomResourceKinds[] = [
  { group: 'monitoring.coreos.com', kinds: Object.keys(CRD_FILE_STEMS).sort() },
];

/** The URL of a file of kube-prometheus's `manifests/` at a release. */
export function kubePrometheusUrl(version: string, file: string): string {
  return `https://raw.githubusercontent.com/prometheus-operator/kube-prometheus/${version}/manifests/${file}`;
}

function versionErrors(version: string): string[] {
  const error = floatingVersionError(version);
  if (error) return [`kube-prometheus ${error}`];
  if (!KUBE_PROMETHEUS_COMPONENTS[version]) {
    return [
      `kube-prometheus ${version} is not known here: add its component versions and manifest list to KUBE_PROMETHEUS_COMPONENTS (known: ${Object.keys(KUBE_PROMETHEUS_COMPONENTS).join(', ')})`,
    ];
  }
  return [];
}

export interface PrometheusOperatorCrdsProps {
  /** @default KUBE_PROMETHEUS_VERSION */
  readonly version?: string;
}

/**
 * prometheus-operator's CustomResourceDefinitions, as kube-prometheus pins them: an app of their
 * own early in the order, so that every app rendering a ServiceMonitor or PrometheusRule can
 * depend on them without depending on the monitoring stack (whose UIs need Traefik, which renders
 * ServiceMonitors). They are applied server-side (too large for client-side apply) and never pruned:
 * removing them would delete every monitor, rule, Prometheus and Alertmanager of the cluster.
 */
export class PrometheusOperatorCrds extends Construct {
  readonly version: string;
  readonly resources: readonly RemoteResource[];

  constructor(scope: Construct, id: string, props: PrometheusOperatorCrdsProps = {}) {
    super(scope, id);
    const version = props.version ?? KUBE_PROMETHEUS_VERSION;
    this.version = version;
    // One kind per file: each declares the kind it installs, so the accounting names the right file.
    this.resources = Object.entries(CRD_FILE_STEMS).map(
      ([kind, stem]) =>
        new RemoteResource(this, stem, {
          url: kubePrometheusUrl(version, `setup/0${stem}CustomResourceDefinition.yaml`),
          crds: [{ group: 'monitoring.coreos.com', kinds: [kind] }],
        }),
    );
    crdSyncOptions(this, 'CrdSyncOptions', {
      patchName: 'prometheus-operator-crds',
      syncOptions: ['Delete=false', 'ServerSideApply=true'],
      syncWave: -1,
    });
    this.node.addValidation({ validate: () => versionErrors(version) });
  }
}

/**
 * The kube-prometheus manifests the monitoring app installs as they are, by component. Left out,
 * because the project renders them itself: the Prometheus `k8s` and Alertmanager `main` objects,
 * the Alertmanager configuration Secret (the routing is the project's AlertmanagerConfig), the
 * namespace (it carries the project's Pod Security labels) and the discovery Roles for three
 * namespaces only (a ClusterRole grants discovery in every namespace instead).
 */
export const KUBE_PROMETHEUS_MANIFESTS: Readonly<Record<string, readonly string[]>> = {
  alertmanager: ['networkPolicy', 'podDisruptionBudget', 'prometheusRule', 'service', 'serviceAccount', 'serviceMonitor'],
  blackboxExporter: [
    'clusterRole',
    'clusterRoleBinding',
    'configuration',
    'deployment',
    'networkPolicy',
    'service',
    'serviceAccount',
    'serviceMonitor',
  ],
  // Its config and datasources Secrets are the app's SOPS files (MonitoringStack): a Secret in git is encrypted.
  grafana: [
    'dashboardDefinitions',
    'dashboardSources',
    'deployment',
    'networkPolicy',
    'prometheusRule',
    'service',
    'serviceAccount',
    'serviceMonitor',
  ],
  kubePrometheus: ['prometheusRule'],
  kubeStateMetrics: [
    'clusterRole',
    'clusterRoleBinding',
    'deployment',
    'networkPolicy',
    'prometheusRule',
    'service',
    'serviceAccount',
    'serviceMonitor',
  ],
  kubernetesControlPlane: [
    'prometheusRule',
    'serviceMonitorApiserver',
    'serviceMonitorCoreDNS',
    'serviceMonitorKubeControllerManager',
    'serviceMonitorKubeScheduler',
    'serviceMonitorKubelet',
  ],
  nodeExporter: [
    'clusterRole',
    'clusterRoleBinding',
    'daemonset',
    'networkPolicy',
    'prometheusRule',
    'service',
    'serviceAccount',
    'serviceMonitor',
  ],
  prometheus: [
    'clusterRole',
    'clusterRoleBinding',
    'networkPolicy',
    'podDisruptionBudget',
    'prometheusRule',
    'roleBindingConfig',
    'roleConfig',
    'service',
    'serviceAccount',
    'serviceMonitor',
  ],
  prometheusAdapter: [
    'apiService',
    'clusterRole',
    'clusterRoleAggregatedMetricsReader',
    'clusterRoleBinding',
    'clusterRoleBindingDelegator',
    'clusterRoleServerResources',
    'configMap',
    'deployment',
    'networkPolicy',
    'podDisruptionBudget',
    'roleBindingAuthReader',
    'service',
    'serviceAccount',
    'serviceMonitor',
  ],
  prometheusOperator: [
    'clusterRole',
    'clusterRoleBinding',
    'deployment',
    'networkPolicy',
    'prometheusRule',
    'service',
    'serviceAccount',
    'serviceMonitor',
  ],
};

export interface KubePrometheusManifestsProps {
  /** @default KUBE_PROMETHEUS_VERSION */
  readonly version?: string;
  /**
   * Components of KUBE_PROMETHEUS_MANIFESTS (`blackboxExporter`) or single manifests
   * (`kubernetesControlPlane-serviceMonitorKubeScheduler`) to leave out. @default none
   */
  readonly without?: readonly string[];
}

/**
 * The pinned kube-prometheus manifests of the stack (operator, exporters, rules, Grafana and the
 * Services of Prometheus and Alertmanager), in namespace `monitoring` as upstream writes them.
 * The Services are exposed as objects for Ingresses, webhooks and checks.
 */
export class KubePrometheusManifests extends Construct {
  readonly version: string;
  readonly namespace = 'monitoring';
  readonly resources: readonly RemoteResource[];
  /** `prometheus-k8s`: the Prometheus API and UI on `web` (9090). */
  readonly prometheusService: UpstreamService;
  /** `alertmanager-main`: the Alertmanager API and UI on `web` (9093). */
  readonly alertmanagerService: UpstreamService;
  /** `grafana` on `http` (3000). */
  readonly grafanaService: UpstreamService;

  constructor(scope: Construct, id: string, props: KubePrometheusManifestsProps = {}) {
    super(scope, id);
    const version = props.version ?? KUBE_PROMETHEUS_VERSION;
    this.version = version;
    const without = new Set(props.without ?? []);
    const stems = Object.entries(KUBE_PROMETHEUS_MANIFESTS).flatMap(([component, parts]) => parts.map((part) => `${component}-${part}`));
    const unknown = [...without].filter((entry) => !(entry in KUBE_PROMETHEUS_MANIFESTS) && !stems.includes(entry));
    this.resources = stems
      .filter((stem) => !without.has(stem) && !without.has(stem.slice(0, stem.indexOf('-'))))
      .map((stem) => new RemoteResource(this, stem, { url: kubePrometheusUrl(version, `${stem}.yaml`) }));
    const service = (name: string, file: string, ports: { name: string; port: number }[]) =>
      new UpstreamService({ namespace: this.namespace, name, ports, providedBy: kubePrometheusUrl(version, file) });
    this.prometheusService = service('prometheus-k8s', 'prometheus-service.yaml', [
      { name: 'web', port: 9090 },
      { name: 'reloader-web', port: 8080 },
    ]);
    this.alertmanagerService = service('alertmanager-main', 'alertmanager-service.yaml', [
      { name: 'web', port: 9093 },
      { name: 'reloader-web', port: 8080 },
    ]);
    this.grafanaService = service('grafana', 'grafana-service.yaml', [{ name: 'http', port: 3000 }]);
    this.node.addValidation({
      validate: () => [
        ...versionErrors(version),
        ...unknown.map(
          (entry) =>
            `without: "${entry}" is no component or manifest of kube-prometheus (components: ${Object.keys(KUBE_PROMETHEUS_MANIFESTS).join(', ')}; a manifest is <component>-<part>, as in KUBE_PROMETHEUS_MANIFESTS)`,
        ),
        ...(without.has('prometheus') || without.has('alertmanager') || without.has('prometheusOperator')
          ? ['without: prometheus, alertmanager and prometheusOperator are the stack itself and cannot be left out']
          : []),
      ],
    });
  }
}
