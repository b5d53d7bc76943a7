import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { collapseRepeats, foldPerFile, formatProblem } from '../../framework/model.js';
import type { CommandContext } from '../commands.js';
import { SchemaRegistry } from '../schemas.js';
import { synthesize } from '../synth.js';
import { NO_WATCHDOG, startWatchdog, stepTimeout } from '../watchdog.js';
import { compareDists } from './compare.js';
import { DANGER_RULE_IDS, DANGER_RULES, findDangers } from './dangers.js';
import { type DiffFormat, formatJson, formatMarkdown, formatText } from './format.js';
import { type DistTree, GitError, gitTree, renderedTree } from './trees.js';

const USAGE = `usage: npm run diff [-- --base REF [--head REF]] [--format text|markdown|json] [--allow RULE]... [--verbose]

Shows what a change does to the cluster, object by object, and flags the dangerous changes.

  (no option)      render the working tree and compare it with the dist/ committed at HEAD
  --base REF       compare with the dist/ committed at REF instead of HEAD
  --head REF       compare with the dist/ committed at REF instead of rendering (needs --base)
  --format F       text (default; coloured on a terminal unless NO_COLOR is set), markdown
                   (a merge request note, cut at --max-chars), json (for tools)
  --allow RULE     accept the dangers of one rule on purpose (repeatable); --rules lists them
  --json FILE      also write the JSON report to FILE (one render for two formats)
  --verbose        also the line diff of each changed object's YAML
  --max-chars N    the markdown output's size cap (default 100000)
  --rules          list the danger rules and what each guards against
  --root DIR       project root (default: this project)

Exit 0 when no change is dangerous (changed or not), 1 when one is (and not allowed),
2 on a usage error, an unknown ref, or a render that fails.`;

const FORMATS: readonly DiffFormat[] = ['text', 'markdown', 'json'];
const STEP_TIMEOUT_SECONDS = 120;

export async function runDiff(argv: readonly string[], context: CommandContext): Promise<number> {
  const { io } = context;
  const usage = (message: string) => {
    io.err(`diff: ${message}`);
    io.err(USAGE);
    return 2;
  };
  let values: {
    base?: string;
    head?: string;
    format?: string;
    allow?: string[];
    verbose?: boolean;
    json?: string;
    'max-chars'?: string;
    rules?: boolean;
    root?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        base: { type: 'string' },
        head: { type: 'string' },
        format: { type: 'string' },
        allow: { type: 'string', multiple: true },
        verbose: { type: 'boolean', short: 'v' },
        json: { type: 'string' },
        'max-chars': { type: 'string' },
        rules: { type: 'boolean' },
        root: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    return usage(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (values.rules) {
    for (const rule of DANGER_RULES) io.out(`${rule.id}: ${rule.reason}`);
    return 0;
  }
  const format = (values.format ?? 'text') as DiffFormat;
  if (!FORMATS.includes(format)) return usage(`--format must be one of ${FORMATS.join(', ')}, not '${values.format}'`);
  if (values.json === '') return usage('--json needs a file name');
  if (values.head !== undefined && values.base === undefined) return usage('--head needs --base (the dist/ to compare it with)');
  for (const [option, value] of [
    ['--base', values.base],
    ['--head', values.head],
  ] as const) {
    if (value === '') return usage(`${option} needs a git ref (a branch, tag or commit); an empty variable gave none`);
  }
  const maxChars = values['max-chars'] === undefined ? 100_000 : Number(values['max-chars']);
  if (!Number.isInteger(maxChars) || maxChars < 1000)
    return usage(`--max-chars must be a whole number of at least 1000, not '${values['max-chars']}'`);
  const allow = new Set<string>();
  for (const entry of (values.allow ?? []).flatMap((value) => value.split(/[\s,]+/)).filter((value) => value !== '')) {
    if (!DANGER_RULE_IDS.has(entry)) return usage(`--allow ${entry}: no danger rule has that id (npm run diff -- --rules lists them)`);
    allow.add(entry);
  }
  const env = context.env ?? process.env;
  const root = values.root ? resolve(context.cwd ?? process.cwd(), values.root) : context.root;

  let base: DistTree;
  let head: DistTree;
  try {
    base = gitTree(root, values.base ?? 'HEAD');
    head = values.head !== undefined ? gitTree(root, values.head) : renderedTree(new Map(), '');
  } catch (error) {
    if (error instanceof GitError) {
      io.err(`diff: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (values.head === undefined) {
    let watchdog = NO_WATCHDOG;
    if (context.watch) {
      const limit = stepTimeout(env.SYNTH_STEP_TIMEOUT, STEP_TIMEOUT_SECONDS);
      if (typeof limit !== 'number') {
        io.err(`diff: ${limit.error}`);
        return 2;
      }
      watchdog = startWatchdog('diff', limit);
    }
    const result = await synthesize({ root, registry: new SchemaRegistry(context.kinds), watchdog });
    watchdog.stop();
    if (result.problems.length > 0) {
      const distinct = foldPerFile(collapseRepeats(result.problems));
      for (const problem of distinct) io.err(formatProblem(problem));
      io.err(
        `diff: the working tree does not render (${distinct.length} problem${distinct.length === 1 ? '' : 's'}): fix them, then run the diff again`,
      );
      return 2;
    }
    head = renderedTree(result.files, 'the working tree (rendered)');
  }
  const diff = compareDists(base, head);
  const dangers = findDangers(diff, allow);
  if (diff.problems.length > 0) {
    for (const problem of diff.problems) io.err(`diff: ${problem}`);
    io.err(
      `diff: dist/ at ${diff.head} cannot be read as ArgoCD would read it (${diff.problems.length === 1 ? '1 problem' : `${diff.problems.length} problems`}), so what a sync does cannot be said: fix them (npm run synth writes a readable dist/)`,
    );
    return 2;
  }
  // A broken base does not block the review of the change that mends it.
  for (const warning of diff.warnings) io.err(`diff: warning: ${warning} (the base; compared as far as it reads)`);
  const colour = format === 'text' && context.terminal === true && (env.NO_COLOR ?? '') === '';
  const options = { colour, verbose: values.verbose ?? false, maxChars };
  if (values.json !== undefined) {
    try {
      writeFileSync(resolve(context.cwd ?? process.cwd(), values.json), `${formatJson(diff, dangers)}\n`);
    } catch (error) {
      io.err(`diff: cannot write the JSON report to ${values.json}: ${error instanceof Error ? error.message : String(error)}`);
      return 2;
    }
  }
  io.out(
    format === 'json'
      ? formatJson(diff, dangers)
      : format === 'markdown'
        ? formatMarkdown(diff, dangers, options)
        : formatText(diff, dangers, options),
  );
  return dangers.some((danger) => !danger.allowed) ? 1 : 0;
}
