# Site-wide facts the inventory does not carry yet (proposed fields:
# network.ipv4Gateway, network.ipv6Gateway, network.nameservers,
# ssh.authorizedKeys). Like the inventory's host addresses, the network values
# are documentation-range placeholders.
{
  # Operators' SSH public keys (root login, keys only).
  k8s235.ssh.authorizedKeys = [ ];

  k8s235.network = {
    ipv4PrefixLength = 24;
    ipv6PrefixLength = 64;
    ipv4Gateway = "192.0.2.1";
    ipv6Gateway = "2001:db8:235::1";
    nameservers = [
      "192.0.2.1"
      "2001:db8:235::1"
    ];
  };
}
