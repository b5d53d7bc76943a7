# Just enough of nixpkgs' `lib` (same names, simplified semantics) to call the
# modules under nixos/modules/ as plain functions. There is no module system
# here: mkIf yields its content or {}, priorities and ordering are dropped,
# mkOption returns its declaration and types are plain markers.
let
  inherit (builtins)
    attrNames
    concatStringsSep
    filter
    foldl'
    listToAttrs
    map
    replaceStrings
    stringLength
    substring
    ;
in
rec {
  inherit concatStringsSep;
  inherit (builtins) concatMap;
  concatMapStringsSep = sep: f: xs: concatStringsSep sep (map f xs);
  hasInfix = infix: s: builtins.match ".*${replaceStrings [ "." "[" "]" ] [ "[.]" "[[]" "[]]" ] infix}.*" s != null;
  mkIf = cond: content: if cond then content else { };
  mkDefault = x: x;
  mkBefore = x: x;
  optional = cond: x: if cond then [ x ] else [ ];
  optionalAttrs = cond: attrs: if cond then attrs else { };
  nameValuePair = name: value: { inherit name value; };
  mapAttrs' = f: attrs: listToAttrs (map (n: f n attrs.${n}) (attrNames attrs));
  filterAttrs =
    pred: attrs:
    listToAttrs (
      map (n: nameValuePair n attrs.${n}) (filter (n: pred n attrs.${n}) (attrNames attrs))
    );
  findFirst = pred: default: xs: foldl' (acc: x: if acc == default && pred x then x else acc) default xs;
  removeSuffix =
    suffix: s:
    let
      ls = stringLength s;
      lx = stringLength suffix;
    in
    if ls >= lx && substring (ls - lx) lx s == suffix then substring 0 (ls - lx) s else s;
  escapeShellArg = s: "'${replaceStrings [ "'" ] [ "'\\''" ] s}'";
  escapeShellArgs = xs: concatStringsSep " " (map escapeShellArg xs);
  getName = p: p.pname or p;

  # Option declarations keep their fields, so the probe can read the defaults.
  mkOption = attrs: attrs // { _type = "option"; };
  mkPackageOption =
    pkgs: name: _:
    mkOption { default = pkgs.${name}; };
  literalExpression = text: {
    _type = "literalExpression";
    inherit text;
  };
  types = {
    str = "str";
    raw = "raw";
    path = "path";
    enum = values: { enum = values; };
    nullOr = type: { nullOr = type; };
    listOf = type: { listOf = type; };
    ints = {
      positive = "positive";
      between = low: high: { between = [ low high ]; };
    };
  };
}
