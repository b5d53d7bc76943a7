# Invariants of the inventory and of the certificate plan (builtins only).
# Each check returns the list of its failure messages; an empty list passes.
# The expectations below are written independently of cert-plan.nix on
# purpose: they are the specification the plan is held to.
{ util }:
let
  ip = import ./ip.nix;
  inherit (builtins)
    attrNames
    attrValues
    concatMap
    concatStringsSep
    elem
    filter
    head
    length
    map
    ;
  inherit (util) optional optionals;

  check = name: failures: { inherit name failures; };
  forEach = xs: f: concatMap f xs;
  show = x: if x == null then "null" else builtins.toJSON x;

  expectedCertificates = {
    etcd = [
      "etcd-server"
      "etcd-peer"
      "etcd-backup"
    ];
    control-plane = [
      "kube-apiserver"
      "kube-apiserver-kubelet-client"
      "kube-apiserver-etcd-client"
      "front-proxy-client"
      "kube-controller-manager"
      "kube-scheduler"
      "admin"
    ];
    worker = [
      "kubelet-client"
      "kubelet-serving"
    ];
  };
  # Which CA (mount key) signs which certificate; everything else: kubernetes.
  expectedMountKey = {
    etcd-server = "etcd";
    etcd-peer = "etcd";
    etcd-backup = "etcd";
    kube-apiserver-etcd-client = "etcd";
    front-proxy-client = "frontProxy";
  };
  servingCertificates = [
    "kube-apiserver"
    "kubelet-serving"
    "etcd-server"
    "etcd-peer"
  ];
  clientCertificates = [
    "etcd-peer"
    "etcd-backup"
    "kube-apiserver-kubelet-client"
    "kube-apiserver-etcd-client"
    "front-proxy-client"
    "kube-controller-manager"
    "kube-scheduler"
    "admin"
    "kubelet-client"
  ];
  fixedIdentities = {
    kube-controller-manager = "system:kube-controller-manager";
    kube-scheduler = "system:kube-scheduler";
    kube-proxy = "system:kube-proxy";
  };

  inventoryChecks =
    cluster:
    let
      hosts = cluster.hostList;
      etcdCount = length (filter (h: elem "etcd" h.components) hosts);
      k8s = cluster.kubernetes;
      mounts = cluster.vault.mounts;
      mountValues = attrValues mounts;
      label = h: if h.name == null then "(unnamed host)" else "'${h.name}'";
      net = cluster.network;
      listOrEmpty = xs: if builtins.isList xs then xs else [ ];
      familyName = {
        ipv4 = "IPv4";
        ipv6 = "IPv6";
      };

      # Failure messages name the inventory field by its JSON path.
      ipList =
        path: xs:
        if xs == null then
          [ "${path} is missing" ]
        else if !builtins.isList xs || xs == [ ] then
          [ "${path} must be a non-empty list of IP addresses (got ${show xs})" ]
        else
          map (x: "${path} has ${show x}, which is not an IP address") (filter (x: !util.isIP x) xs);
      intBetween =
        path: low: high: x:
        optional (
          !util.isIntBetween low high x
        ) "${path} must be an integer from ${toString low} to ${toString high} (got ${show x})";
      address =
        path: family: valid: x:
        optional (!valid x) "${path} must be an ${family} address (got ${show x})";

      # Ranges by JSON path; entries that are not CIDRs are reported, not compared.
      indexed = path: xs: util.imap (i: x: { path = "${path}[${toString i}]"; text = x; }) (listOrEmpty xs);
      parsedRanges =
        path: xs:
        map (r: r // { cidr = ip.parseCidr r.text; }) (indexed path xs);
      podRanges = parsedRanges "kubernetes.podCidrs" k8s.podCidrs;
      serviceRanges = parsedRanges "kubernetes.serviceCidrs" k8s.serviceCidrs;
      # A CIDR with host bits set is refused (with the network it likely means)
      # and, like one that is no CIDR, left out of the comparisons.
      validCidr = r: r.cidr != null && !ip.hasHostBits r.cidr;
      validRanges = filter validCidr (podRanges ++ serviceRanges);
      # A list is compared with others only when every entry is valid (as the
      # synth does): a broken entry is reported once, not again as a mismatch.
      usable = rs: rs != [ ] && builtins.all validCidr rs;
      podsUsable = usable podRanges;
      servicesUsable = usable serviceRanges;
      cidrProblems =
        rs:
        map (r: "${r.path} must be a CIDR '<address>/<prefix>' (got ${show r.text})") (filter (r: r.cidr == null) rs)
        ++ map (r: "${r.path} \"${r.text}\" has host bits set: did you mean ${ip.networkText r.cidr}?") (
          filter (r: r.cidr != null && ip.hasHostBits r.cidr) rs
        );
      # Each entry with the entry of its family that comes first in its list.
      withFirstOfFamily =
        familyOf: rs:
        map (r: r // { first = head (filter (o: familyOf o == familyOf r) rs); }) (
          filter (r: familyOf r != null) rs
        );
      secondRanges =
        rs:
        map (
          r:
          "${r.path} ${r.text} is a second ${familyName.${r.cidr.family}} range (${r.first.path} is ${r.first.text}): Kubernetes takes one per family"
        ) (filter (r: r.first.path != r.path) (withFirstOfFamily (r: r.cidr.family) rs));
      firstOfFamily = family: rs: builtins.head (filter (r: r.cidr.family == family) rs ++ [ null ]);
      # Pods and Services have the same families: one range of each (dual-stack)
      # or the same one (single-stack).
      familyMismatches = concatMap (
        family:
        let
          pod = firstOfFamily family podRanges;
          service = firstOfFamily family serviceRanges;
          why = "pods and Services need the same families (dual-stack: both in both lists)";
        in
        optional (
          pod != null && service == null
        ) "kubernetes.serviceCidrs has no ${familyName.${family}} range, but kubernetes.podCidrs has ${pod.text}: ${why}"
        ++ optional (
          service != null && pod == null
        ) "kubernetes.podCidrs has no ${familyName.${family}} range, but kubernetes.serviceCidrs has ${service.text}: ${why}"
      ) [ "ipv4" "ipv6" ];
      # Service IPs by JSON path, each with its parsed address (null if none).
      serviceIps =
        key: xs:
        map (r: r // { address = ip.parseAddress r.text; }) (indexed "kubernetes.${key}" xs);
      ipFamilyOf = r: if r.address == null then null else r.address.family;
      # The entries after the first of their family (reported once, as that).
      extraOfFamily = rs: filter (r: r.first.path != r.path) (withFirstOfFamily ipFamilyOf rs);
      isExtra = rs: r: builtins.any (e: e.path == r.path) (extraOfFamily rs);
      # One API and one DNS Service IP per service family.
      onePerFamily =
        key: xs:
        let
          rs = serviceIps key xs;
          families = util.unique (map (r: r.cidr.family) serviceRanges);
        in
        map (
          r:
          "${r.path} \"${r.text}\" is a second ${familyName.${r.address.family}} address (${r.first.path} is ${r.first.text}): give one per service CIDR family"
        ) (extraOfFamily rs)
        ++ optionals (servicesUsable && rs != [ ] && builtins.all (r: r.address != null) rs) (
          concatMap (
            family:
            optional (
              !builtins.any (r: r.address.family == family) rs
            ) "kubernetes.${key} has no ${familyName.${family}} address, but kubernetes.serviceCidrs has ${(firstOfFamily family serviceRanges).text}: give one per service CIDR family"
          ) families
        );
      # kube-apiserver gives the kubernetes Service the first address of the
      # service range (ServiceIPRange in kubernetes
      # pkg/controlplane/apiserver/options/options.go: GetIndexedIP(range, 1)).
      apiServiceIpFirst =
        let
          rs = serviceIps "apiServiceIps" k8s.apiServiceIps;
        in
        concatMap (
          r:
          let
            range = firstOfFamily r.address.family serviceRanges;
            first = ip.format (ip.firstAddress range.cidr);
          in
          if range == null then
            [
              "${r.path} \"${r.text}\" is not inside a service CIDR of its family (there is no ${familyName.${r.address.family}} one)"
            ]
          else
            optional (
              !ip.sameAddress r.text first
            ) "${r.path} \"${r.text}\" must be ${first}, the first address of service CIDR ${range.text} (kube-apiserver gives the kubernetes Service the first address of its service range)"
        ) (filter (r: r.address != null && !isExtra rs r) rs);
      # The cluster DNS needs an address of its own, inside a service CIDR.
      dnsServiceIpChecks =
        let
          rs = serviceIps "dnsServiceIps" k8s.dnsServiceIps;
          apis = indexed "kubernetes.apiServiceIps" k8s.apiServiceIps;
        in
        concatMap (
          r:
          let
            ofFamily = filter (s: s.cidr.family == r.address.family) serviceRanges;
            api = filter (a: ip.sameAddress a.text r.text) apis;
          in
          if !builtins.any (s: ip.contains s.cidr r.text) ofFamily then
            [
              "${r.path} \"${r.text}\" is not inside a service CIDR of its family (${
                if ofFamily == [ ] then
                  "there is no ${familyName.${r.address.family}} one"
                else
                  concatStringsSep ", " (map (s: s.text) ofFamily)
              })"
            ]
          else
            optional (
              api != [ ]
            ) "${r.path} \"${r.text}\" is also ${(head api).path}, the address of the kubernetes Service: the cluster DNS needs one of its own"
        ) (filter (r: r.address != null && !isExtra rs r) rs);
      hostSubnets = concatMap (
        h:
        concatMap (
          family:
          let
            cidr = ip.parseCidr "${toString h.${family}}/${toString net.prefixLengths.${family}}";
          in
          optional (cidr != null && cidr.family == family) {
            path = "hosts[${toString h.index}].${family}";
            inherit cidr;
          }
        ) [ "ipv4" "ipv6" ]
      ) indexedHosts;
      indexedHosts = util.imap (i: h: h // { index = i; }) hosts;
      # One message for each host whose field repeats an earlier host's (message h first).
      repeatedHostField =
        field: message:
        concatMap (
          h:
          let
            first = head (filter (o: o.${field} == h.${field}) indexedHosts);
          in
          optional (h.${field} != null && first.index != h.index) (message h first)
        ) indexedHosts;
      addressOwners = concatMap (
        h: map (family: { inherit family; address = h.${family}; owner = h; }) (filter (f: h.${f} != null) [ "ipv4" "ipv6" ])
      ) indexedHosts;
      linkLocal = ip.parseCidr "fe80::/10";
      # A host address is the host's own: not another host's, not its subnet's
      # network or broadcast address (except in /31 and /127 point-to-point
      # subnets), not the gateway. One message per address.
      addressProblem =
        a:
        let
          path = "hosts[${toString a.owner.index}].${a.family}";
          first = head (filter (b: b.address == a.address) addressOwners);
          prefix = net.prefixLengths.${a.family};
          subnet =
            if builtins.isInt prefix && prefix > 0 then ip.parseCidr "${toString a.address}/${toString prefix}" else null;
          sized = subnet != null && subnet.family == a.family;
          pointToPoint = sized && prefix >= subnet.bits - 1;
          words = if sized then subnet.words else [ ];
          inSubnet = if sized then "its /${toString prefix} subnet (${ip.networkText subnet})" else "";
          gateway = net.gateways.${a.family};
        in
        if first.owner.index != a.owner.index then
          [
            "${path} \"${a.address}\" is also the address of hosts[${toString first.owner.index}] (${toString first.owner.name})"
          ]
        else if sized && !pointToPoint && words == (ip.network subnet).words then
          [ "${path} \"${a.address}\" is the network address of ${inSubnet}: give the host another address" ]
        else if sized && !pointToPoint && a.family == "ipv4" && words == (ip.lastAddress subnet).words then
          [ "${path} \"${a.address}\" is the broadcast address of ${inSubnet}: give the host another address" ]
        else
          optional (
            builtins.isString gateway && builtins.isString a.address && ip.sameAddress a.address gateway
          ) "${path} \"${a.address}\" is network.gateways.${a.family}, the hosts' default gateway: give the host another address";
      # The CNIs the hosts are set up for: the modules turn off flannel and
      # kube-proxy and expect Cilium in their place.
      supportedCnis = [ "cilium" ];
    in
    [
      (check "inventory-json" cluster.sourceFailures)
      (check "inventory-name" (
        optional (!util.isNonEmptyString cluster.name) "the inventory has no cluster name"
      ))
      (check "inventory-hosts" (
        optional (hosts == [ ]) "the inventory lists no hosts"
        ++ forEach hosts (
          h: optional (!util.isHostLabel h.name) "host name ${show h.name} is not a lower-case DNS label"
        )
        ++ repeatedHostField "name" (h: first: "hosts[${toString h.index}].name ${show h.name} is listed twice")
        # Two hosts with one FQDN: one of them is unreachable by name, and their certificates collide.
        ++ repeatedHostField "fqdn" (
          h: first:
          "hosts[${toString h.index}].fqdn ${show h.fqdn} is also the fqdn of hosts[${toString first.index}] (${toString first.name})"
        )
      ))
      (check "host-addresses" (
        forEach hosts (
          h:
          optional (!util.isIPv4 h.ipv4) "host ${label h} has no valid ipv4 address (got ${show h.ipv4})"
          ++ optional (!util.isIPv6 h.ipv6) "host ${label h} has no valid ipv6 address (got ${show h.ipv6})"
          ++ optional (
            h.domain == null
          ) "host ${label h} has fqdn ${show h.fqdn}, which is not '<name>.<domain>'"
        )
        # Two hosts with one address would take each other's traffic.
        ++ concatMap addressProblem addressOwners
      ))
      (check "host-interfaces" (
        forEach hosts (
          h:
          optional (
            !util.isInterfaceName h.interface
          ) "host ${label h} has no valid network interface name (got ${show h.interface})"
        )
      ))
      (check "host-roles" (
        forEach hosts (
          h:
          optional (h.components == [ ]) "host ${label h} has no known role"
          ++ map (r: "host ${label h} has unknown role '${toString r}'") (
            util.subtractLists cluster.knownComponents h.roles
          )
        )
      ))
      # The cluster needs an API server and an etcd quorum (a majority of an
      # even count tolerates no more failures than one member fewer).
      (check "etcd-members" (
        optional (
          hosts != [ ] && etcdCount == 0
        ) "hosts has no host with the etcd role: etcd needs at least one member"
        ++ optional (
          etcdCount > 0 && etcdCount / 2 * 2 == etcdCount
        ) "hosts has ${toString etcdCount} hosts with the etcd role: etcd needs an odd number of members"
      ))
      (check "control-plane-hosts" (
        optional (
          hosts != [ ] && !builtins.any (h: elem "control-plane" h.components) hosts
        ) "hosts has no host with the control-plane role: the cluster needs at least one API server"
      ))
      (check "kubernetes-settings" (
        optional (!util.isNonEmptyString k8s.clusterDomain) "kubernetes.clusterDomain is missing"
        ++ optional (!util.isNonEmptyString k8s.apiServer.host) "kubernetes.apiServer.host is missing"
        ++ optional (k8s.apiServiceIps == [ ]) "kubernetes.apiServiceIps is empty"
        ++ optional (k8s.serviceCidrs == [ ]) "kubernetes.serviceCidrs is empty"
        ++ optional (k8s.podCidrs == [ ]) "kubernetes.podCidrs is empty"
        ++ map (x: "kubernetes.apiServiceIps has ${show x}, which is not an IP address") (
          filter (x: !util.isIP x) (listOrEmpty k8s.apiServiceIps)
        )
        ++ ipList "kubernetes.dnsServiceIps" k8s.dnsServiceIps
        ++ cidrProblems (podRanges ++ serviceRanges)
        ++ optionals podsUsable (secondRanges podRanges)
        ++ optionals servicesUsable (secondRanges serviceRanges)
        ++ optionals (podsUsable && servicesUsable) familyMismatches
        ++ onePerFamily "apiServiceIps" k8s.apiServiceIps
        ++ onePerFamily "dnsServiceIps" k8s.dnsServiceIps
        ++ optionals servicesUsable apiServiceIpFirst
        ++ optionals servicesUsable dnsServiceIpChecks
        ++ intBetween "kubernetes.nodeCidrMaskSizes.ipv4" 1 32 k8s.nodeCidrMaskSizes.ipv4
        ++ intBetween "kubernetes.nodeCidrMaskSizes.ipv6" 1 128 k8s.nodeCidrMaskSizes.ipv6
      ))
      # Pod, service and host ranges must not overlap: routes to one would capture the other.
      (check "range-overlaps" (
        util.imapConcat (
          i: r:
          map (
            o: "${o.path} ${o.text} overlaps ${r.path} (${r.text}): pod and service ranges must be disjoint"
          ) (
            filter (
              o: util.hasPrefix "kubernetes.podCidrs" r.path != util.hasPrefix "kubernetes.podCidrs" o.path && ip.overlaps r.cidr o.cidr
            ) (util.drop (i + 1) validRanges)
          )
          ++ (
            let
              hit = filter (hs: ip.overlaps r.cidr hs.cidr) hostSubnets;
            in
            optional (
              hit != [ ]
            ) "${r.path} ${r.text} overlaps the hosts' subnet ${(builtins.head hit).cidr.text} (${(builtins.head hit).path}): pick a range the hosts' network does not use"
          )
        ) validRanges
      ))
      (check "network-settings" (
        intBetween "network.prefixLengths.ipv4" 1 32 net.prefixLengths.ipv4
        ++ intBetween "network.prefixLengths.ipv6" 1 128 net.prefixLengths.ipv6
        ++ address "network.gateways.ipv4" "IPv4" util.isIPv4 net.gateways.ipv4
        ++ address "network.gateways.ipv6" "IPv6" util.isIPv6 net.gateways.ipv6
        ++ ipList "network.nameservers" net.nameservers
        # network.cni and network.ipv4NativeRoutingCidr are checked once the
        # topology (cluster.nix) carries them into `cluster.network`, and only
        # when given: the plan itself reads neither (the synth requires both).
        ++ optional (
          (net.cni or null) != null && !elem net.cni supportedCnis
        ) "network.cni ${show net.cni} is not a supported CNI (supported: ${concatStringsSep ", " supportedCnis}): the NixOS hosts turn off flannel and kube-proxy and expect Cilium in their place"
        ++ optionals ((net.ipv4NativeRoutingCidr or null) != null) (
          let
            text = net.ipv4NativeRoutingCidr;
            c = ip.parseCidr text;
          in
          if c == null then
            [ "network.ipv4NativeRoutingCidr must be a CIDR '<address>/<prefix>' (got ${show text})" ]
          else if ip.hasHostBits c then
            [ "network.ipv4NativeRoutingCidr \"${text}\" has host bits set: did you mean ${ip.networkText c}?" ]
          else
            optional (c.family != "ipv4") "network.ipv4NativeRoutingCidr \"${text}\" is not an IPv4 CIDR"
        )
        ++ concatMap (
          family:
          let
            gateway = net.gateways.${family};
            prefix = net.prefixLengths.${family};
            outside = filter (
              h:
              let
                subnet = ip.parseCidr "${toString h.${family}}/${toString prefix}";
              in
              subnet != null && subnet.family == family && !ip.contains subnet gateway
            ) hosts;
          in
          optional (
            util.ipFamily gateway == family
            && builtins.isInt prefix
            && !(family == "ipv6" && ip.contains linkLocal gateway)
            && outside != [ ]
          ) "network.gateways.${family} \"${gateway}\" is outside the /${toString prefix} subnet of ${
            concatStringsSep ", " (map (h: "${toString h.name} (${h.${family}})") outside)
          }"
        ) [ "ipv4" "ipv6" ]
      ))
      (check "ssh-settings" (
        if cluster.ssh.authorizedKeys == null then
          [ "ssh.authorizedKeys is missing (a list of SSH public keys; it may be empty)" ]
        else
          optional (
            !util.isListOf util.isNonEmptyString cluster.ssh.authorizedKeys
          ) "ssh.authorizedKeys must be a list of SSH public keys (got ${show cluster.ssh.authorizedKeys})"
      ))
      (check "vault-settings" (
        optional (
          !(util.isNonEmptyString cluster.vault.address && util.hasPrefix "https://" cluster.vault.address)
        ) "vault.address must be an https:// URL (got ${show cluster.vault.address})"
        ++ map (k: "vault.pkiMounts.${k} is missing") (
          filter (k: !util.isNonEmptyString mounts.${k}) (attrNames mounts)
        )
        ++ optional (
          util.duplicates mountValues != [ ]
        ) "vault.pkiMounts must name separate mounts (CAs) for kubernetes, etcd and front proxy"
        ++ optional (
          cluster.vault.serviceAccount.kvMount == null
        ) "vault.serviceAccountKeyPath must be a KV v2 API path '<mount>/data/<name>' (got ${show cluster.vault.serviceAccount.path})"
      ))
    ];

  planChecks =
    { cluster, plan }:
    let
      hosts = attrValues plan.hosts;
      mounts = plan.mounts;
      k8s = plan.cluster.kubernetes;
      certsOf = h: attrValues h.certificates;
      rolesByPath = builtins.listToAttrs (
        map (r: {
          name = "${r.mount}/issue/${r.name}";
          value = r;
        }) plan.vaultRoles
      );
      missingFrom = wanted: have: util.subtractLists have wanted;
    in
    [
      (check "component-certificates" (
        forEach hosts (
          h:
          forEach h.components (
            c:
            map (id: "host '${h.name}' (${c}) has no '${id}' certificate") (
              missingFrom expectedCertificates.${c} (attrNames h.certificates)
            )
          )
        )
      ))
      (check "kubelet-client-identity" (
        forEach hosts (
          h:
          let
            c = h.certificates.kubelet-client or null;
          in
          optional (
            c != null && c.commonName != "system:node:${h.name}"
          ) "host '${h.name}' kubelet-client has CN ${show c.commonName}, expected 'system:node:${h.name}'"
          ++ optional (
            c != null && c.organization != "system:nodes"
          ) "host '${h.name}' kubelet-client has O ${show c.organization}, expected 'system:nodes'"
        )
      ))
      (check "control-plane-identities" (
        forEach hosts (
          h:
          forEach (attrNames fixedIdentities) (
            id:
            let
              c = h.certificates.${id} or null;
            in
            optional (
              c != null && (c.commonName != fixedIdentities.${id} || c.organization != null)
            ) "host '${h.name}' ${id} must be CN '${fixedIdentities.${id}}' without O (got CN ${show c.commonName}, O ${show c.organization})"
          )
        )
      ))
      (check "system-masters-admin-only" (
        forEach hosts (
          h:
          map (c: "host '${h.name}' ${c.id} is in system:masters; only the admin certificate may be") (
            filter (c: c.organization == "system:masters" && c.id != "admin") (certsOf h)
          )
          ++ optional (
            h.certificates ? admin && h.certificates.admin.organization != "system:masters"
          ) "host '${h.name}' admin certificate must have O 'system:masters'"
        )
      ))
      (check "certificate-roles" (
        forEach hosts (
          h:
          forEach (certsOf h) (
            c:
            let
              r = rolesByPath.${c.vaultPath} or null;
            in
            if r == null then
              [ "host '${h.name}' ${c.id} uses ${c.vaultPath}, which is no planned Vault role" ]
            else
              optional (
                r.organization != c.organization
              ) "host '${h.name}' ${c.id} claims O ${show c.organization} but role ${r.mount}/roles/${r.name} issues O ${show r.organization}"
              ++ optional (
                r.extKeyUsage != c.extKeyUsage
              ) "host '${h.name}' ${c.id} claims EKU ${show c.extKeyUsage} but its role issues ${show r.extKeyUsage}"
              ++ optional (
                util.hasPrefix "system:" c.commonName && r.enforceHostnames
              ) "role ${r.mount}/roles/${r.name} issues ${c.commonName} and must set enforce_hostnames=false"
          )
        )
      ))
      (check "ca-separation" (
        forEach hosts (
          h:
          forEach (certsOf h) (
            c:
            let
              want = mounts.${expectedMountKey.${c.id} or "kubernetes"};
            in
            optional (c.mount != want) "host '${h.name}' ${c.id} comes from mount '${c.mount}', expected '${want}'"
          )
        )
      ))
      (check "apiserver-sans" (
        forEach hosts (
          h:
          let
            c = h.certificates.kube-apiserver or null;
            wantDns = [
              "kubernetes"
              "kubernetes.default"
              "kubernetes.default.svc"
              "kubernetes.default.svc.${k8s.clusterDomain}"
              k8s.apiServer.host
            ];
            wantIps = k8s.apiServiceIps ++ h.addresses;
          in
          optionalsIf (c != null) (
            map (n: "host '${h.name}' kube-apiserver lacks DNS SAN '${n}'") (missingFrom wantDns c.dnsSans)
            ++ map (ip: "host '${h.name}' kube-apiserver lacks IP SAN '${ip}'") (missingFrom wantIps c.ipSans)
          )
        )
      ))
      (check "serving-sans" (
        forEach hosts (
          h:
          forEach
            (filter (id: h.certificates ? ${id}) [
              "etcd-server"
              "etcd-peer"
              "kubelet-serving"
            ])
            (
              id:
              map (ip: "host '${h.name}' ${id} lacks IP SAN '${ip}'") (
                missingFrom h.addresses h.certificates.${id}.ipSans
              )
            )
        )
      ))
      (check "key-usages" (
        forEach hosts (
          h:
          forEach (certsOf h) (
            c:
            optional (
              elem c.id servingCertificates && !elem "ServerAuth" c.extKeyUsage
            ) "host '${h.name}' ${c.id} is a serving certificate without ServerAuth"
            ++ optional (
              elem c.id clientCertificates && !elem "ClientAuth" c.extKeyUsage
            ) "host '${h.name}' ${c.id} is a client certificate without ClientAuth"
            ++ optional (
              !elem "DigitalSignature" c.keyUsage
            ) "host '${h.name}' ${c.id} lacks the DigitalSignature key usage"
          )
        )
      ))
      (check "unique-files" (
        forEach hosts (
          h:
          map (p: "host '${h.name}' has more than one template writing ${p}") (
            util.duplicates (concatMap (t: t.writes) h.templates)
          )
        )
      ))
      (check "restart-targets" (
        forEach hosts (
          h:
          forEach h.templates (
            t:
            map (u: "host '${h.name}' template ${t.id} restarts ${u}, which is not a unit of this host") (
              util.subtractLists h.units t.restartUnits
            )
            ++ map (u: "host '${h.name}' template ${t.id} restarts ${u} without feeding it") (
              util.subtractLists t.consumers t.restartUnits
            )
            ++ map (u: "host '${h.name}' template ${t.id} feeds ${u}, which is not a unit of this host") (
              util.subtractLists h.units t.consumers
            )
          )
        )
      ))
      (check "file-permissions" (
        forEach hosts (
          h:
          forEach (certsOf h) (
            c:
            let
              readers = util.unique (map (u: plan.unitUsers.${u} or "?") c.consumers);
              owner = c.files.key.owner;
            in
            optional (c.files.key.mode != "0600") "host '${h.name}' ${c.id} key has mode ${c.files.key.mode}, expected 0600"
            ++ optional (
              !elem c.files.cert.mode [
                "0600"
                "0640"
              ]
            ) "host '${h.name}' ${c.id} certificate has mode ${c.files.cert.mode}, expected 0600 or 0640"
            ++ optional (
              !(readers == [ owner ] || (readers == [ ] && owner == "root"))
            ) "host '${h.name}' ${c.id} key is owned by ${owner} but read by ${concatStringsSep "," readers}"
          )
        )
      ))
    ];

  optionalsIf = cond: xs: if cond then xs else [ ];
in
{
  inherit expectedCertificates;
  inventory = cluster: util.collectFailures (inventoryChecks cluster);
  plan = args: util.collectFailures (planChecks args);
}
