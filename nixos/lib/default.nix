# Pure entry point: `nix-instantiate --eval --strict --json -A plan nixos/lib`.
{
  inventoryFile ? ../../inventory/k8s-235.json,
  inventory ? builtins.fromJSON (builtins.readFile inventoryFile),
  overrides ? { },
}:
import ./cert-plan.nix { inherit inventory overrides; }
