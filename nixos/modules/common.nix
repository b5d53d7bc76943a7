# Settings every host of the cluster shares: identity, addresses, interface,
# gateways, resolvers and SSH keys from the inventory (through the options'
# defaults, see options.nix), firewall, the iSCSI/NFS client for democratic-csi.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.homelab;
  host = cfg.host;
  net = cfg.network;
in
{
  networking = {
    hostName = host.name;
    inherit (host) domain;
    useDHCP = false;
    interfaces.${net.interface} = {
      ipv4.addresses = [
        {
          address = host.ipv4;
          prefixLength = net.ipv4PrefixLength;
        }
      ];
      ipv6.addresses = [
        {
          address = host.ipv6;
          prefixLength = net.ipv6PrefixLength;
        }
      ];
    };
    defaultGateway = lib.mkIf (net.ipv4Gateway != null) {
      address = net.ipv4Gateway;
      inherit (net) interface;
    };
    defaultGateway6 = lib.mkIf (net.ipv6Gateway != null) {
      address = net.ipv6Gateway;
      inherit (net) interface;
    };
    inherit (net) nameservers;

    firewall = {
      enable = true;
      allowedTCPPorts = host.firewall.tcp;
      allowedUDPPorts = host.firewall.udp;
      # The ports only some sources may reach (the plan's firewall.rules), appended
      # to nixos-fw before its final refuse rule. One command per family: a rule
      # with an IPv4 source would abort ip46tables (the script runs with -e).
      extraCommands = lib.concatStringsSep "\n" (
        lib.concatMap (
          rule:
          map (
            source:
            "${if lib.hasInfix ":" source then "ip6tables" else "iptables"} -A nixos-fw -p tcp -s ${source} -m multiport --dports ${
              lib.concatMapStringsSep "," toString rule.tcp
            } -j nixos-fw-accept"
          ) rule.sources
        ) host.firewall.rules
      );
      # Cilium routes pod traffic natively; replies can leave through another
      # interface than the request came in on, which strict rp-filtering drops.
      checkReversePath = false;
    };
  };

  services.openssh = {
    enable = true;
    # Port 22 is part of the host's firewall list in the plan.
    openFirewall = false;
    settings = {
      PasswordAuthentication = false;
      KbdInteractiveAuthentication = false;
      PermitRootLogin = "prohibit-password";
    };
  };
  users.users.root.openssh.authorizedKeys.keys = cfg.ssh.authorizedKeys;
  warnings = lib.optional (cfg.ssh.authorizedKeys == [ ]) ''
    homelab.ssh.authorizedKeys is empty (inventory ssh.authorizedKeys): ${host.name} accepts no SSH logins.
  '';

  # democratic-csi's node plugin calls the host's iscsiadm through
  # ISCSIADM_HOST_PATH=/run/current-system/sw/bin/iscsiadm.
  services.openiscsi = {
    enable = true;
    name = "${cfg.iscsi.iqnPrefix}:${host.name}";
  };
  boot.supportedFilesystems = [ "nfs" ];
  # Loaded at boot: the node plugin's own /lib/modules mount is empty on NixOS, whose modules
  # live under /run/booted-system/kernel-modules.
  boot.kernelModules = [ "iscsi_tcp" ];
  environment.systemPackages = with pkgs; [
    openiscsi
    lsscsi
    sg3_utils
  ];

  nix.settings.experimental-features = [
    "nix-command"
    "flakes"
  ];

  boot.loader.systemd-boot.enable = lib.mkDefault true;
  boot.loader.efi.canTouchEfiVariables = lib.mkDefault true;
}
