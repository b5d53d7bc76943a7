# IP addresses and CIDRs as numbers (builtins only): enough to tell whether an
# address lies in a range, whether two ranges overlap, which address is a
# range's network, first or broadcast address, and to write an address back in
# its canonical form: the same questions the synth's inventory reader answers
# for the same file.
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

  # The words of a parsed CIDR with its host bits all 0 (`fill` 0) or all 1.
  hostBitsTo =
    fill: c:
    let
      full = div c.prefix c.width;
      scale = pow2 (c.width - (c.prefix - full * c.width));
      ones = pow2 c.width - 1;
    in
    genList (
      i:
      let
        w = elemAt c.words i;
      in
      if i < full then
        w
      else if i == full then
        div w scale * scale + (if fill == 0 then 0 else scale - 1)
      else if fill == 0 then
        0
      else
        ones
    ) (length c.words);

  # The address `n` after `a` (words, carrying; wraps past the last address).
  plus =
    a: n:
    let
      base = pow2 a.width;
      step =
        acc: i:
        let
          w = elemAt a.words i + acc.carry;
        in
        {
          carry = div w base;
          words = [ (w - div w base * base) ] ++ acc.words;
        };
      added = foldl' step {
        carry = n;
        words = [ ];
      } (genList (i: length a.words - 1 - i) (length a.words));
    in
    a // { inherit (added) words; };

  hexDigit = d: substring d 1 "0123456789abcdef";
  toHex =
    n: if n < 16 then hexDigit n else toHex (div n 16) + hexDigit (n - div n 16 * 16);
  joinWords = f: ws: builtins.concatStringsSep ":" (map f ws);

  # The longest run of two or more zero words, the first of equal ones: { start; length; }.
  zeroRun =
    ws:
    let
      n = length ws;
      runAt =
        s: if s < n && elemAt ws s == 0 then 1 + runAt (s + 1) else 0;
    in
    foldl' (
      best: s:
      let
        l = runAt s;
      in
      if l > best.length then
        {
          start = s;
          length = l;
        }
      else
        best
    ) {
      start = -1;
      length = 1;
    } (genList (i: i) n);

  # Canonical text: dotted IPv4; IPv6 in lower case, no leading zeros, the
  # longest run of zero words as "::" (RFC 5952), as the synth writes it.
  format =
    a:
    if a.family == "ipv4" then
      builtins.concatStringsSep "." (map toString a.words)
    else
      let
        run = zeroRun a.words;
        take = s: l: genList (i: elemAt a.words (s + i)) l;
        after = run.start + run.length;
      in
      if run.start < 0 then
        joinWords toHex a.words
      else
        joinWords toHex (take 0 run.start) + "::" + joinWords toHex (take after (length a.words - after));
in
{
  inherit parseAddress parseCidr format;

  # The range's network address (host bits 0), as a parsed address.
  network = c: c // { words = hostBitsTo 0 c; };
  # The IPv4 broadcast address (host bits 1); for IPv6 the range's last address.
  lastAddress = c: c // { words = hostBitsTo 1 c; };
  # The first address after the network address (what GetIndexedIP(range, 1) returns).
  firstAddress = c: plus (c // { words = hostBitsTo 0 c; }) 1;
  # Does a CIDR have bits set after its prefix (10.42.0.1/16)?
  hasHostBits = c: hostBitsTo 0 c != c.words;
  # "10.42.0.0/16" for 10.42.0.1/16.
  networkText = c: "${format (c // { words = hostBitsTo 0 c; })}/${toString c.prefix}";
  # Are two address strings the same address (however they are written)?
  sameAddress =
    x: y:
    let
      a = parseAddress x;
      b = parseAddress y;
    in
    a != null && b != null && a.family == b.family && a.words == b.words;

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
