import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { FAMILIES, FAMILY_NAMES, familyOf } from '../../framework/addresses.js';

/** A control-plane component that runs on the hosts, outside any pod, and serves metrics on a secure port. */
export interface ControlPlaneComponent {
  /** The name kube-prometheus's ServiceMonitor selects (`app.kubernetes.io/name`), e.g. kube-controller-manager. */
  readonly name: string;
  readonly port: number;
}

/** kube-controller-manager's and kube-scheduler's secure ports, as their binaries default them. */
export const CONTROL_PLANE_COMPONENTS: readonly ControlPlaneComponent[] = [
  { name: 'kube-controller-manager', port: 10257 },
  { name: 'kube-scheduler', port: 10259 },
];

/**
 * The kind of the endpoints this construct renders, which Argo CD's install excludes
 * (argocd-cm `resource.exclusions`): the cluster's ArgoCd lists it in `syncExcludedKinds`, or
 * synth refuses the slices (rule argocd.excluded-resource).
 */
export const CONTROL_PLANE_ENDPOINTS_KIND = {
  group: 'discovery.k8s.io',
  kind: 'EndpointSlice',
  reason: 'the EndpointSlices of the control-plane components that run on the hosts (ControlPlaneEndpoints), which Prometheus scrapes',
} as const;

export interface ControlPlaneEndpointsProps {
  /** The addresses of the hosts that run the control plane (IPv4 and IPv6). */
  readonly addresses: readonly string[];
  /** @default CONTROL_PLANE_COMPONENTS */
  readonly components?: readonly ControlPlaneComponent[];
  /** @default 'kube-system', where kube-prometheus's ServiceMonitors look */
  readonly namespace?: string;
}

/**
 * Services without selectors, and their EndpointSlices, for control-plane components that run on
 * the hosts rather than in pods: kube-prometheus's `kube-controller-manager` and `kube-scheduler`
 * ServiceMonitors select them (label `app.kubernetes.io/name`, port `https-metrics`) and
 * Prometheus discovers the hosts through the slices (serviceDiscoveryRole EndpointSlice).
 */
export class ControlPlaneEndpoints extends Construct {
  readonly services: readonly k8s.KubeService[];

  constructor(scope: Construct, id: string, props: ControlPlaneEndpointsProps) {
    super(scope, id);
    const namespace = props.namespace ?? 'kube-system';
    const services: k8s.KubeService[] = [];
    for (const component of props.components ?? CONTROL_PLANE_COMPONENTS) {
      const labels = { 'app.kubernetes.io/name': component.name, 'app.kubernetes.io/part-of': 'kube-prometheus' };
      const families = FAMILIES.filter((family) => props.addresses.some((address) => familyOf(address) === family));
      services.push(
        new k8s.KubeService(this, `${component.name}-Service`, {
          metadata: { name: component.name, namespace, labels },
          spec: {
            clusterIp: 'None',
            ipFamilyPolicy: families.length > 1 ? 'RequireDualStack' : 'SingleStack',
            ipFamilies: families.map((family) => FAMILY_NAMES[family]),
            ports: [
              { name: 'https-metrics', port: component.port, targetPort: k8s.IntOrString.fromNumber(component.port), protocol: 'TCP' },
            ],
          },
        }),
      );
      for (const family of families) {
        new k8s.KubeEndpointSlice(this, `${component.name}-${family}`, {
          metadata: { name: `${component.name}-${family}`, namespace, labels: { ...labels, 'kubernetes.io/service-name': component.name } },
          addressType: FAMILY_NAMES[family],
          endpoints: props.addresses
            .filter((address) => familyOf(address) === family)
            .map((address) => ({ addresses: [address], conditions: { ready: true } })),
          ports: [{ name: 'https-metrics', port: component.port, protocol: 'TCP' }],
        });
      }
    }
    this.services = services;
    this.node.addValidation({
      validate: () => (props.addresses.length === 0 ? ['no control-plane host addresses: the Services would have no endpoints'] : []),
    });
  }
}
