import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { registerPolicies } from '../../framework/cluster.js';
import type { IClusterIssuer } from '../certificates/acme-cluster-issuer.js';
import { KustomizePatch } from '../core/kustomize-patch.js';
import { podSecurityNamespace } from '../core/namespace.js';
import type { UpstreamService } from '../core/upstream-service.js';
import type { ForwardAuthMiddleware } from '../ingress/forward-auth.js';
import { type IngressAuth, SecureIngress } from '../ingress/secure-ingress.js';
import type { TraefikController } from '../ingress/traefik.js';
import type { SopsSecret } from '../secrets/sops-secret.js';
import type { AlertmanagerConfiguration } from './alerting.js';
import { KUBE_PROMETHEUS_VERSION, KubePrometheusManifests } from './kube-prometheus.js';
import { AlertmanagerServer, PrometheusServer, type PrometheusStorage } from './prometheus.js';
import { prometheusRulePolicy } from './rule-policy.js';

/** Key of the Grafana SOPS Secret holding the GitLab OAuth application's secret. */
export const GRAFANA_GITLAB_SECRET_KEY = 'GF_AUTH_GITLAB_CLIENT_SECRET';

export interface GrafanaGitLabProps {
  /** The GitLab instance, `https://gitlab.example.com`. */
  readonly gitlabUrl: string;
  /** The Application ID of the GitLab OAuth application (callback `https://<host>/login/gitlab`, scopes openid email profile). */
  readonly applicationId: string;
  /** SopsSecret with the application's secret under GRAFANA_GITLAB_SECRET_KEY. */
  readonly secret: SopsSecret;
  /** GitLab group paths whose members may sign in and are Grafana Admins; nobody else may sign in. */
  readonly adminGroups: readonly string[];
  /** Further groups whose members may sign in, as Viewers. @default none */
  readonly viewerGroups?: readonly string[];
  /** SopsSecret `grafana-config` with key `grafana.ini` (kube-prometheus's holds only `[date_formats] default_timezone = UTC`). */
  readonly config: SopsSecret;
  /** SopsSecret `grafana-datasources` with key `datasources.yaml` (the Prometheus datasource, `http://prometheus-k8s.monitoring.svc:9090`). */
  readonly datasources: SopsSecret;
}

export interface MonitoringStackProps {
  /** @default KUBE_PROMETHEUS_VERSION */
  readonly version?: string;
  /** The base domain: Grafana at `monitoring.<base>`, Prometheus at `prometheus.monitoring.<base>`, Alertmanager at `alertmanager.<base>`. */
  readonly baseDomain: string;
  readonly prometheus: {
    readonly retention: string;
    readonly retentionSize?: string;
    readonly storage: PrometheusStorage;
    readonly replicas?: number;
  };
  readonly alertmanager: { readonly configuration: AlertmanagerConfiguration; readonly replicas?: number };
  readonly grafana: GrafanaGitLabProps;
  /** The ingress controller whose pods must reach the UIs (kube-prometheus's NetworkPolicies admit only the stack itself). */
  readonly ingressController: TraefikController;
  readonly issuer: IClusterIssuer;
  /** The forward-auth Middleware in front of Prometheus and Alertmanager. */
  readonly sso: ForwardAuthMiddleware;
  /** Components or manifests of kube-prometheus to leave out (KubePrometheusManifests `without`). @default none */
  readonly without?: readonly string[];
}

/** Discovery in every namespace: what kube-prometheus grants only in default, kube-system and monitoring. */
const DISCOVERY_RULES: k8s.PolicyRule[] = [
  { apiGroups: [''], resources: ['services', 'endpoints', 'pods'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get', 'list', 'watch'] },
];

/** The pod labels of kube-prometheus's components (the selectors of their Services and NetworkPolicies). */
const POD_SELECTORS: Readonly<Record<'grafana' | 'prometheus' | 'alertmanager', Record<string, string>>> = {
  grafana: {
    'app.kubernetes.io/component': 'grafana',
    'app.kubernetes.io/name': 'grafana',
    'app.kubernetes.io/part-of': 'kube-prometheus',
  },
  prometheus: {
    'app.kubernetes.io/component': 'prometheus',
    'app.kubernetes.io/instance': 'k8s',
    'app.kubernetes.io/name': 'prometheus',
    'app.kubernetes.io/part-of': 'kube-prometheus',
  },
  alertmanager: {
    'app.kubernetes.io/component': 'alert-router',
    'app.kubernetes.io/instance': 'main',
    'app.kubernetes.io/name': 'alertmanager',
    'app.kubernetes.io/part-of': 'kube-prometheus',
  },
};

/** A JMESPath string literal (Grafana's role_attribute_path). */
function jmesString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** Grafana's role from the GitLab groups of the user: Admin for an admin group, else Viewer. */
export function grafanaRoleAttributePath(adminGroups: readonly string[]): string {
  const admin = adminGroups.map((group) => `contains(groups[*], ${jmesString(group)})`).join(' || ');
  return `(${admin}) && 'Admin' || 'Viewer'`;
}

/**
 * The cluster's monitoring: kube-prometheus pinned (operator, node-exporter, kube-state-metrics,
 * blackbox exporter, prometheus-adapter, the alerting and recording rules, Grafana with its
 * Prometheus datasource and dashboards), the Prometheus and Alertmanager the project types,
 * discovery RBAC for every namespace, Grafana signing in through GitLab, and the three UIs behind
 * Traefik (Prometheus and Alertmanager behind SSO; Grafana authenticates itself).
 */
export class MonitoringStack extends Construct {
  readonly namespace = 'monitoring';
  readonly manifests: KubePrometheusManifests;
  readonly prometheus: PrometheusServer;
  readonly alertmanager: AlertmanagerServer;
  readonly hosts: { readonly grafana: string; readonly prometheus: string; readonly alertmanager: string };

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id);
    // Every rule of the cluster parses and names a severity, wherever it is rendered.
    registerPolicies(this, prometheusRulePolicy);
    const version = props.version ?? KUBE_PROMETHEUS_VERSION;
    const namespace = this.namespace;
    this.hosts = {
      grafana: `monitoring.${props.baseDomain}`,
      prometheus: `prometheus.monitoring.${props.baseDomain}`,
      alertmanager: `alertmanager.${props.baseDomain}`,
    };
    podSecurityNamespace(this, 'Namespace', {
      name: namespace,
      level: 'privileged',
      reason:
        "node-exporter (kube-prometheus) reads the node's metrics with hostNetwork, hostPID and hostPath mounts of / , /sys and /proc",
    });
    this.manifests = new KubePrometheusManifests(this, 'KubePrometheus', { version, without: props.without });
    // kube-prometheus ships these two as plaintext Secrets; here they are SOPS files of the app
    // (grafana.ini and the Prometheus datasource), mounted where the upstream Deployment expects them.
    props.grafana.config.requireKeys(['grafana.ini']);
    props.grafana.datasources.requireKeys(['datasources.yaml']);

    new k8s.KubeClusterRole(this, 'DiscoveryClusterRole', {
      metadata: { name: 'prometheus-k8s-discovery', labels: { 'app.kubernetes.io/part-of': 'kube-prometheus' } },
      rules: DISCOVERY_RULES,
    });
    this.alertmanager = new AlertmanagerServer(this, 'Alertmanager', {
      namespace,
      kubePrometheusVersion: version,
      configuration: props.alertmanager.configuration,
      replicas: props.alertmanager.replicas,
      externalUrl: `https://${this.hosts.alertmanager}/`,
    });
    this.prometheus = new PrometheusServer(this, 'Prometheus', {
      namespace,
      kubePrometheusVersion: version,
      replicas: props.prometheus.replicas,
      retention: props.prometheus.retention,
      retentionSize: props.prometheus.retentionSize,
      storage: props.prometheus.storage,
      externalUrl: `https://${this.hosts.prometheus}/`,
      alertmanager: this.alertmanager,
    });
    new k8s.KubeClusterRoleBinding(this, 'DiscoveryClusterRoleBinding', {
      metadata: { name: 'prometheus-k8s-discovery', labels: { 'app.kubernetes.io/part-of': 'kube-prometheus' } },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'prometheus-k8s-discovery' },
      subjects: [{ kind: 'ServiceAccount', name: this.prometheus.serviceAccountName, namespace }],
    });

    const grafana = props.grafana;
    grafana.secret.requireKeys([GRAFANA_GITLAB_SECRET_KEY]);
    const gitlab = grafana.gitlabUrl.replace(/\/+$/, '');
    const groups = [...grafana.adminGroups, ...(grafana.viewerGroups ?? [])];
    const env: k8s.EnvVar[] = [
      { name: 'GF_SERVER_ROOT_URL', value: `https://${this.hosts.grafana}/` },
      // GitLab only: no local logins, no local sign-up.
      { name: 'GF_AUTH_DISABLE_LOGIN_FORM', value: 'true' },
      // Hiding the form leaves HTTP basic auth on, and with it the admin user Grafana creates
      // (admin/admin on its emptyDir database after every restart): turn it off.
      { name: 'GF_AUTH_BASIC_ENABLED', value: 'false' },
      { name: 'GF_USERS_ALLOW_SIGN_UP', value: 'false' },
      { name: 'GF_AUTH_GITLAB_ENABLED', value: 'true' },
      { name: 'GF_AUTH_GITLAB_ALLOW_SIGN_UP', value: 'true' },
      { name: 'GF_AUTH_GITLAB_CLIENT_ID', value: grafana.applicationId },
      { name: GRAFANA_GITLAB_SECRET_KEY, valueFrom: { secretKeyRef: { name: grafana.secret.secretName, key: GRAFANA_GITLAB_SECRET_KEY } } },
      { name: 'GF_AUTH_GITLAB_SCOPES', value: 'openid email profile' },
      { name: 'GF_AUTH_GITLAB_AUTH_URL', value: `${gitlab}/oauth/authorize` },
      { name: 'GF_AUTH_GITLAB_TOKEN_URL', value: `${gitlab}/oauth/token` },
      { name: 'GF_AUTH_GITLAB_API_URL', value: `${gitlab}/api/v4` },
      { name: 'GF_AUTH_GITLAB_ALLOWED_GROUPS', value: groups.join(' ') },
      { name: 'GF_AUTH_GITLAB_ROLE_ATTRIBUTE_PATH', value: grafanaRoleAttributePath(grafana.adminGroups) },
      { name: 'GF_AUTH_GITLAB_ROLE_ATTRIBUTE_STRICT', value: 'true' },
      { name: 'GF_AUTH_GITLAB_USE_PKCE', value: 'true' },
      { name: 'GF_AUTH_GITLAB_USE_REFRESH_TOKEN', value: 'true' },
    ];
    new KustomizePatch(this, 'GrafanaGitLab', {
      target: { group: 'apps', version: 'v1', kind: 'Deployment', name: 'grafana' },
      patch: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'grafana' },
        spec: { template: { spec: { containers: [{ name: 'grafana', env }] } } },
      },
    });

    // kube-prometheus's NetworkPolicies admit only the stack's own pods: the ingress controller's are let in too.
    const controller = props.ingressController;
    const controllerPods =
      (controller.deployment.toJson().spec as { selector?: { matchLabels?: Record<string, string> } }).selector?.matchLabels ?? {};
    const allowController = (name: 'grafana' | 'prometheus' | 'alertmanager', port: number) =>
      new k8s.KubeNetworkPolicy(this, `IngressController-${name}`, {
        metadata: { name: `${name}-from-ingress-controller`, namespace },
        spec: {
          podSelector: { matchLabels: POD_SELECTORS[name] },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [
                {
                  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': controller.namespace } },
                  podSelector: { matchLabels: { ...controllerPods } },
                },
              ],
              ports: [{ port: k8s.IntOrString.fromNumber(port), protocol: 'TCP' }],
            },
          ],
        },
      });
    allowController('grafana', 3000);
    allowController('prometheus', 9090);
    allowController('alertmanager', 9093);

    const ui = (id: string, name: string, host: string, service: UpstreamService, port: string, auth: IngressAuth) =>
      new SecureIngress(this, id, { name, namespace, hosts: [host], backend: { service, port }, issuer: props.issuer, auth });
    ui('GrafanaIngress', 'grafana', this.hosts.grafana, this.manifests.grafanaService, 'http', {
      public: 'Grafana signs users in itself through GitLab OAuth (only the operator groups may sign in)',
    });
    ui('PrometheusIngress', 'prometheus-k8s', this.hosts.prometheus, this.manifests.prometheusService, 'web', { sso: props.sso });
    ui('AlertmanagerIngress', 'alertmanager-main', this.hosts.alertmanager, this.manifests.alertmanagerService, 'web', { sso: props.sso });

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        if (!grafana.gitlabUrl.startsWith('https://')) errors.push(`grafana.gitlabUrl "${grafana.gitlabUrl}" must be an https:// URL`);
        if (grafana.adminGroups.length === 0) errors.push('grafana.adminGroups must name at least one GitLab group');
        for (const group of groups) {
          if (!/^[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$/.test(group)) {
            errors.push(`grafana group "${group}" is not a GitLab group path (e.g. ops or infra/oncall)`);
          }
        }
        if (grafana.applicationId.trim() === '') errors.push('grafana.applicationId is empty: give the GitLab OAuth Application ID');
        return errors;
      },
    });
  }
}
