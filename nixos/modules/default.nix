# Every host of the cluster imports all of these; each module switches itself
# on from the components (inventory roles) of the host.
{
  imports = [
    ./options.nix
    ./common.nix
    ./vault-agent-pki.nix
    ./etcd.nix
    ./etcd-backup.nix
    ./kubernetes/common.nix
    ./kubernetes/control-plane.nix
    ./kubernetes/worker.nix
  ];
}
