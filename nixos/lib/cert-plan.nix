# The certificate plan of the cluster, as pure data (builtins only).
#
# For every host and component: the Vault mount and role, CN, O, SANs, key
# usages, the files vault-agent writes (owner, group, mode) and the systemd
# units that consume them and restart on renewal. The NixOS modules render
# the vault-agent templates and the services.kubernetes / services.etcd file
# options from `plan`; docs/vault-pki.md's role commands and the per-host
# Vault policies come from it too.
#
# Returns { plan; failures; unchecked; }: `plan` throws, naming every failed
# check (see checks.nix), when `failures` is not empty.
{
  inventory,
  # { certificates.<host>.<certificate id> = { <field> = <value>; }; }
  # Merged over the generated certificates before the checks run.
  overrides ? { },
  # Problems of the inventory's JSON text (see json.nix).
  sourceFailures ? [ ],
}:
let
  util = import ./util.nix;
  cluster = import ./cluster.nix { inherit inventory util sourceFailures; };
  checks = import ./checks.nix { inherit util; };

  inherit (builtins)
    concatMap
    concatStringsSep
    elem
    filter
    listToAttrs
    map
    sort
    lessThan
    ;
  inherit (util)
    optional
    optionals
    unique
    quote
    hclList
    ;

  mounts = cluster.vault.mounts;
  k8s = cluster.kubernetes;
  sa = cluster.vault.serviceAccount;

  ttl = "720h";
  maxTtl = "2160h";
  loopbackIps = [
    "127.0.0.1"
    "::1"
  ];

  agent = rec {
    instance = "pki";
    unit = "vault-agent-${instance}.service";
    stateDir = "/var/lib/vault-agent";
    roleIdFile = "${stateDir}/role-id";
    secretIdFile = "${stateDir}/secret-id";
  };

  fileSpec = path: owner: group: mode: { inherit path owner group mode; };
  rootOnly = path: fileSpec path "root" "root" "0600";

  directories = {
    ca = fileSpec "/var/lib/secrets/ca" "root" "root" "0755";
    cache = fileSpec "${agent.stateDir}/pki" "root" "root" "0700";
    kubernetes = fileSpec "/var/lib/secrets/kubernetes" "root" "kubernetes" "0750";
    kubelet = fileSpec "/var/lib/secrets/kubelet" "root" "root" "0700";
    admin = fileSpec "/var/lib/secrets/admin" "root" "root" "0700";
    etcd = fileSpec "/var/lib/secrets/etcd" "root" "etcd" "0750";
    etcdBackup = fileSpec "/var/lib/secrets/etcd-backup" "root" "root" "0700";
  };
  componentDirectories = {
    etcd = [
      "etcd"
      "etcdBackup"
    ];
    control-plane = [
      "kubernetes"
      "admin"
    ];
    worker = [ "kubelet" ];
  };

  units = {
    etcd = "etcd.service";
    etcdBackup = "etcd-backup.service";
    apiserver = "kube-apiserver.service";
    controllerManager = "kube-controller-manager.service";
    scheduler = "kube-scheduler.service";
    kubelet = "kubelet.service";
  };
  componentUnits = {
    etcd = [
      units.etcd
      units.etcdBackup
    ];
    control-plane = [
      units.apiserver
      units.controllerManager
      units.scheduler
    ];
    worker = [ units.kubelet ];
  };
  # The user each unit runs as (nixpkgs modules), so files can be owned by it.
  unitUsers = {
    ${units.etcd} = "etcd";
    ${units.etcdBackup} = "root";
    ${units.apiserver} = "kubernetes";
    ${units.controllerManager} = "kubernetes";
    ${units.scheduler} = "kubernetes";
    ${units.kubelet} = "root";
  };

  # Vault PKI roles: the role fixes O (one role per O group) and the EKUs.
  mkRole =
    mountKey: name:
    {
      organization ? null,
      server ? false,
      client ? false,
      # false for roles issuing CNs such as "system:node:<host>"
      hostnames ? true,
    }:
    {
      inherit mountKey name organization;
      mount = mounts.${mountKey};
      serverFlag = server;
      clientFlag = client;
      extKeyUsage = optional server "ServerAuth" ++ optional client "ClientAuth";
      keyUsage = [
        "DigitalSignature"
        "KeyEncipherment"
      ];
      keyType = "rsa";
      keyBits = 2048;
      allowAnyName = true;
      enforceHostnames = hostnames;
      allowIpSans = true;
      allowLocalhost = true;
      inherit ttl maxTtl;
    };
  vaultRoles = [
    (mkRole "kubernetes" "kube-apiserver" { server = true; })
    (mkRole "kubernetes" "kubelet-serving" { server = true; })
    (mkRole "kubernetes" "client" {
      client = true;
      hostnames = false;
    })
    (mkRole "kubernetes" "system-nodes" {
      organization = "system:nodes";
      client = true;
      hostnames = false;
    })
    (mkRole "kubernetes" "system-masters" {
      organization = "system:masters";
      client = true;
      hostnames = false;
    })
    # etcd serves clients and peers and dials peers with the same key pairs.
    (mkRole "etcd" "server" {
      server = true;
      client = true;
    })
    (mkRole "etcd" "peer" {
      server = true;
      client = true;
    })
    (mkRole "etcd" "client" { client = true; })
    (mkRole "frontProxy" "client" { client = true; })
  ];
  roleKey = mountKey: name: "${mountKey}/${name}";
  rolesByKey = listToAttrs (
    map (r: {
      name = roleKey r.mountKey r.name;
      value = r;
    }) vaultRoles
  );

  boolStr = b: if b then "true" else "false";
  roleCommand =
    r:
    concatStringsSep " \\\n    " (
      [ "vault write ${r.mount}/roles/${r.name}" ]
      ++ optional (r.organization != null) "organization=${quote r.organization}"
      ++ [
        "allow_any_name=${boolStr r.allowAnyName}"
        "enforce_hostnames=${boolStr r.enforceHostnames}"
      ]
      ++ optional (!r.enforceHostnames) "cn_validations=disabled"
      ++ [
        "allow_ip_sans=${boolStr r.allowIpSans}"
        "allow_localhost=${boolStr r.allowLocalhost}"
        "server_flag=${boolStr r.serverFlag}"
        "client_flag=${boolStr r.clientFlag}"
        "key_usage=${quote (concatStringsSep "," r.keyUsage)}"
        "key_type=${r.keyType}"
        "key_bits=${toString r.keyBits}"
        "ttl=${r.ttl}"
        "max_ttl=${r.maxTtl}"
      ]
    );

  caSources = [
    {
      mountKey = "kubernetes";
      file = "kubernetes-ca.pem";
      consumers = [
        units.apiserver
        units.controllerManager
        units.scheduler
        units.kubelet
      ];
      noRestart = [ ];
    }
    {
      mountKey = "etcd";
      file = "etcd-ca.pem";
      consumers = [
        units.etcd
        units.apiserver
        units.etcdBackup
      ];
      # A oneshot reads its files on every run.
      noRestart = [ units.etcdBackup ];
    }
    {
      mountKey = "frontProxy";
      file = "front-proxy-ca.pem";
      consumers = [ units.apiserver ];
      noRestart = [ ];
    }
  ];
  caFiles = listToAttrs (
    map (s: {
      name = s.mountKey;
      value = "${directories.ca.path}/${s.file}";
    }) caSources
  );

  mkCertificate =
    host:
    {
      id,
      component,
      mountKey,
      role,
      commonName,
      dnsSans ? [ ],
      ipSans ? [ ],
      directory,
      owner,
      consumers,
      restartUnits ? consumers,
    }:
    let
      r = rolesByKey.${roleKey mountKey role};
      d = directories.${directory}.path;
    in
    {
      inherit
        id
        component
        role
        commonName
        dnsSans
        ipSans
        consumers
        restartUnits
        ttl
        ;
      kind = "pki";
      mount = mounts.${mountKey};
      vaultPath = "${mounts.${mountKey}}/issue/${role}";
      inherit (r) organization keyUsage extKeyUsage;
      files = {
        cert = fileSpec "${d}/${id}.pem" owner owner "0640";
        key = fileSpec "${d}/${id}-key.pem" owner owner "0600";
      };
      # pkiCert keeps the issued certificate here and only asks Vault again
      # when it nears expiry, so restarts of the agent do not re-issue.
      cache = rootOnly "${directories.cache.path}/${id}.pem";
    }
    // (overrides.certificates.${host.name}.${id} or { });

  apiserverDnsSans = h: [
    "kubernetes"
    "kubernetes.default"
    "kubernetes.default.svc"
    "kubernetes.default.svc.${k8s.clusterDomain}"
    k8s.apiServer.host
    h.fqdn
    h.name
    "localhost"
  ];

  hostCertificates =
    h:
    let
      has = c: elem c h.components;
      mk = mkCertificate h;
    in
    optionals (has "etcd") [
      # etcd (>= 3.2) loads its leaf key pair on every TLS handshake, so a
      # renewal needs no restart; restarting all members at once could cost
      # quorum.
      (mk {
        id = "etcd-server";
        component = "etcd";
        mountKey = "etcd";
        role = "server";
        commonName = h.fqdn;
        dnsSans = [
          h.fqdn
          h.name
          "localhost"
        ];
        ipSans = h.addresses ++ loopbackIps;
        directory = "etcd";
        owner = "etcd";
        consumers = [ units.etcd ];
        restartUnits = [ ];
      })
      (mk {
        id = "etcd-peer";
        component = "etcd";
        mountKey = "etcd";
        role = "peer";
        commonName = h.fqdn;
        dnsSans = [
          h.fqdn
          h.name
        ];
        ipSans = h.addresses;
        directory = "etcd";
        owner = "etcd";
        consumers = [ units.etcd ];
        restartUnits = [ ];
      })
      (mk {
        id = "etcd-backup";
        component = "etcd";
        mountKey = "etcd";
        role = "client";
        commonName = "etcd-backup-${h.name}";
        directory = "etcdBackup";
        owner = "root";
        consumers = [ units.etcdBackup ];
        restartUnits = [ ];
      })
    ]
    ++ optionals (has "control-plane") [
      (mk {
        id = "kube-apiserver";
        component = "control-plane";
        mountKey = "kubernetes";
        role = "kube-apiserver";
        commonName = "kube-apiserver";
        dnsSans = apiserverDnsSans h;
        ipSans = k8s.apiServiceIps ++ h.addresses ++ loopbackIps;
        directory = "kubernetes";
        owner = "kubernetes";
        consumers = [ units.apiserver ];
      })
      # Authorised through the ClusterRoleBinding
      # system:kube-apiserver:kubelet-api-admin (docs/hosts.md), not system:masters.
      (mk {
        id = "kube-apiserver-kubelet-client";
        component = "control-plane";
        mountKey = "kubernetes";
        role = "client";
        commonName = "system:kube-apiserver";
        directory = "kubernetes";
        owner = "kubernetes";
        consumers = [ units.apiserver ];
      })
      (mk {
        id = "kube-apiserver-etcd-client";
        component = "control-plane";
        mountKey = "etcd";
        role = "client";
        commonName = "kube-apiserver-etcd-client";
        directory = "kubernetes";
        owner = "kubernetes";
        consumers = [ units.apiserver ];
      })
      (mk {
        id = "front-proxy-client";
        component = "control-plane";
        mountKey = "frontProxy";
        role = "client";
        commonName = "front-proxy-client";
        directory = "kubernetes";
        owner = "kubernetes";
        consumers = [ units.apiserver ];
      })
      (mk {
        id = "kube-controller-manager";
        component = "control-plane";
        mountKey = "kubernetes";
        role = "client";
        commonName = "system:kube-controller-manager";
        directory = "kubernetes";
        owner = "kubernetes";
        consumers = [ units.controllerManager ];
      })
      (mk {
        id = "kube-scheduler";
        component = "control-plane";
        mountKey = "kubernetes";
        role = "client";
        commonName = "system:kube-scheduler";
        directory = "kubernetes";
        owner = "kubernetes";
        consumers = [ units.scheduler ];
      })
      (mk {
        id = "admin";
        component = "control-plane";
        mountKey = "kubernetes";
        role = "system-masters";
        commonName = "kubernetes-admin";
        directory = "admin";
        owner = "root";
        consumers = [ ];
      })
    ]
    ++ optionals (has "worker") [
      (mk {
        id = "kubelet-client";
        component = "worker";
        mountKey = "kubernetes";
        role = "system-nodes";
        commonName = "system:node:${h.name}";
        directory = "kubelet";
        owner = "root";
        consumers = [ units.kubelet ];
      })
      (mk {
        id = "kubelet-serving";
        component = "worker";
        mountKey = "kubernetes";
        role = "kubelet-serving";
        commonName = h.name;
        dnsSans = [
          h.name
          h.fqdn
        ];
        ipSans = h.addresses;
        directory = "kubelet";
        owner = "root";
        consumers = [ units.kubelet ];
      })
    ];

  hostCaBundles =
    hostUnits:
    concatMap (
      s:
      let
        consumers = filter (u: elem u hostUnits) s.consumers;
        mount = mounts.${s.mountKey};
      in
      optional (consumers != [ ]) {
        id = util.removeSuffix ".pem" s.file;
        kind = "ca";
        inherit mount consumers;
        vaultPath = "${mount}/cert/ca";
        file = fileSpec caFiles.${s.mountKey} "root" "root" "0644";
        restartUnits = util.subtractLists s.noRestart consumers;
      }
    ) caSources;

  # The service-account key pair must be identical on every control-plane
  # node, so it comes from Vault KV rather than from a PKI issue call.
  hostSecrets =
    h:
    optional (elem "control-plane" h.components) {
      id = "service-account";
      kind = "kv";
      vaultPath = sa.path;
      fields = {
        privateKey = sa.privateKeyField;
        publicKey = sa.publicKeyField;
      };
      files = {
        privateKey = fileSpec "${directories.kubernetes.path}/service-account-key.pem" "kubernetes" "kubernetes" "0600";
        publicKey = fileSpec "${directories.kubernetes.path}/service-account.pub" "kubernetes" "kubernetes" "0640";
      };
      cache = rootOnly "${directories.cache.path}/service-account.pem";
      consumers = [
        units.apiserver
        units.controllerManager
      ];
      restartUnits = [
        units.apiserver
        units.controllerManager
      ];
    };

  writeToFile =
    value: f:
    "{{ ${value} | writeToFile ${quote f.path} ${quote f.owner} ${quote f.group} ${quote f.mode} \"newline\" }}";

  pkiTemplate =
    c:
    let
      params = [
        "common_name=${c.commonName}"
      ]
      ++ optional (c.dnsSans != [ ]) "alt_names=${concatStringsSep "," c.dnsSans}"
      ++ optional (c.ipSans != [ ]) "ip_sans=${concatStringsSep "," c.ipSans}"
      ++ [
        "ttl=${c.ttl}"
        "exclude_cn_from_sans=true"
      ];
    in
    {
      inherit (c)
        id
        kind
        vaultPath
        consumers
        restartUnits
        ;
      destination = c.cache;
      outputs = [
        c.files.cert
        c.files.key
      ];
      contents = concatStringsSep "\n" [
        "{{- with pkiCert ${concatStringsSep " " (map quote ([ c.vaultPath ] ++ params))} }}"
        "{{ .Cert }}"
        "{{ .Key }}"
        (writeToFile ".Cert" c.files.cert)
        (writeToFile ".Key" c.files.key)
        "{{- end }}"
        ""
      ];
    };

  caTemplate = b: {
    inherit (b)
      id
      kind
      vaultPath
      consumers
      restartUnits
      ;
    destination = b.file;
    outputs = [ b.file ];
    contents = concatStringsSep "\n" [
      "{{- with secret ${quote b.vaultPath} }}"
      "{{ .Data.certificate }}"
      "{{- end }}"
      ""
    ];
  };

  kvTemplate =
    s:
    let
      private = ".Data.data.${s.fields.privateKey}";
      public = ".Data.data.${s.fields.publicKey}";
    in
    {
      inherit (s)
        id
        kind
        vaultPath
        consumers
        restartUnits
        ;
      destination = s.cache;
      outputs = [
        s.files.privateKey
        s.files.publicKey
      ];
      contents = concatStringsSep "\n" [
        "{{- with secret ${quote s.vaultPath} }}"
        "{{ ${private} }}"
        "{{ ${public} }}"
        (writeToFile private s.files.privateKey)
        (writeToFile public s.files.publicKey)
        "{{- end }}"
        ""
      ];
    };

  cidrOf = ip: if util.isIPv6 ip then "${ip}/128" else "${ip}/32";

  # One policy per node: it may issue exactly the CNs its plan names.
  hostVault =
    h: templates:
    let
      name = "${cluster.name}-node-${h.name}";
      paths = sort lessThan (unique (map (t: t.vaultPath) templates));
      block =
        path:
        let
          users = filter (t: t.vaultPath == path) templates;
          isIssue = builtins.all (t: t.kind == "pki") users;
          cns = sort lessThan (unique (map (t: t.commonName) users));
        in
        concatStringsSep "\n" (
          [ "path ${quote path} {" ]
          ++ (
            if isIssue then
              [
                "  capabilities = ${hclList [ "create" "update" ]}"
                "  allowed_parameters = {"
                "    \"common_name\" = ${hclList cns}"
                "    \"*\" = []"
                "  }"
              ]
            else
              [ "  capabilities = ${hclList [ "read" ]}" ]
          )
          ++ [ "}" ]
        );
      cidrs = concatStringsSep "," (map cidrOf h.addresses);
    in
    {
      policyName = name;
      appRoleName = name;
      policy = concatStringsSep "\n\n" (map block paths) + "\n";
      appRoleCommand = concatStringsSep " \\\n    " [
        "vault write ${cluster.vault.approleMount}/role/${name}"
        "token_policies=${name}"
        "token_ttl=1h"
        "token_max_ttl=24h"
        "secret_id_ttl=0"
        "secret_id_bound_cidrs=${cidrs}"
        "token_bound_cidrs=${cidrs}"
      ];
    };

  hostPlan =
    h:
    let
      hostUnits = unique ([ agent.unit ] ++ concatMap (c: componentUnits.${c}) h.components);
      certificates = hostCertificates h;
      caBundles = hostCaBundles hostUnits;
      secrets = hostSecrets h;
      templates =
        map caTemplate caBundles
        ++ map pkiTemplate certificates
        ++ map kvTemplate secrets;
      pkiTemplates = map (c: {
        inherit (c) vaultPath commonName;
        kind = "pki";
      }) certificates;
      otherTemplates = map (t: {
        inherit (t) vaultPath kind;
        commonName = null;
      }) (map caTemplate caBundles ++ map kvTemplate secrets);
      byId = util.byName "id";
    in
    {
      inherit (h)
        name
        fqdn
        domain
        ipv4
        ipv6
        interface
        addresses
        components
        firewall
        ;
      units = hostUnits;
      directories = map (k: directories.${k}) (
        [
          "ca"
          "cache"
        ]
        ++ concatMap (c: componentDirectories.${c}) h.components
      );
      certificates = byId certificates;
      caBundles = byId caBundles;
      secrets = byId secrets;
      templates = map (
        t:
        t
        // {
          writes = unique ([ t.destination.path ] ++ map (f: f.path) t.outputs);
        }
      ) templates;
      # Files each unit needs before it can start.
      unitInputs = util.genAttrs (filter (u: u != agent.unit) hostUnits) (
        u: concatMap (t: optionals (elem u t.consumers) (map (f: f.path) t.outputs)) templates
      );
      vault = hostVault h (pkiTemplates ++ otherTemplates);
    };

  plan = {
    cluster = {
      inherit (cluster)
        name
        hostNames
        kubernetes
        etcd
        ports
        network
        ssh
        ;
      vault = {
        inherit (cluster.vault) address approleMount serviceAccount;
      };
    };
    inherit
      mounts
      agent
      caFiles
      unitUsers
      vaultRoles
      ;
    vaultRoleCommands = map roleCommand vaultRoles;
    hosts = util.genAttrs cluster.hostNames (n: hostPlan cluster.hosts.${n});
  };

  inventoryFailures = checks.inventory cluster;
  failures =
    if inventoryFailures != [ ] then inventoryFailures else checks.plan { inherit cluster plan; };
in
{
  inherit failures;
  unchecked = plan;
  plan = util.guard "certificate plan of ${toString (inventory.name or "?")}" failures plan;
}
