# kube-apiserver, kube-controller-manager and kube-scheduler, each wired to
# the files of its certificates in the plan.
{
  config,
  lib,
  ...
}:
let
  cfg = config.homelab;
  plan = cfg.certPlan;
  host = cfg.host;
  k8s = plan.cluster.kubernetes;
  certs = host.certificates;
  sa = host.secrets.service-account;
  top = config.services.kubernetes;

  certFile = id: certs.${id}.files.cert.path;
  keyFile = id: certs.${id}.files.key.path;

  # Control-plane components talk to the apiserver on their own node.
  localApiserver = "https://127.0.0.1:${toString k8s.apiServer.port}";
  clientKubeconfig = id: {
    server = localApiserver;
    caFile = plan.caFiles.kubernetes;
    certFile = certFile id;
    keyFile = keyFile id;
  };
  # Used for --authentication-kubeconfig/--authorization-kubeconfig, which
  # the nixpkgs modules have no options for.
  delegatedAuthFlags =
    name: kubeconfig:
    let
      file = top.lib.mkKubeConfig "${name}-delegated-auth" kubeconfig;
    in
    [
      "--authentication-kubeconfig=${file}"
      "--authorization-kubeconfig=${file}"
    ];
in
lib.mkIf (builtins.elem "control-plane" host.components) {
  services.kubernetes.apiserver = {
    enable = true;
    advertiseAddress = host.ipv4;
    bindAddress = "::";
    securePort = k8s.apiServer.port;
    serviceClusterIpRange = lib.concatStringsSep "," k8s.serviceCidrs;
    allowPrivileged = true;
    authorizationMode = [
      "Node"
      "RBAC"
    ];
    # Node names are short host names that need not resolve; dial node IPs,
    # which the kubelet serving certificates carry as SANs.
    preferredAddressTypes = "InternalIP,Hostname,InternalDNS,ExternalDNS,ExternalIP";

    clientCaFile = plan.caFiles.kubernetes;
    tlsCertFile = certFile "kube-apiserver";
    tlsKeyFile = keyFile "kube-apiserver";

    kubeletClientCaFile = plan.caFiles.kubernetes;
    kubeletClientCertFile = certFile "kube-apiserver-kubelet-client";
    kubeletClientKeyFile = keyFile "kube-apiserver-kubelet-client";

    proxyClientCertFile = certFile "front-proxy-client";
    proxyClientKeyFile = keyFile "front-proxy-client";

    serviceAccountKeyFile = sa.files.publicKey.path;
    serviceAccountSigningKeyFile = sa.files.privateKey.path;

    etcd = {
      servers = plan.cluster.etcd.clientUrls;
      caFile = plan.caFiles.etcd;
      certFile = certFile "kube-apiserver-etcd-client";
      keyFile = keyFile "kube-apiserver-etcd-client";
    };

    extraOpts = lib.concatStringsSep " " [
      "--requestheader-client-ca-file=${plan.caFiles.frontProxy}"
      "--requestheader-allowed-names=${certs.front-proxy-client.commonName}"
      "--requestheader-username-headers=X-Remote-User"
      "--requestheader-group-headers=X-Remote-Group"
      "--requestheader-extra-headers-prefix=X-Remote-Extra-"
      "--tls-min-version=VersionTLS12"
    ];
  };

  services.kubernetes.controllerManager = {
    enable = true;
    # The host's address, so that Prometheus scrapes its secure port (10257, authenticated and
    # authorized through the API server); the firewall opens it to the pod CIDRs only.
    bindAddress = host.ipv4;
    allocateNodeCIDRs = true;
    rootCaFile = plan.caFiles.kubernetes;
    serviceAccountKeyFile = sa.files.privateKey.path;
    kubeconfig = clientKubeconfig "kube-controller-manager";
    extraOpts = lib.concatStringsSep " " (
      [
        "--cluster-name=${plan.cluster.name}"
        "--service-cluster-ip-range=${lib.concatStringsSep "," k8s.serviceCidrs}"
        "--node-cidr-mask-size-ipv4=${toString k8s.nodeCidrMaskSizes.ipv4}"
        "--node-cidr-mask-size-ipv6=${toString k8s.nodeCidrMaskSizes.ipv6}"
      ]
      ++ delegatedAuthFlags "kube-controller-manager" (clientKubeconfig "kube-controller-manager")
    );
  };

  services.kubernetes.scheduler = {
    enable = true;
    # As the controller-manager: its secure port 10259 on the host's address, for Prometheus.
    address = host.ipv4;
    kubeconfig = clientKubeconfig "kube-scheduler";
    extraOpts = lib.concatStringsSep " " (
      delegatedAuthFlags "kube-scheduler" (clientKubeconfig "kube-scheduler")
    );
  };

  systemd.services.kube-apiserver = lib.mkIf (builtins.elem "etcd" host.components) {
    after = [ "etcd.service" ];
    wants = [ "etcd.service" ];
  };

  # kubectl --kubeconfig /etc/kubernetes/cluster-admin.kubeconfig (as root).
  environment.etc."kubernetes/cluster-admin.kubeconfig".source = top.lib.mkKubeConfig "cluster-admin" {
    server = k8s.apiServer.url;
    caFile = plan.caFiles.kubernetes;
    certFile = certFile "admin";
    keyFile = keyFile "admin";
  };
}
