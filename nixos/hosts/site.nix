# Site settings only the NixOS hosts need and the shared inventory does not
# carry. Addresses, interfaces, gateways, resolvers and SSH keys are inventory
# facts (inventory/k8s-235.json); the modules take them from there.
{
  # Names the hosts' iSCSI initiators for democratic-csi: <prefix>:<host>.
  homelab.iscsi.iqnPrefix = "iqn.2025-01.co.tdude";
}
