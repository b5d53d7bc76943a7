# Reading the inventory's JSON text (builtins only). builtins.fromJSON keeps the
# last of two equal keys in an object without a word; `duplicateKeys` scans the
# text for them so that the plan refuses the file, as the synth does.
let
  inherit (builtins)
    elemAt
    filter
    foldl'
    fromJSON
    head
    isList
    isString
    length
    split
    stringLength
    substring
    tail
    ;

  bom = fromJSON "\"\\ufeff\"";

  # Strings, punctuation, and the text between them (numbers, literals, blanks).
  tokens = split "(\"([^\"\\\\]|\\\\.)*\"|[][{}:,])";

  # Line and column after `s`, starting from `pos` (columns count bytes).
  advance =
    pos: s:
    let
      lines = filter isString (split "\n" s);
      breaks = length lines - 1;
    in
    if breaks == 0 then
      pos // { col = pos.col + stringLength s; }
    else
      {
        line = pos.line + breaks;
        col = stringLength (elemAt lines breaks) + 1;
      };

  onToken =
    state: token:
    let
      top = if state.stack == [ ] then null else head state.stack;
      rest = if state.stack == [ ] then [ ] else tail state.stack;
      inObject = top != null && top.object;
      setTop = frame: state // { stack = [ frame ] ++ rest; };
      key = fromJSON token;
    in
    if token == "{" then
      state // { stack = [ { object = true; expectKey = true; keys = { }; } ] ++ state.stack; }
    else if token == "[" then
      state // { stack = [ { object = false; } ] ++ state.stack; }
    else if token == "}" || token == "]" then
      state // { stack = rest; }
    else if token == "," then
      (if inObject then setTop (top // { expectKey = true; }) else state)
    else if token == ":" then
      (if inObject then setTop (top // { expectKey = false; }) else state)
    else if inObject && top.expectKey then
      (
        if top.keys ? ${key} then
          state
          // {
            found = state.found ++ [
              "the key ${token} appears twice in one object at line ${toString state.pos.line}, column ${toString state.pos.col}; JSON readers keep only one of them: remove the other"
            ];
          }
        else
          setTop (top // { keys = top.keys // { ${key} = true; }; expectKey = false; })
      )
    else
      state;

  step =
    state: piece:
    if isList piece then
      let
        token = head piece;
      in
      (onToken state token) // { pos = advance state.pos token; }
    else
      state // { pos = advance state.pos piece; };
in
{
  withoutBom = text: if substring 0 (stringLength bom) text == bom then substring (stringLength bom) (stringLength text) text else text;

  # One message per repeated key, with the line and column of the repeat.
  duplicateKeys =
    text:
    (foldl' step {
      stack = [ ];
      found = [ ];
      pos = {
        line = 1;
        col = 1;
      };
    } (tokens text)).found;
}
