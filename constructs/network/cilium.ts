import { Construct } from 'constructs';
import { FAMILY_NAMES, type Family, overlaps, subnetOf } from '../../framework/addresses.js';
import { registerPolicies } from '../../framework/cluster.js';
import type { CustomResourceKinds } from '../../framework/contributions.js';
import { valueAt } from '../../framework/model.js';
import { HelmChart } from '../core/helm-chart.js';
import { deepMerge } from '../core/merge.js';
import { type ContainerResources, containerResources } from '../core/resources.js';
import { declareMetrics } from '../monitoring/metrics.js';
import type { LoadBalancerAddresses } from './lb-ipam.js';
import { networkPolicy, type ReservedRange } from './policies.js';

/** The Cilium chart release this library is tested with (BGPv2 and LB-IPAM at cilium.io/v2). */
export const CILIUM_VERSION = '1.19.6';
export const CILIUM_CHART_REPO = 'https://helm.cilium.io/';

/**
 * The cilium.io kinds the project renders. The chart ships no CRDs: the operator registers every
 * cilium.io CRD itself when it starts (unless `operator.skipCRDCreation`), so the kinds count as
 * installed by this app, and their objects skip ArgoCD's dry run until the operator has run.
 */
export const CILIUM_CUSTOM_RESOURCES: CustomResourceKinds = {
  group: 'cilium.io',
  kinds: ['CiliumBGPAdvertisement', 'CiliumBGPClusterConfig', 'CiliumBGPPeerConfig', 'CiliumLoadBalancerIPPool'],
  registeredAtRuntime: 'the cilium-operator creates every cilium.io CRD when it starts (operator.skipCRDCreation is false)',
};

/** Hubble's flow metrics the chart enables by default in its examples; each is one Prometheus family of series. */
export const HUBBLE_METRICS = ['dns', 'drop', 'tcp', 'flow', 'port-distribution', 'icmp', 'httpV2'] as const;

/**
 * Requests and limits of the chart's containers (it sets none), by the values key that sets them.
 * The agent holds the BPF maps' control state and the BGP speaker; the init containers only mount
 * and clean up; Envoy serves L7 visibility (Hubble's HTTP metrics); certgen runs once a week.
 */
export const CILIUM_RESOURCES: Readonly<Record<string, ContainerResources>> = {
  resources: containerResources('100m', '384Mi', '1Gi'),
  initResources: containerResources('10m', '32Mi', '128Mi'),
  'operator.resources': containerResources('25m', '128Mi', '512Mi'),
  'envoy.resources': containerResources('25m', '128Mi', '512Mi'),
  'hubble.relay.resources': containerResources('10m', '64Mi', '256Mi'),
  'certgen.resources': containerResources('10m', '32Mi', '128Mi'),
};

/** A nested values object holding `value` at a dotted key. */
const atPath = (key: string, value: unknown): Record<string, unknown> =>
  key
    .split('.')
    .reverse()
    .reduce<Record<string, unknown>>((inner, part, index) => ({ [part]: index === 0 ? value : inner }), {});

export interface CiliumProps {
  /** @default 'kube-system', where the chart's RBAC and the BGP secrets namespace expect it */
  readonly namespace?: string;
  /** Where the agents reach the API server without kube-proxy (a name or address the nodes resolve, and its port). */
  readonly apiServer: { readonly host: string; readonly port: number };
  /** The cluster's pod CIDRs, one per family: native routing must cover them. */
  readonly podCidrs: readonly string[];
  /** Ranges routed without masquerading, per family: each contains that family's pod CIDR. */
  readonly nativeRoutingCidrs: Readonly<Partial<Record<Family, string>>>;
  /** MTU of the pods' interfaces. */
  readonly mtu: number;
  /** Number of nodes: the operator runs two replicas on different nodes when there are two or more. */
  readonly nodes: number;
  /** The nodes share one L2 segment, so each installs direct routes to the others' pod CIDRs. @default false */
  readonly directNodeRoutes?: boolean;
  /** Hubble metrics to serve. @default HUBBLE_METRICS */
  readonly hubbleMetrics?: readonly string[];
  /** Ranges no LoadBalancer pool may overlap besides the pod CIDRs (service CIDRs, the hosts' subnets). @default none */
  readonly reservedRanges?: readonly ReservedRange[];
  /** The fixed LoadBalancer addresses the cluster assigns by `namespace/name` (see loadBalancerAddressAddon), checked against the Services. @default none */
  readonly loadBalancerAddresses?: Readonly<Record<string, LoadBalancerAddresses>>;
  /**
   * More chart values, merged over the derived ones. A value that contradicts the network facts
   * (CIDRs, MTU, masquerading, IPAM, kube-proxy replacement) is an error.
   */
  readonly values?: Record<string, unknown>;
}

/** The values the network facts fix; `values` may not change them. */
export interface CiliumNetworkValues {
  readonly kubeProxyReplacement: boolean;
  readonly k8sServiceHost: string;
  readonly k8sServicePort: number;
  readonly routingMode: 'native';
  readonly ipv4NativeRoutingCIDR?: string;
  readonly ipv6NativeRoutingCIDR?: string;
  readonly enableIPv4Masquerade: false;
  readonly enableIPv6Masquerade: false;
  readonly MTU: number;
  readonly ipam: { readonly mode: 'kubernetes' };
  readonly ipv4: { readonly enabled: boolean };
  readonly ipv6: { readonly enabled: boolean };
}

/**
 * Cilium from its Helm chart, as the cluster's CNI: kube-proxy replacement, native routing of both
 * families without masquerading, IPAM from the node CIDRs kube-controller-manager allocates, the
 * BGP control plane on, Hubble with its relay (certificates made in the cluster by the chart's
 * certgen Job, so that rendering is deterministic), and metrics of the agent, the operator and
 * Hubble declared for the metrics addon.
 */
export class Cilium extends Construct {
  readonly namespace: string;
  readonly chart: HelmChart;
  /** The values the chart is rendered with, overrides merged. */
  readonly values: Record<string, unknown>;

  constructor(scope: Construct, id: string, props: CiliumProps) {
    super(scope, id);
    const namespace = props.namespace ?? 'kube-system';
    this.namespace = namespace;
    const families = new Set(props.podCidrs.map((cidr) => subnetOf(cidr)?.family).filter((family) => family !== undefined));
    const network: CiliumNetworkValues = {
      kubeProxyReplacement: true,
      k8sServiceHost: props.apiServer.host,
      k8sServicePort: props.apiServer.port,
      routingMode: 'native',
      ...(props.nativeRoutingCidrs.ipv4 === undefined ? {} : { ipv4NativeRoutingCIDR: props.nativeRoutingCidrs.ipv4 }),
      ...(props.nativeRoutingCidrs.ipv6 === undefined ? {} : { ipv6NativeRoutingCIDR: props.nativeRoutingCidrs.ipv6 }),
      enableIPv4Masquerade: false,
      enableIPv6Masquerade: false,
      MTU: props.mtu,
      ipam: { mode: 'kubernetes' },
      ipv4: { enabled: families.has('ipv4') },
      ipv6: { enabled: families.has('ipv6') },
    };
    const operatorReplicas = Math.min(2, Math.max(1, props.nodes));
    const derived: Record<string, unknown> = {
      ...network,
      // The agents wait for kube-controller-manager to give their node its CIDRs (IPAM kubernetes).
      k8s: { requireIPv4PodCIDR: families.has('ipv4'), requireIPv6PodCIDR: families.has('ipv6') },
      autoDirectNodeRoutes: props.directNodeRoutes ?? false,
      bgpControlPlane: { enabled: true },
      // A changed ConfigMap restarts the pods that read it (the chart's default leaves them on the
      // old settings), one node at a time: two of three BGP speakers never go down together.
      rollOutCiliumPods: true,
      updateStrategy: { rollingUpdate: { maxUnavailable: 1 } },
      envoy: { rollOutPods: true, updateStrategy: { rollingUpdate: { maxUnavailable: 1 } } },
      // The namespace the chart creates for TLS secrets holds no pods.
      secretsNamespaceLabels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
      operator: { replicas: operatorReplicas, rollOutPods: true, prometheus: { enabled: true, metricsService: true } },
      prometheus: { enabled: true, metricsService: true },
      hubble: {
        enabled: true,
        relay: { enabled: true, rollOutPods: true },
        ui: { enabled: false },
        // The default (helm) generates new keys on every render: ArgoCD would show the Secrets out of sync forever.
        tls: { auto: { enabled: true, method: 'cronJob' } },
        metrics: { enabled: [...(props.hubbleMetrics ?? HUBBLE_METRICS)] },
      },
    };
    const resources = Object.entries(CILIUM_RESOURCES).reduce<Record<string, unknown>>(
      (merged, [key, value]) => deepMerge(merged, atPath(key, value)),
      {},
    );
    this.values = deepMerge(deepMerge(derived, resources), props.values ?? {}) as Record<string, unknown>;
    this.chart = new HelmChart(this, 'chart', {
      repo: CILIUM_CHART_REPO,
      chart: 'cilium',
      version: CILIUM_VERSION,
      releaseName: 'cilium',
      namespace,
      values: this.values,
      crds: [CILIUM_CUSTOM_RESOURCES],
    });

    // The chart's metrics Services (prometheus.metricsService and its operator and Hubble counterparts).
    declareMetrics(this, {
      id: 'AgentMetrics',
      name: 'cilium-agent',
      labels: { 'app.kubernetes.io/part-of': 'cilium' },
      service: { namespace, labels: { 'app.kubernetes.io/name': 'cilium-agent', 'app.kubernetes.io/part-of': 'cilium' } },
    });
    declareMetrics(this, {
      id: 'OperatorMetrics',
      name: 'cilium-operator',
      labels: { 'app.kubernetes.io/part-of': 'cilium' },
      service: { namespace, labels: { 'app.kubernetes.io/name': 'cilium-operator', 'app.kubernetes.io/part-of': 'cilium' } },
    });
    declareMetrics(this, {
      id: 'HubbleMetrics',
      name: 'hubble',
      labels: { 'app.kubernetes.io/part-of': 'cilium' },
      service: { namespace, labels: { 'app.kubernetes.io/name': 'hubble', 'app.kubernetes.io/part-of': 'cilium' } },
      port: 'hubble-metrics',
    });

    registerPolicies(
      this,
      networkPolicy({
        reserved: [
          ...props.podCidrs.map((cidr) => ({ cidr, what: `the ${FAMILY_NAMES[subnetOf(cidr)?.family ?? 'ipv4']} pod CIDR` })),
          ...(props.reservedRanges ?? []),
        ],
        assignments: props.loadBalancerAddresses,
      }),
    );

    this.node.addValidation({
      validate: () => {
        const errors: string[] = [];
        for (const [key, wanted] of Object.entries(network)) {
          const given = JSON.stringify(valueAt(this.values, key.split('.')));
          if (given !== JSON.stringify(wanted)) {
            errors.push(
              `[network.chart-values] chart value ${key} is ${given ?? 'unset'}, but the network facts give ${JSON.stringify(wanted)}: change the inventory, not the chart values`,
            );
          }
        }
        for (const family of ['ipv4', 'ipv6'] as const) {
          const pods = props.podCidrs.map(subnetOf).find((subnet) => subnet?.family === family);
          const routingText = props.nativeRoutingCidrs[family];
          const routing = routingText === undefined ? undefined : subnetOf(routingText);
          if (pods && !routing) {
            errors.push(
              `[network.chart-values] no ${FAMILY_NAMES[family]} native routing CIDR, but the pods have ${pods.text}: give nativeRoutingCidrs.${family}`,
            );
          } else if (pods && routing && (routing.prefix > pods.prefix || !overlaps(routing, pods))) {
            errors.push(
              `[network.chart-values] ${FAMILY_NAMES[family]} native routing CIDR ${routing.text} does not contain the pod CIDR ${pods.text}`,
            );
          }
        }
        if (!Number.isInteger(props.mtu) || props.mtu < 1280 || props.mtu > 9216) {
          errors.push(`[network.chart-values] MTU ${props.mtu} is outside 1280-9216 (IPv6 needs at least 1280)`);
        }
        const replicas = valueAt(this.values, ['operator', 'replicas']);
        if (typeof replicas === 'number' && replicas > props.nodes) {
          errors.push(
            `[network.chart-values] operator.replicas ${replicas} exceeds the ${props.nodes} node(s): the chart's pod anti-affinity keeps each replica on its own node, so the rest would stay Pending`,
          );
        }
        return errors;
      },
    });
  }
}
