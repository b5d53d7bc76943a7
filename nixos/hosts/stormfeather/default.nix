# Machine-specific settings. Everything cluster-related (addresses, interface,
# roles, certificates) comes from the inventory through the modules.
{
  imports = [ ./hardware-configuration.nix ];

  # Release of the first installation; never change it afterwards.
  system.stateVersion = "25.11";
}
