# kubelet with Vault-issued client (system:node:<host>) and serving
# certificates.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.homelab;
  plan = cfg.certPlan;
  host = cfg.host;
  k8s = plan.cluster.kubernetes;
  certs = host.certificates;
  kubelet = config.services.kubernetes.kubelet;

  seedImage =
    image:
    let
      read = if lib.hasSuffix "gz" "${image}" then "${pkgs.gzip}/bin/zcat" else "${pkgs.coreutils}/bin/cat";
    in
    ''
      ${read} ${image} | ${pkgs.containerd}/bin/ctr -n k8s.io image import -
    '';
in
lib.mkIf (builtins.elem "worker" host.components) {
  services.kubernetes.kubelet = {
    enable = true;
    hostname = host.name;
    nodeIp = lib.concatStringsSep "," host.addresses;
    clusterDns = k8s.dnsServiceIps;
    inherit (k8s) clusterDomain;

    clientCaFile = plan.caFiles.kubernetes;
    tlsCertFile = certs.kubelet-serving.files.cert.path;
    tlsKeyFile = certs.kubelet-serving.files.key.path;
    kubeconfig = {
      server = k8s.apiServer.url;
      caFile = plan.caFiles.kubernetes;
      certFile = certs.kubelet-client.files.cert.path;
      keyFile = certs.kubelet-client.files.key.path;
    };
  };

  # Cilium's agent installs its CNI binary into /opt/cni/bin and its
  # configuration into /etc/cni/net.d (Helm defaults). The upstream kubelet
  # module would undo both: it makes /etc/cni/net.d a read-only store link and
  # empties /opt/cni/bin on every kubelet start. Keep the directory writable
  # and only replace the links that point into the Nix store; image seeding is
  # unchanged.
  environment.etc."cni/net.d".enable = lib.mkForce false;
  systemd.tmpfiles.rules = [ "d /etc/cni/net.d 0755 root root -" ];
  systemd.services.kubelet.preStart = lib.mkForce ''
    ${lib.concatMapStrings seedImage kubelet.seedDockerImages}
    ${pkgs.findutils}/bin/find /opt/cni/bin -maxdepth 1 -type l -lname '${builtins.storeDir}/*' -delete
    ${lib.concatMapStrings (p: "ln -fs ${p}/bin/* /opt/cni/bin\n") kubelet.cni.packages}
  '';

  # Dual-stack pod routing; the kubelet module enables IPv4 forwarding.
  boot.kernel.sysctl."net.ipv6.conf.all.forwarding" = 1;
}
