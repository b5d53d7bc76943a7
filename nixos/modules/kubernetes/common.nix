# Shared by control-plane and worker hosts: upstream services.kubernetes with
# Vault-issued certificates (no easyCerts), Cilium as CNI and kube-proxy
# replacement, CoreDNS deployed by GitOps rather than the addon manager.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.homelab;
  plan = cfg.certPlan;
  k8s = plan.cluster.kubernetes;
  components = cfg.host.components;
in
lib.mkIf (builtins.elem "control-plane" components || builtins.elem "worker" components) {
  services.kubernetes = {
    easyCerts = false;
    flannel.enable = false;
    proxy.enable = false;
    addonManager.enable = false;
    addons.dns.enable = false;

    masterAddress = k8s.apiServer.host;
    apiserverAddress = k8s.apiServer.url;
    caFile = plan.caFiles.kubernetes;
    clusterCidr = lib.concatStringsSep "," k8s.podCidrs;
    # Kubelet root directory; CSI drivers (democratic-csi) expect the
    # conventional /var/lib/kubelet.
    dataDir = "/var/lib/kubelet";
  };

  environment.systemPackages = [ pkgs.kubectl ];
}
