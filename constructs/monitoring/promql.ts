import { parser } from '@prometheus-io/lezer-promql';

/** One thing wrong with a PromQL expression: its place (offsets into the expression) and what it is. */
export interface PromqlError {
  readonly from: number;
  readonly to: number;
  /** One line: what is wrong, where (column, and line when the expression has several), and an excerpt. */
  readonly message: string;
}

type Node = ReturnType<typeof parser.parse>['topNode'];

/**
 * Every problem the Prometheus project's own PromQL grammar finds in `expr`, in order; none for a
 * valid expression. The grammar is error-tolerant (it marks what it cannot read instead of
 * throwing), so each error mark becomes one problem. An expression that reads cleanly is then held
 * to the checks the Prometheus parser makes beyond the grammar that are certain without knowing
 * the types: closed strings with known escapes, the argument count of aggregations, ranges only
 * on selectors, and selectors that cannot match every series.
 *
 * Not caught (Prometheus refuses them when it loads the rule): argument types and counts of
 * functions (`rate(x)`), operand types of operators, invalid regular expressions, and whether a
 * duration is positive. The grammar has no duration expressions (`x[5m+1m]`, `offset (1h*2)`,
 * behind Prometheus's `promql-duration-expr` feature flag): they are reported as errors.
 */
export function promqlErrors(expr: string): PromqlError[] {
  if (expr.split('\n').every((line) => line.trim() === '' || line.trim().startsWith('#'))) {
    return [{ from: 0, to: expr.length, message: 'the expression is empty' }];
  }
  const top = parser.parse(expr).topNode;
  const errors: PromqlError[] = [];
  walk(top, (node) => {
    if (node.type.isError) errors.push(syntaxError(expr, node));
  });
  if (errors.length > 0) return errors;
  walk(top, (node) => {
    const found = semanticError(expr, node);
    if (found) errors.push(found);
  });
  return errors;
}

function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (let child = node.firstChild; child; child = child.nextSibling) walk(child, visit);
}

function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let child = node.firstChild; child; child = child.nextSibling) if (child.name !== 'LineComment') out.push(child);
  return out;
}

/** `column 5`, or `line 2, column 5` in an expression of several lines (both from 1). */
function place(expr: string, offset: number): string {
  const before = expr.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - (before.lastIndexOf('\n') + 1) + 1;
  return expr.includes('\n') ? `line ${line}, column ${column}` : `column ${column}`;
}

/** A short piece of the expression around `from`..`to`, on one line, in backquotes. */
function excerpt(expr: string, from: number, to: number): string {
  const start = Math.max(0, from - 20);
  const end = Math.min(expr.length, Math.min(Math.max(to, from), from + 40) + 20);
  const text = expr.slice(start, end).replace(/\s+/g, ' ').trim();
  return `\`${start > 0 ? '…' : ''}${text}${end < expr.length ? '…' : ''}\``;
}

/** One token: a name, a number or duration, a string (closed or not), a two-character operator, or one character. */
const TOKEN = /^(?:[A-Za-z_:][\w:]*|[\d.][\w.]*|"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|`[^`]*`?|=~|!~|[=!<>]=|[<>]\/|\S)/;

/** The token starting at `offset`, as far as a reader needs it named. */
function tokenAt(expr: string, offset: number): string {
  return TOKEN.exec(expr.slice(offset))?.[0] ?? '';
}

/** A token as a message names it: in backquotes, cut when long. */
function quoted(token: string): string {
  return `\`${token.length > 24 ? `${token.slice(0, 24)}…` : token}\``;
}

/** The end of the expression's text, before trailing blanks and comments. */
function textEnd(expr: string): number {
  const lines = expr.split('\n');
  while (lines.length > 0 && /^\s*(#.*)?$/.test(lines[lines.length - 1] ?? '')) lines.pop();
  return lines.join('\n').replace(/\s+$/, '').length;
}

/**
 * What is still open at `offset`: the brackets, innermost last, and the string if one is (its
 * offset). Comments are skipped; a quoted string ends at a newline, as the grammar reads it.
 */
function openAt(expr: string, offset: number): { brackets: { char: string; at: number }[]; string?: number } {
  const brackets: { char: string; at: number }[] = [];
  const closing: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (let i = 0; i < offset; i++) {
    const char = expr[i] ?? '';
    if (char === '#') {
      while (i < offset && expr[i] !== '\n') i++;
    } else if (char === '"' || char === "'" || char === '`') {
      const start = i;
      for (i++; i < offset && expr[i] !== char && (char === '`' || expr[i] !== '\n'); i++) if (expr[i] === '\\' && char !== '`') i++;
      if (i >= offset) return { brackets, string: start };
    } else if (char === '(' || char === '[' || char === '{') {
      brackets.push({ char, at: i });
    } else if (closing[char] !== undefined && brackets[brackets.length - 1]?.char === closing[char]) {
      brackets.pop();
    }
  }
  return { brackets };
}

function syntaxError(expr: string, node: Node): PromqlError {
  const skipped = /^\s*/.exec(expr.slice(node.from))?.[0].length ?? 0;
  const at = node.from === node.to ? node.from + skipped : node.from;
  if (at >= textEnd(expr)) {
    const end = textEnd(expr);
    const open = openAt(expr, end);
    const innermost = open.brackets[open.brackets.length - 1];
    const unclosed =
      open.string !== undefined
        ? ` (the string at ${place(expr, open.string)} is not closed)`
        : innermost
          ? ` (\`${innermost.char}\` at ${place(expr, innermost.at)} is not closed)`
          : '';
    return { from: end, to: end, message: `expression ends early at ${place(expr, end)}${unclosed} in ${excerpt(expr, end, end)}` };
  }
  const token = tokenAt(expr, at) || expr.slice(node.from, node.to);
  return {
    from: at,
    to: Math.max(node.to, at + token.length),
    message: `unexpected ${quoted(token)} at ${place(expr, at)} in ${excerpt(expr, at, at + token.length)}${hint(expr, node, token)}`,
  };
}

/** What an error most likely means, where its place in the tree says so (a clause to end the message). */
function hint(expr: string, node: Node, token: string): string {
  const parent = node.parent;
  const before = node.prevSibling;
  if (token === '(' && parent?.name === 'VectorSelector' && before?.name === 'Identifier') {
    return `: PromQL has no function or aggregation named ${quoted(expr.slice(before.from, before.to))}`;
  }
  if (parent?.name === 'UnquotedLabelMatcher' || parent?.name === 'QuotedLabelMatcher') return ': a label value is a quoted string';
  if (parent?.name === 'AggregateModifier') return ': grouping labels go in parentheses, as in `by (job)`';
  return '';
}

const TWO_ARGUMENTS = new Set(['Topk', 'Bottomk', 'Quantile', 'CountValues', 'LimitK', 'LimitRatio']);

function semanticError(expr: string, node: Node): PromqlError | undefined {
  const text = (from: number, to: number) => expr.slice(from, to);
  switch (node.name) {
    case 'StringLiteral':
      return stringError(expr, node);
    case 'AggregateExpr': {
      const op = node.getChild('AggregateOp');
      const body = node.getChild('FunctionCallBody');
      if (!op || !body) return undefined;
      const expected = TWO_ARGUMENTS.has(op.firstChild?.name ?? '') ? 2 : 1;
      const count = children(body).length;
      if (count === expected) return undefined;
      const name = text(op.from, op.to);
      const wants = expected === 2 ? 'a parameter and an expression' : 'one expression';
      return {
        from: node.from,
        to: node.to,
        message: `\`${name}\` takes ${wants}, not ${count} argument${count === 1 ? '' : 's'}, at ${place(expr, node.from)} in ${excerpt(expr, node.from, node.to)}`,
      };
    }
    case 'MatrixSelector': {
      const inner = node.firstChild;
      if (!inner || inner.name === 'VectorSelector') return undefined;
      const range = expr.indexOf('[', inner.to);
      return {
        from: range,
        to: node.to,
        message: `a range applies only to a metric selector, not to \`${text(inner.from, inner.to).replace(/\s+/g, ' ')}\`, at ${place(expr, range)} in ${excerpt(expr, node.from, node.to)} (put the range right after the selector, as in \`x[5m] offset 1h\`, or make it a subquery, \`[5m:]\`)`,
      };
    }
    case 'VectorSelector':
      return emptySelectorError(expr, node);
    default:
      return undefined;
  }
}

/** An unclosed string or an escape the Prometheus lexer does not know. */
function stringError(expr: string, node: Node): PromqlError | undefined {
  const literal = expr.slice(node.from, node.to);
  const quote = literal[0] ?? '';
  if (quote === '`') return undefined;
  const found = readString(literal);
  if (found.value !== undefined) return undefined;
  const at = node.from + found.at;
  const message =
    found.at >= literal.length
      ? `string opened at ${place(expr, node.from)} is not closed in ${excerpt(expr, node.from, node.to)}`
      : `unknown escape \`${literal.slice(found.at, found.at + 2)}\` at ${place(expr, at)} in ${excerpt(expr, at, at + 2)} (a backslash is written \`\\\\\`, also in a regular expression)`;
  return { from: at, to: Math.min(node.to, at + 2), message };
}

const SIMPLE_ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/**
 * The value of a quoted PromQL string (`"…"` or `'…'`), or the offset of what makes it invalid
 * (its length when it is not closed). Escapes as the Prometheus lexer reads them.
 */
function readString(literal: string): { value?: string; at: number } {
  const quote = literal[0] ?? '';
  let value = '';
  for (let i = 1; i < literal.length; i++) {
    const char = literal[i] ?? '';
    if (char === quote) return i === literal.length - 1 ? { value, at: i } : { at: i };
    if (char !== '\\') {
      value += char;
      continue;
    }
    const next = literal[i + 1] ?? '';
    const simple = next === quote ? quote : SIMPLE_ESCAPES[next];
    const octal = /[0-7]/.test(next);
    const digits = octal ? 3 : ({ x: 2, u: 4, U: 8 } as Record<string, number>)[next];
    if (simple !== undefined) {
      value += simple;
      i++;
    } else if (digits !== undefined) {
      const code = octal ? literal.slice(i + 1, i + 4) : literal.slice(i + 2, i + 2 + digits);
      const valid = octal ? /^[0-7]{3}$/.test(code) && Number.parseInt(code, 8) <= 255 : new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(code);
      const point = Number.parseInt(code, octal ? 8 : 16);
      if (!valid || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) return { at: i };
      value += String.fromCodePoint(point);
      i += octal ? 3 : 1 + digits;
    } else {
      return { at: i };
    }
  }
  return { at: literal.length };
}

/** Whether a label matcher matches the empty string, as far as can be told (undefined when not). */
function matchesEmpty(expr: string, matcher: Node): boolean | undefined {
  const op = matcher.getChild('MatchOp')?.firstChild?.name;
  const literal = matcher.lastChild;
  if (!op || literal?.name !== 'StringLiteral') return undefined;
  const raw = expr.slice(literal.from, literal.to);
  const value = raw.startsWith('`') ? raw.slice(1, -1) : readString(raw).value;
  if (value === undefined) return undefined;
  if (op === 'EqlSingle') return value === '';
  if (op === 'Neq') return value !== '';
  let pattern: RegExp;
  try {
    pattern = new RegExp(`^(?:${value})$`, 's');
  } catch {
    // Prometheus regular expressions are RE2: one that JavaScript cannot read is left to Prometheus.
    return undefined;
  }
  return pattern.test('') === (op === 'EqlRegex');
}

/** `{}` or `{job=~".*"}`: a selector without a metric name that every series matches; Prometheus refuses it. */
function emptySelectorError(expr: string, node: Node): PromqlError | undefined {
  if (node.getChild('Identifier')) return undefined;
  const list = node.getChild('LabelMatchers');
  if (!list) return undefined;
  const matchers = children(list);
  // A quoted name alone (`{"metric"}`) is the metric name.
  if (matchers.some((matcher) => matcher.name === 'QuotedLabelName')) return undefined;
  if (!matchers.every((matcher) => matchesEmpty(expr, matcher) === true)) return undefined;
  return {
    from: node.from,
    to: node.to,
    message: `selector at ${place(expr, node.from)} in ${excerpt(expr, node.from, node.to)} has no metric name and every matcher accepts an empty label, so it selects every series: name the metric or add a matcher that needs a value, such as job="…"`,
  };
}
