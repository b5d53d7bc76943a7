/**
 * Encrypts a plaintext manifest into a sops file, for the recipients of the `.sops.yaml`
 * creation rule that matches the OUTPUT path: with sops itself when it is on PATH (3.9 or
 * newer, or SOPS_BINARY), else with the project's in-process writer, which does what
 * `sops encrypt` does for age recipients (docs/secrets.md).
 *
 *   npm run encrypt -- [--force] [--config .sops.yaml] <plain.yaml> <out.sops.yaml>
 *
 * `.sops.yaml` is looked up from the current directory upwards, like sops does, unless --config
 * names it; the rule is matched against the output path relative to that file's directory.
 * An existing output file is never overwritten without --force (re-encrypting makes a new data
 * key and new ciphertexts, so it shows as a full change in git; edit with `sops <file>` instead).
 * The in-process writer supports age recipients only: a rule that also names PGP, KMS or other
 * keys is refused unless sops is installed.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { isEntryPoint } from '../pipeline/entry-point.js';
import { matchCreationRule, parseSopsConfig } from '../pipeline/sops/config.js';
import { chooseSopsWriter } from '../pipeline/sops/writer.js';
import { exitWith, projectContext, type ToolContext } from './project.js';

const USAGE = 'usage: npm run encrypt -- [--force] [--config <.sops.yaml>] <plain.yaml> <out.sops.yaml>';

class CliError extends Error {}

/** Like sops: the nearest `.sops.yaml` in the directory or one of its parents. */
export function findSopsConfig(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, '.sops.yaml');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[], env: ToolContext): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (error) {
    env.io.err(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    env.io.err(USAGE);
    return 0;
  }
  try {
    await run(parsed, env);
    return 0;
  } catch (error) {
    env.io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

function parseCli(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      force: { type: 'boolean', default: false },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return { help: true as const };
  const [input, output] = positionals;
  if (positionals.length !== 2 || input === undefined || output === undefined) {
    throw new CliError('expected two arguments: the plaintext file and the encrypted file to write');
  }
  return { help: false as const, input, output, force: values.force === true, config: values.config };
}

async function run(args: { input: string; output: string; force: boolean; config?: string | undefined }, env: ToolContext): Promise<void> {
  const cwd = env.cwd ?? process.cwd();
  const input = resolve(cwd, args.input);
  const output = resolve(cwd, args.output);
  const configPath = args.config !== undefined ? resolve(cwd, args.config) : findSopsConfig(cwd);
  if (configPath === undefined || !existsSync(configPath)) {
    throw new CliError(`no .sops.yaml found (looked in ${cwd} and its parents); pass --config`);
  }
  const config = parseSopsConfig(readFileSync(configPath, 'utf8'), configPath);

  // sops compares the path relative to the directory holding .sops.yaml (absolute when outside it).
  const configDir = realpathSync(dirname(configPath));
  const outputDir = existsSync(dirname(output)) ? realpathSync(dirname(output)) : dirname(output);
  const outputReal = join(outputDir, basename(output));
  const rel = relative(configDir, outputReal);
  const matchPath = (rel.startsWith('..') || isAbsolute(rel) ? outputReal : rel).split(sep).join('/');
  const rule = matchCreationRule(config, matchPath);
  if (!rule) throw new CliError(`no creation rule in ${configPath} matches ${matchPath}`);
  const where = `creation rule #${rule.index} of ${configPath}`;

  if (!existsSync(input)) throw new CliError(`${args.input} does not exist`);
  if (existsSync(output) && !args.force) {
    throw new CliError(`${args.output} exists; refusing to overwrite it (pass --force, or edit it with "sops ${args.output}")`);
  }
  const writer = env.writer ?? chooseSopsWriter();
  const encrypted = await writer.encrypt(readFileSync(input, 'utf8'), { path: output, configFile: configPath, rule, now: env.now });
  mkdirSync(dirname(output), { recursive: true });
  writeFileSync(output, encrypted, { encoding: 'utf8', mode: 0o644, flag: args.force ? 'w' : 'wx' });
  env.io.err(`encrypted ${args.input} -> ${args.output} with ${writer.description} (${where}, matched ${matchPath})`);
  if (input !== output) env.io.err(`remember to delete the plaintext ${args.input}; it must never be committed`);
}

if (isEntryPoint(import.meta.url)) {
  exitWith(main(process.argv.slice(2), projectContext));
}
