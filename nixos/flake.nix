{
  description = "NixOS hosts of the k8s-235 cluster: Kubernetes, etcd and Vault-agent PKI";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      # Pure data from the cluster's inventory (builtins only; see lib/). The
      # modules are cluster-neutral; this flake is the k8s-235 cluster's.
      cluster = import ./lib { inventoryFile = ../inventory/k8s-235.json; };

      mkHost =
        name:
        lib.nixosSystem {
          modules = [
            self.nixosModules.default
            ./hosts/site.nix
            ./hosts/${name}
            {
              homelab = {
                certPlan = cluster.plan;
                hostName = name;
              };
            }
          ];
        };
    in
    {
      lib = cluster;

      nixosModules.default = ./modules;

      nixosConfigurations = lib.genAttrs cluster.plan.cluster.hostNames mkHost;

      checks.x86_64-linux =
        {
          cert-plan = nixpkgs.legacyPackages.x86_64-linux.writeText "cert-plan.json" (
            builtins.toJSON cluster.plan
          );
        }
        // lib.mapAttrs' (
          name: host: lib.nameValuePair "system-${name}" host.config.system.build.toplevel
        ) self.nixosConfigurations;
    };
}
