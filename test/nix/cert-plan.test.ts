import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseInventory } from '../../inventory/schema.js';
import { at, evalJson, nixosDir, repoRoot, requireNix, skipNixSuites, suiteName } from './nix.js';
import type { Certificate, HostPlan, Plan } from './plan-types.js';

// Read through the cdk8s side's parser: both sides must accept the same file.
const inventory = parseInventory(JSON.parse(readFileSync(join(repoRoot, 'inventory', 'k8s-235.json'), 'utf8')), 'k8s-235');

// The specification the plan is held to, written here independently of Nix.
const certificatesByComponent: Record<string, string[]> = {
  etcd: ['etcd-server', 'etcd-peer', 'etcd-backup'],
  'control-plane': [
    'kube-apiserver',
    'kube-apiserver-kubelet-client',
    'kube-apiserver-etcd-client',
    'front-proxy-client',
    'kube-controller-manager',
    'kube-scheduler',
    'admin',
  ],
  worker: ['kubelet-client', 'kubelet-serving'],
};
const etcdCaCertificates = ['etcd-server', 'etcd-peer', 'etcd-backup', 'kube-apiserver-etcd-client'];
const servingCertificates = ['kube-apiserver', 'kubelet-serving', 'etcd-server', 'etcd-peer'];
const serviceUsers: Record<string, string> = {
  'kube-apiserver.service': 'kubernetes',
  'kube-controller-manager.service': 'kubernetes',
  'kube-scheduler.service': 'kubernetes',
  'etcd.service': 'etcd',
  'kubelet.service': 'root',
  'etcd-backup.service': 'root',
};

describe.skipIf(skipNixSuites)(suiteName('certificate plan (nixos/lib/cert-plan.nix)'), () => {
  let plan: Plan;
  let hosts: HostPlan[];
  const certs = (host: HostPlan): Certificate[] => Object.values(host.certificates);

  beforeAll(() => {
    requireNix();
    plan = evalJson<Plan>(['-A', 'plan', 'nixos/lib']);
    hosts = Object.values(plan.hosts);
  });

  it('has one host per inventory host, with its addresses, and a host directory for each', () => {
    const names = inventory.hosts.map((h) => h.name);
    expect(plan.cluster.hostNames).toEqual(names);
    for (const h of inventory.hosts) {
      const host = at(plan.hosts, h.name);
      expect(host).toMatchObject({ fqdn: h.fqdn, ipv4: h.ipv4, ipv6: h.ipv6, interface: h.interface });
      expect(existsSync(join(nixosDir, 'hosts', h.name, 'default.nix'))).toBe(true);
      expect(existsSync(join(nixosDir, 'hosts', h.name, 'hardware-configuration.nix'))).toBe(true);
    }
    const hostDirs = readdirSync(join(nixosDir, 'hosts'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(hostDirs.sort()).toEqual([...names].sort());
  });

  it('takes the cluster DNS IPs, node CIDR sizes, site network and SSH keys from the inventory', () => {
    const { dnsServiceIps, nodeCidrMaskSizes } = inventory.kubernetes;
    expect(plan.cluster.kubernetes).toMatchObject({ dnsServiceIps, nodeCidrMaskSizes });
    const { prefixLengths, gateways, nameservers, cni, ipv4NativeRoutingCidr } = inventory.network;
    expect(plan.cluster.network).toEqual({ prefixLengths, gateways, nameservers, cni, ipv4NativeRoutingCidr });
    expect(plan.cluster.ssh).toEqual({ authorizedKeys: inventory.ssh.authorizedKeys });
  });

  it('gives each component of each host its certificates', () => {
    for (const h of inventory.hosts) {
      const host = at(plan.hosts, h.name);
      const expected = h.roles.flatMap((role) => certificatesByComponent[role] ?? []);
      expect(Object.keys(host.certificates).sort()).toEqual([...expected].sort());
      for (const id of expected) {
        expect(h.roles).toContain(at(host.certificates, id).component);
      }
    }
  });

  it('names kubelets system:node:<host> in group system:nodes', () => {
    for (const host of hosts) {
      const kubelet = at(host.certificates, 'kubelet-client');
      expect(kubelet.commonName).toBe(`system:node:${host.name}`);
      expect(kubelet.organization).toBe('system:nodes');
      expect(at(host.certificates, 'kubelet-serving').commonName).toBe(host.name);
    }
  });

  it('uses the fixed control-plane identities without extra groups', () => {
    for (const host of hosts) {
      expect(host.certificates['kube-controller-manager']).toMatchObject({
        commonName: 'system:kube-controller-manager',
        organization: null,
      });
      expect(host.certificates['kube-scheduler']).toMatchObject({
        commonName: 'system:kube-scheduler',
        organization: null,
      });
      const proxy = host.certificates['kube-proxy'];
      if (proxy) {
        expect(proxy.commonName).toBe('system:kube-proxy');
      }
      expect(at(host.certificates, 'front-proxy-client').commonName).toBe('front-proxy-client');
    }
  });

  it('puts only the admin certificate in system:masters', () => {
    for (const host of hosts) {
      const masters = certs(host).filter((c) => c.organization === 'system:masters');
      expect(masters.map((c) => c.id)).toEqual(['admin']);
    }
  });

  it('covers the host, the API service IPs and the kubernetes.default names in the apiserver SANs', () => {
    const { clusterDomain, apiServiceIps, apiServer } = inventory.kubernetes;
    for (const host of hosts) {
      const api = at(host.certificates, 'kube-apiserver');
      expect(api.ipSans).toEqual(expect.arrayContaining([...apiServiceIps, host.ipv4, host.ipv6]));
      expect(api.dnsSans).toEqual(
        expect.arrayContaining([
          'kubernetes',
          'kubernetes.default',
          'kubernetes.default.svc',
          `kubernetes.default.svc.${clusterDomain}`,
          apiServer.host,
          host.fqdn,
        ]),
      );
    }
  });

  it('covers the host addresses in etcd and kubelet serving certificates', () => {
    for (const host of hosts) {
      for (const id of ['etcd-server', 'etcd-peer', 'kubelet-serving']) {
        expect(at(host.certificates, id).ipSans).toEqual(expect.arrayContaining([host.ipv4, host.ipv6]));
      }
      expect(at(host.certificates, 'etcd-server').ipSans).toContain('127.0.0.1');
    }
  });

  it('issues from separate CAs: etcd, front proxy and kubernetes mounts of the inventory', () => {
    const mounts = inventory.vault.pkiMounts;
    expect(plan.mounts).toEqual(mounts);
    expect(new Set(Object.values(mounts)).size).toBe(3);
    for (const host of hosts) {
      for (const c of certs(host)) {
        const want = etcdCaCertificates.includes(c.id)
          ? mounts.etcd
          : c.id === 'front-proxy-client'
            ? mounts.frontProxy
            : mounts.kubernetes;
        expect(c.mount, `${host.name} ${c.id}`).toBe(want);
        expect(c.vaultPath).toBe(`${want}/issue/${c.role}`);
      }
    }
  });

  it('sets server and client key usages by role', () => {
    for (const host of hosts) {
      for (const c of certs(host)) {
        expect(c.keyUsage).toContain('DigitalSignature');
        if (servingCertificates.includes(c.id)) {
          expect(c.extKeyUsage, `${host.name} ${c.id}`).toContain('ServerAuth');
        } else {
          expect(c.extKeyUsage, `${host.name} ${c.id}`).toEqual(['ClientAuth']);
        }
      }
    }
  });

  it('issues every certificate through a planned Vault role that fixes its O', () => {
    const roles = new Map(plan.vaultRoles.map((r) => [`${r.mount}/issue/${r.name}`, r]));
    for (const host of hosts) {
      for (const c of certs(host)) {
        const role = roles.get(c.vaultPath);
        expect(role, c.vaultPath).toBeDefined();
        expect(role?.organization).toBe(c.organization);
        expect(role?.extKeyUsage).toEqual(c.extKeyUsage);
        if (c.commonName.startsWith('system:')) {
          expect(role?.enforceHostnames, `${c.vaultPath} issues ${c.commonName}`).toBe(false);
        }
      }
    }
    const groups = plan.vaultRoles.map((r) => r.organization).filter((o) => o !== null);
    expect(new Set(groups).size).toBe(groups.length);
  });

  it('never lets two templates write the same file', () => {
    for (const host of hosts) {
      const written = host.templates.flatMap((t) => t.writes);
      expect(written.length).toBeGreaterThan(0);
      expect(new Set(written).size, host.name).toBe(written.length);
    }
  });

  it('restarts only units the host runs, and only those that read the files', () => {
    for (const host of hosts) {
      expect(host.units).toContain(plan.agent.unit);
      for (const t of host.templates) {
        for (const unit of t.restartUnits) {
          expect(host.units, `${host.name} ${t.id}`).toContain(unit);
          expect(t.consumers).toContain(unit);
        }
      }
      expect(host.templates.find((t) => t.id === 'kube-apiserver')?.restartUnits).toEqual(['kube-apiserver.service']);
    }
  });

  it('hands keys to the user of the consuming service, mode 0600', () => {
    for (const host of hosts) {
      for (const c of certs(host)) {
        const owners = new Set(c.consumers.map((u) => serviceUsers[u]));
        const owner = owners.size === 0 ? 'root' : [...owners][0];
        expect(owners.size).toBeLessThanOrEqual(1);
        expect(c.files.key, `${host.name} ${c.id}`).toMatchObject({ owner, mode: '0600' });
        expect(c.files.cert).toMatchObject({ owner, mode: '0640' });
        expect(c.cache).toMatchObject({ owner: 'root', mode: '0600' });
      }
    }
  });

  it('takes the service-account key pair from the inventory KV path, identical on every control-plane node', () => {
    const secrets = hosts.map((h) => at(h.secrets, 'service-account'));
    for (const sa of secrets) {
      expect(sa.vaultPath).toBe(inventory.vault.serviceAccountKeyPath);
      expect(sa.files).toEqual(secrets[0]?.files);
      expect(sa.files.privateKey).toMatchObject({ owner: 'kubernetes', mode: '0600' });
    }
  });

  it('renders each template from the planned identity and writes every planned file', () => {
    for (const host of hosts) {
      for (const c of certs(host)) {
        const t = host.templates.find((x) => x.id === c.id);
        expect(t?.contents).toContain(`pkiCert "${c.vaultPath}" "common_name=${c.commonName}"`);
        for (const f of [c.files.cert, c.files.key]) {
          expect(t?.contents).toContain(`writeToFile "${f.path}" "${f.owner}" "${f.group}" "${f.mode}"`);
        }
        if (c.ipSans.length > 0) {
          expect(t?.contents).toContain(`"ip_sans=${c.ipSans.join(',')}"`);
        }
      }
      for (const ca of Object.values(host.caBundles)) {
        const t = host.templates.find((x) => x.id === ca.id);
        expect(t?.destination.path).toBe(ca.file.path);
        expect(t?.contents).toContain(`secret "${ca.mount}/cert/ca"`);
      }
    }
  });

  it('limits each node policy to the common names of its own plan', () => {
    for (const host of hosts) {
      for (const c of certs(host)) {
        const block = host.vault.policy.split('\n\n').find((b) => b.startsWith(`path "${c.vaultPath}"`));
        expect(block, `${host.name} ${c.vaultPath}`).toBeDefined();
        expect(block).toContain(`"${c.commonName}"`);
      }
      expect(host.vault.policy).not.toMatch(new RegExp(`system:node:(?!${host.name}")`));
      expect(host.vault.policy).toContain(`path "${inventory.vault.serviceAccountKeyPath}"`);
    }
  });

  it('derives etcd membership from the inventory', () => {
    expect(plan.cluster.etcd.initialCluster).toEqual(
      inventory.hosts.filter((h) => h.roles.includes('etcd')).map((h) => `${h.name}=https://${h.ipv4}:2380`),
    );
  });
});
