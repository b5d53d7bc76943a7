/**
 * Alertmanager's routing tree, evaluated over the spec of a prometheus-operator
 * `AlertmanagerConfig` (`monitoring.coreos.com/v1alpha1`): which receivers an alert with given
 * labels reaches, and through which routes, as `amtool config routes test` answers it.
 *
 * The semantics are Alertmanager's (its dispatcher's `Route.Match`):
 * - The root route matches every alert (Alertmanager refuses matchers on it; `routingProblems`
 *   says so, and the evaluation ignores them).
 * - A route's children are tried depth-first, in order. A child whose matchers all match is
 *   entered, recursively. After a child that matched, the remaining siblings are skipped unless
 *   that child has `continue: true` (its own, not its descendants').
 * - When no child matches, the route itself is the match.
 * - A route without a receiver (or with an empty one) inherits the receiver of its nearest
 *   ancestor that names one; a match with none up to the root is unrouted.
 * - The result lists the receivers of the matched routes in the order they matched, duplicates
 *   kept: amtool prints them so, and Alertmanager notifies once per matched route (each has its
 *   own aggregation group), so a receiver reached twice is notified twice.
 *
 * Matchers: `=` and `!=` compare strings, `=~` and `!~` match a regex anchored at both ends
 * (`^(?:re)$`, as Alertmanager compiles it); a label the alert lacks is the empty string. The
 * deprecated `regex: true` form (no `matchType`) is `=~`, `regex: false` or absent is `=`;
 * `matchType` wins when both are set, as in the operator.
 *
 * Regexes: Alertmanager uses Go's RE2 syntax, which JavaScript's RegExp reads differently in
 * places. `translateRe2` rewrites what can be rewritten exactly, for a `u` RegExp (code points,
 * as RE2 matches them): `\s` (RE2's is `[\t\n\f\r ]`, JavaScript's all Unicode spaces), `.` (RE2's
 * stops only at `\n`), `\A`, `\z`, `\a`, `\Q...\E`, `\x{...}`, octal escapes, escaped punctuation,
 * `\pL` and `\p{Greek}`, POSIX classes such as `[[:alpha:]]`, `(?P<name>...)`, a `]` first in a
 * class, literal braces, and a leading `(?i)` or `(?s)` (as flags). It refuses, as a problem and
 * not a crash, what RE2 does not compile (lookarounds, backreferences, repeat counts over 1000,
 * unknown escapes) and the RE2 constructs it does not rewrite: inline flags anywhere but at the
 * start, `(?m)`, `(?U)`, `(?-i)`, `\C`, negated POSIX classes, `\S` inside a class. A pattern
 * JavaScript does not compile after that is refused with JavaScript's reason. Not covered: the
 * 1000 limit on the product of nested counted repetitions, and `\b` under `(?i)` next to U+017F
 * or U+212A (JavaScript counts them as word characters, RE2 does not).
 *
 * Receiver names are evaluated as written in the spec. The operator prefixes the receivers of a
 * namespaced AlertmanagerConfig with `<namespace>/<name>/` (and adds a `namespace` matcher to
 * its top route); how it names those of the global configuration
 * (`spec.alertmanagerConfiguration.name` of an Alertmanager) is left to the caller.
 */
import { isRecord } from '../../framework/model.js';

/** The four operators of an Alertmanager matcher. */
export type MatchType = '=' | '!=' | '=~' | '!~';

const MATCH_TYPES: readonly string[] = ['=', '!=', '=~', '!~'];

/** A matcher as AlertmanagerConfig writes it (`matchType`, or the older `regex` flag). */
export interface RouteMatcher {
  readonly name: string;
  readonly value?: string;
  readonly matchType?: string;
  readonly regex?: boolean;
}

/**
 * A route of an AlertmanagerConfig. Child routes are untyped JSON in the CRD (and in
 * `@kubernetes-models/prometheus-operator`), so they are read as data: each must be a route object.
 */
export interface AlertRoute {
  readonly receiver?: string;
  readonly groupBy?: readonly string[];
  readonly groupWait?: string;
  readonly groupInterval?: string;
  readonly repeatInterval?: string;
  readonly matchers?: readonly RouteMatcher[];
  readonly continue?: boolean;
  readonly routes?: readonly unknown[];
  readonly muteTimeIntervals?: readonly string[];
  readonly activeTimeIntervals?: readonly string[];
}

/** An alert's labels, name to value. */
export type Labels = Readonly<Record<string, string>>;

/** One route on the way from the root to a match. */
export interface RouteStep {
  /** `route` for the root, `routes[N]` for a child. */
  readonly segment: string;
  /** The route's path in the object, e.g. `spec.route.routes[0]`. */
  readonly path: string;
  /** Its matchers as Alertmanager writes them (`severity=~"critical|warning"`); none for the root. */
  readonly matchers: readonly string[];
}

/** A matched route: where the alert stops, and who it reaches there. */
export interface RouteMatch {
  /** The matched route's path, e.g. `spec.route.routes[0].routes[1]`. */
  readonly path: string;
  /** The routes from the root to the matched one, both included. */
  readonly steps: readonly RouteStep[];
  /** The receiver it reaches (its own or inherited); undefined when unrouted. */
  readonly receiver?: string;
  /** The path of the `receiver` field that named it (the route's own, or an ancestor's). */
  readonly receiverPath?: string;
  readonly route: AlertRoute;
}

export interface RouteResult {
  /** The receivers of the matched routes, in order, duplicates kept; unrouted matches add none. */
  readonly receivers: string[];
  readonly matched: RouteMatch[];
}

/** A route that cannot be evaluated (a matcher that is not valid, a child that is not a route). */
export class RoutingError extends Error {}

/** A label argument that is not `name=value`. */
export class LabelError extends Error {}

// ---------------------------------------------------------------------------------------------
// RE2 to JavaScript

/** A RE2 pattern as a JavaScript RegExp source and flags (always used with `u`), or why not. */
export type Translation = { readonly source: string; readonly flags: string } | { readonly error: string };

/** POSIX classes (ASCII, as RE2 defines them), as the inside of a JavaScript class. */
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`\\{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

/** Unicode general categories: `\p{X}` reads the same in both; any other name is a script. */
const GENERAL_CATEGORIES = new Set(
  'C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '),
);

/** Characters a JavaScript `u` pattern lets be escaped with a backslash. */
const SYNTAX_CHARACTERS = new Set('^$\\.*+?()[]{}|/'.split(''));

const RE2_SPACE = '\\t\\n\\f\\r ';
const MAX_REPEAT = 1000;

const codePoint = (value: number) => `\\u{${value.toString(16).toUpperCase()}}`;

/** A literal character in a JavaScript `u` pattern, outside a class. */
function literal(char: string): string {
  return SYNTAX_CHARACTERS.has(char) ? `\\${char}` : char;
}

class Re2Refusal extends Error {}

/**
 * Rewrites a RE2 pattern (Go's regexp syntax, what Alertmanager compiles) as a JavaScript
 * RegExp source meaning the same, for use with the `u` flag and the returned flags; refuses what
 * RE2 does not compile and what cannot be rewritten exactly (see the module comment).
 */
export function translateRe2(pattern: string): Translation {
  try {
    return translate(pattern);
  } catch (error) {
    if (error instanceof Re2Refusal) return { error: error.message };
    throw error;
  }
}

function translate(pattern: string): { source: string; flags: string } {
  const refuse = (message: string): never => {
    throw new Re2Refusal(message);
  };
  let flags = '';
  let at = 0;
  const leading = /^\(\?([a-zA-Z-]+)\)/.exec(pattern);
  if (leading) {
    const written = leading[1] ?? '';
    if (/^[is]+$/.test(written)) flags = [...new Set(written)].join('');
    else if (written.includes('m'))
      refuse('uses the flag (?m), which this check cannot express in JavaScript: match the values without it');
    else if (written.includes('U')) {
      refuse('uses the flag (?U) (ungreedy), which JavaScript has no equivalent for: write lazy repetitions (*?, +?) instead');
    } else if (written.includes('-')) refuse(`clears flags with ${leading[0]}, which this check cannot express: leave the flags out`);
    else refuse(`uses the flags ${leading[0]}, which RE2 does not know (RE2 has i, m, s and U)`);
    at = leading[0].length;
  }
  const dotAll = flags.includes('s');
  let out = '';

  const next = () => {
    const value = pattern.codePointAt(at);
    return value === undefined ? undefined : String.fromCodePoint(value);
  };
  const rest = () => pattern.slice(at);

  /** An escape at `at` (the backslash), as JavaScript source. */
  const readEscape = (inClass: boolean): string => {
    const char = pattern.codePointAt(at + 1);
    if (char === undefined) return refuse('ends with a lone backslash: escape it as \\\\');
    const letter = String.fromCodePoint(char);
    const octal = /^\\([0-7]{1,3})/.exec(rest());
    if (letter >= '0' && letter <= '9') {
      // RE2: \0, \0N, \0NN and \NN, \NNN (N octal) are octal escapes; \1 to \9 alone would be backreferences.
      const digits = octal?.[1] ?? '';
      if (letter === '0' || digits.length >= 2) {
        at += 1 + digits.length;
        return codePoint(Number.parseInt(digits, 8));
      }
      return refuse(`uses the backreference \\${letter}, which RE2 does not support: match the repeated value explicitly`);
    }
    if (letter === 'x') {
      const braced = /^\\x\{([0-9A-Fa-f]+)\}/.exec(rest());
      const short = /^\\x([0-9A-Fa-f]{2})/.exec(rest());
      const hex = braced?.[1] ?? short?.[1];
      if (hex === undefined) return refuse('has an invalid \\x escape: write \\xHH or \\x{HHHH}');
      const value = Number.parseInt(hex, 16);
      if (value > 0x10ffff) return refuse(`has the escape \\x{${hex}}, beyond the last Unicode code point (10FFFF)`);
      at += (braced ?? short)?.[0].length ?? 0;
      return codePoint(value);
    }
    at += 1 + letter.length;
    switch (letter) {
      case 'a':
        return codePoint(7);
      case 'f':
      case 'n':
      case 'r':
      case 't':
      case 'v':
      case 'd':
      case 'D':
      // JavaScript's \w under `u` is ASCII, as RE2's; under `iu` both add the case folds of it (U+017F, U+212A).
      case 'w':
      case 'W':
        return `\\${letter}`;
      case 'b':
      case 'B':
        if (inClass) return refuse(`has \\${letter} inside a character class, which RE2 does not allow: take it out of the class`);
        return `\\${letter}`;
      case 'A':
      case 'z':
        if (inClass) return refuse(`has \\${letter} inside a character class, which RE2 does not allow: take it out of the class`);
        return letter === 'A' ? '^' : '$';
      case 's':
        return inClass ? RE2_SPACE : `[${RE2_SPACE}]`;
      case 'S':
        if (inClass) {
          return refuse(
            'has \\S inside a character class, which this check cannot rewrite exactly: use [^\\t\\n\\f\\r ] or split the class',
          );
        }
        return `[^${RE2_SPACE}]`;
      case 'p':
      case 'P':
        return unicodeClass(letter === 'P', inClass);
      case 'Q': {
        if (inClass) return refuse('has \\Q inside a character class, which RE2 does not allow: escape the characters one by one');
        const end = pattern.indexOf('\\E', at);
        const quoted = end === -1 ? pattern.slice(at) : pattern.slice(at, end);
        at = end === -1 ? pattern.length : end + 2;
        return Array.from(quoted, literal).join('');
      }
      case 'C':
        return refuse('uses \\C (any byte), which JavaScript has no equivalent for: use . instead');
      default:
        // RE2: a backslash before any ASCII punctuation or space is that character itself.
        if (char < 0x80 && !/[0-9A-Za-z]/.test(letter)) {
          if (SYNTAX_CHARACTERS.has(letter)) return `\\${letter}`;
          // A `u` pattern allows \- only inside a class; an escaped code point is a literal everywhere.
          return letter === '-' && !inClass ? '-' : codePoint(char);
        }
        return refuse(`has the escape \\${letter}, which RE2 does not know: remove the backslash, or escape a punctuation character only`);
    }
  };

  /** `\p` or `\P` (already consumed), then a one-letter name or `{Name}` / `{^Name}`. */
  const unicodeClass = (negatedByLetter: boolean, inClass: boolean): string => {
    let name: string;
    const braced = /^\{(\^?)([A-Za-z_]+)\}/.exec(rest());
    if (braced) {
      name = braced[2] ?? '';
      at += braced[0].length;
      if (braced[1] === '^') negatedByLetter = !negatedByLetter;
    } else {
      const one = next();
      if (one === undefined || !/[A-Za-z]/.test(one)) return refuse('has \\p or \\P without a class name: write \\pL or \\p{Greek}');
      name = one;
      at += 1;
    }
    if (name === 'Any') {
      if (negatedByLetter) return refuse('has \\P{Any}, which matches nothing: remove it');
      return inClass ? '\\u{0}-\\u{10FFFF}' : '[\\u{0}-\\u{10FFFF}]';
    }
    const property = GENERAL_CATEGORIES.has(name) ? name : `Script=${name}`;
    return `\\${negatedByLetter ? 'P' : 'p'}{${property}}`;
  };

  /** A character class at `at` (the `[`). */
  const characterClass = (): string => {
    let text = '[';
    at += 1;
    if (pattern[at] === '^') {
      text += '^';
      at += 1;
    }
    // RE2: a ] first in the class is a literal; in JavaScript [] is the empty class.
    if (pattern[at] === ']') {
      text += '\\]';
      at += 1;
    }
    for (;;) {
      const char = next();
      if (char === undefined) return refuse('has a character class without its closing ]: add it, or escape the [ as \\[');
      if (char === ']') {
        at += 1;
        return `${text}]`;
      }
      if (char === '[') {
        const posix = /^\[:(\^?)([a-z]+):\]/.exec(rest());
        if (posix) {
          const range = POSIX_CLASSES[posix[2] ?? ''];
          if (range === undefined) return refuse(`uses the POSIX class ${posix[0]}, which RE2 does not know`);
          if (posix[1] === '^')
            return refuse(`uses the negated POSIX class ${posix[0]}, which this check cannot rewrite: use [^...] instead`);
          text += range;
          at += posix[0].length;
          continue;
        }
        text += '\\[';
        at += 1;
        continue;
      }
      if (char === '\\') {
        text += readEscape(true);
        continue;
      }
      text += char;
      at += char.length;
    }
  };

  /** A group opening at `at` (the `(`). */
  const group = (): string => {
    const text = rest();
    if (!text.startsWith('(?')) {
      at += 1;
      return '(';
    }
    if (text.startsWith('(?:')) {
      at += 3;
      return '(?:';
    }
    if (text.startsWith('(?=') || text.startsWith('(?!')) {
      return refuse(
        `uses a lookahead ${text.slice(0, 3)}...), which RE2 does not support: match the wanted values themselves, or use a !~ matcher`,
      );
    }
    if (text.startsWith('(?<=') || text.startsWith('(?<!')) {
      return refuse(
        `uses a lookbehind ${text.slice(0, 4)}...), which RE2 does not support: match the wanted values themselves, or use a !~ matcher`,
      );
    }
    if (text.startsWith('(?P=') || text.startsWith('(?P>')) {
      return refuse('uses a named backreference (?P=...), which RE2 does not support: match the repeated value explicitly');
    }
    const named = /^\(\?P?<([^>]*)>/.exec(text);
    if (named) {
      const name = named[1] ?? '';
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        return refuse(
          `has the group name "${name}", which is not a name both RE2 and this check accept (letters, digits, _; not a digit first)`,
        );
      }
      at += named[0].length;
      return `(?<${name}>`;
    }
    if (/^\(\?[a-zA-Z-]*[:)]/.test(text)) {
      return refuse(
        `uses inline flags ${/^\(\?[a-zA-Z-]*[:)]/.exec(text)?.[0]} inside the pattern, which this check supports only as a leading (?i) or (?s): put the flag first, or spell the cases out ([Cc]ritical)`,
      );
    }
    return refuse(`has the group syntax ${text.slice(0, 3)}, which RE2 does not know`);
  };

  while (at < pattern.length) {
    const char = next() as string;
    if (char === '\\') {
      out += readEscape(false);
      continue;
    }
    if (char === '(') {
      out += group();
      continue;
    }
    if (char === '[') {
      out += characterClass();
      continue;
    }
    if (char === '{') {
      // RE2: {n}, {n,} and {n,m} repeat (at most 1000); any other brace is a literal.
      const repeat = /^\{(\d+)(,(\d*))?\}/.exec(rest());
      if (!repeat) {
        out += '\\{';
        at += 1;
        continue;
      }
      const min = Number(repeat[1]);
      const max = repeat[3] === undefined || repeat[3] === '' ? undefined : Number(repeat[3]);
      if (min > MAX_REPEAT || (max ?? 0) > MAX_REPEAT) {
        refuse(`repeats ${repeat[0]}, more than RE2's limit of ${MAX_REPEAT}: use a smaller count, or + or *`);
      }
      if (max !== undefined && max < min) refuse(`has the repeat ${repeat[0]}, whose maximum is below its minimum: swap them`);
      out += repeat[0];
      at += repeat[0].length;
      continue;
    }
    at += char.length;
    if (char === '.') out += dotAll ? '.' : '[^\\n]';
    else if (char === '}' || char === ']') out += `\\${char}`;
    else out += char;
  }
  return { source: out, flags };
}

// ---------------------------------------------------------------------------------------------
// Matchers

interface CompiledMatcher {
  readonly name: string;
  readonly type: MatchType;
  readonly value: string;
  readonly regex?: RegExp;
  /** As Alertmanager writes it: `severity=~"critical|warning"`. */
  readonly text: string;
}

const compiledRegexes = new Map<string, RegExp | { readonly error: string }>();

/** A matcher value as Alertmanager compiles it (`^(?:value)$`), or why it cannot be used here. */
function anchoredRegex(value: string): RegExp | { readonly error: string } {
  const known = compiledRegexes.get(value);
  if (known !== undefined) return known;
  let compiled: RegExp | { readonly error: string };
  const translated = translateRe2(value);
  if ('error' in translated) compiled = translated;
  else {
    try {
      compiled = new RegExp(`^(?:${translated.source})$`, `u${translated.flags}`);
    } catch (error) {
      const reason = error instanceof Error ? (error.message.split(': ').at(-1) ?? error.message) : String(error);
      compiled = { error: `does not compile (${reason.toLowerCase()}): fix the pattern` };
    }
  }
  compiledRegexes.set(value, compiled);
  return compiled;
}

/** A matcher of the spec, compiled, or the one-line problem with it (at `path`). */
function compileMatcher(raw: unknown, path: string): CompiledMatcher | { readonly problem: string } {
  if (!isRecord(raw)) return { problem: `${path}: is not a matcher (an object with name, value and matchType)` };
  const { name, value = '', matchType, regex } = raw;
  if (typeof name !== 'string' || name === '') return { problem: `${path}.name: missing: name the label the matcher tests` };
  if (typeof value !== 'string') return { problem: `${path}.value: is not a string: quote the value` };
  if (regex !== undefined && typeof regex !== 'boolean') return { problem: `${path}.regex: is not true or false` };
  let type: MatchType;
  if (matchType === undefined || matchType === '') type = regex === true ? '=~' : '=';
  else if (typeof matchType === 'string' && MATCH_TYPES.includes(matchType)) type = matchType as MatchType;
  else return { problem: `${path}.matchType: ${JSON.stringify(matchType)} is not a match type: use one of =, !=, =~, !~` };
  const text = `${name}${type}${JSON.stringify(value)}`;
  if (type === '=' || type === '!=') return { name, type, value, text };
  const compiled = anchoredRegex(value);
  if ('error' in compiled) return { problem: `${path}.value: the regex ${JSON.stringify(value)} ${compiled.error}` };
  return { name, type, value, regex: compiled, text };
}

function matches(matcher: CompiledMatcher, labels: Labels): boolean {
  const value = Object.hasOwn(labels, matcher.name) ? (labels[matcher.name] as string) : '';
  switch (matcher.type) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return matcher.regex?.test(value) ?? false;
    case '!~':
      return !(matcher.regex?.test(value) ?? false);
  }
}

/** A route's matchers, compiled; throws a RoutingError on the first that cannot be used. */
function routeMatchers(route: Record<string, unknown>, path: string): CompiledMatcher[] {
  const { matchers } = route;
  if (matchers === undefined) return [];
  if (!Array.isArray(matchers)) throw new RoutingError(`${path}.matchers: is not a list of matchers`);
  return matchers.map((raw, index) => {
    const compiled = compileMatcher(raw, `${path}.matchers[${index}]`);
    if ('problem' in compiled) throw new RoutingError(compiled.problem);
    return compiled;
  });
}

// ---------------------------------------------------------------------------------------------
// Routing

export interface RouteOptions {
  /** The root route's path, for the paths of the result. @default 'spec.route' */
  readonly path?: string;
}

/**
 * The routes an alert with these labels matches, and the receivers it reaches (see the module
 * comment for the semantics). Throws a RoutingError when a route on the way cannot be evaluated
 * (`routingProblems` lists every such problem beforehand).
 */
export function routeAlert(route: AlertRoute, labels: Labels, options: RouteOptions = {}): RouteResult {
  const rootPath = options.path ?? 'spec.route';
  type Named = { readonly name: string; readonly path: string } | undefined;
  const visit = (node: Record<string, unknown>, path: string, segment: string, before: readonly RouteStep[], inherited: Named) => {
    const root = before.length === 0;
    // The root matches every alert.
    const compiled = root ? [] : routeMatchers(node, path);
    if (!compiled.every((matcher) => matches(matcher, labels))) return undefined;
    const steps = [...before, { segment, path, matchers: compiled.map((matcher) => matcher.text) }];
    const receiver: Named =
      typeof node.receiver === 'string' && node.receiver !== '' ? { name: node.receiver, path: `${path}.receiver` } : inherited;
    const children = node.routes ?? [];
    if (!Array.isArray(children)) throw new RoutingError(`${path}.routes: is not a list of routes`);
    const found: RouteMatch[] = [];
    for (const [index, child] of children.entries()) {
      const childPath = `${path}.routes[${index}]`;
      if (!isRecord(child)) throw new RoutingError(`${childPath}: is not a route (an object)`);
      const matched = visit(child, childPath, `routes[${index}]`, steps, receiver);
      if (matched === undefined) continue;
      found.push(...matched);
      if (child.continue !== true) break;
    }
    if (found.length === 0) {
      found.push({ path, steps, receiver: receiver?.name, receiverPath: receiver?.path, route: node as AlertRoute });
    }
    return found;
  };
  const matched = visit(route as Record<string, unknown>, rootPath, 'route', [], undefined) ?? [];
  return { receivers: matched.flatMap((match) => (match.receiver === undefined ? [] : [match.receiver])), matched };
}

/** A match as one line: `route → routes[0] (severity=~"critical|warning") → receiver discord-and-matrix`. */
export function describeMatch(match: RouteMatch): string {
  const steps = match.steps.map((step) => (step.matchers.length === 0 ? step.segment : `${step.segment} (${step.matchers.join(', ')})`));
  const rootPath = match.steps[0]?.path ?? '';
  let end: string;
  if (match.receiver === undefined) end = 'no receiver (the tree has no default)';
  else if (match.receiverPath === `${match.path}.receiver`) end = `receiver ${match.receiver}`;
  else {
    const from = `route${(match.receiverPath ?? '').slice(rootPath.length).replace(/\.receiver$/, '')}`;
    end = `receiver ${match.receiver} (inherited from ${from})`;
  }
  return [...steps, end].join(' → ');
}

/** A label set as Prometheus writes it: `{alertname="X", severity="critical"}`, names sorted. */
export function formatLabels(labels: Labels): string {
  const names = Object.keys(labels).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${names.map((name) => `${name}=${JSON.stringify(labels[name])}`).join(', ')}}`;
}

/**
 * Labels from `name=value` arguments (the value may hold `=`, and may be empty). Throws a
 * LabelError naming the argument when one has no `=`, a name that is not a Prometheus label
 * name, or a name given twice.
 */
export function parseLabels(args: readonly string[]): Record<string, string> {
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  for (const arg of args) {
    const equals = arg.indexOf('=');
    if (equals === -1) throw new LabelError(`"${arg}" is not a label: write it as name=value (severity=critical)`);
    const name = arg.slice(0, equals);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new LabelError(
        name === ''
          ? `"${arg}" has no label name before the =: write it as name=value`
          : `"${name}" (in "${arg}") is not a label name: letters, digits and _, not a digit first`,
      );
    }
    if (seen.has(name)) throw new LabelError(`the label ${name} is given twice: an alert has one value per label`);
    seen.add(name);
    entries.push([name, arg.slice(equals + 1)]);
  }
  // fromEntries defines own properties, so even __proto__ is a label like any other.
  return Object.fromEntries(entries);
}

// ---------------------------------------------------------------------------------------------
// Validation

/** A problem of a configuration's routing: `path: message`. */
export interface RoutingProblem {
  /** `no-default`: the root route names no receiver; every other problem is an `error`. */
  readonly kind: 'no-default' | 'error';
  /** One line: the field's path, what is wrong, how to fix it. */
  readonly message: string;
}

const list = (names: Iterable<string>) => [...names].map((name) => `"${name}"`).join(', ');

/**
 * What is wrong with the routing of an AlertmanagerConfig spec: receivers named by routes but
 * not defined, receivers defined twice, a root route without a receiver (the tree has no
 * default) or with matchers, `continue` or time intervals (Alertmanager refuses them there),
 * matchers that are not valid (or whose regexes cannot be evaluated here), references to time
 * intervals not defined, and inhibit rules whose matchers or `equal` are not valid.
 */
export function checkRouting(spec: unknown): RoutingProblem[] {
  const problems: RoutingProblem[] = [];
  const error = (message: string) => problems.push({ kind: 'error', message });
  if (!isRecord(spec)) {
    error('spec: is not an object: give the AlertmanagerConfig a spec with route and receivers');
    return problems;
  }
  const receivers = new Map<string, string>();
  if (spec.receivers !== undefined && !Array.isArray(spec.receivers)) error('spec.receivers: is not a list of receivers');
  for (const [index, receiver] of (Array.isArray(spec.receivers) ? spec.receivers : []).entries()) {
    const path = `spec.receivers[${index}]`;
    if (!isRecord(receiver)) {
      error(`${path}: is not a receiver (an object with a name)`);
      continue;
    }
    if (typeof receiver.name !== 'string' || receiver.name === '') {
      error(`${path}.name: missing: give the receiver a name routes can refer to`);
      continue;
    }
    const first = receivers.get(receiver.name);
    if (first !== undefined) {
      error(
        `${path}.name: "${receiver.name}" is also the name of ${first}: receiver names must be unique (rename one, or merge their integrations)`,
      );
      continue;
    }
    receivers.set(receiver.name, path);
  }
  const intervals = new Set<string>();
  for (const interval of Array.isArray(spec.muteTimeIntervals) ? spec.muteTimeIntervals : []) {
    if (isRecord(interval) && typeof interval.name === 'string') intervals.add(interval.name);
  }
  const matcherList = (value: unknown, path: string) => {
    if (value === undefined) return;
    if (!Array.isArray(value)) {
      error(`${path}: is not a list of matchers`);
      return;
    }
    for (const [index, raw] of value.entries()) {
      const compiled = compileMatcher(raw, `${path}[${index}]`);
      if ('problem' in compiled) error(compiled.problem);
    }
  };
  const intervalList = (value: unknown, path: string) => {
    if (value === undefined) return;
    if (!Array.isArray(value)) {
      error(`${path}: is not a list of time interval names`);
      return;
    }
    for (const [index, name] of value.entries()) {
      if (typeof name !== 'string' || !intervals.has(name)) {
        error(
          `${path}[${index}]: names the time interval ${JSON.stringify(name)}, which spec.muteTimeIntervals does not define: define it there, or remove the reference`,
        );
      }
    }
  };
  const walk = (route: unknown, path: string, root: boolean) => {
    if (!isRecord(route)) {
      error(`${path}: is not a route (an object)`);
      return;
    }
    const { receiver } = route;
    if (receiver !== undefined && typeof receiver !== 'string')
      error(`${path}.receiver: is not a string: name a receiver of spec.receivers`);
    else if (receiver !== undefined && receiver !== '' && !receivers.has(receiver)) {
      const known = receivers.size === 0 ? 'spec.receivers defines none' : `spec.receivers defines ${list(receivers.keys())}`;
      error(
        `${path}.receiver: names the receiver "${receiver}", which spec.receivers does not define (${known}): add it there, or name one of those`,
      );
    } else if (root && (receiver === undefined || receiver === '')) {
      problems.push({
        kind: 'no-default',
        message: `${path}.receiver: the root route names no receiver, so the tree has no default: an alert no child route sends elsewhere reaches no one (and Alertmanager refuses a root route without one): name a default receiver (one without integrations drops alerts on purpose)`,
      });
    }
    if (root) {
      if (Array.isArray(route.matchers) && route.matchers.length > 0) {
        error(`${path}.matchers: the root route matches every alert, and Alertmanager refuses matchers on it: move them to a child route`);
      }
      if (route.continue === true)
        error(`${path}.continue: Alertmanager refuses continue on the root route (it has no siblings): remove it`);
      for (const field of ['muteTimeIntervals', 'activeTimeIntervals']) {
        const value = route[field];
        if (Array.isArray(value) && value.length > 0) {
          error(`${path}.${field}: Alertmanager refuses time intervals on the root route: move them to the child routes they are for`);
        }
      }
    } else {
      matcherList(route.matchers, `${path}.matchers`);
      if (route.continue !== undefined && typeof route.continue !== 'boolean') error(`${path}.continue: is not true or false`);
      intervalList(route.muteTimeIntervals, `${path}.muteTimeIntervals`);
      intervalList(route.activeTimeIntervals, `${path}.activeTimeIntervals`);
    }
    if (route.routes === undefined) return;
    if (!Array.isArray(route.routes)) {
      error(`${path}.routes: is not a list of routes`);
      return;
    }
    for (const [index, child] of route.routes.entries()) walk(child, `${path}.routes[${index}]`, false);
  };
  if (spec.route === undefined) error('spec.route: missing: add a route naming the default receiver');
  else walk(spec.route, 'spec.route', true);
  if (spec.inhibitRules !== undefined && !Array.isArray(spec.inhibitRules)) error('spec.inhibitRules: is not a list of inhibit rules');
  for (const [index, rule] of (Array.isArray(spec.inhibitRules) ? spec.inhibitRules : []).entries()) {
    const path = `spec.inhibitRules[${index}]`;
    if (!isRecord(rule)) {
      error(`${path}: is not an inhibit rule (an object with sourceMatch, targetMatch and equal)`);
      continue;
    }
    matcherList(rule.sourceMatch, `${path}.sourceMatch`);
    matcherList(rule.targetMatch, `${path}.targetMatch`);
    if (rule.equal !== undefined && (!Array.isArray(rule.equal) || rule.equal.some((name) => typeof name !== 'string' || name === ''))) {
      error(`${path}.equal: is not a list of label names`);
    }
  }
  return problems;
}

/** `checkRouting`'s problems as one line each: path, what is wrong, how to fix it. */
export function routingProblems(spec: unknown): string[] {
  return checkRouting(spec).map((problem) => problem.message);
}
