# Machine-specific settings. Everything cluster-related (addresses, roles,
# certificates) comes from the inventory through the modules.
{
  imports = [ ./hardware-configuration.nix ];

  k8s235.network.interface = "eno1";

  # Release of the first installation; never change it afterwards.
  system.stateVersion = "25.11";
}
