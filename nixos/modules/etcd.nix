# Stacked etcd member: TLS for clients and peers from the etcd CA, membership
# and URLs from the inventory (the same strings docs/etcd.md restores with).
{
  config,
  lib,
  ...
}:
let
  cfg = config.homelab;
  plan = cfg.certPlan;
  host = cfg.host;
  certs = host.certificates;
  member = lib.findFirst (m: m.name == host.name) null plan.cluster.etcd.members;
in
lib.mkIf (builtins.elem "etcd" host.components) {
  services.etcd = {
    enable = true;
    inherit (member) name;
    listenClientUrls = [
      "https://127.0.0.1:${toString plan.cluster.ports.etcdClient}"
      member.clientUrl
    ];
    advertiseClientUrls = [ member.clientUrl ];
    listenPeerUrls = [ member.peerUrl ];
    initialAdvertisePeerUrls = [ member.peerUrl ];
    inherit (plan.cluster.etcd) initialCluster initialClusterToken;
    inherit (cfg.etcd) initialClusterState;

    clientCertAuth = true;
    trustedCaFile = plan.caFiles.etcd;
    certFile = certs.etcd-server.files.cert.path;
    keyFile = certs.etcd-server.files.key.path;

    peerClientCertAuth = true;
    peerTrustedCaFile = plan.caFiles.etcd;
    peerCertFile = certs.etcd-peer.files.cert.path;
    peerKeyFile = certs.etcd-peer.files.key.path;

    extraConf = {
      LISTEN_METRICS_URLS = "http://127.0.0.1:${toString plan.cluster.ports.etcdMetrics}";
    };
  };
}
