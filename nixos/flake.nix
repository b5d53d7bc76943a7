{
  description = "NixOS hosts of the k8s-235 cluster: Kubernetes, etcd and Vault-agent PKI";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      # Pure data from ../inventory/k8s-235.json (builtins only; see lib/).
      cluster = import ./lib { };

      mkHost =
        name:
        lib.nixosSystem {
          modules = [
            self.nixosModules.default
            ./hosts/site.nix
            ./hosts/${name}
            {
              k8s235 = {
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
