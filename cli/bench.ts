/**
 * `npm run bench`: how long synth takes, as whole processes timed from outside, each against a
 * yardstick measured in the same run (a bare `node -e 0`, `kubectl kustomize` of the same files),
 * pair by pair so that a machine whose speed drifts still gives a fair ratio. Prints each step as
 * it starts; the default run takes about two minutes, `--full` adds the long kustomize reference
 * over the largest generated cluster (kustomize grows faster than linearly: minutes at 10,000).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeGeneratedCluster } from '../pipeline/bench/generated-cluster.js';
import { listFiles } from '../pipeline/output.js';
import { stringifyData } from '../pipeline/yaml.js';
import { projectContext } from './project.js';
// @ts-expect-error: a plain JavaScript module of the launcher, without declarations.
import { REPEATED_NOTE } from './result-cache.mjs';

/** One finished run of a whole command, as the OS accounts it. */
interface Run {
  readonly seconds: number;
  /** Peak resident memory in KiB, when GNU time is available. */
  readonly maxRssKiB?: number;
  /** User plus system CPU seconds, when GNU time is available. */
  readonly cpuSeconds?: number;
  /** Milliseconds per phase, from `synth --timings`. */
  readonly phases?: ReadonlyMap<string, number>;
  /** Whether synth repeated an earlier run's result (cli/result-cache.mjs) instead of rendering. */
  readonly repeated: boolean;
}

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = existsSync(GNU_TIME);
const MARKER = '@@bench ';

function run(command: readonly string[], cwd: string, accepted: readonly number[] = [0]): Run {
  const start = performance.now();
  const result = hasGnuTime
    ? spawnSync(GNU_TIME, ['-f', `${MARKER}%e %M %U %S`, ...command], { cwd, encoding: 'utf8', maxBuffer: 1 << 30 })
    : spawnSync(command[0] as string, command.slice(1), { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (performance.now() - start) / 1000;
  if (!accepted.includes(result.status ?? -1)) throw new Error(`${command.join(' ')} failed (exit ${result.status}):\n${result.stderr}`);
  const lines = result.stderr.split('\n');
  const timings = lines.find((text) => text.startsWith('synth timings: '));
  const phases = timings
    ? new Map(
        timings
          .slice('synth timings: '.length)
          .split(', ')
          .map((part) => {
            const [name, value] = part.split(' ');
            return [name as string, Number(value) * 1000] as const;
          }),
      )
    : undefined;
  const repeated = result.stdout.includes(REPEATED_NOTE);
  const line = lines.find((text) => text.startsWith(MARKER));
  if (!line) return { seconds, repeated, ...(phases ? { phases } : {}) };
  const [, rss, user, system] = line.slice(MARKER.length).split(' ');
  return { seconds, repeated, maxRssKiB: Number(rss), cpuSeconds: Number(user) + Number(system), ...(phases ? { phases } : {}) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** `median [min–max]` of some figures, with a unit. */
function spread(values: readonly number[], digits: number, unit: string): string {
  return `${median(values).toFixed(digits)}${unit} [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`;
}

function describe(runs: readonly Run[]): string {
  const rss = runs.map((r) => r.maxRssKiB).filter((v): v is number => v !== undefined);
  const memory = rss.length > 0 ? `, peak ${(Math.max(...rss) / 1024).toFixed(0)} MiB` : '';
  const cpu = runs.map((r) => r.cpuSeconds).filter((v): v is number => v !== undefined);
  const cpuText = cpu.length > 0 ? `, CPU ${median(cpu).toFixed(2)} s` : '';
  return `${spread(
    runs.map((r) => r.seconds),
    3,
    ' s',
  )}${memory}${cpuText}`;
}

/** Median milliseconds per phase over the runs that reported phases. */
function phaseLine(runs: readonly Run[]): string {
  const names = [...new Set(runs.flatMap((r) => [...(r.phases?.keys() ?? [])]))];
  if (names.length === 0) return 'no phases reported';
  return names
    .map((name) => `${name} ${median(runs.flatMap((r) => (r.phases?.has(name) ? [r.phases.get(name) as number] : []))).toFixed(0)} ms`)
    .join(', ');
}

/** A and B in turn, `runs` times after one warm-up of each; the ratios are A/B pair by pair. */
function paired(a: readonly string[], b: readonly string[], runs: number, cwd: string, accepted: readonly number[] = [0]) {
  run(a, cwd, accepted);
  run(b, cwd);
  const ours: Run[] = [];
  const theirs: Run[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const x = run(a, cwd, accepted);
    const y = run(b, cwd);
    ours.push(x);
    theirs.push(y);
    ratios.push(x.seconds / y.seconds);
  }
  return { ours, theirs, ratios };
}

/** Copies a dist's object files flat beside one kustomization, the reference kustomize builds. */
function kustomizeReference(dist: string, dir: string): number {
  mkdirSync(dir, { recursive: true });
  const resources: string[] = [];
  for (const path of listFiles(dist)) {
    if (!path.endsWith('.yaml') || path.endsWith('/kustomization.yaml')) continue;
    const flat = path.replaceAll('/', '__');
    copyFileSync(join(dist, path), join(dir, flat));
    resources.push(flat);
  }
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    stringifyData({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources }),
  );
  return resources.length;
}

/** What the second commit of the diff benchmark changes: the replicas of every Deployment and every ConfigMap's data. */
const diffChanged = '2 in 5';

/**
 * A git repository holding a dist twice: as synthesized (tag `before`), then with every
 * Deployment's replicas and every ConfigMap's data changed (tag `after`).
 */
function commitTwoDists(dist: string, repo: string): string {
  const git = (...args: string[]) => {
    const result = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${result.stderr}`);
  };
  mkdirSync(join(repo, 'dist'), { recursive: true });
  for (const path of listFiles(dist)) {
    mkdirSync(join(repo, 'dist', path, '..'), { recursive: true });
    copyFileSync(join(dist, path), join(repo, 'dist', path));
  }
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', 'commit', '-q', '-m', 'before');
  git('tag', 'before');
  for (const path of listFiles(dist)) {
    const file = join(repo, 'dist', path);
    const text = readFileSync(file, 'utf8');
    const changed = text.replace('replicas: 2', 'replicas: 3').replace('name=app-', 'revision=2,name=app-');
    if (changed !== text) writeFileSync(file, changed);
  }
  git('-c', 'user.name=bench', '-c', 'user.email=bench@example.invalid', 'commit', '-q', '-a', '-m', 'after');
  git('tag', 'after');
  return repo;
}

const USAGE = 'usage: npm run bench [-- --runs N] [--objects N] [--full]\n';

function main(): number {
  let values: { runs: string; objects: string; full?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        runs: { type: 'string', default: '5' },
        objects: { type: 'string', default: '10000' },
        full: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }) as { values: typeof values });
  } catch (error) {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const runs = Number(values.runs);
  const objects = Number(values.objects);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(objects) || objects < 40) {
    process.stderr.write(USAGE);
    return 2;
  }
  const full = values.full === true;
  // The generated clusters are timed fewer times by default: each costs seconds.
  const largeRuns = full ? runs : Math.min(runs, 3);
  const referenceSize = full ? objects : Math.min(objects, 2000);
  const root = projectContext.root;
  const work = mkdtempSync(join(tmpdir(), 'synth-bench-'));
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  const log = (text: string) => process.stdout.write(`${text}\n`);
  const step = (text: string) => log(`[${elapsed()}] ${text} ...`);
  const node = process.execPath;
  const launcher = [node, join(root, 'cli/synth.mjs'), '--timings'];
  // Another project's composition is not in the bundle: --root runs synth from source.
  const fromSource = [node, '--import', 'tsx', join(root, 'cli/synth.ts'), '--timings'];
  const bare = [node, '-e', '0'];
  const ratios: [string, string][] = [];
  try {
    log(
      `benchmark: Node ${process.version}; ${runs} paired runs after a warm-up (generated clusters: ${largeRuns}); ${hasGnuTime ? 'peak memory from GNU time' : 'no GNU time: memory not measured'}${full ? '; --full' : ''}`,
    );

    // --timings renders every time: these are the figures of a synth that renders.
    step(`default cluster: synth (from the bundle, rendering) against node -e 0, ${runs} pairs`);
    const distDir = join(work, 'default-dist');
    const synth = paired([...launcher, '--out', distDir], bare, runs, root);
    log(`  synth: ${describe(synth.ours)}; node -e 0: ${describe(synth.theirs)}; ratio ${spread(synth.ratios, 1, '×')}`);
    log(`  phases (median): ${phaseLine(synth.ours)}`);
    ratios.push(['synth / node -e 0', spread(synth.ratios, 1, '×')]);

    step(`default cluster: synth --check (rendering) against node -e 0, ${runs} pairs`);
    const check = paired([...launcher, '--check', '--out', distDir], bare, runs, root);
    log(`  synth --check: ${describe(check.ours)}; node -e 0: ${describe(check.theirs)}; ratio ${spread(check.ratios, 1, '×')}`);
    log(`  phases (median): ${phaseLine(check.ours)}`);
    ratios.push(['synth --check / node -e 0', spread(check.ratios, 1, '×')]);

    // Without --timings, a synth whose inputs did not change since an identical run repeats that
    // run's result after checking every file and variable it read: what a second run costs.
    const unchanged = (label: string, command: readonly string[], name: string) => {
      step(`default cluster: ${label} with nothing changed since the last identical run, against node -e 0, ${runs} pairs`);
      const timed = paired(command, bare, runs, root);
      const repeats = timed.ours.filter((r) => r.repeated).length;
      log(
        `  ${label}: ${describe(timed.ours)}; node -e 0: ${describe(timed.theirs)}; ratio ${spread(timed.ratios, 1, '×')}; ${repeats} of ${runs} runs repeated the recorded result`,
      );
      ratios.push([`${name} / node -e 0, nothing changed (${repeats}/${runs} repeated)`, spread(timed.ratios, 1, '×')]);
    };
    unchanged('synth', [node, join(root, 'cli/synth.mjs'), '--out', distDir], 'synth');
    unchanged('synth --check', [node, join(root, 'cli/synth.mjs'), '--check', '--out', distDir], 'synth --check');
    unchanged('npm run synth -- --check', ['npm', 'run', '-s', 'synth', '--', '--check', '--out', distDir], 'npm run synth -- --check');

    step(`default cluster: npm run diff (render and compare with HEAD) against synth --check, ${runs} pairs`);
    const diffRun = paired([node, join(root, 'cli/diff.mjs')], [...launcher, '--check'], runs, root, [0, 1]);
    const extra = diffRun.ours.map((r, i) => r.seconds - (diffRun.theirs[i] as Run).seconds);
    log(`  npm run diff: ${describe(diffRun.ours)}; synth --check: ${describe(diffRun.theirs)}; diff costs ${spread(extra, 3, ' s')} more`);
    ratios.push(['npm run diff − synth --check (default cluster)', spread(extra, 3, ' s')]);

    step(`default cluster: npm run synth -- --check --no-cache (rendering) against node -e 0, ${runs} pairs (npm's own start included)`);
    const npm = paired(['npm', 'run', '-s', 'synth', '--', '--check', '--no-cache', '--out', distDir], bare, runs, root);
    log(`  npm run synth -- --check: ${describe(npm.ours)}; ratio ${spread(npm.ratios, 1, '×')}`);
    ratios.push(['npm run synth -- --check / node -e 0', spread(npm.ratios, 1, '×')]);

    const sizes = [Math.round(objects / 4), Math.round(objects / 2), objects];
    /** A generated cluster of `size` objects in its own project, synthesized once. */
    const generate = (size: number, why: string) => {
      step(`generated cluster of ${size} objects${why}: writing it and a first synth`);
      const dir = join(work, `generated-${size}`);
      writeGeneratedCluster(dir, root, size);
      const command = [...fromSource, '--root', dir];
      run(command, root);
      return { size, dir, synth: command, check: [...command, '--check'], runs: [] as Run[], checks: [] as Run[] };
    };
    const generated = sizes.map((size) => generate(size, ''));
    const largest = generated.at(-1) as (typeof generated)[number];
    const sample = readFileSync(join(largest.dir, 'dist', 'bench', 'app-00000', 'kustomization.yaml'), 'utf8');
    if (!sample.includes('deployment-app-00000.yaml')) throw new Error('generated cluster output looks wrong');
    // Round by round, every size once, so all sizes see the same machine conditions.
    for (let i = 0; i < largeRuns; i += 1) {
      step(`generated clusters: round ${i + 1} of ${largeRuns} (synth over an unchanged dist, and --check, at each size)`);
      for (const entry of generated) {
        entry.runs.push(run(entry.synth, root));
        entry.checks.push(run(entry.check, root));
      }
    }
    for (const entry of generated) {
      log(`  ${entry.size} objects: synth ${describe(entry.runs)}; --check ${describe(entry.checks)}`);
      log(`    phases of synth (median): ${phaseLine(entry.runs)}`);
    }
    const cost = (list: readonly Run[]) => median(list.map((r) => r.cpuSeconds ?? r.seconds));
    const marginal = generated.slice(1).map((entry, i) => {
      const previous = generated[i] as (typeof generated)[number];
      const ms = ((cost(entry.runs) - cost(previous.runs)) / (entry.size - previous.size)) * 1000;
      return `${previous.size}→${entry.size}: ${ms.toFixed(3)} ms/object`;
    });
    log(`  growth (marginal ${hasGnuTime ? 'CPU' : 'wall'} time per added object; similar figures mean linear): ${marginal.join(', ')}`);
    ratios.push([
      `synth of ${objects} objects (from source)`,
      spread(
        largest.runs.map((r) => r.seconds),
        2,
        ' s',
      ),
    ]);

    const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
    if (kubectl) {
      const reference = generated.find((entry) => entry.size === referenceSize) ?? generate(referenceSize, ' for the kustomize reference');
      const referenceDir = join(work, 'kustomize-reference');
      const count = kustomizeReference(join(reference.dir, 'dist'), referenceDir);
      const referenceRuns = full ? Math.min(runs, 3) : runs;
      step(
        `synth --check of ${reference.size} objects against kubectl kustomize of the same ${count} files, ${referenceRuns} pairs${full ? '' : ' (--full: at the largest size)'}`,
      );
      const versus = paired(reference.check, ['kubectl', 'kustomize', referenceDir], referenceRuns, root);
      log(
        `  synth --check: ${describe(versus.ours)}; kubectl kustomize: ${describe(versus.theirs)}; ratio ${spread(versus.ratios, 2, '×')}`,
      );
      ratios.push([`synth --check / kubectl kustomize, ${reference.size} objects`, spread(versus.ratios, 2, '×')]);
    } else {
      log('  kubectl not found: no kustomize reference');
    }
    step(`diff of two dists at each size: two commits of each generated dist, ${diffChanged} of the files changed`);
    const diffRepos = generated.map((entry) => ({
      size: entry.size,
      repo: commitTwoDists(join(entry.dir, 'dist'), join(work, `diff-${entry.size}`)),
      runs: [] as Run[],
    }));
    const diffCommand = (repo: string) => [
      node,
      join(root, 'cli/diff.mjs'),
      '--root',
      repo,
      '--base',
      'before',
      '--head',
      'after',
      '--format',
      'json',
    ];
    for (let i = 0; i < largeRuns; i += 1) {
      step(`diff of two dists: round ${i + 1} of ${largeRuns}`);
      for (const entry of diffRepos) entry.runs.push(run(diffCommand(entry.repo), root));
    }
    for (const entry of diffRepos) log(`  ${entry.size} objects: npm run diff -- --base before --head after: ${describe(entry.runs)}`);
    const diffGrowth = diffRepos.slice(1).map((entry, i) => {
      const previous = diffRepos[i] as (typeof diffRepos)[number];
      const ms = ((cost(entry.runs) - cost(previous.runs)) / (entry.size - previous.size)) * 1000;
      return `${previous.size}→${entry.size}: ${ms.toFixed(3)} ms/object`;
    });
    log(`  growth of the diff (marginal ${hasGnuTime ? 'CPU' : 'wall'} time per added object): ${diffGrowth.join(', ')}`);
    const largestDiff = diffRepos.at(-1) as (typeof diffRepos)[number];
    step(`diff of two ${largestDiff.size}-object dists against git diff of the same commits, ${runs} pairs`);
    const gitDiff = paired(diffCommand(largestDiff.repo), ['git', '-C', largestDiff.repo, 'diff', 'before', 'after'], runs, root);
    log(`  npm run diff: ${describe(gitDiff.ours)}; git diff: ${describe(gitDiff.theirs)}; ratio ${spread(gitDiff.ratios, 2, '×')}`);
    ratios.push([
      `diff of two ${largestDiff.size}-object dists`,
      spread(
        largestDiff.runs.map((r) => r.seconds),
        2,
        ' s',
      ),
    ]);
    ratios.push([`diff of two dists / git diff, ${largestDiff.size} objects`, spread(gitDiff.ratios, 2, '×')]);

    log(`\nratios side by side (median [min–max]), ${elapsed()} in all:`);
    const width = Math.max(...ratios.map(([name]) => name.length));
    for (const [name, value] of ratios) log(`  ${name.padEnd(width)}  ${value}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return 0;
}

process.exitCode = main();
