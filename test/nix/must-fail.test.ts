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
