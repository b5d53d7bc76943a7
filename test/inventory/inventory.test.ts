// parseInventory is the strict reader of inventory/<cluster>.json on the cdk8s side: it must accept
// the shipped inventories unchanged and report every problem of a broken one with its JSON path.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InventoryError, type InventoryIssue } from '../../framework/cluster.js';
import { parseInventory } from '../../inventory/schema.js';
import { projectRoot } from '../helpers/io.js';

const read = (path: string): Record<string, unknown> => JSON.parse(readFileSync(join(projectRoot, path), 'utf8'));
// biome-ignore lint/suspicious/noExplicitAny: tests edit the raw JSON freely
const shipped = (): any => read('inventory/k8s-235.json');
// biome-ignore lint/suspicious/noExplicitAny: tests edit the raw JSON freely
const tiny = (): any => read('test/fixtures/tiny-cluster/inventory/tiny.json');

function issuesOf(data: unknown, expectedName = 'k8s-235'): readonly InventoryIssue[] {
  try {
    parseInventory(data, expectedName);
  } catch (error) {
    if (error instanceof InventoryError) return error.issues;
    throw error;
  }
  throw new Error('expected parseInventory to throw an InventoryError');
}

describe('parseInventory', () => {
  it('accepts the shipped inventory and returns exactly its facts', () => {
    const data = shipped();
    const inventory = parseInventory(data, 'k8s-235');
    // Every key is known, so the typed result holds the whole file, nothing more; the storage
    // drivers come in the construct's model and the example marks with their values.
    const { $schema: _, storage, examples, ...facts } = data;
    const { storage: storageModel, examples: marked, ...rest } = inventory;
    expect(rest).toEqual(facts);
    expect(storageModel.truenas).toEqual(storage.truenas);
    expect(storageModel.drivers?.map((driver) => driver.releaseName)).toEqual(
      storage.drivers.map((driver: { name: string }) => driver.name),
    );
    expect(marked.map((example) => [example.field, example.replace])).toEqual(Object.entries(examples));
    expect(inventory.kubernetes.dnsServiceIps).toEqual(['10.234.64.10', '2a10:4741:36:32:1::a']);
    expect(inventory.kubernetes.nodeCidrMaskSizes).toEqual({ ipv4: 24, ipv6: 120 });
    expect(inventory.hosts.map((h) => h.interface)).toEqual(['eno1', 'eno1', 'eno1']);
    expect(inventory.network.gateways).toEqual({ ipv4: '192.0.2.1', ipv6: '2001:db8:235::1' });
    expect(inventory.ssh.authorizedKeys).toEqual([]);
  });

  it('accepts the one-node example cluster (link-local IPv6 gateway)', () => {
    const data = read('test/fixtures/tiny-cluster/inventory/tiny.json');
    expect(parseInventory(data, 'tiny')).toEqual({ ...data, examples: [] });
  });

  it('accepts SSH public keys of the usual types, with or without a comment', () => {
    const data = shipped();
    data.ssh.authorizedKeys = [
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOnly operator@example.org',
      'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIExample=',
      'sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tExample yubikey',
    ];
    expect(parseInventory(data, 'k8s-235').ssh.authorizedKeys).toHaveLength(3);
  });

  it('rejects an ArgoCD decryption key that is not an age public key', () => {
    const data = shipped();
    data.gitops.sopsAgeRecipient = 'age1tooshort';
    expect(issuesOf(data)).toEqual([
      {
        path: 'gitops.sopsAgeRecipient',
        message:
          '"age1tooshort" is not an age public key (age1 followed by 58 bech32 characters whose checksum holds): copy it again from age-keygen -y',
      },
    ]);
    // One character mistyped: the right length and alphabet, but the checksum fails.
    const recipient = shipped().gitops.sopsAgeRecipient as string;
    data.gitops.sopsAgeRecipient = `${recipient.slice(0, -1)}${recipient.endsWith('q') ? 'p' : 'q'}`;
    expect(issuesOf(data).map((issue) => issue.path)).toEqual(['gitops.sopsAgeRecipient']);
    // A private key pasted by mistake is named as such and never echoed.
    data.gitops.sopsAgeRecipient = 'AGE-SECRET-KEY-1EXAMPLEEXAMPLE';
    expect(issuesOf(data)).toEqual([
      {
        path: 'gitops.sopsAgeRecipient',
        message: 'is an age PRIVATE key: give the public key (age-keygen -y keys.txt) and discard this one',
      },
    ]);
  });

  it('reads the GitLab groups of the ArgoCD operators, and refuses what is no group path', () => {
    expect(parseInventory(shipped(), 'k8s-235').sso.operatorGroups).toEqual(['tdude']);
    const data = shipped();
    data.sso.operatorGroups = ['infra/ops', 'ops, admins'];
    expect(issuesOf(data)).toEqual([{ path: 'sso.operatorGroups[1]', message: expect.stringContaining('is not a GitLab group path') }]);
    data.sso.operatorGroups = [];
    expect(issuesOf(data).map((issue) => issue.path)).toEqual(['sso.operatorGroups']);
  });

  it('reports every issue of a broken inventory with its JSON path', () => {
    const data = shipped();
    data.name = 'k8s-236';
    data.extra = true;
    data.kubernetes.podCidrs[1] = '2a10:4741:36:32:2::/129';
    data.hosts[1].ipv4 = '192.0.2.300';
    data.hosts[2].name = 'soarin';
    delete data.hosts[2].interface;
    data.network.nameserver = data.network.nameservers;
    delete data.network.nameservers;

    expect(issuesOf(data)).toEqual([
      {
        path: 'extra',
        message:
          'is not a known field (known: name, domain, kubernetes, hosts, network, vault, gitops, sso, acme, storage, monitoring, ssh, examples)',
      },
      { path: 'name', message: '"k8s-236" must match the file name "k8s-235"' },
      { path: 'kubernetes.podCidrs[1]', message: '"2a10:4741:36:32:2::/129" is not a CIDR (address/prefix)' },
      { path: 'hosts[1].ipv4', message: '"192.0.2.300" is not an IPv4 address' },
      { path: 'hosts[2].interface', message: 'is required (a string)' },
      {
        path: 'network.nameserver',
        message:
          'is not a known field (known: cni, ipv4NativeRoutingCidr, ipv6NativeRoutingCidr, mtu, prefixLengths, gateways, nameservers, bgp, loadBalancer)',
      },
      { path: 'network.nameservers', message: 'is required (a list)' },
      { path: 'hosts[2].name', message: '"soarin" is listed twice' },
    ]);
  });

  it('joins the issues into the error message, path first', () => {
    const data = shipped();
    data.hosts[0].interface = 'eno 1';
    expect(() => parseInventory(data, 'k8s-235')).toThrow(
      new InventoryError([
        { path: 'hosts[0].interface', message: '"eno 1" is not a network interface name (1-15 letters, digits, ".", "-", "_")' },
      ]),
    );
    expect(() => parseInventory(data, 'k8s-235')).toThrow(/^hosts\[0\]\.interface: "eno 1" is not a network interface name/);
  });

  it('names each missing host fact', () => {
    const data = shipped();
    delete data.kubernetes.dnsServiceIps;
    delete data.kubernetes.nodeCidrMaskSizes.ipv6;
    delete data.network.gateways;
    delete data.ssh;

    expect(issuesOf(data)).toEqual([
      { path: 'kubernetes.dnsServiceIps', message: 'is required (a list)' },
      { path: 'kubernetes.nodeCidrMaskSizes.ipv6', message: 'is required (an integer from 1 to 128)' },
      { path: 'network.gateways', message: 'is required (an object)' },
      { path: 'network.gateways.ipv4', message: 'is required (a string)' },
      { path: 'network.gateways.ipv6', message: 'is required (a string)' },
      { path: 'ssh', message: 'is required (an object)' },
      { path: 'ssh.authorizedKeys', message: 'is required (a list)' },
    ]);
  });

  it('checks the host facts against each other', () => {
    const data = shipped();
    data.kubernetes.serviceCidrs = ['10.234.64.0/18'];
    data.kubernetes.dnsServiceIps = ['10.234.128.10', '2a10:4741:36:32:1::a'];
    data.kubernetes.nodeCidrMaskSizes = { ipv4: 16, ipv6: 121 };
    data.network.prefixLengths.ipv6 = 0;
    data.network.gateways = { ipv4: '192.0.3.1', ipv6: 'fe80::1' };
    data.network.nameservers = ['192.0.2.1', 'resolver.example.org'];
    data.ssh.authorizedKeys = ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleOnly operator@example.org', 'not a key'];

    expect(issuesOf(data)).toEqual([
      { path: 'network.prefixLengths.ipv6', message: 'must be an integer from 1 to 128' },
      { path: 'network.nameservers[1]', message: '"resolver.example.org" is not an IP address' },
      { path: 'ssh.authorizedKeys[1]', message: '"not a key" is not an SSH public key ("<type> <base64> [comment]")' },
      {
        path: 'kubernetes.serviceCidrs',
        message:
          'has no IPv6 range, but kubernetes.podCidrs has 2a10:4741:36:32:2::/104: pods and Services need the same families (dual-stack: both in both lists)',
      },
      { path: 'kubernetes.dnsServiceIps[0]', message: '"10.234.128.10" is not inside a service CIDR of its family (10.234.64.0/18)' },
      {
        path: 'kubernetes.dnsServiceIps[1]',
        message: '"2a10:4741:36:32:1::a" is not inside a service CIDR of its family (there is no IPv6 one)',
      },
      {
        path: 'kubernetes.nodeCidrMaskSizes.ipv4',
        message: '16 must be from 18 to 32 for pod CIDR 10.234.128.0/18 (at least its prefix, at most 16 bits longer)',
      },
      {
        path: 'kubernetes.nodeCidrMaskSizes.ipv6',
        message: '121 must be from 104 to 120 for pod CIDR 2a10:4741:36:32:2::/104 (at least its prefix, at most 16 bits longer)',
      },
      {
        path: 'kubernetes.apiServiceIps[1]',
        message: '"2a10:4741:36:32:1::1" is not inside a service CIDR of its family (there is no IPv6 one)',
      },
      {
        path: 'network.gateways.ipv4',
        message: '"192.0.3.1" is outside the /24 subnet of soarin (192.0.2.11), sassaflash (192.0.2.12), stormfeather (192.0.2.13)',
      },
    ]);
  });

  it('refuses BGP and load-balancer facts no session or pool could use', () => {
    const data = shipped();
    data.network.ipv6NativeRoutingCidr = '2a10:4741:36:33::/64';
    data.network.bgp.asn = 23456;
    data.network.bgp.peers[1] = {
      name: 'router-ipv4',
      address: '2001:db8:235::1',
      asn: 0,
      families: ['ipv4'],
      timers: { connectRetrySeconds: 5, holdTimeSeconds: 9, keepAliveSeconds: 9 },
    };
    data.network.loadBalancer.pools.push({ name: 'services', blocks: ['198.51.100.40-198.51.100.30', '198.51.100.1-2001:db8::1'] });
    data.network.loadBalancer.services.traefik = { addresses: ['198.51.100.10'] };
    expect(issuesOf(data)).toEqual([
      { path: 'network.bgp.asn', message: 'is AS_TRANS (23456), which no BGP speaker may use as its ASN' },
      { path: 'network.bgp.peers[1].asn', message: 'must be an integer from 1 to 4294967295' },
      { path: 'network.loadBalancer.pools[1].blocks[0]', message: '"198.51.100.40-198.51.100.30" starts after it ends' },
      { path: 'network.loadBalancer.pools[1].blocks[1]', message: '"198.51.100.1-2001:db8::1" mixes an IPv4 and an IPv6 address' },
      { path: 'network.loadBalancer.services.traefik', message: 'is not namespace/name (e.g. traefik/traefik-ipv4)' },
      {
        path: 'network.ipv6NativeRoutingCidr',
        message:
          '2a10:4741:36:33::/64 does not contain the IPv6 pod CIDR 2a10:4741:36:32:2::/104: Cilium would masquerade or drop pod traffic outside it',
      },
      { path: 'network.bgp.peers[1].name', message: '"router-ipv4" is also the name of network.bgp.peers[0]' },
      {
        path: 'network.bgp.peers[1].timers.keepAliveSeconds',
        message: '9 is not below holdTimeSeconds (9): the session would expire between keepalives (a third of the hold time is usual)',
      },
      {
        path: 'network.bgp.peers[1].families',
        message:
          "does not include ipv6, the family of the peer's address 2001:db8:235::1: list it (MP-BGP carries the other family on the same session)",
      },
      { path: 'network.loadBalancer.pools[1].name', message: '"services" is also the name of network.loadBalancer.pools[0]' },
    ]);
  });

  it('refuses ranges that overlap, an API service IP that is not the first of its CIDR and two hosts with one address', () => {
    const data = shipped();
    data.kubernetes.serviceCidrs = ['10.234.128.0/20', '2a10:4741:36:32:1::/112'];
    data.kubernetes.podCidrs = ['192.0.2.0/25', '2a10:4741:36:32:2::/104'];
    data.kubernetes.nodeCidrMaskSizes = { ipv4: 26, ipv6: 120 };
    data.kubernetes.dnsServiceIps = ['10.234.128.10', '2a10:4741:36:32:1::a'];
    data.network.ipv4NativeRoutingCidr = '192.0.2.0/24';
    data.hosts[1].ipv4 = data.hosts[0].ipv4;
    expect(issuesOf(data)).toEqual([
      {
        path: 'kubernetes.apiServiceIps[0]',
        message:
          '"10.234.64.1" must be 10.234.128.1, the first address of service CIDR 10.234.128.0/20 (kube-apiserver gives the kubernetes Service the first address of its service range)',
      },
      {
        path: 'kubernetes.podCidrs[0]',
        message: "192.0.2.0/25 overlaps the hosts' subnet 192.0.2.11/24 (hosts[0].ipv4): pick a range the hosts' network does not use",
      },
      { path: 'hosts[1].ipv4', message: '"192.0.2.11" is also the address of hosts[0] (soarin)' },
    ]);
    const overlapping = shipped();
    overlapping.kubernetes.serviceCidrs = ['10.234.128.0/20', '2a10:4741:36:32:1::/112'];
    overlapping.kubernetes.apiServiceIps = ['10.234.128.1', '2a10:4741:36:32:1::1'];
    overlapping.kubernetes.dnsServiceIps = ['10.234.128.10', '2a10:4741:36:32:1::a'];
    expect(issuesOf(overlapping)).toEqual([
      {
        path: 'kubernetes.serviceCidrs[0]',
        message: '10.234.128.0/20 overlaps kubernetes.podCidrs[0] (10.234.128.0/18): pod and service ranges must be disjoint',
      },
    ]);
  });

  it('reports a gateway outside the subnet of only some hosts, naming those hosts', () => {
    const data = shipped();
    data.network.gateways.ipv6 = '2001:db8:235::1';
    data.hosts[2].ipv6 = '2001:db8:236::13';
    expect(issuesOf(data)).toEqual([
      { path: 'network.gateways.ipv6', message: '"2001:db8:235::1" is outside the /64 subnet of stormfeather (2001:db8:236::13)' },
    ]);
  });

  it('refuses a CIDR with host bits set in every CIDR field, naming the network it likely means', () => {
    const data = shipped();
    data.kubernetes.podCidrs = ['10.234.128.1/18', '2a10:4741:36:32:2::1/104'];
    data.kubernetes.serviceCidrs[0] = '10.234.64.10/18';
    data.network.ipv4NativeRoutingCidr = '10.234.1.0/16';
    expect(issuesOf(data)).toEqual([
      { path: 'kubernetes.podCidrs[0]', message: '"10.234.128.1/18" has host bits set: did you mean 10.234.128.0/18?' },
      { path: 'kubernetes.podCidrs[1]', message: '"2a10:4741:36:32:2::1/104" has host bits set: did you mean 2a10:4741:36:32:2::/104?' },
      { path: 'kubernetes.serviceCidrs[0]', message: '"10.234.64.10/18" has host bits set: did you mean 10.234.64.0/18?' },
      { path: 'network.ipv4NativeRoutingCidr', message: '"10.234.1.0/16" has host bits set: did you mean 10.234.0.0/16?' },
    ]);
    const ipv6 = shipped();
    ipv6.network.ipv4NativeRoutingCidr = '2a10:4741:36:32::/64';
    expect(issuesOf(ipv6)).toEqual([{ path: 'network.ipv4NativeRoutingCidr', message: '"2a10:4741:36:32::/64" is not an IPv4 CIDR' }]);
  });

  it('refuses API and DNS service IPs kube-apiserver would not give them', () => {
    const data = shipped();
    data.kubernetes.apiServiceIps = ['10.234.64.2', '2a10:4741:36:32:1::1'];
    data.kubernetes.dnsServiceIps = ['10.234.64.10', '2a10:4741:36:32:1:0:0:1', '2a10:4741:36:32:1::b'];
    expect(issuesOf(data)).toEqual([
      {
        path: 'kubernetes.dnsServiceIps[2]',
        message:
          '"2a10:4741:36:32:1::b" is a second IPv6 address (kubernetes.dnsServiceIps[1] is 2a10:4741:36:32:1:0:0:1): give one per service CIDR family',
      },
      {
        path: 'kubernetes.dnsServiceIps[1]',
        message:
          '"2a10:4741:36:32:1:0:0:1" is also kubernetes.apiServiceIps[1], the address of the kubernetes Service: the cluster DNS needs one of its own',
      },
      {
        path: 'kubernetes.apiServiceIps[0]',
        message:
          '"10.234.64.2" must be 10.234.64.1, the first address of service CIDR 10.234.64.0/18 (kube-apiserver gives the kubernetes Service the first address of its service range)',
      },
    ]);
    // The first address, however it is written, passes.
    const longhand = shipped();
    longhand.kubernetes.apiServiceIps[1] = '2a10:4741:36:32:1:0:0:1';
    expect(parseInventory(longhand, 'k8s-235').kubernetes.apiServiceIps).toEqual(['10.234.64.1', '2a10:4741:36:32:1:0:0:1']);
  });

  it('refuses pod and service ranges of different families, and service IPs missing a family', () => {
    const data = shipped();
    data.kubernetes.podCidrs = ['10.234.128.0/18', '10.235.0.0/16'];
    data.kubernetes.apiServiceIps = ['10.234.64.1'];
    expect(issuesOf(data)).toEqual([
      {
        path: 'kubernetes.podCidrs[1]',
        message: '10.235.0.0/16 is a second IPv4 range (kubernetes.podCidrs[0] is 10.234.128.0/18): Kubernetes takes one per family',
      },
      {
        path: 'kubernetes.podCidrs',
        message:
          'has no IPv6 range, but kubernetes.serviceCidrs has 2a10:4741:36:32:1::/112: pods and Services need the same families (dual-stack: both in both lists)',
      },
      {
        path: 'kubernetes.apiServiceIps',
        message: 'has no IPv6 address, but kubernetes.serviceCidrs has 2a10:4741:36:32:1::/112: give one per service CIDR family',
      },
    ]);
    const singleStack = shipped();
    singleStack.kubernetes.podCidrs = ['10.234.128.0/18'];
    singleStack.kubernetes.serviceCidrs = ['10.234.64.0/18'];
    singleStack.kubernetes.apiServiceIps = ['10.234.64.1'];
    singleStack.kubernetes.dnsServiceIps = ['10.234.64.10'];
    expect(parseInventory(singleStack, 'k8s-235').kubernetes.serviceCidrs).toEqual(['10.234.64.0/18']);
  });

  it('refuses host addresses that are not the host’s own, and two hosts with one FQDN', () => {
    const data = shipped();
    data.hosts[0].ipv4 = '192.0.2.0';
    data.hosts[0].ipv6 = '2001:db8:235::1';
    data.hosts[1].ipv4 = '192.0.2.255';
    data.hosts[1].ipv6 = '2001:db8:235::';
    data.hosts[2].fqdn = 'soarin.235.tdude.co';
    expect(issuesOf(data)).toEqual([
      { path: 'hosts[2].fqdn', message: '"soarin.235.tdude.co" is also the fqdn of hosts[0] (soarin)' },
      {
        path: 'hosts[0].ipv4',
        message: '"192.0.2.0" is the network address of its /24 subnet (192.0.2.0/24): give the host another address',
      },
      {
        path: 'hosts[0].ipv6',
        message: `"2001:db8:235::1" is network.gateways.ipv6, the hosts' default gateway: give the host another address`,
      },
      {
        path: 'hosts[1].ipv4',
        message: '"192.0.2.255" is the broadcast address of its /24 subnet (192.0.2.0/24): give the host another address',
      },
      {
        path: 'hosts[1].ipv6',
        message: '"2001:db8:235::" is the network address of its /64 subnet (2001:db8:235::/64): give the host another address',
      },
      // The gateway is also the IPv6 BGP peer.
      {
        path: 'network.bgp.peers[1].address',
        message:
          '"2001:db8:235::1" is the address of hosts[0] (soarin): a peer is the router the nodes announce to, not a node; give the router\'s address',
      },
    ]);
    // A /31 (RFC 3021) has no network or broadcast address to avoid; IPv6 has no broadcast address.
    const pointToPoint = tiny();
    pointToPoint.hosts[0].ipv4 = '192.0.2.0';
    pointToPoint.hosts[0].ipv6 = '2001:db8:21::ffff:ffff:ffff:ffff';
    pointToPoint.network.prefixLengths.ipv4 = 31;
    pointToPoint.network.gateways.ipv4 = '192.0.2.1';
    expect(parseInventory(pointToPoint, 'tiny').hosts[0]?.ipv4).toBe('192.0.2.0');
  });

  it('refuses a cluster without a control-plane host or with no or an even number of etcd members', () => {
    const data = shipped();
    for (const host of data.hosts) host.roles = ['worker'];
    expect(issuesOf(data)).toEqual([
      { path: 'hosts', message: 'has no host with the control-plane role: the cluster needs at least one API server' },
      { path: 'hosts', message: 'has no host with the etcd role: etcd needs at least one member' },
    ]);
    data.hosts[0].roles = ['control-plane', 'etcd'];
    data.hosts[1].roles = ['etcd'];
    expect(issuesOf(data)).toEqual([{ path: 'hosts', message: 'has 2 hosts with the etcd role: etcd needs an odd number of members' }]);
  });

  it('refuses a CNI the hosts are not set up for, naming the supported ones', () => {
    const data = shipped();
    data.network.cni = 'flannel';
    expect(issuesOf(data)).toEqual([
      {
        path: 'network.cni',
        message:
          '"flannel" is not a supported CNI (supported: cilium): the NixOS hosts turn off flannel and kube-proxy and expect Cilium in their place',
      },
    ]);
  });

  it('reads addresses as the NixOS plan does: no zone index, no embedded IPv4, no leading zeros in IPv4', () => {
    const data = shipped();
    data.network.gateways.ipv6 = 'fe80::1%eno1';
    data.network.nameservers = ['::ffff:192.0.2.1', '192.0.2.01'];
    expect(issuesOf(data)).toEqual([
      { path: 'network.gateways.ipv6', message: '"fe80::1%eno1" is not an IPv6 address' },
      { path: 'network.nameservers[0]', message: '"::ffff:192.0.2.1" is not an IP address' },
      { path: 'network.nameservers[1]', message: '"192.0.2.01" is not an IP address' },
    ]);
  });

  it('skips the cross checks of a list that has an invalid entry (reported once, not twice)', () => {
    const data = shipped();
    data.kubernetes.serviceCidrs[0] = '10.234.64.0';
    expect(issuesOf(data)).toEqual([{ path: 'kubernetes.serviceCidrs[0]', message: '"10.234.64.0" is not a CIDR (address/prefix)' }]);
  });

  it('compares host addresses by value, refuses a BGP peer that is a node and a TSDB limit the claim cannot hold', () => {
    const data = shipped();
    data.hosts[1].ipv6 = '2001:0DB8:0235:0000::11';
    data.network.bgp.peers[0].address = '192.0.2.13';
    data.monitoring.prometheus.storageSize = '45Gi';
    expect(issuesOf(data)).toEqual([
      {
        path: 'monitoring.prometheus.retentionSize',
        message:
          '45GB is not below storageSize (45Gi): the claim would fill before Prometheus deletes old blocks; keep it about a tenth below',
      },
      { path: 'hosts[1].ipv6', message: '"2001:0DB8:0235:0000::11" is also the address of hosts[0] (soarin)' },
      {
        path: 'network.bgp.peers[0].address',
        message:
          '"192.0.2.13" is the address of hosts[2] (stormfeather): a peer is the router the nodes announce to, not a node; give the router\'s address',
      },
    ]);
    // Prometheus reads 45GB as 45 GiB: below a 46Gi claim.
    data.hosts[1].ipv6 = '2001:db8:235::12';
    data.network.bgp.peers[0].address = '192.0.2.1';
    data.monitoring.prometheus.storageSize = '46Gi';
    expect(() => parseInventory(data, 'k8s-235')).not.toThrow();
  });

  it('names a missing or malformed storage section instead of failing inside its checks', () => {
    for (const storage of [undefined, null]) {
      const data = shipped();
      data.storage = storage;
      expect(issuesOf(data)[0]).toEqual({ path: 'storage', message: storage === null ? 'must be an object' : 'is required (an object)' });
    }
    const data = shipped();
    data.storage.drivers[0] = null;
    expect(issuesOf(data).map((issue) => issue.path)).toContain('storage.drivers[0]');
  });

  it('rejects an inventory that is not a JSON object', () => {
    expect(issuesOf([])).toEqual([{ path: '(root)', message: 'the inventory must be a JSON object' }]);
  });
});
