// The NixOS modules need nixpkgs to evaluate for real; here they are called
// as plain functions with a stub lib (test/nix/probe/module-probe.nix) to show
// that every file option and vault-agent template comes from the plan.
import { beforeAll, describe, expect, it } from 'vitest';
import { at, evalJson, requireNix, skipNixSuites, suiteName } from './nix.js';
import type { Plan } from './plan-types.js';

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
  controllerManager: { serviceAccountKeyFile: string; kubeconfig: Record<string, string> };
  scheduler: { kubeconfig: Record<string, string> };
  kubelet: Record<string, unknown> & { kubeconfig: Record<string, string> };
  etcd: Record<string, unknown>;
  etcdBackup: Record<string, string>;
  firewall: { allowedTCPPorts: number[] };
  openiscsi: { enable: boolean; name: string };
}

describe.skipIf(skipNixSuites)(suiteName('NixOS modules consume the plan'), () => {
  let plan: Plan;
  let probe: Probe;
  const host = 'soarin';

  beforeAll(() => {
    requireNix();
    plan = evalJson<Plan>(['-A', 'plan', 'nixos/lib']);
    probe = evalJson<Probe>(['--argstr', 'hostName', host, 'test/nix/probe/module-probe.nix']);
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

  it('opens the planned ports and enables the iSCSI initiator', () => {
    const ports = plan.cluster.ports;
    expect(probe.firewall.allowedTCPPorts).toEqual(at(plan.hosts, host).firewall.tcp);
    expect(probe.firewall.allowedTCPPorts).toEqual(
      expect.arrayContaining([ports.ssh, ports.bgp, ports.apiserver, ports.etcdClient, ports.etcdPeer, ports.kubelet]),
    );
    expect(probe.openiscsi.enable).toBe(true);
    expect(probe.openiscsi.name).toMatch(new RegExp(`:${host}$`));
  });
});
