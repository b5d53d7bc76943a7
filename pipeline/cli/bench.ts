import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeGeneratedCluster } from '../bench/generated-cluster.js';
import { listFiles } from '../output.js';
import { stringifyData } from '../yaml.js';
import { projectContext } from './project.js';

/** One finished run of a whole command, as the OS accounts it. */
interface Run {
  readonly seconds: number;
  /** Peak resident memory in KiB, when GNU time is available. */
  readonly maxRssKiB?: number;
}

const GNU_TIME = '/usr/bin/time';
const hasGnuTime = existsSync(GNU_TIME);

function run(command: readonly string[], cwd: string): Run {
  const marker = '@@bench ';
  const start = performance.now();
  const result = hasGnuTime
    ? spawnSync(GNU_TIME, ['-f', `${marker}%e %M`, ...command], { cwd, encoding: 'utf8', maxBuffer: 1 << 30 })
    : spawnSync(command[0] as string, command.slice(1), { cwd, encoding: 'utf8', maxBuffer: 1 << 30 });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) {
    throw new Error(`${command.join(' ')} failed (exit ${result.status}):\n${result.stderr}`);
  }
  const line = result.stderr.split('\n').find((text) => text.startsWith(marker));
  if (!line) return { seconds };
  const [, rss] = line.slice(marker.length).split(' ');
  return { seconds, maxRssKiB: Number(rss) };
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
  return `${median(seconds).toFixed(3)} s median [${Math.min(...seconds).toFixed(3)}–${Math.max(...seconds).toFixed(3)}]${memory}`;
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
  const node = [process.execPath, '--import', 'tsx', join(root, 'pipeline/cli/synth.ts')];
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
    const sizeRuns = new Map<number, Run[]>();
    for (const size of sizes) {
      const dir = join(work, `generated-${size}`);
      writeGeneratedCluster(dir, root, size);
      const command = [...node, '--root', dir];
      run(command, root);
      if (size !== objects) {
        sizeRuns.set(
          size,
          Array.from({ length: runs }, () => run(command, root)),
        );
        continue;
      }
      const referenceDir = join(work, 'kustomize-reference');
      const count = kustomizeReference(join(dir, 'dist'), referenceDir);
      const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
      const reference = kubectl.status === 0 ? ['kubectl', 'kustomize', referenceDir] : undefined;
      const ours: Run[] = [];
      const theirs: Run[] = [];
      const ratios: number[] = [];
      for (let i = 0; i < runs; i += 1) {
        const a = run(command, root);
        ours.push(a);
        if (reference && i < referenceRuns) {
          const b = run(reference, root);
          theirs.push(b);
          ratios.push(a.seconds / b.seconds);
        }
      }
      sizeRuns.set(size, ours);
      for (const s of sizes.slice(0, -1)) log(`  generated cluster, ${s} objects: ${describe(sizeRuns.get(s) ?? [])}`);
      log(`  generated cluster, ${size} objects: ${describe(ours)}`);
      if (reference) {
        log(`  reference: kubectl kustomize over the same ${count} objects: ${describe(theirs)}`);
        log(
          `  ratio synth / kustomize (pairwise median): ${median(ratios).toFixed(2)}x [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}]`,
        );
      } else {
        log('  reference: kubectl not found, no kustomize comparison');
      }
      const sample = readFileSync(join(dir, 'dist', 'bench', 'app-00000', 'kustomization.yaml'), 'utf8');
      if (!sample.includes('deployment-app-00000.yaml')) throw new Error('generated cluster output looks wrong');
    }
    // Marginal cost per object between sizes: equal figures mean time grows linearly.
    const medians = sizes.map((size) => median((sizeRuns.get(size) ?? []).map((r) => r.seconds)));
    const marginal = sizes.slice(1).map((size, i) => {
      const ms = (((medians[i + 1] as number) - (medians[i] as number)) / (size - (sizes[i] as number))) * 1000;
      return `${sizes[i]}->${size}: ${ms.toFixed(3)} ms/object`;
    });
    log(`  growth (marginal time per added object): ${marginal.join(', ')}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return 0;
}

process.exitCode = main();
