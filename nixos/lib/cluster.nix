# Cluster topology derived from the shared inventory (inventory/<cluster>.json).
# Nothing here restates an inventory fact: a missing field becomes null (or an
# empty list) and checks.nix reports it by its JSON path. What is fixed here
# (ports, the AppRole mount, the KV field names of the service-account key
# pair) is a convention of these modules, the same for every cluster.
{
  inventory,
  util,
  # Problems of the inventory's text that its parsed value no longer shows.
  sourceFailures ? [ ],
}:
let
  inherit (builtins)
    concatMap
    elem
    filter
    map
    sort
    lessThan
    ;
  inherit (util) optionals unique;

  # Canonical component order; also the inventory's vocabulary for roles.
  knownComponents = [
    "etcd"
    "control-plane"
    "worker"
  ];

  k8s = inventory.kubernetes or { };
  apiServer = k8s.apiServer or { };

  ports = {
    ssh = 22;
    bgp = 179;
    apiserver = apiServer.port or 6443;
    etcdClient = 2379;
    etcdPeer = 2380;
    etcdMetrics = 2381;
    kubelet = 10250;
    ciliumHealth = 4240;
    hubblePeer = 4244;
    nodeExporter = 9100;
    ciliumAgentMetrics = 9962;
    ciliumOperatorMetrics = 9963;
    hubbleMetrics = 9965;
    controllerManager = 10257;
    scheduler = 10259;
  };

  # Missing fields become null here so that the checks, not an evaluation
  # error deep inside the plan, report them.
  normaliseHost =
    h:
    let
      name = h.name or null;
      fqdn = h.fqdn or null;
      ipv4 = h.ipv4 or null;
      ipv6 = h.ipv6 or null;
      interface = h.interface or null;
      roles = h.roles or [ ];
      components = filter (c: elem c roles) knownComponents;
      has = c: elem c components;
    in
    {
      inherit
        name
        fqdn
        ipv4
        ipv6
        interface
        roles
        components
        ;
      domain =
        if name != null && fqdn != null && util.hasPrefix "${name}." fqdn then
          util.removePrefix "${name}." fqdn
        else
          null;
      addresses = filter (a: a != null) [
        ipv4
        ipv6
      ];
      # Open to every client: SSH and the API server.
      firewall.tcp = sort lessThan (
        [ ports.ssh ] ++ optionals (has "control-plane") [ ports.apiserver ]
      );
      firewall.udp = [ ];
      # Open only to the sources that need them (rendered as iptables rules by
      # modules/common.nix). Cilium routes natively without masquerading, so
      # pods (Prometheus, hubble-relay) connect from their pod CIDR addresses.
      firewall.rules = filter (r: r.tcp != [ ] && r.sources != [ ]) [
        {
          reason = "etcd clients and peers, the API servers' kubelet calls, Cilium's node health checks and Hubble's peer service";
          tcp = sort lessThan (
            optionals (has "etcd") [
              ports.etcdClient
              ports.etcdPeer
            ]
            ++ optionals (has "worker") [
              ports.kubelet
              ports.ciliumHealth
              ports.hubblePeer
            ]
          );
          sources = hostSources;
        }
        {
          reason = "hubble-relay and Prometheus in pods: Hubble's peer service, the kubelet's, the agents' and the controller-manager's and scheduler's metrics";
          tcp = sort lessThan (
            optionals (has "worker") [
              ports.kubelet
              ports.hubblePeer
              ports.nodeExporter
              ports.ciliumAgentMetrics
              ports.ciliumOperatorMetrics
              ports.hubbleMetrics
            ]
            ++ optionals (has "control-plane") [
              ports.controllerManager
              ports.scheduler
            ]
          );
          sources = podSources;
        }
        {
          reason = "BGP sessions of Cilium's BGP control plane with the peers";
          tcp = optionals (has "worker") [ ports.bgp ];
          sources = peerSources;
        }
      ];
    };

  # A single address as the CIDR of itself.
  asCidr = a: if util.hasInfix ":" a then "${a}/128" else "${a}/32";
  hostSources = map asCidr (
    concatMap (h: filter (a: a != null) [
      (h.ipv4 or null)
      (h.ipv6 or null)
    ]) (inventory.hosts or [ ])
  );
  podSources = (inventory.kubernetes or { }).podCidrs or [ ];
  bgpPeers = ((inventory.network or { }).bgp or { }).peers or [ ];
  peerSources = map (p: asCidr p.address) (filter (p: (p.address or null) != null) bgpPeers);

  hostList = map normaliseHost (inventory.hosts or [ ]);
  etcdHosts = filter (h: elem "etcd" h.components) hostList;

  etcdMember = h: {
    inherit (h) name;
    peerUrl = "https://${util.urlHost h.ipv4}:${toString ports.etcdPeer}";
    clientUrl = "https://${util.urlHost h.ipv4}:${toString ports.etcdClient}";
  };
  etcdMembers = map etcdMember etcdHosts;

  network = inventory.network or { };
  masks = k8s.nodeCidrMaskSizes or { };
  prefixLengths = network.prefixLengths or { };
  gateways = network.gateways or { };

  vault = inventory.vault or { };
  saPath = vault.serviceAccountKeyPath or null;
  saPathParts = if saPath == null then null else builtins.match "(.+)/data/(.+)" saPath;
in
{
  inherit
    knownComponents
    ports
    hostList
    sourceFailures
    ;
  name = inventory.name or null;
  hostNames = map (h: h.name) hostList;
  hosts = util.byName "name" hostList;

  kubernetes = {
    clusterDomain = k8s.clusterDomain or null;
    podCidrs = k8s.podCidrs or [ ];
    serviceCidrs = k8s.serviceCidrs or [ ];
    apiServiceIps = k8s.apiServiceIps or [ ];
    apiServer = {
      host = apiServer.host or null;
      port = ports.apiserver;
      url = "https://${apiServer.host or "unset"}:${toString ports.apiserver}";
    };
    # Service IPs of the cluster DNS (kubelet clusterDNS).
    dnsServiceIps = k8s.dnsServiceIps or null;
    # Per-node pod CIDR sizes kube-controller-manager hands out.
    nodeCidrMaskSizes = {
      ipv4 = masks.ipv4 or null;
      ipv6 = masks.ipv6 or null;
    };
  };

  # Shared by every host: the hosts' subnets, default gateways and resolvers
  # (each host's interface is in hosts[].interface).
  network = {
    prefixLengths = {
      ipv4 = prefixLengths.ipv4 or null;
      ipv6 = prefixLengths.ipv6 or null;
    };
    gateways = {
      ipv4 = gateways.ipv4 or null;
      ipv6 = gateways.ipv6 or null;
    };
    nameservers = network.nameservers or null;
    cni = network.cni or null;
    ipv4NativeRoutingCidr = network.ipv4NativeRoutingCidr or null;
  };

  # Root's SSH keys on every host; an empty list is allowed (the build warns).
  ssh.authorizedKeys = inventory.ssh.authorizedKeys or null;

  etcd = {
    members = etcdMembers;
    initialCluster = map (m: "${m.name}=${m.peerUrl}") etcdMembers;
    clientUrls = map (m: m.clientUrl) etcdMembers;
    initialClusterToken = "${inventory.name or "cluster"}-etcd";
  };

  vault = {
    address = vault.address or null;
    mounts = {
      kubernetes = vault.pkiMounts.kubernetes or null;
      etcd = vault.pkiMounts.etcd or null;
      frontProxy = vault.pkiMounts.frontProxy or null;
    };
    approleMount = "auth/approle";
    serviceAccount = {
      path = saPath;
      kvMount = if saPathParts == null then null else builtins.elemAt saPathParts 0;
      secretName = if saPathParts == null then null else builtins.elemAt saPathParts 1;
      # KV v2 field names of the PEM-encoded key pair: a convention of these
      # modules that docs/vault-pki.md writes with `vault kv put`, not a
      # cluster fact, so they stay out of the inventory.
      privateKeyField = "private_key";
      publicKeyField = "public_key";
    };
  };
}
