import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeGeneratedCluster } from '../pipeline/bench/generated-cluster.js';
import { listFiles } from '../pipeline/output.js';
import { stringifyData } from '../pipeline/yaml.js';
import { projectContext } from './project.js';

/** One finished run of a whole command, as the OS accounts it. */
interface Run {
  readonly seconds: number;
  /** Peak resident memory in KiB, when GNU time is available. */
  readonly maxRssKiB?: number;
  /** User plus system CPU seconds, when GNU time is available: steadier than wall time on a busy machine. */
  readonly cpuSeconds?: number;
}

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = existsSync(GNU_TIME);

function run(command: readonly string[], cwd: string): Run {
  const marker = '@@bench ';
  const start = performance.now();
  const result = hasGnuTime
    ? spawnSync(GNU_TIME, ['-f', `${marker}%e %M %U %S`, ...command], { cwd, encoding: 'utf8', maxBuffer: 1 << 30 })
    : spawnSync(command[0] as string, command.slice(1), { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) {
    throw new Error(`${command.join(' ')} failed (exit ${result.status}):\n${result.stderr}`);
  }
  const line = result.stderr.split('\n').find((text) => text.startsWith(marker));
  if (!line) return { seconds };
  const [, rss, user, system] = line.slice(marker.length).split(' ');
  return { seconds, maxRssKiB: Number(rss), cpuSeconds: Number(user) + Number(system) };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

function describe(runs: readonly Run[]): string {
  const seconds = runs.map((r) => r.seconds);
  const rss = runs.map((r) => r.maxRssKiB).filter((v): v is number => v !== undefined);
  const memory = rss.length > 0 ? `, peak ${(Math.max(...rss) / 1024).toFixed(0)} MiB` : '';
  const cpu = runs.map((r) => r.cpuSeconds).filter((v): v is number => v !== undefined);
  const cpuText = cpu.length > 0 ? `, CPU ${median(cpu).toFixed(2)} s` : '';
  return `${median(seconds).toFixed(3)} s median [${Math.min(...seconds).toFixed(3)}–${Math.max(...seconds).toFixed(3)}]${memory}${cpuText}`;
}

/** Copies the generated objects flat beside one kustomization, the reference kustomize builds. */
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

function main(): number {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      runs: { type: 'string', default: '5' },
      'reference-runs': { type: 'string', default: '3' },
      objects: { type: 'string', default: '10000' },
    },
  });
  const runs = Number(values.runs);
  // kubectl kustomize takes minutes over 10,000 objects; a few paired runs give a stable ratio.
  const referenceRuns = Math.min(runs, Number(values['reference-runs']));
  const objects = Number(values.objects);
  if (
    !Number.isInteger(runs) ||
    runs < 1 ||
    !Number.isInteger(referenceRuns) ||
    referenceRuns < 1 ||
    !Number.isInteger(objects) ||
    objects < 10
  ) {
    process.stderr.write('usage: npm run bench [-- --runs N] [--reference-runs N] [--objects N]\n');
    return 2;
  }
  const root = projectContext.root;
  const work = mkdtempSync(join(tmpdir(), 'synth-bench-'));
  const node = [process.execPath, '--import', 'tsx', join(root, 'cli/synth.ts')];
  const log = (text: string) => process.stdout.write(`${text}\n`);
  try {
    log(
      `benchmark: ${runs} runs each after one warm-up (kustomize reference: ${referenceRuns} runs, files already in page cache); Node ${process.version}; ${hasGnuTime ? 'peak memory from GNU time' : 'no GNU time: memory not measured'}`,
    );

    const defaultDist = join(work, 'default-dist');
    const defaultCommand = [...node, '--out', defaultDist];
    run(defaultCommand, root);
    const defaultRuns = Array.from({ length: runs }, () => run(defaultCommand, root));
    log(`  default cluster, full synth (render, validate, write): ${describe(defaultRuns)}`);

    const sizes = [Math.round(objects / 4), Math.round(objects / 2), objects];
    const commands = sizes.map((size) => {
      const dir = join(work, `generated-${size}`);
      writeGeneratedCluster(dir, root, size);
      const command = [...node, '--root', dir];
      run(command, root);
      return { size, dir, command, runs: [] as Run[] };
    });
    const largest = commands.at(-1) as (typeof commands)[number];
    const sample = readFileSync(join(largest.dir, 'dist', 'bench', 'app-00000', 'kustomization.yaml'), 'utf8');
    if (!sample.includes('deployment-app-00000.yaml')) throw new Error('generated cluster output looks wrong');
    const referenceDir = join(work, 'kustomize-reference');
    const count = kustomizeReference(join(largest.dir, 'dist'), referenceDir);
    const reference =
      spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0 ? ['kubectl', 'kustomize', referenceDir] : undefined;
    const theirs: Run[] = [];
    const ratios: number[] = [];
    // Round by round, every size once, so all sizes see the same machine conditions.
    for (let i = 0; i < runs; i += 1) {
      for (const entry of commands) entry.runs.push(run(entry.command, root));
      if (reference && i < referenceRuns) {
        const b = run(reference, root);
        theirs.push(b);
        ratios.push((largest.runs.at(-1) as Run).seconds / b.seconds);
      }
    }
    for (const entry of commands) log(`  generated cluster, ${entry.size} objects: ${describe(entry.runs)}`);
    if (reference) {
      log(`  reference: kubectl kustomize over the same ${count} objects: ${describe(theirs)}`);
      log(
        `  ratio synth / kustomize (pairwise median): ${median(ratios).toFixed(2)}x [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`,
      );
    } else {
      log('  reference: kubectl not found, no kustomize comparison');
    }
    // Marginal cost per added object between sizes (CPU time when measured): similar figures mean linear growth.
    const cost = (entry: (typeof commands)[number]) => median(entry.runs.map((r) => r.cpuSeconds ?? r.seconds));
    const marginal = commands.slice(1).map((entry, i) => {
      const previous = commands[i] as (typeof commands)[number];
      const ms = ((cost(entry) - cost(previous)) / (entry.size - previous.size)) * 1000;
      return `${previous.size}->${entry.size}: ${ms.toFixed(3)} ms/object`;
    });
    log(`  growth (marginal ${hasGnuTime ? 'CPU' : 'wall'} time per added object): ${marginal.join(', ')}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return 0;
}

process.exitCode = main();
