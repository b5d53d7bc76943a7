// The NixOS modules need nixpkgs to evaluate for real; here they are called
// as plain functions with a stub lib (test/nix/probe/module-probe.nix) to show
// that every file option and vault-agent template comes from the plan.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseInventory } from '../../inventory/schema.js';
import { at, evalJson, fixture, repoRoot, requireNix, skipNixSuites, suiteName } from './nix.js';
import type { Plan } from './plan-types.js';

const inventory = parseInventory(JSON.parse(readFileSync(join(repoRoot, 'inventory', 'k8s-235.json'), 'utf8')), 'k8s-235');

interface AgentTemplate {
  destination: string;
  perms: string;
  contents: string;
  error_on_missing_key: boolean;
  exec?: { command: string[]; timeout: string };
}

interface Probe {
  agent: {
    instance: {
      user: string;
      settings: {
        vault: { address: string };
        auto_auth: { method: { type: string; config: Record<string, unknown> }[] };
        template: AgentTemplate[];
      };
    };
    tmpfiles: string[];
    consumers: Record<string, { after: string[]; wants: string[]; serviceConfig: { ExecStartPre: string[] } }>;
  };
  kubernetes: { caFile: string; easyCerts: boolean; flannel: boolean; proxy: boolean };
  apiserver: Record<string, unknown> & { etcd: Record<string, unknown> };
  controllerManager: { bindAddress: string; serviceAccountKeyFile: string; kubeconfig: Record<string, string>; extraOpts: string };
  scheduler: { address: string; kubeconfig: Record<string, string> };
  kubelet: Record<string, unknown> & { kubeconfig: Record<string, string> };
  etcd: Record<string, unknown>;
  etcdBackup: Record<string, string>;
  firewall: { allowedTCPPorts: number[]; extraCommands: string };
  openiscsi: { enable: boolean; name: string };
  boot: { kernelModules: string[]; supportedFilesystems: string[] };
  network: {
    hostName: string;
    domain: string;
    interfaces: Record<string, { ipv4: { addresses: AddressSpec[] }; ipv6: { addresses: AddressSpec[] } }>;
    defaultGateway: { address: string; interface: string };
    defaultGateway6: { address: string; interface: string };
    nameservers: string[];
  };
  authorizedKeys: string[];
  warnings: string[];
  options: { network: Record<string, unknown>; ssh: { authorizedKeys: string[] } };
}

interface AddressSpec {
  address: string;
  prefixLength: number;
}

const probeOf = (hostName: string, inventoryFile?: string): Probe =>
  evalJson<Probe>([
    '--argstr',
    'hostName',
    hostName,
    ...(inventoryFile ? ['--arg', 'inventoryFile', inventoryFile] : []),
    'test/nix/probe/module-probe.nix',
  ]);

describe.skipIf(skipNixSuites)(suiteName('NixOS modules consume the plan'), () => {
  let plan: Plan;
  let probe: Probe;
  const host = 'soarin';

  beforeAll(() => {
    requireNix();
    plan = evalJson<Plan>(['-A', 'plan', 'nixos/lib']);
    probe = probeOf(host);
  });

  it('renders exactly the planned templates in one root vault-agent with AppRole auth', () => {
    const h = at(plan.hosts, host);
    const agent = probe.agent.instance;
    expect(agent.user).toBe('root');
    expect(agent.settings.vault.address).toBe(plan.cluster.vault.address);
    expect(agent.settings.auto_auth.method[0]).toMatchObject({
      type: 'approle',
      config: { role_id_file_path: plan.agent.roleIdFile, secret_id_file_path: plan.agent.secretIdFile },
    });
    expect(agent.settings.template.map((t) => t.destination)).toEqual(h.templates.map((t) => t.destination.path));
    expect(agent.settings.template.map((t) => t.contents)).toEqual(h.templates.map((t) => t.contents));
    for (const t of agent.settings.template) {
      expect(t.error_on_missing_key).toBe(true);
    }
  });

  it('restarts the planned units when a template renders new content', () => {
    const h = at(plan.hosts, host);
    const rendered = probe.agent.instance.settings.template;
    expect(rendered).toHaveLength(h.templates.length);
    for (const [i, t] of h.templates.entries()) {
      const exec = rendered[i]?.exec;
      if (t.restartUnits.length === 0) {
        expect(exec).toBeUndefined();
      } else {
        expect(exec?.command.slice(1)).toEqual(['--no-block', 'try-restart', ...t.restartUnits]);
      }
    }
  });

  it('makes every consumer wait for the agent and its files', () => {
    const consumers = Object.keys(at(plan.hosts, host).unitInputs).map((u) => u.replace(/\.service$/, ''));
    expect(Object.keys(probe.agent.consumers).sort()).toEqual(consumers.sort());
    for (const unit of Object.values(probe.agent.consumers)) {
      expect(unit.after).toContain(plan.agent.unit);
      expect(unit.serviceConfig.ExecStartPre.at(0)).toMatch(/^\+/);
    }
    for (const dir of at(plan.hosts, host).directories) {
      expect(probe.agent.tmpfiles).toContain(`d ${dir.path} ${dir.mode} ${dir.owner} ${dir.group} -`);
    }
  });

  it('wires kube-apiserver, controller-manager and scheduler to the planned files', () => {
    const c = at(plan.hosts, host).certificates;
    const sa = at(at(plan.hosts, host).secrets, 'service-account').files;
    expect(probe.kubernetes).toEqual({
      caFile: plan.caFiles.kubernetes,
      easyCerts: false,
      flannel: false,
      proxy: false,
    });
    expect(probe.apiserver).toMatchObject({
      clientCaFile: plan.caFiles.kubernetes,
      tlsCertFile: at(c, 'kube-apiserver').files.cert.path,
      tlsKeyFile: at(c, 'kube-apiserver').files.key.path,
      kubeletClientCertFile: at(c, 'kube-apiserver-kubelet-client').files.cert.path,
      kubeletClientKeyFile: at(c, 'kube-apiserver-kubelet-client').files.key.path,
      proxyClientCertFile: at(c, 'front-proxy-client').files.cert.path,
      proxyClientKeyFile: at(c, 'front-proxy-client').files.key.path,
      serviceAccountKeyFile: sa.publicKey.path,
      serviceAccountSigningKeyFile: sa.privateKey.path,
      etcd: {
        servers: plan.cluster.etcd.clientUrls,
        caFile: plan.caFiles.etcd,
        certFile: at(c, 'kube-apiserver-etcd-client').files.cert.path,
        keyFile: at(c, 'kube-apiserver-etcd-client').files.key.path,
      },
    });
    expect(probe.apiserver.extraOpts).toContain(`--requestheader-client-ca-file=${plan.caFiles.frontProxy}`);
    expect(probe.controllerManager.serviceAccountKeyFile).toBe(sa.privateKey.path);
    expect(probe.controllerManager.kubeconfig.certFile).toBe(at(c, 'kube-controller-manager').files.cert.path);
    expect(probe.scheduler.kubeconfig.certFile).toBe(at(c, 'kube-scheduler').files.cert.path);
    // Bound to the host's address, where the monitoring app's EndpointSlices point Prometheus.
    expect(probe.controllerManager.bindAddress).toBe(at(plan.hosts, host).ipv4);
    expect(probe.scheduler.address).toBe(at(plan.hosts, host).ipv4);
  });

  it('wires the kubelet and etcd to the planned files', () => {
    const c = at(plan.hosts, host).certificates;
    expect(probe.kubelet).toMatchObject({
      hostname: host,
      clientCaFile: plan.caFiles.kubernetes,
      tlsCertFile: at(c, 'kubelet-serving').files.cert.path,
      tlsKeyFile: at(c, 'kubelet-serving').files.key.path,
      kubeconfig: { certFile: at(c, 'kubelet-client').files.cert.path, keyFile: at(c, 'kubelet-client').files.key.path },
    });
    expect(probe.etcd).toMatchObject({
      name: host,
      trustedCaFile: plan.caFiles.etcd,
      certFile: at(c, 'etcd-server').files.cert.path,
      keyFile: at(c, 'etcd-server').files.key.path,
      peerCertFile: at(c, 'etcd-peer').files.cert.path,
      peerKeyFile: at(c, 'etcd-peer').files.key.path,
      clientCertAuth: true,
      peerClientCertAuth: true,
      initialCluster: plan.cluster.etcd.initialCluster,
    });
    expect(probe.etcdBackup).toMatchObject({
      ETCDCTL_CACERT: plan.caFiles.etcd,
      ETCDCTL_CERT: at(c, 'etcd-backup').files.cert.path,
      ETCDCTL_KEY: at(c, 'etcd-backup').files.key.path,
    });
  });

  it('configures the interface, addresses, gateways and resolvers of the inventory', () => {
    const h = inventory.hosts.find((x) => x.name === host);
    const { prefixLengths, gateways, nameservers } = inventory.network;
    expect(probe.options.network).toEqual({
      interface: h?.interface,
      ipv4PrefixLength: prefixLengths.ipv4,
      ipv6PrefixLength: prefixLengths.ipv6,
      ipv4Gateway: gateways.ipv4,
      ipv6Gateway: gateways.ipv6,
      nameservers,
    });
    expect(probe.network).toEqual({
      hostName: host,
      domain: inventory.domain.site,
      interfaces: {
        [h?.interface ?? '?']: {
          ipv4: { addresses: [{ address: h?.ipv4, prefixLength: prefixLengths.ipv4 }] },
          ipv6: { addresses: [{ address: h?.ipv6, prefixLength: prefixLengths.ipv6 }] },
        },
      },
      defaultGateway: { address: gateways.ipv4, interface: h?.interface },
      defaultGateway6: { address: gateways.ipv6, interface: h?.interface },
      nameservers,
    });
  });

  it('hands the cluster DNS IPs to the kubelet and the node CIDR sizes to the controller-manager', () => {
    const { dnsServiceIps, nodeCidrMaskSizes } = inventory.kubernetes;
    expect(probe.kubelet.clusterDns).toEqual(dnsServiceIps);
    expect(probe.controllerManager.extraOpts).toContain(`--node-cidr-mask-size-ipv4=${nodeCidrMaskSizes.ipv4}`);
    expect(probe.controllerManager.extraOpts).toContain(`--node-cidr-mask-size-ipv6=${nodeCidrMaskSizes.ipv6}`);
  });

  it('installs the inventory SSH keys and warns while there are none', () => {
    expect(probe.options.ssh.authorizedKeys).toEqual(inventory.ssh.authorizedKeys);
    expect(probe.authorizedKeys).toEqual(inventory.ssh.authorizedKeys);
    if (inventory.ssh.authorizedKeys.length === 0) {
      expect(probe.warnings).toEqual([
        `homelab.ssh.authorizedKeys is empty (inventory ssh.authorizedKeys): ${host} accepts no SSH logins.\n`,
      ]);
    }
  });

  it('reads each host its own interface and the keys from another inventory (fixture)', () => {
    const fixtureInventory = fixture('inventory-valid.json');
    const fixtureData = JSON.parse(readFileSync(fixtureInventory, 'utf8')) as {
      hosts: { name: string; interface: string }[];
      ssh: { authorizedKeys: string[] };
    };
    for (const name of ['node-b', 'node-d']) {
      const other = probeOf(name, fixtureInventory);
      const want = fixtureData.hosts.find((h) => h.name === name)?.interface ?? '?';
      expect(Object.keys(other.network.interfaces)).toEqual([want]);
      expect(other.network.defaultGateway.interface).toBe(want);
      expect(other.authorizedKeys).toEqual(fixtureData.ssh.authorizedKeys);
      expect(other.warnings).toEqual([]);
    }
  });

  it('opens the planned ports and enables the iSCSI initiator', () => {
    const ports = plan.cluster.ports;
    // Only SSH and the API server are open to every client.
    expect(probe.firewall.allowedTCPPorts).toEqual(at(plan.hosts, host).firewall.tcp);
    expect(probe.firewall.allowedTCPPorts).toEqual([ports.ssh, ports.apiserver]);
    expect(probe.openiscsi.enable).toBe(true);
    expect(probe.openiscsi.name).toMatch(new RegExp(`:${host}$`));
    // democratic-csi's node plugin cannot modprobe on NixOS (its /lib/modules mount is empty).
    expect(probe.boot.kernelModules).toContain('iscsi_tcp');
    // The NFS client (mount.nfs) is installed; the kernel loads the module on the first mount.
    expect(probe.boot.supportedFilesystems).toContain('nfs');
  });
});

describe.skipIf(skipNixSuites)(suiteName('the firewall plan'), () => {
  let plan: Plan;
  beforeAll(() => {
    requireNix();
    plan = evalJson<Plan>(['-A', 'plan', 'nixos/lib']);
  });
  const hostSources = inventory.hosts.flatMap((h) => [`${h.ipv4}/32`, `${h.ipv6}/128`]);
  const peerSources = (inventory.network.bgp?.peers ?? []).map((peer) => `${peer.address}/${peer.address.includes(':') ? 128 : 32}`);

  it('opens exactly the Cilium, cluster and BGP ports, each to the hosts, the pods or the BGP peers', () => {
    const ports = plan.cluster.ports;
    for (const host of inventory.hosts) {
      const rules = at(plan.hosts, host.name).firewall.rules.map(({ tcp, sources }) => ({ tcp, sources }));
      expect(rules).toEqual([
        { tcp: [ports.etcdClient, ports.etcdPeer, ports.ciliumHealth, ports.hubblePeer, ports.kubelet], sources: hostSources },
        {
          tcp: [
            ports.hubblePeer,
            ports.nodeExporter,
            ports.ciliumAgentMetrics,
            ports.ciliumOperatorMetrics,
            ports.hubbleMetrics,
            ports.kubelet,
            // The control plane's secure ports: every host of k8s-235 runs it.
            ports.controllerManager,
            ports.scheduler,
          ],
          sources: inventory.kubernetes.podCidrs,
        },
        { tcp: [ports.bgp], sources: peerSources },
      ]);
    }
    expect(ports).toMatchObject({
      bgp: 179,
      ciliumHealth: 4240,
      hubblePeer: 4244,
      ciliumAgentMetrics: 9962,
      ciliumOperatorMetrics: 9963,
      hubbleMetrics: 9965,
    });
  });

  it('renders each rule as one iptables or ip6tables command per source, before the refuse rule', () => {
    const probe = probeOf(inventory.hosts[0]?.name ?? '');
    const lines = probe.firewall.extraCommands.split('\n');
    expect(lines).toContain('iptables -A nixos-fw -p tcp -s 192.0.2.1/32 -m multiport --dports 179 -j nixos-fw-accept');
    expect(lines).toContain('ip6tables -A nixos-fw -p tcp -s 2001:db8:235::1/128 -m multiport --dports 179 -j nixos-fw-accept');
    expect(lines).toContain(
      'iptables -A nixos-fw -p tcp -s 10.234.128.0/18 -m multiport --dports 4244,9100,9962,9963,9965,10250,10257,10259 -j nixos-fw-accept',
    );
    // One line per source of each rule, and nothing else.
    const expected = at(plan.hosts, inventory.hosts[0]?.name ?? '').firewall.rules.reduce((count, rule) => count + rule.sources.length, 0);
    expect(lines).toHaveLength(expected);
  });
});
