// The synth and the NixOS plan read one inventory file: a contradiction in it must stop
// both, each naming the same JSON path. Every case below is written to a file and fed,
// as text, to the synth's reader and to the plan.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInventory } from '../../apps/inventory.js';
import { InventoryError } from '../../framework/cluster.js';
import { parseInventoryJson } from '../../pipeline/load.js';
import { evalJson, repoRoot, requireNix, skipNixSuites, suiteName } from './nix.js';

const validText = readFileSync(join(repoRoot, 'inventory', 'k8s-235.json'), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: the cases edit the raw JSON freely.
type Json = any;
const edit = (change: (inventory: Json) => void): string => {
  const inventory = JSON.parse(validText);
  change(inventory);
  return `${JSON.stringify(inventory, null, 2)}\n`;
};

interface Case {
  readonly name: string;
  readonly text: string;
  /** A JSON path (or the position of a repeated key) both readers must name. */
  readonly names: string;
}

const cases: Case[] = [
  {
    name: 'pod and service CIDRs overlap',
    text: edit((i) => {
      i.kubernetes.podCidrs[0] = '10.234.64.0/17';
    }),
    names: 'kubernetes.serviceCidrs[0]',
  },
  {
    name: 'an IPv6 pod CIDR overlaps the IPv6 service CIDR',
    text: edit((i) => {
      i.kubernetes.podCidrs[1] = '2a10:4741:36:32::/64';
    }),
    names: 'kubernetes.serviceCidrs[1]',
  },
  {
    name: "a pod CIDR overlaps the hosts' subnet",
    text: edit((i) => {
      i.kubernetes.podCidrs[0] = '192.0.2.128/25';
    }),
    names: 'kubernetes.podCidrs[0]',
  },
  {
    name: "a service CIDR overlaps the hosts' IPv6 subnet",
    text: edit((i) => {
      i.kubernetes.serviceCidrs[1] = '2001:db8:235::1:0/112';
      i.kubernetes.apiServiceIps[1] = '2001:db8:235::1:1';
      i.kubernetes.dnsServiceIps[1] = '2001:db8:235::1:a';
    }),
    names: 'kubernetes.serviceCidrs[1]',
  },
  {
    name: 'the API service IP is outside every service CIDR',
    text: edit((i) => {
      i.kubernetes.apiServiceIps[0] = '10.234.128.1';
    }),
    names: 'kubernetes.apiServiceIps[0]',
  },
  {
    name: 'a DNS service IP is outside every service CIDR',
    text: edit((i) => {
      i.kubernetes.dnsServiceIps[1] = '2a10:4741:36:32:2::a';
    }),
    names: 'kubernetes.dnsServiceIps[1]',
  },
  {
    name: 'two hosts share an IPv4 address',
    text: edit((i) => {
      i.hosts[2].ipv4 = i.hosts[0].ipv4;
    }),
    names: 'hosts[2].ipv4',
  },
  {
    name: 'two hosts share an IPv6 address',
    text: edit((i) => {
      i.hosts[1].ipv6 = i.hosts[0].ipv6;
    }),
    names: 'hosts[1].ipv6',
  },
  {
    name: 'the IPv4 gateway is outside the hosts’ subnet',
    text: edit((i) => {
      i.network.gateways.ipv4 = '198.51.100.1';
    }),
    names: 'network.gateways.ipv4',
  },
  {
    name: 'a service CIDR is not a CIDR',
    text: edit((i) => {
      i.kubernetes.serviceCidrs[0] = '10.234.64.0/33';
    }),
    names: 'kubernetes.serviceCidrs[0]',
  },
  {
    name: 'a key appears twice in one object (the last value would win)',
    text: validText.replace(
      '"clusterDomain": "cluster.local",',
      '"clusterDomain": "cluster.local",\n    "clusterDomain": "cluster.local",',
    ),
    names: 'appears twice in one object at line 10, column 5',
  },
];

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

  it.each(cases)('$name', ({ name, text, names }) => {
    const ts = tsProblems(text);
    const nix = nixFailures(text, name);
    expect(
      ts.filter((line) => line.includes(names)),
      `synth: ${ts.join(' | ')}`,
    ).toHaveLength(1);
    expect(
      nix.filter((line) => line.includes(names)),
      `plan: ${nix.join(' | ')}`,
    ).toHaveLength(1);
  });
});
