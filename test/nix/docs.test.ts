// The runbooks quote generated values (Vault role and AppRole commands, etcd
// member names and URLs); these tests keep them equal to the plan.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { at, evalJson, repoRoot, requireNix, skipNixSuites, suiteName } from './nix.js';
import type { Plan } from './plan-types.js';

const doc = (name: string): string => readFileSync(join(repoRoot, 'docs', name), 'utf8');

describe.skipIf(skipNixSuites)(suiteName('runbooks match the plan'), () => {
  let plan: Plan;

  beforeAll(() => {
    requireNix();
    plan = evalJson<Plan>(['-A', 'plan', 'nixos/lib']);
  });

  it('docs/vault-pki.md has every role command, AppRole command and mount of the plan', () => {
    const text = doc('vault-pki.md');
    for (const command of plan.vaultRoleCommands) {
      expect(text).toContain(command);
    }
    for (const name of plan.cluster.hostNames) {
      expect(text).toContain(at(plan.hosts, name).vault.appRoleCommand);
    }
    for (const mount of Object.values(plan.mounts)) {
      expect(text).toContain(`vault secrets enable -path=${mount} pki`);
    }
    expect(text).toContain(at(plan.hosts, 'soarin').vault.policy.trimEnd());
  });

  it('docs/etcd.md restores with the member names, URLs and token the modules use', () => {
    const text = doc('etcd.md');
    const { members, initialCluster, initialClusterToken } = plan.cluster.etcd;
    for (const m of members) {
      expect(text).toContain(`--name ${m.name} \\`);
      expect(text).toContain(`--initial-advertise-peer-urls ${m.peerUrl} \\`);
    }
    expect(text).toContain(`--initial-cluster ${initialCluster.join(',')} \\`);
    expect(text).toContain(`--initial-cluster-token ${initialClusterToken} \\`);
  });

  it('docs/hosts.md places the AppRole credentials where the agent reads them', () => {
    const text = doc('hosts.md');
    expect(text).toContain(plan.agent.roleIdFile);
    expect(text).toContain(plan.agent.secretIdFile);
    expect(text).toContain(plan.agent.unit);
  });

  it('docs/hosts.md quotes the cluster DNS Service IPs the kubelets use', () => {
    const text = doc('hosts.md');
    for (const ip of plan.cluster.kubernetes.dnsServiceIps) {
      expect(text).toContain(`\`${ip}\``);
    }
  });

  it.each(['hosts.md', 'etcd.md', 'vault-pki.md'])('%s names NixOS options in the cluster-neutral homelab.* namespace', (name) => {
    expect(doc(name)).not.toMatch(/\bk8s235\./);
  });

  it.each(['hosts.md', 'etcd.md', 'vault-pki.md'])('%s says what cannot be checked here and what to run elsewhere', (name) => {
    const text = doc(name);
    expect(text).toContain('## What cannot be checked here');
    expect(text).toContain('nix flake check ./nixos');
    expect(text).toContain('nixos-rebuild build --flake ./nixos#soarin');
  });
});
