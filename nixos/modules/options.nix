{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.k8s235;
in
{
  options.k8s235 = {
    certPlan = mkOption {
      type = types.raw;
      default = (import ../lib { }).plan;
      defaultText = lib.literalExpression "(import ./nixos/lib { }).plan";
      description = ''
        The certificate plan of the cluster (nixos/lib/cert-plan.nix), built
        from the shared inventory. Every module reads host facts, file paths
        and Vault paths from it.
      '';
    };

    hostName = mkOption {
      type = types.enum cfg.certPlan.cluster.hostNames;
      description = "Name of this host in the inventory.";
    };

    host = mkOption {
      type = types.raw;
      readOnly = true;
      default = cfg.certPlan.hosts.${cfg.hostName};
      defaultText = lib.literalExpression "config.k8s235.certPlan.hosts.\${config.k8s235.hostName}";
      description = "This host's entry of the certificate plan.";
    };

    # The inventory has no interface, gateway or resolver facts yet; see
    # hosts/site.nix for the site-wide values.
    network = {
      interface = mkOption {
        type = types.str;
        example = "eno1";
        description = "Interface that carries the host's inventory addresses.";
      };
      ipv4PrefixLength = mkOption {
        type = types.ints.between 0 32;
        default = 24;
        description = "Prefix length of the host's IPv4 address.";
      };
      ipv6PrefixLength = mkOption {
        type = types.ints.between 0 128;
        default = 64;
        description = "Prefix length of the host's IPv6 address.";
      };
      ipv4Gateway = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "IPv4 default gateway.";
      };
      ipv6Gateway = mkOption {
        type = types.nullOr types.str;
        default = null;
        description = "IPv6 default gateway.";
      };
      nameservers = mkOption {
        type = types.listOf types.str;
        default = [ ];
        description = "DNS resolvers of the host.";
      };
    };

    ssh.authorizedKeys = mkOption {
      type = types.listOf types.str;
      default = [ ];
      description = "SSH public keys allowed to log in as root.";
    };

    iscsi.iqnPrefix = mkOption {
      type = types.str;
      default = "iqn.2025-01.co.tdude";
      description = "Prefix of the iSCSI initiator name; the host name is appended.";
    };

    vaultAgent = {
      package = lib.mkPackageOption pkgs "vault" { };
      caCertFile = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = ''
          CA bundle that signs the Vault server's certificate, if the system
          trust store does not already contain it.
        '';
      };
    };

    etcd.initialClusterState = mkOption {
      type = types.enum [
        "new"
        "existing"
      ];
      default = "new";
      description = ''
        "new" while bootstrapping the first members together; "existing" on
        a member that joins a running cluster (docs/etcd.md). Only read when
        the data directory is empty.
      '';
    };

    # Every etcd member snapshots itself; the plan issues it a client
    # certificate for that.
    etcdBackup = {
      onCalendar = mkOption {
        type = types.str;
        default = "hourly";
        description = "systemd calendar expression of the snapshot timer.";
      };
      keep = mkOption {
        type = types.ints.positive;
        default = 72;
        description = "Number of snapshots kept; older ones are deleted.";
      };
      directory = mkOption {
        type = types.str;
        default = "/var/backup/etcd";
        description = "Where snapshots are written.";
      };
    };
  };
}
