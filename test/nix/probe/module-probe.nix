# Calls the NixOS modules with a stub lib/pkgs and returns, as JSON, the
# values they hand to nixpkgs' options, so the tests can compare them with
# the certificate plan. Needs no nixpkgs.
{
  hostName ? "soarin",
}:
let
  plan = (import ../../../nixos/lib { }).plan;
  host = plan.hosts.${hostName};
  lib = import ./stub-lib.nix;
  pkgs = {
    writeShellScript = name: _text: "/nix/store/stub-${name}";
    coreutils = "/nix/store/stub-coreutils";
    findutils = "/nix/store/stub-findutils";
    kubectl = "kubectl";
    openiscsi = "openiscsi";
    lsscsi = "lsscsi";
    sg3_utils = "sg3_utils";
  };
  config = {
    k8s235 = {
      certPlan = plan;
      inherit hostName host;
      network = {
        interface = "eno1";
        ipv4PrefixLength = 24;
        ipv6PrefixLength = 64;
        ipv4Gateway = null;
        ipv6Gateway = null;
        nameservers = [ ];
      };
      ssh.authorizedKeys = [ "ssh-ed25519 AAAA probe" ];
      iscsi.iqnPrefix = "iqn.2025-01.test";
      vaultAgent = {
        package = "vault";
        caCertFile = null;
      };
      etcd.initialClusterState = "new";
      etcdBackup = {
        onCalendar = "hourly";
        keep = 3;
        directory = "/var/backup/etcd";
      };
    };
    systemd.package = "/nix/store/stub-systemd";
    services.etcd.package = "etcd";
    services.kubernetes.lib.mkKubeConfig = name: _conf: "/nix/store/stub-${name}-kubeconfig";
  };
  load = path: import path { inherit config lib pkgs; };
  modules = ../../../nixos/modules;
  common = load (modules + "/common.nix");
  agent = load (modules + "/vault-agent-pki.nix");
  etcd = load (modules + "/etcd.nix");
  backup = load (modules + "/etcd-backup.nix");
  kubeCommon = load (modules + "/kubernetes/common.nix");
  controlPlane = load (modules + "/kubernetes/control-plane.nix");
  worker = load (modules + "/kubernetes/worker.nix");
  k8s = kubeCommon.services.kubernetes or { };
in
{
  agent = {
    instance = agent.services.vault-agent.instances.${plan.agent.instance};
    tmpfiles = agent.systemd.tmpfiles.rules;
    consumers = builtins.removeAttrs agent.systemd.services [ (lib.removeSuffix ".service" plan.agent.unit) ];
  };
  kubernetes = {
    inherit (k8s) caFile easyCerts;
    flannel = k8s.flannel.enable;
    proxy = k8s.proxy.enable;
  };
  apiserver = controlPlane.services.kubernetes.apiserver or null;
  controllerManager = controlPlane.services.kubernetes.controllerManager or null;
  scheduler = controlPlane.services.kubernetes.scheduler or null;
  kubelet = worker.services.kubernetes.kubelet or null;
  etcd = etcd.services.etcd or null;
  etcdBackup = (backup.systemd.services or { }).etcd-backup.environment or null;
  firewall = common.networking.firewall;
  openiscsi = common.services.openiscsi;
}
