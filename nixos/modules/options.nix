{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib) mkOption types;
  cfg = config.homelab;
  net = cfg.certPlan.cluster.network;
in
{
  options.homelab = {
    certPlan = mkOption {
      type = types.raw;
      example = lib.literalExpression "(import ./nixos/lib { inventoryFile = ./inventory/my-cluster.json; }).plan";
      description = ''
        The certificate plan of the cluster (nixos/lib/cert-plan.nix), built
        from the cluster's inventory. Every module reads host facts, file paths
        and Vault paths from it. No default: the modules serve any cluster, so
        the flake names the inventory.
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
      defaultText = lib.literalExpression "config.homelab.certPlan.hosts.\${config.homelab.hostName}";
      description = "This host's entry of the certificate plan.";
    };

    # Defaults come from the inventory through the plan (hosts[].interface,
    # network.*, ssh.authorizedKeys); set them only to deviate on one host.
    network = {
      interface = mkOption {
        type = types.str;
        default = cfg.host.interface;
        defaultText = lib.literalExpression "config.homelab.host.interface";
        example = "eno1";
        description = "Interface that carries the host's inventory addresses (inventory hosts[].interface).";
      };
      ipv4PrefixLength = mkOption {
        type = types.ints.between 0 32;
        default = net.prefixLengths.ipv4;
        defaultText = lib.literalExpression "config.homelab.certPlan.cluster.network.prefixLengths.ipv4";
        description = "Prefix length of the host's IPv4 address (inventory network.prefixLengths.ipv4).";
      };
      ipv6PrefixLength = mkOption {
        type = types.ints.between 0 128;
        default = net.prefixLengths.ipv6;
        defaultText = lib.literalExpression "config.homelab.certPlan.cluster.network.prefixLengths.ipv6";
        description = "Prefix length of the host's IPv6 address (inventory network.prefixLengths.ipv6).";
      };
      ipv4Gateway = mkOption {
        type = types.nullOr types.str;
        default = net.gateways.ipv4;
        defaultText = lib.literalExpression "config.homelab.certPlan.cluster.network.gateways.ipv4";
        description = "IPv4 default gateway (inventory network.gateways.ipv4); null for none.";
      };
      ipv6Gateway = mkOption {
        type = types.nullOr types.str;
        default = net.gateways.ipv6;
        defaultText = lib.literalExpression "config.homelab.certPlan.cluster.network.gateways.ipv6";
        description = "IPv6 default gateway (inventory network.gateways.ipv6); null for none.";
      };
      nameservers = mkOption {
        type = types.listOf types.str;
        default = net.nameservers;
        defaultText = lib.literalExpression "config.homelab.certPlan.cluster.network.nameservers";
        description = "DNS resolvers of the host (inventory network.nameservers).";
      };
    };

    ssh.authorizedKeys = mkOption {
      type = types.listOf types.str;
      default = cfg.certPlan.cluster.ssh.authorizedKeys;
      defaultText = lib.literalExpression "config.homelab.certPlan.cluster.ssh.authorizedKeys";
      description = "SSH public keys allowed to log in as root (inventory ssh.authorizedKeys).";
    };

    iscsi.iqnPrefix = mkOption {
      type = types.str;
      example = "iqn.2025-01.org.example";
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
