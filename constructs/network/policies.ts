import { type AddressRange, addressRange, FAMILY_NAMES, inRange, rangesOverlap } from '../../framework/addresses.js';
import type { ClusterPolicy, PolicyObject } from '../../framework/cluster.js';
import { annotationsOf, isKind, isRecord, labelsOf, type Manifest, objectRef, type Problem } from '../../framework/model.js';
import { selectorMatches } from '../../framework/rules/selectors.js';
import {
  CILIUM_LOAD_BALANCER_CLASSES,
  LB_IPS_ANNOTATION,
  LB_SHARING_KEY_ANNOTATION,
  type LoadBalancerAddresses,
  SERVICE_NAME_LABEL,
  SERVICE_NAMESPACE_LABEL,
} from './lb-ipam.js';

/** A range no pool may overlap: pod and service CIDRs, the hosts' subnets. */
export interface ReservedRange {
  readonly cidr: string;
  /** What it is, for the message: "the IPv4 pod CIDR". */
  readonly what: string;
}

export interface NetworkPolicyOptions {
  readonly reserved?: readonly ReservedRange[];
  /** The fixed addresses the cluster assigns, by `namespace/name` (see loadBalancerAddressAddon). @default none */
  readonly assignments?: Readonly<Record<string, LoadBalancerAddresses>>;
}

const CILIUM = 'cilium.io';
const is = (object: PolicyObject, kind: string) => isKind(object.manifest, CILIUM, kind);
const spec = (manifest: Manifest): Record<string, unknown> => (isRecord(manifest.spec) ? manifest.spec : {});
const list = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isRecord) : []);
/** Cilium reads a nil or empty selector as selecting nothing (BGP advertisements and their peer config families). */
const emptySelector = (selector: unknown) =>
  !isRecord(selector) ||
  ((!isRecord(selector.matchLabels) || Object.keys(selector.matchLabels).length === 0) &&
    (!Array.isArray(selector.matchExpressions) || selector.matchExpressions.length === 0));
const isLoadBalancer = (object: PolicyObject) =>
  object.manifest.apiVersion === 'v1' && object.manifest.kind === 'Service' && spec(object.manifest).type === 'LoadBalancer';
/** 4-byte ASNs without 0 and AS_TRANS. */
const asnProblem = (value: unknown): string | undefined => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 4294967295) return 'is not an ASN from 1 to 4294967295';
  return value === 23456 ? 'is AS_TRANS (23456), which no BGP speaker may use' : undefined;
};

interface Pool {
  readonly object: PolicyObject;
  readonly name: string;
  readonly blocks: { readonly text: string; readonly range: AddressRange }[];
  readonly selector: unknown;
  readonly disabled: boolean;
}

function poolOf(object: PolicyObject): Pool {
  const poolSpec = spec(object.manifest);
  const blocks = list(poolSpec.blocks).flatMap((block) => {
    const text = typeof block.cidr === 'string' ? block.cidr : `${String(block.start)}-${String(block.stop)}`;
    const range = addressRange(text);
    return range ? [{ text, range }] : [];
  });
  return {
    object,
    name: objectRef(object.manifest).name ?? '',
    blocks,
    selector: poolSpec.serviceSelector,
    disabled: poolSpec.disabled === true,
  };
}

/** The labels LB-IPAM matches a pool's serviceSelector against: the Service's own, and its namespace and name. */
function serviceLabels(manifest: Manifest): Record<string, unknown> {
  const ref = objectRef(manifest);
  return { ...labelsOf(manifest), [SERVICE_NAMESPACE_LABEL]: ref.namespace ?? '', [SERVICE_NAME_LABEL]: ref.name ?? '' };
}

const serves = (pool: Pool, service: Manifest) =>
  !pool.disabled && (pool.selector === undefined || selectorMatches(pool.selector, serviceLabels(service)));

/**
 * The checks of Cilium's LB-IPAM and BGP objects, over the whole cluster:
 * - `network.pool-overlap`: pools overlap each other or a reserved range (LB-IPAM marks the later
 *   pool Conflicting and allocates nothing from it);
 * - `network.lb-address`: a requested address (`lbipam.cilium.io/ips`) lies in no pool that serves
 *   the Service, or two Services request it without one sharing key;
 * - `network.lb-unserved`: a LoadBalancer Service no pool serves, or of a class LB-IPAM ignores;
 * - `network.lb-assignment`: a fixed address assigned to a Service no app renders as a LoadBalancer;
 * - `network.bgp-reference`: a cluster config names a peer config that does not exist, a peer
 *   config's family or an advertisement selects nothing (an empty selector selects nothing);
 * - `network.asn`: an ASN BGP cannot use.
 */
export function networkPolicy(options: NetworkPolicyOptions = {}): ClusterPolicy {
  return {
    name: 'policy.network',
    check(objects) {
      const problems: Problem[] = [];
      const report = (object: PolicyObject, rule: string, message: string) =>
        problems.push({ origin: object.origin, object: objectRef(object.manifest), rule: `network.${rule}`, message });

      const pools = objects.filter((object) => is(object, 'CiliumLoadBalancerIPPool')).map(poolOf);
      const reserved = (options.reserved ?? []).flatMap((entry) => {
        const range = addressRange(entry.cidr);
        return range ? [{ ...entry, range }] : [];
      });
      pools.forEach((pool, index) => {
        pool.blocks.forEach((block, blockIndex) => {
          for (const earlier of pools.slice(0, index)) {
            const other = earlier.blocks.find((candidate) => rangesOverlap(candidate.range, block.range));
            if (other) {
              report(
                pool.object,
                'pool-overlap',
                `block ${block.text} overlaps ${other.text} of pool ${earlier.name}: LB-IPAM marks this pool Conflicting and allocates nothing from it; make the pools disjoint`,
              );
            }
          }
          const same = pool.blocks.slice(0, blockIndex).find((other) => rangesOverlap(other.range, block.range));
          if (same)
            report(pool.object, 'pool-overlap', `block ${block.text} overlaps ${same.text} of the same pool: list each address once`);
          for (const entry of reserved) {
            if (rangesOverlap(entry.range, block.range)) {
              report(
                pool.object,
                'pool-overlap',
                `block ${block.text} overlaps ${entry.what} ${entry.cidr}: LoadBalancer addresses must come from a range nothing else uses`,
              );
            }
          }
        });
      });

      const services = objects.filter(isLoadBalancer);
      const requested = new Map<string, { object: PolicyObject; sharingKey: string | undefined }>();
      for (const service of services) {
        const serviceSpec = spec(service.manifest);
        const ref = objectRef(service.manifest);
        const className = serviceSpec.loadBalancerClass;
        if (typeof className === 'string' && !CILIUM_LOAD_BALANCER_CLASSES.includes(className)) {
          report(
            service,
            'lb-unserved',
            `loadBalancerClass ${className} is not one LB-IPAM serves (none, ${CILIUM_LOAD_BALANCER_CLASSES.join(', ')}): the Service would get no address and BGP would not announce it`,
          );
          continue;
        }
        const serving = pools.filter((pool) => serves(pool, service.manifest));
        const families = Array.isArray(serviceSpec.ipFamilies) ? serviceSpec.ipFamilies.map(String) : [];
        if (serving.length === 0) {
          report(
            service,
            'lb-unserved',
            `no CiliumLoadBalancerIPPool serves ${ref.namespace}/${ref.name} (pools: ${pools.map((pool) => pool.name).join(', ') || 'none'}): it would stay Pending without an address; add a pool whose serviceSelector selects it`,
          );
          continue;
        }
        for (const family of families) {
          const key = family === 'IPv6' ? 'ipv6' : 'ipv4';
          if (!serving.some((pool) => pool.blocks.some((block) => block.range.family === key))) {
            report(
              service,
              'lb-unserved',
              `no pool that serves ${ref.namespace}/${ref.name} has ${FAMILY_NAMES[key]} addresses, which its ipFamilies ask for`,
            );
          }
        }
        const addresses = String(annotationsOf(service.manifest)[LB_IPS_ANNOTATION] ?? '')
          .split(',')
          .map((address) => address.trim())
          .filter((address) => address !== '');
        const sharingKeyValue = annotationsOf(service.manifest)[LB_SHARING_KEY_ANNOTATION];
        const sharingKey = typeof sharingKeyValue === 'string' ? sharingKeyValue : undefined;
        for (const address of addresses) {
          if (!serving.some((pool) => pool.blocks.some((block) => inRange(block.range, address)))) {
            report(
              service,
              'lb-address',
              `requests ${address} (${LB_IPS_ANNOTATION}), which lies in no pool that serves it (${serving.map((pool) => `${pool.name}: ${pool.blocks.map((block) => block.text).join(', ')}`).join('; ')})`,
            );
          }
          const earlier = requested.get(address);
          if (earlier && (sharingKey === undefined || earlier.sharingKey !== sharingKey)) {
            const other = objectRef(earlier.object.manifest);
            report(
              service,
              'lb-address',
              `requests ${address}, which ${other.namespace}/${other.name} requests too: give both the same ${LB_SHARING_KEY_ANNOTATION} (and distinct ports) to share it, or another address`,
            );
          } else if (!earlier) requested.set(address, { object: service, sharingKey });
        }
      }
      for (const key of Object.keys(options.assignments ?? {})) {
        if (services.some((service) => `${objectRef(service.manifest).namespace}/${objectRef(service.manifest).name}` === key)) continue;
        const anchor = pools[0]?.object ?? objects[0];
        if (!anchor) continue;
        problems.push({
          origin: anchor.origin,
          rule: 'network.lb-assignment',
          message: `the inventory assigns addresses to Service ${key} (network.loadBalancer.services), but no app renders a LoadBalancer Service of that name: correct the key or remove it`,
        });
      }

      const peerConfigs = objects.filter((object) => is(object, 'CiliumBGPPeerConfig'));
      const advertisements = objects.filter((object) => is(object, 'CiliumBGPAdvertisement'));
      for (const config of objects.filter((object) => is(object, 'CiliumBGPClusterConfig'))) {
        for (const instance of list(spec(config.manifest).bgpInstances)) {
          const local = asnProblem(instance.localASN);
          if (instance.localASN !== undefined && local)
            report(config, 'asn', `bgpInstances ${String(instance.name)}: localASN ${String(instance.localASN)} ${local}`);
          for (const peer of list(instance.peers)) {
            const remote = asnProblem(peer.peerASN);
            if (peer.peerASN !== undefined && remote)
              report(config, 'asn', `peer ${String(peer.name)}: peerASN ${String(peer.peerASN)} ${remote}`);
            const ref = isRecord(peer.peerConfigRef) ? String(peer.peerConfigRef.name ?? '') : undefined;
            if (ref !== undefined && !peerConfigs.some((candidate) => objectRef(candidate.manifest).name === ref)) {
              report(
                config,
                'bgp-reference',
                `peer ${String(peer.name)} names CiliumBGPPeerConfig ${ref}, which no app renders: the session would use the defaults and announce nothing`,
              );
            }
          }
        }
      }
      for (const config of peerConfigs) {
        for (const family of list(spec(config.manifest).families)) {
          const selector = family.advertisements;
          const what = `family ${String(family.afi)}/${String(family.safi)}`;
          if (emptySelector(selector)) {
            report(
              config,
              'bgp-reference',
              `${what} has an empty advertisements selector, which selects nothing: nothing is announced to the peer; select the advertisements by label`,
            );
          } else if (!advertisements.some((advertisement) => selectorMatches(selector, labelsOf(advertisement.manifest)))) {
            report(
              config,
              'bgp-reference',
              `${what}'s advertisements selector selects no CiliumBGPAdvertisement: nothing is announced to the peer`,
            );
          }
        }
      }
      for (const advertisement of advertisements) {
        for (const entry of list(spec(advertisement.manifest).advertisements)) {
          if (entry.advertisementType !== 'Service') continue;
          if (emptySelector(entry.selector)) {
            report(
              advertisement,
              'bgp-reference',
              'a Service advertisement with an empty selector selects no Service: select all with a NotIn expression on a label no Service has',
            );
          } else if (services.length > 0 && !services.some((service) => selectorMatches(entry.selector, labelsOf(service.manifest)))) {
            report(advertisement, 'bgp-reference', 'the Service advertisement selects none of the LoadBalancer Services the apps render');
          }
        }
      }
      return problems;
    },
  };
}
