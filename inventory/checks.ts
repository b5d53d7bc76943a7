import type { InventoryIssue } from '../framework/cluster.js';
import {
  contains,
  FAMILIES,
  FAMILY_BITS,
  FAMILY_NAMES,
  type Family,
  familyOf,
  formatAddress,
  hostBits,
  LINK_LOCAL_V6,
  overlaps,
  parseAddress,
  type Subnet,
  sameAddress,
  subnetOf,
  subnets,
} from './network.js';
import type { HostRole, InventoryFacts } from './schema.js';

/** kube-controller-manager splits a pod CIDR into at most 2^16 node CIDRs. */
const MAX_NODE_CIDR_BITS = 16;

/** For each entry of a list of addresses or subnets, the index of the first entry of its family when that is an earlier one. */
function earlierOfFamily(families: readonly (Family | undefined)[]): (number | undefined)[] {
  return families.map((family, index) => {
    const first = families.indexOf(family);
    return family !== undefined && first < index ? first : undefined;
  });
}

/** Powers of 1024 by unit: Kubernetes quantities (Ki, Mi ...) and Prometheus sizes (KB, MB ..., base 2 as Prometheus reads them). */
const SIZE_UNITS: Readonly<Record<string, number>> = { B: 0, KB: 1, MB: 2, GB: 3, TB: 4, Ki: 1, Mi: 2, Gi: 3, Ti: 4 };

/** The bytes of a size such as 45GB or 50Gi; undefined for anything else. */
function bytesOf(size: string): number | undefined {
  const match = /^([0-9]+(?:\.[0-9]+)?)(B|KB|MB|GB|TB|Ki|Mi|Gi|Ti)$/.exec(size);
  const power = match ? SIZE_UNITS[match[2] as string] : undefined;
  return match && power !== undefined ? Number(match[1]) * 1024 ** power : undefined;
}

/**
 * Checks between the fields of an inventory. `inventory` holds every field, a field that is
 * missing or has an issue of its own as an empty value ("", 0, []): each check skips those.
 */
export function crossCheck(inventory: InventoryFacts, report: (issue: InventoryIssue) => void): void {
  const push = (path: string, message: string) => report({ path, message });
  const tsdbClass = inventory.monitoring?.prometheus.storageClass;
  if (tsdbClass) {
    const classes = (inventory.storage.drivers ?? []).flatMap((driver) =>
      (driver.storageClasses ?? []).map((storageClass) => ({
        name: storageClass.name,
        nfs: storageClass.fsType === 'nfs' || driver.driver.includes('nfs'),
      })),
    );
    const found = classes.find((storageClass) => storageClass.name === tsdbClass);
    const blocks = classes.filter((storageClass) => !storageClass.nfs).map((storageClass) => storageClass.name);
    if (!found) {
      push(
        'monitoring.prometheus.storageClass',
        `names no StorageClass of storage.drivers (block classes: ${blocks.join(', ') || 'none'})`,
      );
    } else if (found.nfs) {
      push(
        'monitoring.prometheus.storageClass',
        `"${tsdbClass}" is an NFS class: Prometheus does not support NFS for its TSDB; name a block class (${blocks.join(', ') || 'none'})`,
      );
    }
  }
  const prometheus = inventory.monitoring?.prometheus;
  const retained = bytesOf(prometheus?.retentionSize ?? '');
  const claimed = bytesOf(prometheus?.storageSize ?? '');
  if (retained !== undefined && claimed !== undefined && retained >= claimed) {
    push(
      'monitoring.prometheus.retentionSize',
      `${prometheus?.retentionSize} is not below storageSize (${prometheus?.storageSize}): the claim would fill before Prometheus deletes old blocks; keep it about a tenth below`,
    );
  }
  const hostNames = new Set<string>();
  const fqdns = new Map<string, string>();
  inventory.hosts.forEach((host, index) => {
    if (hostNames.has(host.name)) push(`hosts[${index}].name`, `"${host.name}" is listed twice`);
    if (host.name !== '') hostNames.add(host.name);
    // Two hosts with one FQDN: one of them is unreachable by name, and their certificates collide.
    if (host.fqdn === '') return;
    const first = fqdns.get(host.fqdn);
    if (first) push(`hosts[${index}].fqdn`, `"${host.fqdn}" is also the fqdn of ${first}`);
    else fqdns.set(host.fqdn, `hosts[${index}] (${host.name})`);
  });

  // Pods and Services have the same families: one range of each (dual-stack) or the same one (single-stack).
  const k8s = inventory.kubernetes;
  const serviceCidrs = subnets(k8s.serviceCidrs);
  const podCidrs = subnets(k8s.podCidrs);
  for (const [path, ranges] of [
    ['kubernetes.podCidrs', podCidrs],
    ['kubernetes.serviceCidrs', serviceCidrs],
  ] as const) {
    if (!ranges) continue;
    earlierOfFamily(ranges.map((s) => s.family)).forEach((first, index) => {
      const range = ranges[index];
      if (first === undefined || !range) return;
      push(
        `${path}[${index}]`,
        `${range.text} is a second ${FAMILY_NAMES[range.family]} range (${path}[${first}] is ${ranges[first]?.text}): Kubernetes takes one per family`,
      );
    });
  }
  if (podCidrs && serviceCidrs) {
    for (const family of FAMILIES) {
      const pod = podCidrs.find((s) => s.family === family);
      const service = serviceCidrs.find((s) => s.family === family);
      if (pod && !service)
        push(
          'kubernetes.serviceCidrs',
          `has no ${FAMILY_NAMES[family]} range, but kubernetes.podCidrs has ${pod.text}: pods and Services need the same families (dual-stack: both in both lists)`,
        );
      if (service && !pod)
        push(
          'kubernetes.podCidrs',
          `has no ${FAMILY_NAMES[family]} range, but kubernetes.serviceCidrs has ${service.text}: pods and Services need the same families (dual-stack: both in both lists)`,
        );
    }
  }

  // One API and one DNS Service IP per service family; an address of a family the services lack is reported below.
  const extraOfFamily = new Set<string>();
  for (const key of ['apiServiceIps', 'dnsServiceIps'] as const) {
    const ips = k8s[key];
    const families = ips.map(familyOf);
    earlierOfFamily(families).forEach((first, index) => {
      const family = families[index];
      if (first === undefined || family === undefined) return;
      extraOfFamily.add(`${key}[${index}]`);
      push(
        `kubernetes.${key}[${index}]`,
        `"${ips[index]}" is a second ${FAMILY_NAMES[family]} address (kubernetes.${key}[${first}] is ${ips[first]}): give one per service CIDR family`,
      );
    });
    if (!serviceCidrs || ips.length === 0 || families.includes(undefined)) continue;
    for (const range of serviceCidrs.filter((s, index) => serviceCidrs.findIndex((o) => o.family === s.family) === index)) {
      if (!ips.some((ip) => familyOf(ip) === range.family)) {
        push(
          `kubernetes.${key}`,
          `has no ${FAMILY_NAMES[range.family]} address, but kubernetes.serviceCidrs has ${range.text}: give one per service CIDR family`,
        );
      }
    }
  }

  if (serviceCidrs) {
    k8s.dnsServiceIps.forEach((ip, index) => {
      const family = familyOf(ip);
      if (family === undefined || extraOfFamily.has(`dnsServiceIps[${index}]`)) return;
      const api = k8s.apiServiceIps.findIndex((other) => sameAddress(other, ip));
      if (!serviceCidrs.some((s) => contains(s, ip))) {
        const candidates = serviceCidrs.filter((s) => s.family === family).map((s) => s.text);
        push(
          `kubernetes.dnsServiceIps[${index}]`,
          `"${ip}" is not inside a service CIDR of its family (${candidates.length > 0 ? candidates.join(', ') : `there is no ${FAMILY_NAMES[family]} one`})`,
        );
      } else if (api >= 0) {
        push(
          `kubernetes.dnsServiceIps[${index}]`,
          `"${ip}" is also kubernetes.apiServiceIps[${api}], the address of the kubernetes Service: the cluster DNS needs one of its own`,
        );
      }
    });
  }

  for (const family of FAMILIES) {
    const size = k8s.nodeCidrMaskSizes[family];
    if (!podCidrs || size === 0) continue;
    for (const pod of podCidrs.filter((s) => s.family === family)) {
      const max = Math.min(pod.prefix + MAX_NODE_CIDR_BITS, FAMILY_BITS[family]);
      if (size < pod.prefix || size > max) {
        push(
          `kubernetes.nodeCidrMaskSizes.${family}`,
          `${size} must be from ${pod.prefix} to ${max} for pod CIDR ${pod.text} (at least its prefix, at most ${MAX_NODE_CIDR_BITS} bits longer)`,
        );
      }
    }
  }

  // kube-apiserver gives the kubernetes Service the first address of the service range
  // (ServiceIPRange in kubernetes/pkg/controlplane/apiserver/options/options.go: GetIndexedIP(range, 1)).
  if (serviceCidrs) {
    k8s.apiServiceIps.forEach((ip, index) => {
      const family = familyOf(ip);
      if (family === undefined || extraOfFamily.has(`apiServiceIps[${index}]`)) return;
      const range = serviceCidrs.find((s) => s.family === family);
      if (!range) {
        push(
          `kubernetes.apiServiceIps[${index}]`,
          `"${ip}" is not inside a service CIDR of its family (there is no ${FAMILY_NAMES[family]} one)`,
        );
        return;
      }
      const first = formatAddress({ family, value: range.network + 1n });
      if (!sameAddress(ip, first)) {
        push(
          `kubernetes.apiServiceIps[${index}]`,
          `"${ip}" must be ${first}, the first address of service CIDR ${range.text} (kube-apiserver gives the kubernetes Service the first address of its service range)`,
        );
      }
    });
  }

  // Pod, service and host ranges must not overlap: routes to one would capture the other.
  const hostSubnets: { path: string; subnet: Subnet }[] = [];
  inventory.hosts.forEach((host, index) => {
    for (const family of FAMILIES) {
      const prefix = inventory.network.prefixLengths[family];
      const subnet = prefix > 0 ? subnetOf(`${host[family]}/${prefix}`) : undefined;
      if (subnet?.family === family) hostSubnets.push({ path: `hosts[${index}].${family}`, subnet });
    }
  });
  const ranges = [
    ...(podCidrs ?? []).map((subnet, index) => ({ path: `kubernetes.podCidrs[${index}]`, subnet })),
    ...(serviceCidrs ?? []).map((subnet, index) => ({ path: `kubernetes.serviceCidrs[${index}]`, subnet })),
  ];

  ranges.forEach((range, index) => {
    for (const other of ranges.slice(index + 1)) {
      if (range.path.split('[')[0] !== other.path.split('[')[0] && overlaps(range.subnet, other.subnet)) {
        push(other.path, `${other.subnet.text} overlaps ${range.path} (${range.subnet.text}): pod and service ranges must be disjoint`);
      }
    }
    const host = hostSubnets.find(({ subnet }) => overlaps(range.subnet, subnet));
    if (host) {
      push(
        range.path,
        `${range.subnet.text} overlaps the hosts' subnet ${host.subnet.text} (${host.path}): pick a range the hosts' network does not use`,
      );
    }
  });

  // A host address is the host's own: not another host's, not its subnet's network or broadcast
  // address (except in /31 and /127 point-to-point subnets), not the gateway.
  const network = inventory.network;
  const addresses = new Map<string, string>();
  inventory.hosts.forEach((host, index) => {
    for (const family of FAMILIES) {
      const path = `hosts[${index}].${family}`;
      if (host[family] === '') continue;
      const address = parseAddress(host[family]);
      // By value: 2001:db8::11 and 2001:0DB8:0:0::11 are one address.
      const key = address ? formatAddress(address) : host[family];
      const first = addresses.get(key);
      if (first) {
        push(path, `"${host[family]}" is also the address of ${first}`);
        continue;
      }
      addresses.set(key, `hosts[${index}] (${host.name})`);
      if (address?.family !== family) continue;
      const subnet = hostSubnets.find((s) => s.path === path)?.subnet;
      const pointToPoint = subnet !== undefined && subnet.prefix >= FAMILY_BITS[family] - 1;
      const inSubnet = subnet ? `its /${subnet.prefix} subnet (${formatAddress({ family, value: subnet.network })}/${subnet.prefix})` : '';
      if (subnet && !pointToPoint && address.value === subnet.network) {
        push(path, `"${host[family]}" is the network address of ${inSubnet}: give the host another address`);
      } else if (subnet && !pointToPoint && family === 'ipv4' && address.value === subnet.network + (1n << hostBits(subnet)) - 1n) {
        push(path, `"${host[family]}" is the broadcast address of ${inSubnet}: give the host another address`);
      } else if (sameAddress(host[family], network.gateways[family])) {
        push(path, `"${host[family]}" is network.gateways.${family}, the hosts' default gateway: give the host another address`);
      }
    }
  });

  for (const family of FAMILIES) {
    const gateway = network.gateways[family];
    const prefix = network.prefixLengths[family];
    if (familyOf(gateway) !== family || prefix === 0) continue;
    if (family === 'ipv6' && contains(LINK_LOCAL_V6, gateway)) continue;
    const outside = inventory.hosts.filter((host) => {
      const subnet = subnetOf(`${host[family]}/${prefix}`);
      return subnet?.family === family && !contains(subnet, gateway);
    });
    if (outside.length > 0) {
      push(
        `network.gateways.${family}`,
        `"${gateway}" is outside the /${prefix} subnet of ${outside.map((h) => `${h.name} (${h[family]})`).join(', ')}`,
      );
    }
  }

  checkRoutingAndBgp(inventory, push, podCidrs);

  // The cluster needs an API server and an etcd quorum (a majority of an even count tolerates no
  // more failures than one member fewer).
  if (inventory.hosts.length > 0) {
    const count = (role: HostRole) => inventory.hosts.filter((host) => host.roles.includes(role)).length;
    if (count('control-plane') === 0) push('hosts', 'has no host with the control-plane role: the cluster needs at least one API server');
    const etcd = count('etcd');
    if (etcd === 0) push('hosts', 'has no host with the etcd role: etcd needs at least one member');
    else if (etcd % 2 === 0) push('hosts', `has ${etcd} hosts with the etcd role: etcd needs an odd number of members`);
  }
}

/** Native routing covers the pods of its family; BGP peers and pools are named once, with timers a session accepts. */
function checkRoutingAndBgp(
  inventory: InventoryFacts,
  push: (path: string, message: string) => void,
  podCidrs: Subnet[] | undefined,
): void {
  const network = inventory.network;
  for (const family of FAMILIES) {
    const key = family === 'ipv4' ? 'ipv4NativeRoutingCidr' : 'ipv6NativeRoutingCidr';
    const routing = subnetOf(network[key]);
    const pods = podCidrs?.find((s) => s.family === family);
    if (!routing || !pods || routing.family !== family) continue;
    if (routing.prefix > pods.prefix || !overlaps(routing, pods)) {
      push(
        `network.${key}`,
        `${network[key]} does not contain the ${FAMILY_NAMES[family]} pod CIDR ${pods.text}: Cilium would masquerade or drop pod traffic outside it`,
      );
    }
  }
  const peers = network.bgp?.peers ?? [];
  const peerNames = new Map<string, number>();
  peers.forEach((peer, index) => {
    const first = peerNames.get(peer.name);
    if (first !== undefined) push(`network.bgp.peers[${index}].name`, `"${peer.name}" is also the name of network.bgp.peers[${first}]`);
    else peerNames.set(peer.name, index);
    const timers = peer.timers;
    if (timers && timers.keepAliveSeconds >= timers.holdTimeSeconds) {
      push(
        `network.bgp.peers[${index}].timers.keepAliveSeconds`,
        `${timers.keepAliveSeconds} is not below holdTimeSeconds (${timers.holdTimeSeconds}): the session would expire between keepalives (a third of the hold time is usual)`,
      );
    }
    const node = inventory.hosts.findIndex((host) => FAMILIES.some((hostFamily) => sameAddress(host[hostFamily], peer.address)));
    if (node >= 0) {
      push(
        `network.bgp.peers[${index}].address`,
        `"${peer.address}" is the address of hosts[${node}] (${inventory.hosts[node]?.name}): a peer is the router the nodes announce to, not a node; give the router's address`,
      );
    }
    const family = familyOf(peer.address);
    if (family && peer.families && !peer.families.includes(family) && peer.families.length > 0) {
      push(
        `network.bgp.peers[${index}].families`,
        `does not include ${family}, the family of the peer's address ${peer.address}: list it (MP-BGP carries the other family on the same session)`,
      );
    }
  });
  const poolNames = new Map<string, number>();
  (network.loadBalancer?.pools ?? []).forEach((pool, index) => {
    const first = poolNames.get(pool.name);
    if (first !== undefined)
      push(`network.loadBalancer.pools[${index}].name`, `"${pool.name}" is also the name of network.loadBalancer.pools[${first}]`);
    else poolNames.set(pool.name, index);
  });
}
