# IP addresses and CIDRs as numbers (builtins only): enough to tell whether an
# address lies in a range and whether two ranges overlap, the same questions
# the synth's inventory reader answers for the same file.
let
  inherit (builtins)
    all
    div
    elemAt
    filter
    foldl'
    genList
    isString
    length
    map
    match
    split
    stringLength
    substring
    ;

  strings = xs: filter isString xs;
  pow2 = n: foldl' (acc: _: acc * 2) 1 (genList (x: x) n);

  hexDigits = {
    "0" = 0; "1" = 1; "2" = 2; "3" = 3; "4" = 4; "5" = 5; "6" = 6; "7" = 7;
    "8" = 8; "9" = 9; a = 10; b = 11; c = 12; d = 13; e = 14; f = 15;
    A = 10; B = 11; C = 12; D = 13; E = 14; F = 15;
  };
  hexValue =
    s: foldl' (acc: i: acc * 16 + hexDigits.${substring i 1 s}) 0 (genList (x: x) (stringLength s));

  octet = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

  # [ a b c d ] (8-bit words) or null.
  parseIPv4 =
    s:
    if isString s && match "${octet}\\.${octet}\\.${octet}\\.${octet}" s != null then
      map builtins.fromJSON (strings (split "\\." s))
    else
      null;

  # Eight 16-bit words, "::" expanded, or null. No embedded IPv4 form.
  parseIPv6 =
    s:
    let
      halves = if isString s then strings (split "::" s) else [ ];
      groups = part: if part == "" then [ ] else strings (split ":" part);
      left = groups (elemAt halves 0);
      right = if length halves == 2 then groups (elemAt halves 1) else [ ];
      given = left ++ right;
      validGroup = g: match "[0-9a-fA-F]{1,4}" g != null;
      words = map hexValue given;
    in
    if !isString s || match "[0-9a-fA-F:]+" s == null || length halves > 2 || !all validGroup given then
      null
    else if length halves == 1 then
      (if length given == 8 then words else null)
    else if length given > 7 then
      null
    else
      map hexValue left ++ genList (_: 0) (8 - length given) ++ map hexValue right;

  parseAddress =
    s:
    let
      v4 = parseIPv4 s;
      v6 = parseIPv6 s;
    in
    if v4 != null then
      {
        family = "ipv4";
        width = 8;
        bits = 32;
        words = v4;
      }
    else if v6 != null then
      {
        family = "ipv6";
        width = 16;
        bits = 128;
        words = v6;
      }
    else
      null;

  # "<address>/<prefix>" with the prefix within the family's bits, or null.
  parseCidr =
    s:
    let
      m = if isString s then match "([^/]+)/(0|[1-9][0-9]{0,2})" s else null;
      a = if m == null then null else parseAddress (elemAt m 0);
      prefix = if m == null then 0 else builtins.fromJSON (elemAt m 1);
    in
    if a == null || prefix > a.bits then null else a // { inherit prefix; text = s; };

  # Do the first `p` bits of two parsed addresses of one family agree?
  samePrefix =
    a: b: p:
    let
      full = div p a.width;
      rest = p - full * a.width;
      scale = pow2 (a.width - rest);
    in
    a.family == b.family
    && all (i: elemAt a.words i == elemAt b.words i) (genList (i: i) full)
    && (rest == 0 || div (elemAt a.words full) scale == div (elemAt b.words full) scale);
in
{
  inherit parseAddress parseCidr;

  # Is the address string inside the parsed CIDR?
  contains =
    cidr: address:
    let
      a = parseAddress address;
    in
    a != null && samePrefix cidr a cidr.prefix;

  overlaps =
    a: b: a.family == b.family && samePrefix a b (if a.prefix < b.prefix then a.prefix else b.prefix);
}
