/**
 * sops is written in Go, so the regular expressions in `.sops.yaml` (`path_regex`,
 * `encrypted_regex`, ...) are RE2 patterns. For the simple patterns people write there, RE2 and
 * JavaScript agree; this translates the few RE2 spellings JavaScript lacks and rejects the rest
 * with a clear message instead of silently matching something else.
 */

const LEADING_FLAGS = /^\(\?([imsU]+)\)/;

export class GoRegexError extends Error {
  override readonly name = 'GoRegexError';
}

/**
 * Compiles an RE2 (Go `regexp`) pattern into an equivalent JavaScript RegExp.
 *
 * Handled: a leading flag group such as `(?i)`, named groups `(?P<name>...)`, `\A` and `\z`.
 * Like Go's `MatchString`, the result matches anywhere in the input unless the pattern anchors it.
 */
export function goRegExp(pattern: string): RegExp {
  let source = pattern;
  let flags = '';
  const leading = LEADING_FLAGS.exec(source);
  if (leading) {
    const wanted = leading[1] ?? '';
    if (wanted.includes('U')) {
      throw new GoRegexError(`regular expression ${JSON.stringify(pattern)}: the RE2 flag U (ungreedy) has no JavaScript equivalent`);
    }
    flags = [...new Set(wanted)].join('');
    source = source.slice(leading[0].length);
  }
  if (/\(\?[imsU-]+[:)]/.test(source)) {
    throw new GoRegexError(`regular expression ${JSON.stringify(pattern)}: inline flag groups are only supported at the very start`);
  }
  if (/\[\[:[a-z]+:\]\]/.test(source)) {
    throw new GoRegexError(`regular expression ${JSON.stringify(pattern)}: POSIX classes like [[:alpha:]] are not supported here`);
  }
  source = source.replaceAll('(?P<', '(?<').replaceAll('\\A', '(?<![\\s\\S])').replaceAll('\\z', '$(?![\\s\\S])');
  try {
    return new RegExp(source, flags);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new GoRegexError(`regular expression ${JSON.stringify(pattern)} does not compile: ${reason}`);
  }
}
