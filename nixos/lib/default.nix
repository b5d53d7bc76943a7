# Pure entry point: `nix-instantiate --eval --strict --json -A plan nixos/lib`.
# With `inventoryFile` the text is read here, so that what builtins.fromJSON
# would hide (a repeated key) is still seen; `inventory` takes a parsed value.
{
  inventoryFile ? ../../inventory/k8s-235.json,
  inventory ? null,
  overrides ? { },
}:
let
  json = import ./json.nix;
  text = if inventory == null then json.withoutBom (builtins.readFile inventoryFile) else null;
in
import ./cert-plan.nix {
  inventory = if inventory == null then builtins.fromJSON text else inventory;
  sourceFailures = if text == null then [ ] else json.duplicateKeys text;
  inherit overrides;
}
