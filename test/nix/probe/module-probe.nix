# Calls the NixOS modules with a stub lib/pkgs and returns, as JSON, the
# values they hand to nixpkgs' options, so the tests can compare them with
# the certificate plan. Needs no nixpkgs.
{
  hostName ? "soarin",
  # Another inventory (a test fixture); null: the shipped one.
  inventoryFile ? null,
}:
let
  plan = (import ../../../nixos/lib (if inventoryFile == null then { } else { inherit inventoryFile; })).plan;
  host = plan.hosts.${hostName};
  lib = import ./stub-lib.nix;
  pkgs = {
    vault = "vault";
    writeShellScript = name: _text: "/nix/store/stub-${name}";
    coreutils = "/nix/store/stub-coreutils";
    findutils = "/nix/store/stub-findutils";
    kubectl = "kubectl";
    openiscsi = "openiscsi";
    lsscsi = "lsscsi";
    sg3_utils = "sg3_utils";
  };
  # config.homelab as the module system would see it: every option's default
  # from nixos/modules/options.nix (several read the plan, i.e. the
  # inventory), plus what the flake sets. `config` is a fixed point, like the
  # real one: the defaults refer back to config.homelab.
  declarations = (import ../../../nixos/modules/options.nix { inherit config lib pkgs; }).options.homelab;
  defaultsOf = builtins.mapAttrs (
    name: d:
    if (d._type or null) == "option" then
      d.default or (throw "option homelab.${name} has no default; the probe must set it")
    else
      defaultsOf d
  );
  config = {
    homelab = defaultsOf declarations // {
      certPlan = plan;
      inherit hostName;
      iscsi.iqnPrefix = "iqn.2025-01.test";
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
  boot = { inherit (common.boot) kernelModules supportedFilesystems; };
  network = {
    inherit (common.networking)
      hostName
      domain
      interfaces
      defaultGateway
      defaultGateway6
      nameservers
      ;
  };
  authorizedKeys = common.users.users.root.openssh.authorizedKeys.keys;
  inherit (common) warnings;
  # The option defaults the modules saw (certPlan left out: it is the plan).
  options = builtins.removeAttrs config.homelab [
    "certPlan"
    "host"
  ];
}
