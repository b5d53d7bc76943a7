// The synth and the NixOS plan read one inventory file: a contradiction in it must stop
// both, each naming the same JSON path and saying the same thing; and an inventory one of
// them accepts, the other accepts too. Every case below is written to a file and fed, as
// text, to the synth's reader and to the plan.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InventoryError } from '../../framework/cluster.js';
import { parseInventory } from '../../inventory/schema.js';
import { parseInventoryJson } from '../../pipeline/load.js';
import { evalJson, hasNix, repoRoot, requireNix, skipNixSuites, suiteName } from './nix.js';

const validText = readFileSync(join(repoRoot, 'inventory', 'k8s-235.json'), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: the cases edit the raw JSON freely.
type Json = any;
const edit = (change: (inventory: Json) => void): string => {
  const inventory = JSON.parse(validText);
  change(inventory);
  return `${JSON.stringify(inventory, null, 2)}\n`;
};
const withRoles = (...roles: string[][]) =>
  edit((i) => {
    i.hosts.forEach((host: Json, index: number) => {
      host.roles = roles[index];
    });
  });

interface Case {
  readonly name: string;
  readonly text: string;
  /** The JSON path both readers must report the problem at, exactly once each. */
  readonly path: string;
  /** What both messages must say there. */
  readonly says: RegExp;
}

const cases: Case[] = [
  {
    name: 'pod and service CIDRs overlap',
    text: edit((i) => {
      i.kubernetes.podCidrs[0] = '10.234.0.0/17';
    }),
    path: 'kubernetes.serviceCidrs[0]',
    says: /overlaps kubernetes\.podCidrs\[0\]/,
  },
  {
    name: 'an IPv6 pod CIDR overlaps the IPv6 service CIDR',
    text: edit((i) => {
      i.kubernetes.podCidrs[1] = '2a10:4741:36:32::/64';
    }),
    path: 'kubernetes.serviceCidrs[1]',
    says: /overlaps kubernetes\.podCidrs\[1\]/,
  },
  {
    name: "a pod CIDR overlaps the hosts' subnet",
    text: edit((i) => {
      i.kubernetes.podCidrs[0] = '192.0.2.128/25';
    }),
    path: 'kubernetes.podCidrs[0]',
    says: /overlaps the hosts' subnet/,
  },
  {
    name: "a service CIDR overlaps the hosts' IPv6 subnet",
    text: edit((i) => {
      i.kubernetes.serviceCidrs[1] = '2001:db8:235::1:0/112';
      i.kubernetes.apiServiceIps[1] = '2001:db8:235::1:1';
      i.kubernetes.dnsServiceIps[1] = '2001:db8:235::1:a';
    }),
    path: 'kubernetes.serviceCidrs[1]',
    says: /overlaps the hosts' subnet/,
  },
  {
    name: 'the API service IP is outside every service CIDR',
    text: edit((i) => {
      i.kubernetes.apiServiceIps[0] = '10.234.128.1';
    }),
    path: 'kubernetes.apiServiceIps[0]',
    says: /must be 10\.234\.64\.1, the first address of service CIDR 10\.234\.64\.0\/18/,
  },
  {
    name: 'the API service IP is inside its service CIDR but not its first address',
    text: edit((i) => {
      i.kubernetes.apiServiceIps[0] = '10.234.64.2';
    }),
    path: 'kubernetes.apiServiceIps[0]',
    says: /"10\.234\.64\.2" must be 10\.234\.64\.1, the first address/,
  },
  {
    name: 'the IPv6 API service IP is not the first address of the IPv6 service CIDR',
    text: edit((i) => {
      i.kubernetes.apiServiceIps[1] = '2a10:4741:36:32:1::2';
    }),
    path: 'kubernetes.apiServiceIps[1]',
    says: /must be 2a10:4741:36:32:1::1, the first address of service CIDR 2a10:4741:36:32:1::\/112/,
  },
  {
    name: 'a DNS service IP is outside every service CIDR',
    text: edit((i) => {
      i.kubernetes.dnsServiceIps[1] = '2a10:4741:36:32:2::a';
    }),
    path: 'kubernetes.dnsServiceIps[1]',
    says: /is not inside a service CIDR of its family/,
  },
  {
    name: 'the DNS service IP is the API service IP',
    text: edit((i) => {
      i.kubernetes.dnsServiceIps[0] = '10.234.64.1';
    }),
    path: 'kubernetes.dnsServiceIps[0]',
    says: /is also kubernetes\.apiServiceIps\[0\]/,
  },
  {
    name: 'the IPv6 DNS service IP is the IPv6 API service IP, written out in full',
    text: edit((i) => {
      i.kubernetes.dnsServiceIps[1] = '2a10:4741:36:32:1:0:0:1';
    }),
    path: 'kubernetes.dnsServiceIps[1]',
    says: /is also kubernetes\.apiServiceIps\[1\]/,
  },
  {
    name: 'two hosts share a name',
    text: edit((i) => {
      i.hosts[2].name = i.hosts[0].name;
    }),
    path: 'hosts[2].name',
    says: /"soarin" is listed twice/,
  },
  {
    name: 'two hosts share an FQDN',
    text: edit((i) => {
      i.hosts[1].fqdn = i.hosts[0].fqdn;
    }),
    path: 'hosts[1].fqdn',
    says: /"soarin\.235\.tdude\.co" is also the fqdn of hosts\[0\] \(soarin\)/,
  },
  {
    name: 'two hosts share an IPv4 address',
    text: edit((i) => {
      i.hosts[2].ipv4 = i.hosts[0].ipv4;
    }),
    path: 'hosts[2].ipv4',
    says: /is also the address of hosts\[0\]/,
  },
  {
    name: 'two hosts share an IPv6 address',
    text: edit((i) => {
      i.hosts[1].ipv6 = i.hosts[0].ipv6;
    }),
    path: 'hosts[1].ipv6',
    says: /is also the address of hosts\[0\]/,
  },
  {
    name: "a host has its IPv4 subnet's network address",
    text: edit((i) => {
      i.hosts[0].ipv4 = '192.0.2.0';
    }),
    path: 'hosts[0].ipv4',
    says: /is the network address of its \/24 subnet \(192\.0\.2\.0\/24\)/,
  },
  {
    name: "a host has its IPv4 subnet's broadcast address",
    text: edit((i) => {
      i.hosts[1].ipv4 = '192.0.2.255';
    }),
    path: 'hosts[1].ipv4',
    says: /is the broadcast address of its \/24 subnet/,
  },
  {
    name: "a host has its IPv6 subnet's network address",
    text: edit((i) => {
      i.hosts[2].ipv6 = '2001:db8:235::';
    }),
    path: 'hosts[2].ipv6',
    says: /is the network address of its \/64 subnet \(2001:db8:235::\/64\)/,
  },
  {
    name: "a host has the gateway's IPv4 address",
    text: edit((i) => {
      i.hosts[0].ipv4 = '192.0.2.1';
    }),
    path: 'hosts[0].ipv4',
    says: /is network\.gateways\.ipv4, the hosts' default gateway/,
  },
  {
    name: "a host has the gateway's IPv6 address, written out in full",
    text: edit((i) => {
      i.hosts[1].ipv6 = '2001:db8:235:0:0:0:0:1';
    }),
    path: 'hosts[1].ipv6',
    says: /is network\.gateways\.ipv6, the hosts' default gateway/,
  },
  {
    name: 'the IPv4 gateway is outside the hosts’ subnet',
    text: edit((i) => {
      i.network.gateways.ipv4 = '198.51.100.1';
    }),
    path: 'network.gateways.ipv4',
    says: /is outside the \/24 subnet of/,
  },
  {
    name: 'a service CIDR is not a CIDR',
    text: edit((i) => {
      i.kubernetes.serviceCidrs[0] = '10.234.64.0/33';
    }),
    path: 'kubernetes.serviceCidrs[0]',
    says: /CIDR/,
  },
  {
    name: 'a pod CIDR has host bits set',
    text: edit((i) => {
      i.kubernetes.podCidrs[0] = '10.234.128.1/18';
    }),
    path: 'kubernetes.podCidrs[0]',
    says: /"10\.234\.128\.1\/18" has host bits set: did you mean 10\.234\.128\.0\/18\?/,
  },
  {
    name: 'an IPv6 service CIDR has host bits set',
    text: edit((i) => {
      i.kubernetes.serviceCidrs[1] = '2a10:4741:36:32:1::1/112';
    }),
    path: 'kubernetes.serviceCidrs[1]',
    says: /has host bits set: did you mean 2a10:4741:36:32:1::\/112\?/,
  },
  {
    name: 'the services are single-stack, the pods dual-stack',
    text: edit((i) => {
      i.kubernetes.serviceCidrs = ['10.234.64.0/18'];
      i.kubernetes.apiServiceIps = ['10.234.64.1'];
      i.kubernetes.dnsServiceIps = ['10.234.64.10'];
    }),
    path: 'kubernetes.serviceCidrs',
    says: /has no IPv6 range, but kubernetes\.podCidrs has 2a10:4741:36:32:2::\/104/,
  },
  {
    name: 'the pods are IPv6 only, the services dual-stack',
    text: edit((i) => {
      i.kubernetes.podCidrs = ['2a10:4741:36:32:2::/104'];
    }),
    path: 'kubernetes.podCidrs',
    says: /has no IPv4 range, but kubernetes\.serviceCidrs has 10\.234\.64\.0\/18/,
  },
  {
    name: 'two IPv4 pod CIDRs',
    text: edit((i) => {
      i.kubernetes.podCidrs.push('10.235.0.0/16');
    }),
    path: 'kubernetes.podCidrs[2]',
    says: /is a second IPv4 range \(kubernetes\.podCidrs\[0\] is 10\.234\.128\.0\/18\)/,
  },
  {
    name: 'no IPv6 API service IP for the IPv6 service CIDR',
    text: edit((i) => {
      i.kubernetes.apiServiceIps = ['10.234.64.1'];
    }),
    path: 'kubernetes.apiServiceIps',
    says: /has no IPv6 address, but kubernetes\.serviceCidrs has 2a10:4741:36:32:1::\/112/,
  },
  {
    name: 'two IPv4 DNS service IPs',
    text: edit((i) => {
      i.kubernetes.dnsServiceIps = ['10.234.64.10', '10.234.64.11', '2a10:4741:36:32:1::a'];
    }),
    path: 'kubernetes.dnsServiceIps[1]',
    says: /"10\.234\.64\.11" is a second IPv4 address/,
  },
  {
    name: 'no host has the control-plane role',
    text: withRoles(['worker', 'etcd'], ['worker', 'etcd'], ['worker', 'etcd']),
    path: 'hosts',
    says: /has no host with the control-plane role/,
  },
  {
    name: 'no host has the etcd role',
    text: withRoles(['control-plane', 'worker'], ['control-plane', 'worker'], ['worker']),
    path: 'hosts',
    says: /has no host with the etcd role/,
  },
  {
    name: 'an even number of etcd members',
    text: withRoles(['control-plane', 'worker', 'etcd'], ['control-plane', 'worker', 'etcd'], ['worker']),
    path: 'hosts',
    says: /has 2 hosts with the etcd role: etcd needs an odd number of members/,
  },
];

/** Variations of the valid inventory near the cases above: both readers must take them. */
const accepted: { readonly name: string; readonly text: string }[] = [
  {
    name: 'another service range, with its own first address and DNS IP',
    text: edit((i) => {
      i.kubernetes.serviceCidrs[0] = '10.96.0.0/16';
      i.kubernetes.apiServiceIps[0] = '10.96.0.1';
      i.kubernetes.dnsServiceIps[0] = '10.96.0.10';
    }),
  },
  {
    name: 'the IPv6 API service IP written out in full',
    text: edit((i) => {
      i.kubernetes.apiServiceIps[1] = '2a10:4741:36:32:1:0:0:1';
    }),
  },
  {
    name: 'a DNS service IP next to the API service IP',
    text: edit((i) => {
      i.kubernetes.dnsServiceIps[0] = '10.234.64.2';
    }),
  },
  {
    name: 'a pod CIDR written with leading zeros and no "::"',
    text: edit((i) => {
      i.kubernetes.podCidrs[1] = '2a10:4741:0036:0032:0002:0000:0000:0000/104';
    }),
  },
  {
    name: 'single-stack IPv4 throughout',
    text: edit((i) => {
      i.kubernetes.podCidrs = ['10.234.128.0/18'];
      i.kubernetes.serviceCidrs = ['10.234.64.0/18'];
      i.kubernetes.apiServiceIps = ['10.234.64.1'];
      i.kubernetes.dnsServiceIps = ['10.234.64.10'];
    }),
  },
  {
    name: 'dual-stack with IPv6 first in every list',
    text: edit((i) => {
      for (const key of ['podCidrs', 'serviceCidrs', 'apiServiceIps', 'dnsServiceIps']) i.kubernetes[key].reverse();
    }),
  },
  {
    name: 'one control-plane and etcd host, two workers',
    text: withRoles(['control-plane', 'worker', 'etcd'], ['worker'], ['worker']),
  },
  {
    name: 'host addresses at the top of their subnets (IPv6 has no broadcast address)',
    text: edit((i) => {
      i.hosts[0].ipv4 = '192.0.2.254';
      i.hosts[0].ipv6 = '2001:db8:235:0:ffff:ffff:ffff:ffff';
    }),
  },
  {
    name: 'hosts in different domains',
    text: edit((i) => {
      i.hosts[1].fqdn = 'sassaflash.lab.235.tdude.co';
    }),
  },
];

/**
 * The fields of the plan's topology (`nixos/lib/cluster.nix`, `cluster.network`): a network case
 * runs against the plan when the plan reads its field, and a test requires that it reads them all.
 */
const planNetworkFields: string[] = hasNix
  ? evalJson<string[]>([
      '--expr',
      'builtins.attrNames (import ./nixos/lib/cluster.nix { inventory = builtins.fromJSON (builtins.readFile ./inventory/k8s-235.json); util = import ./nixos/lib/util.nix; }).network',
    ])
  : [];
const networkCases: (Case & { readonly field: string })[] = [
  {
    name: 'network.cni names a CNI the hosts are not set up for',
    field: 'cni',
    text: edit((i) => {
      i.network.cni = 'calico';
    }),
    path: 'network.cni',
    says: /"calico" is not a supported CNI \(supported: cilium\)/,
  },
  {
    name: 'the native-routing CIDR has host bits set',
    field: 'ipv4NativeRoutingCidr',
    text: edit((i) => {
      i.network.ipv4NativeRoutingCidr = '10.234.1.0/16';
    }),
    path: 'network.ipv4NativeRoutingCidr',
    says: /"10\.234\.1\.0\/16" has host bits set: did you mean 10\.234\.0\.0\/16\?/,
  },
  {
    name: 'the native-routing CIDR is an IPv6 one',
    field: 'ipv4NativeRoutingCidr',
    text: edit((i) => {
      i.network.ipv4NativeRoutingCidr = '2a10:4741:36:32::/64';
    }),
    path: 'network.ipv4NativeRoutingCidr',
    says: /is not an IPv4 CIDR/,
  },
];
const planReads = (c: { field: string }) => planNetworkFields.includes(c.field);

const tsProblems = (text: string): string[] => {
  const parsed = parseInventoryJson(text);
  if ('error' in parsed) return [parsed.error];
  try {
    parseInventory(parsed.data, 'k8s-235');
    return [];
  } catch (error) {
    if (error instanceof InventoryError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
};
/** The synth's lines about a path: `<path>: <message>`. */
const tsAbout = (lines: string[], path: string) => lines.filter((line) => line.startsWith(`${path}: `));
/** The plan's lines about a path: `<check>: <path> <message>`. */
const nixAbout = (lines: string[], path: string) => lines.filter((line) => line.slice(line.indexOf(': ') + 2).startsWith(`${path} `));

const expectSynthRefuses = ({ text, path, says }: Case) => {
  const ts = tsProblems(text);
  const about = tsAbout(ts, path);
  expect(about, `synth: ${ts.join(' | ')}`).toHaveLength(1);
  expect(about[0]).toMatch(says);
};

// Every network case is read by both readers (the plan's topology carries cni and ipv4NativeRoutingCidr).
it.skipIf(!hasNix)('the plan reads every network field the synth checks', () => {
  expect(networkCases.filter((c) => !planReads(c)).map((c) => c.name)).toEqual([]);
});

describe.skipIf(skipNixSuites)(suiteName('the synth and the NixOS plan refuse the same contradictory inventories'), () => {
  let dir = '';
  const nixFailures = (text: string, name: string): string[] => {
    const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.json`);
    writeFileSync(file, text);
    return evalJson<string[]>(['-A', 'failures', '--arg', 'inventoryFile', file, 'nixos/lib']);
  };

  beforeAll(() => {
    requireNix();
    dir = mkdtempSync(join(tmpdir(), 'inventory-parity-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('both accept the inventory every case starts from (control case)', () => {
    expect(tsProblems(validText)).toEqual([]);
    expect(nixFailures(validText, 'valid')).toEqual([]);
    expect(nixFailures(`\uFEFF${validText}`, 'valid-with-bom')).toEqual([]);
  });

  it.each([...cases, ...networkCases.filter(planReads)])('$name', (c) => {
    expectSynthRefuses(c);
    const nix = nixFailures(c.text, c.name);
    const about = nixAbout(nix, c.path);
    expect(about, `plan: ${nix.join(' | ')}`).toHaveLength(1);
    expect(about[0]).toMatch(c.says);
  });

  it.each(accepted)('both accept: $name', ({ name, text }) => {
    expect(tsProblems(text)).toEqual([]);
    expect(nixFailures(text, name)).toEqual([]);
  });

  it('a key repeated in one object (the last value would win)', () => {
    const text = validText.replace(
      '"clusterDomain": "cluster.local",',
      '"clusterDomain": "cluster.local",\n    "clusterDomain": "cluster.local",',
    );
    const where = 'appears twice in one object at line 11, column 5';
    expect(tsProblems(text).filter((line) => line.includes(where))).toHaveLength(1);
    expect(nixFailures(text, 'repeated-key').filter((line) => line.includes(where))).toHaveLength(1);
  });
});
