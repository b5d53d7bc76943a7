import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import type { Addon } from '../../framework/addons.js';
import { isRecord } from '../../framework/model.js';
import { CiliumLoadBalancerIpPool } from '../../imports/cilium-load-balancer-ip-pool-cilium.io.js';

/** The annotation a Service requests its LoadBalancer addresses with (LB-IPAM). */
export const LB_IPS_ANNOTATION = 'lbipam.cilium.io/ips';
/** Services with the same value may share addresses (on distinct ports). */
export const LB_SHARING_KEY_ANNOTATION = 'lbipam.cilium.io/sharing-key';
/** The labels LB-IPAM adds to every Service for pool selectors. */
export const SERVICE_NAMESPACE_LABEL = 'io.kubernetes.service.namespace';
export const SERVICE_NAME_LABEL = 'io.kubernetes.service.name';
/** The loadBalancerClass values LB-IPAM serves, besides none. */
export const CILIUM_LOAD_BALANCER_CLASSES: readonly string[] = ['io.cilium/bgp-control-plane', 'io.cilium/l2-announcer'];

export interface LoadBalancerPoolProps {
  readonly name: string;
  /** CIDRs or ranges `first-last`. */
  readonly blocks: readonly string[];
  /** Labels (or the service namespace and name labels) a Service needs to get an address. @default every Service */
  readonly serviceSelector?: Readonly<Record<string, string>>;
}

/** A CiliumLoadBalancerIPPool (cilium.io/v2): the addresses LB-IPAM hands to LoadBalancer Services. */
export class LoadBalancerPool extends Construct {
  readonly pool: CiliumLoadBalancerIpPool;

  constructor(scope: Construct, id: string, props: LoadBalancerPoolProps) {
    super(scope, id);
    this.pool = new CiliumLoadBalancerIpPool(this, 'Resource', {
      metadata: { name: props.name },
      spec: {
        blocks: props.blocks.map((block) => {
          if (block.includes('/')) return { cidr: block };
          const [start, stop] = block.split('-');
          return { start: start ?? '', stop: stop ?? '' };
        }),
        ...(props.serviceSelector ? { serviceSelector: { matchLabels: { ...props.serviceSelector } } } : {}),
      },
    });
  }
}

/** The addresses one Service requests. */
export interface LoadBalancerAddresses {
  readonly addresses: readonly string[];
  readonly sharingKey?: string;
}

/**
 * Fixed LoadBalancer addresses: every Service of type LoadBalancer that any app renders, whose
 * `namespace/name` is a key of `assignments`, gets the LB-IPAM annotations requesting those
 * addresses (and its sharing key). An assignment no Service takes is reported by the network
 * policy (`loadBalancerPolicy`'s `assignments`).
 */
export function loadBalancerAddressAddon(assignments: Readonly<Record<string, LoadBalancerAddresses>>): Addon {
  return {
    name: 'load-balancer-addresses',
    visit(construct) {
      if (!ApiObject.isApiObject(construct) || construct.kind !== 'Service' || construct.apiVersion !== 'v1') return;
      const spec = (construct.toJson() as { spec?: unknown }).spec;
      if (!isRecord(spec) || spec.type !== 'LoadBalancer') return;
      const key = `${construct.metadata.namespace ?? ''}/${construct.name}`;
      const assignment = assignments[key];
      if (!assignment) return;
      construct.metadata.addAnnotation(LB_IPS_ANNOTATION, assignment.addresses.join(','));
      if (assignment.sharingKey !== undefined) construct.metadata.addAnnotation(LB_SHARING_KEY_ANNOTATION, assignment.sharingKey);
    },
  };
}
