import { BgpPeering } from '../constructs/network/bgp.js';
import { Cilium } from '../constructs/network/cilium.js';
import { LoadBalancerPool } from '../constructs/network/lb-ipam.js';
import { FAMILIES, FAMILY_NAMES, formatAddress, subnetOf } from '../framework/addresses.js';
import type { AppDefinition } from '../framework/cluster.js';
import type { ClusterInventory } from '../inventory/schema.js';
import { monitoringCrdsApp } from './monitoring-crds.js';

/** The hosts' subnets, one per family and distinct network. */
function hostSubnets(inventory: ClusterInventory): { cidr: string; what: string }[] {
  const seen = new Map<string, string>();
  for (const host of inventory.hosts) {
    for (const family of FAMILIES) {
      const subnet = subnetOf(`${host[family]}/${inventory.network.prefixLengths[family]}`);
      if (!subnet) continue;
      const cidr = `${formatAddress({ family, value: subnet.network })}/${subnet.prefix}`;
      if (!seen.has(cidr)) seen.set(cidr, `the hosts' ${FAMILY_NAMES[family]} subnet`);
    }
  }
  return [...seen].map(([cidr, what]) => ({ cidr, what }));
}

/**
 * Cilium, the cluster's CNI, with its BGP peering and LoadBalancer pools from the inventory's
 * network facts. It installs into kube-system, first at bootstrap (docs/bootstrap.md) and then
 * adopted by ArgoCD. It depends only on the monitoring CRDs, for the ServiceMonitors of its metrics.
 */
export const ciliumApp: AppDefinition<ClusterInventory> = {
  name: 'cilium',
  namespace: 'kube-system',
  dependsOn: [monitoringCrdsApp],
  // The bootstrap applies this folder server-side as argocd-controller (docs/bootstrap.md): ArgoCD
  // syncing server-side with the same field manager adopts every object without a conflict.
  serverSideApply: true,
  // Deleting or renaming the Application must not delete the cluster's network, ArgoCD's included.
  keepResourcesOnDelete: true,
  build(chart, inventory) {
    const { network, kubernetes } = inventory;
    const subnets = hostSubnets(inventory);
    new Cilium(chart, 'cilium', {
      apiServer: kubernetes.apiServer,
      podCidrs: kubernetes.podCidrs,
      nativeRoutingCidrs: { ipv4: network.ipv4NativeRoutingCidr, ipv6: network.ipv6NativeRoutingCidr },
      mtu: network.mtu,
      nodes: inventory.hosts.filter((host) => host.roles.includes('worker')).length,
      // Every host in one subnet per family: the nodes reach each other's pods directly.
      directNodeRoutes: subnets.length <= FAMILIES.length,
      reservedRanges: [
        ...kubernetes.serviceCidrs.map((cidr) => ({ cidr, what: `the ${FAMILY_NAMES[subnetOf(cidr)?.family ?? 'ipv4']} service CIDR` })),
        ...subnets,
      ],
      loadBalancerAddresses: network.loadBalancer?.services,
    });
    if (network.bgp) {
      new BgpPeering(chart, 'bgp', { asn: network.bgp.asn, peers: network.bgp.peers });
    }
    for (const pool of network.loadBalancer?.pools ?? []) {
      new LoadBalancerPool(chart, `pool-${pool.name}`, pool);
    }
  },
};
