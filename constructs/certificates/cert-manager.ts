import { Construct } from 'constructs';
import { HelmChart } from '../core/helm-chart.js';
import { deepMerge } from '../core/merge.js';
import { podSecurityNamespace } from '../core/namespace.js';
import { type ContainerResources, containerResources, containerResourcesError } from '../core/resources.js';

/** The cert-manager release this library is tested with. */
export const CERT_MANAGER_VERSION = 'v1.21.1';

/** The custom resources whose CRDs the chart installs. */
export const CERT_MANAGER_CRDS = [
  { group: 'cert-manager.io', kinds: ['Certificate', 'CertificateRequest', 'Issuer', 'ClusterIssuer'] },
  { group: 'acme.cert-manager.io', kinds: ['Order', 'Challenge'] },
] as const;

/** The chart's containers, each set by its own `resources` value. */
export type CertManagerComponent = 'controller' | 'webhook' | 'cainjector' | 'startupapicheck';

/**
 * Requests and limits of cert-manager's containers (the chart sets none). The cainjector
 * caches the Secrets and CRDs it injects into, so it may grow most.
 */
export const CERT_MANAGER_RESOURCES: Readonly<Record<CertManagerComponent, ContainerResources>> = {
  controller: containerResources('25m', '64Mi', '256Mi'),
  webhook: containerResources('10m', '32Mi', '128Mi'),
  cainjector: containerResources('10m', '64Mi', '256Mi'),
  startupapicheck: containerResources('10m', '32Mi', '64Mi'),
};

export interface CertManagerProps {
  /** Namespace of the controller, webhook and cainjector; also the cluster resource namespace. @default 'cert-manager' */
  readonly namespace?: string;
  /** Exact chart version (jetstack `cert-manager` chart). @default CERT_MANAGER_VERSION */
  readonly version?: string;
  /** Replicas of the controller, webhook and cainjector (leader election keeps one active). @default 2 */
  readonly replicas?: number;
  /**
   * Resolvers cert-manager asks when checking DNS-01 records, instead of the cluster's DNS (split-horizon
   * DNS would otherwise hide the public records). @default ['1.1.1.1:53', '9.9.9.9:53']
   */
  readonly dns01RecursiveNameservers?: readonly string[];
  /** Keep the CRDs (and so every Certificate) when the release is removed. @default true */
  readonly keepCrds?: boolean;
  /**
   * Render the chart's ServiceMonitor. Its CRD must already be in the cluster: the chart's object
   * carries no sync option, so ArgoCD's dry run would fail the whole app. @default false
   */
  readonly serviceMonitor?: boolean;
  /** Requests and limits per container, over CERT_MANAGER_RESOURCES. @default CERT_MANAGER_RESOURCES */
  readonly resources?: Partial<Record<CertManagerComponent, ContainerResources>>;
  /** Extra chart values, deep-merged over the ones this construct sets (lists are replaced). @default {} */
  readonly extraValues?: Record<string, unknown>;
}

/**
 * cert-manager from the upstream jetstack chart, pinned, with its CRDs: controller, webhook and
 * cainjector in their own namespace, highly available, leader election kept in that namespace.
 */
export class CertManager extends Construct {
  readonly namespace: string;
  readonly chart: HelmChart;

  constructor(scope: Construct, id: string, props: CertManagerProps = {}) {
    super(scope, id);
    this.namespace = props.namespace ?? 'cert-manager';
    const replicas = props.replicas ?? 2;
    const nameservers = props.dns01RecursiveNameservers ?? ['1.1.1.1:53', '9.9.9.9:53'];

    // cert-manager's pods run as non-root with a read-only root filesystem and no capabilities.
    podSecurityNamespace(this, 'Namespace', { name: this.namespace });

    const podDisruptionBudget = { enabled: replicas > 1, minAvailable: 1 };
    const resources = { ...CERT_MANAGER_RESOURCES, ...props.resources };
    const values: Record<string, unknown> = {
      crds: { enabled: true, keep: props.keepCrds ?? true },
      global: { leaderElection: { namespace: this.namespace } },
      replicaCount: replicas,
      podDisruptionBudget,
      resources: resources.controller,
      webhook: { replicaCount: replicas, podDisruptionBudget, resources: resources.webhook },
      cainjector: { replicaCount: replicas, podDisruptionBudget, resources: resources.cainjector },
      startupapicheck: { resources: resources.startupapicheck },
      prometheus: { enabled: true, servicemonitor: { enabled: props.serviceMonitor ?? false } },
      extraArgs:
        nameservers.length > 0 ? ['--dns01-recursive-nameservers-only', `--dns01-recursive-nameservers=${nameservers.join(',')}`] : [],
    };
    this.chart = new HelmChart(this, 'cert-manager', {
      repo: 'https://charts.jetstack.io',
      chart: 'cert-manager',
      version: props.version ?? CERT_MANAGER_VERSION,
      namespace: this.namespace,
      values: deepMerge(values, props.extraValues ?? {}),
      crds: CERT_MANAGER_CRDS,
    });
    this.node.addValidation({
      validate: () => [
        ...(Number.isInteger(replicas) && replicas >= 1 ? [] : [`replicas must be a positive integer (got ${replicas})`]),
        ...Object.entries(resources).flatMap(([component, value]) => {
          const error = containerResourcesError(value);
          return error ? [`resources.${component}: ${error}`] : [];
        }),
      ],
    });
  }
}
