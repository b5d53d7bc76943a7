# Small helpers over builtins only, so everything under lib/ evaluates with a
# bare `nix-instantiate` (no nixpkgs on the machine).
let
  inherit (builtins)
    concatMap
    concatStringsSep
    elem
    filter
    foldl'
    length
    listToAttrs
    map
    match
    stringLength
    substring
    ;
in
rec {
  optional = cond: x: if cond then [ x ] else [ ];
  optionals = cond: xs: if cond then xs else [ ];

  unique = foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ];

  # Elements that occur more than once, each reported once.
  duplicates =
    xs:
    let
      counted = foldl' (
        acc: x:
        if elem x acc.seen then
          acc // { dups = if elem x acc.dups then acc.dups else acc.dups ++ [ x ]; }
        else
          acc // { seen = acc.seen ++ [ x ]; }
      ) {
        seen = [ ];
        dups = [ ];
      } xs;
    in
    counted.dups;

  subtractLists = remove: filter (x: !(elem x remove));

  # f index element, indices from 0.
  imap = f: xs: builtins.genList (i: f i (builtins.elemAt xs i)) (length xs);
  imapConcat = f: xs: concatMap (x: x) (imap f xs);
  drop = n: xs: if n >= length xs then [ ] else builtins.genList (i: builtins.elemAt xs (i + n)) (length xs - n);


  hasPrefix = prefix: s: substring 0 (stringLength prefix) s == prefix;
  hasInfix = infix: s: builtins.match ".*${builtins.replaceStrings [ "." ] [ "[.]" ] infix}.*" s != null;
  hasSuffix =
    suffix: s:
    let
      ls = stringLength s;
      lx = stringLength suffix;
    in
    ls >= lx && substring (ls - lx) lx s == suffix;
  removePrefix =
    prefix: s: if hasPrefix prefix s then substring (stringLength prefix) (stringLength s) s else s;
  removeSuffix =
    suffix: s:
    if hasSuffix suffix s then substring 0 (stringLength s - stringLength suffix) s else s;

  genAttrs =
    names: f:
    listToAttrs (
      map (n: {
        name = n;
        value = f n;
      }) names
    );
  byName = key: xs: listToAttrs (map (x: {
    name = x.${key};
    value = x;
  }) xs);


  isNonEmptyString = x: builtins.isString x && x != "";
  isIPv4 =
    x:
    builtins.isString x
    && match "(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}" x != null;
  # Shape check only: hex groups and at most one "::".
  isIPv6 =
    x:
    builtins.isString x
    && match "[0-9a-fA-F:]+" x != null
    && match ".*:.*:.*" x != null
    && match ".*::.*::.*" x == null;
  isHostLabel = x: builtins.isString x && match "[a-z0-9]([a-z0-9-]*[a-z0-9])?" x != null;
  isIP = x: isIPv4 x || isIPv6 x;
  # "ipv4", "ipv6" or null (not an address).
  ipFamily =
    x:
    if isIPv4 x then
      "ipv4"
    else if isIPv6 x then
      "ipv6"
    else
      null;
  # Family of the address part of "<address>/<prefix>", or null.
  cidrFamily =
    x:
    let
      m = if builtins.isString x then match "(.+)/[0-9]+" x else null;
    in
    if m == null then null else ipFamily (builtins.head m);
  isIntBetween =
    low: high: x:
    builtins.isInt x && x >= low && x <= high;
  # Linux interface names in practice: up to 15 characters, no "/", ":" or space.
  isInterfaceName = x: builtins.isString x && match "[A-Za-z0-9_.-]{1,15}" x != null;
  isListOf = pred: xs: builtins.isList xs && builtins.all pred xs;

  # URL host part: IPv6 literals need brackets.
  urlHost = ip: if isIPv6 ip then "[${ip}]" else ip;

  quote = s: "\"${s}\"";
  hclList = xs: "[${concatStringsSep ", " (map quote xs)}]";

  # Turns a list of named checks into "name: message" failure strings.
  # A check is { name; failures = [ "message" ... ]; }.
  collectFailures = checks: concatMap (c: map (m: "${c.name}: ${m}") c.failures) checks;

  # Returns `value` unless any check failed; then throws one message that
  # names every failing check.
  guard =
    what: failures: value:
    if failures == [ ] then
      value
    else
      throw (
        "${what}: ${toString (length failures)} check(s) failed:\n"
        + concatStringsSep "\n" (map (f: "  - ${f}") failures)
      );
}
