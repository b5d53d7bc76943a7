// Broken inputs must stop the plan with a message that names the check.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { at, evalJson, fixture, jsonArg, requireNix, runNix, skipNixSuites, suiteName } from './nix.js';
import type { Plan } from './plan-types.js';

const planOf = (args: string[]) => runNix(['--eval', '--strict', '--json', '-A', 'plan', ...args, 'nixos/lib']);
const failuresOf = (args: string[]) => evalJson<string[]>(['-A', 'failures', ...args, 'nixos/lib']);
const inventoryArg = (name: string) => ['--arg', 'inventoryFile', fixture(name)];

describe.skipIf(skipNixSuites)(suiteName('the plan rejects broken inventories and overrides'), () => {
  beforeAll(requireNix);

  it('accepts the valid fixture inventory (control case), including a worker-only host', () => {
    expect(failuresOf(inventoryArg('inventory-valid.json'))).toEqual([]);
    const plan = evalJson<Plan>(['-A', 'plan', ...inventoryArg('inventory-valid.json'), 'nixos/lib']);
    expect(Object.keys(at(plan.hosts, 'node-d').certificates).sort()).toEqual(['kubelet-client', 'kubelet-serving']);
    expect(Object.keys(at(plan.hosts, 'node-d').caBundles)).toEqual(['kubernetes-ca']);
    expect(at(plan.hosts, 'node-b').certificates['kubelet-client']).toBeUndefined();
  });

  it('the broken fixture differs from the valid one only by the missing address', () => {
    const valid = JSON.parse(readFileSync(fixture('inventory-valid.json'), 'utf8'));
    const broken = JSON.parse(readFileSync(fixture('inventory-host-without-address.json'), 'utf8'));
    delete valid.hosts[1].ipv4;
    expect(broken).toEqual(valid);
  });

  it('fails when a host has no IPv4 address', () => {
    const args = inventoryArg('inventory-host-without-address.json');
    const result = planOf(args);
    expect(result.status).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain("host-addresses: host 'node-b' has no valid ipv4 address");
    expect(failuresOf(args)).toEqual(["host-addresses: host 'node-b' has no valid ipv4 address (got null)"]);
  });

  it('the fixture without host facts is the valid one minus the fields the hosts read', () => {
    const valid = JSON.parse(readFileSync(fixture('inventory-valid.json'), 'utf8'));
    const stripped = JSON.parse(readFileSync(fixture('inventory-without-host-facts.json'), 'utf8'));
    delete valid.kubernetes.dnsServiceIps;
    delete valid.kubernetes.nodeCidrMaskSizes;
    for (const host of valid.hosts) delete host.interface;
    delete valid.network;
    delete valid.ssh;
    expect(stripped).toEqual(valid);
  });

  it('names every missing host fact by its inventory path', () => {
    const args = inventoryArg('inventory-without-host-facts.json');
    const result = planOf(args);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('13 check(s) failed');
    expect(failuresOf(args)).toEqual([
      "host-interfaces: host 'node-a' has no valid network interface name (got null)",
      "host-interfaces: host 'node-b' has no valid network interface name (got null)",
      "host-interfaces: host 'node-c' has no valid network interface name (got null)",
      "host-interfaces: host 'node-d' has no valid network interface name (got null)",
      'kubernetes-settings: kubernetes.dnsServiceIps is missing',
      'kubernetes-settings: kubernetes.nodeCidrMaskSizes.ipv4 must be an integer from 1 to 32 (got null)',
      'kubernetes-settings: kubernetes.nodeCidrMaskSizes.ipv6 must be an integer from 1 to 128 (got null)',
      'network-settings: network.prefixLengths.ipv4 must be an integer from 1 to 32 (got null)',
      'network-settings: network.prefixLengths.ipv6 must be an integer from 1 to 128 (got null)',
      'network-settings: network.gateways.ipv4 must be an IPv4 address (got null)',
      'network-settings: network.gateways.ipv6 must be an IPv6 address (got null)',
      'network-settings: network.nameservers is missing',
      'ssh-settings: ssh.authorizedKeys is missing (a list of SSH public keys; it may be empty)',
    ]);
  });

  it('rejects host facts of the wrong kind', () => {
    const valid = JSON.parse(readFileSync(fixture('inventory-valid.json'), 'utf8'));
    const bad = JSON.parse(readFileSync(fixture('inventory-bad-host-facts.json'), 'utf8'));
    valid.kubernetes.serviceCidrs = ['10.100.64.0/18'];
    valid.kubernetes.dnsServiceIps.push('dns.example.test');
    valid.kubernetes.nodeCidrMaskSizes.ipv6 = 129;
    valid.hosts[3].interface = 'eth/0';
    valid.network.prefixLengths.ipv4 = '24';
    valid.network.gateways.ipv4 = '2001:db8:1::1';
    valid.network.nameservers = [];
    valid.ssh.authorizedKeys = valid.ssh.authorizedKeys[0];
    expect(bad).toEqual(valid);

    const key = JSON.stringify(valid.ssh.authorizedKeys);
    expect(failuresOf(inventoryArg('inventory-bad-host-facts.json'))).toEqual([
      `host-interfaces: host 'node-d' has no valid network interface name (got "eth/0")`,
      'kubernetes-settings: kubernetes.dnsServiceIps has "dns.example.test", which is not an IP address',
      'kubernetes-settings: kubernetes.serviceCidrs has no IPv6 range, but kubernetes.podCidrs has fd00:100:2::/104: pods and Services need the same families (dual-stack: both in both lists)',
      'kubernetes-settings: kubernetes.apiServiceIps[1] "fd00:100:1::1" is not inside a service CIDR of its family (there is no IPv6 one)',
      'kubernetes-settings: kubernetes.dnsServiceIps[1] "fd00:100:1::a" is not inside a service CIDR of its family (there is no IPv6 one)',
      'kubernetes-settings: kubernetes.nodeCidrMaskSizes.ipv6 must be an integer from 1 to 128 (got 129)',
      'network-settings: network.prefixLengths.ipv4 must be an integer from 1 to 32 (got "24")',
      'network-settings: network.gateways.ipv4 must be an IPv4 address (got "2001:db8:1::1")',
      'network-settings: network.nameservers must be a non-empty list of IP addresses (got [])',
      `ssh-settings: ssh.authorizedKeys must be a list of SSH public keys (got ${key})`,
    ]);
  });

  it('fails when an override puts the kubelet in the wrong group', () => {
    const args = jsonArg('overrides', fixture('override-kubelet-wrong-group.json'));
    const result = planOf(args);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      `kubelet-client-identity: host 'soarin' kubelet-client has O "system:masters", expected 'system:nodes'`,
    );
    expect(result.stderr).toContain("system-masters-admin-only: host 'soarin' kubelet-client is in system:masters");
    expect(
      failuresOf(args)
        .map((f) => f.split(':')[0])
        .sort(),
    ).toEqual(['certificate-roles', 'kubelet-client-identity', 'system-masters-admin-only']);
  });

  it('fails when a template would restart a unit the host does not run', () => {
    const args = jsonArg('overrides', fixture('override-unknown-restart-target.json'));
    const result = planOf(args);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      "restart-targets: host 'sassaflash' template kube-scheduler restarts kube-proxy.service, which is not a unit of this host",
    );
  });
});
