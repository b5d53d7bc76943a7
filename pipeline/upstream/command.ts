import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatProblem, type Problem } from '../../framework/model.js';
import type { CommandContext } from '../commands.js';
import { sha256Hex, treeDigest } from './digest.js';
import { type Download, downloadChart, downloadResource, fetchPins, httpDownload } from './fetch.js';
import {
  type ChartPin,
  chartKey,
  formatLock,
  LOCK_FILE,
  type LockedChart,
  type LockedResource,
  lockPath,
  readLock,
  type UpstreamLock,
} from './lock.js';
import { collectPins, type ProjectPins } from './pins.js';
import {
  chartLabel,
  FETCH_COMMAND,
  findChart,
  findResource,
  openStore,
  resolveChart,
  resolveResource,
  type UpstreamStore,
} from './store.js';

export const LOCK_COMMAND = 'npm run upstream -- lock';

const USAGE = `usage: npm run upstream -- COMMAND [--root DIR]

Keeps ${LOCK_FILE}: every remote resource URL and Helm chart the apps pin, with its digest
(sha256 of the raw file; sha256 of the chart package and a digest of the chart's files).
Upstream files are looked up in UPSTREAM_MIRROR (a folder standing in for the network), then
in the cache (UPSTREAM_CACHE, default .upstream-cache/); both are relative to the project root.

  fetch    download every pin that neither the mirror nor the cache holds into the cache,
           each checked against the lock before it is written (a moved tag is refused)
  lock     record the pins the lock lacks (digests of the mirror or cache copy, downloaded
           when neither holds it) and drop entries no app pins; an entry is never changed
  status   one line per pin: ok (mirror|cache), missing, digest mismatch or not locked;
           exit 1 unless every pin is ok

  --root DIR   project root (default: this project)

Exit 0 on success, 1 on any problem, 2 on usage errors.`;

export interface UpstreamOptions {
  /** How URLs are downloaded. @default global fetch with a 60 s timeout */
  readonly download?: Download;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message.replace(/\s*\n\s*/g, ' ') : String(error);
}

function lockProblem(text: string, rule = 'upstream.lock'): Problem {
  return { origin: { file: LOCK_FILE }, rule, message: text };
}

function notLocked(label: string): Problem {
  return lockProblem(`${label} is not in ${LOCK_FILE}: run "${LOCK_COMMAND}" to record its digest`);
}

interface Setup {
  readonly root: string;
  readonly store: UpstreamStore;
  readonly download: Download;
  readonly pins: ProjectPins;
}

/** The pins of a project, the lock entries they use, and those the lock lacks. */
function match(lock: UpstreamLock, pins: ProjectPins) {
  const resources = new Map(lock.resources.map((entry) => [entry.url, entry]));
  const charts = new Map(lock.charts.map((entry) => [chartKey(entry), entry]));
  return {
    resources: pins.resources.map((url) => ({ url, locked: resources.get(url) })),
    charts: pins.charts.map((chart) => ({ chart, locked: charts.get(chartKey(chart)) })),
  };
}

async function runFetch({ root, store, download, pins }: Setup, context: CommandContext): Promise<number> {
  const { io } = context;
  const { lock, problems } = readLock(root);
  if (!lock) return failed(io, problems, 'upstream fetch');
  const matched = match(lock, pins);
  for (const { url, locked } of matched.resources) if (!locked) problems.push(notLocked(url));
  for (const { chart, locked } of matched.charts) if (!locked) problems.push(notLocked(chartLabel(chart)));
  if (problems.length > 0) return failed(io, problems, 'upstream fetch');
  const missing: { resources: string[]; charts: ChartPin[] } = { resources: [], charts: [] };
  const present = { mirror: 0, cache: 0 };
  for (const { url, locked } of matched.resources) {
    if (!locked) continue;
    const found = resolveResource(store, locked);
    if (!('problem' in found)) present[found.from] += 1;
    else if (found.problem.rule === 'upstream.missing') missing.resources.push(url);
    else problems.push(found.problem);
  }
  for (const { chart, locked } of matched.charts) {
    if (!locked) continue;
    const found = resolveChart(store, locked);
    if (!('problem' in found)) present[found.from] += 1;
    else if (found.problem.rule === 'upstream.missing') missing.charts.push(chart);
    else problems.push(found.problem);
  }
  const result = await fetchPins(store, lock, missing, download);
  for (const pin of result.fetched) io.out(`fetched ${pin.label} (${pin.bytes} bytes) into ${pin.path}`);
  problems.push(...result.problems);
  const total = pins.resources.length + pins.charts.length;
  const summary = `${plural(total, 'pin')}: ${present.mirror} in the mirror, ${present.cache} in the cache, ${result.fetched.length} fetched`;
  if (problems.length > 0) {
    for (const problem of problems) io.err(formatProblem(problem));
    io.err(`upstream fetch: ${summary}; ${plural(problems.length, 'problem')}`);
    return 1;
  }
  io.out(`upstream fetch: ${summary}`);
  return 0;
}

function failed(io: CommandContext['io'], problems: readonly Problem[], command: string): number {
  for (const problem of problems) io.err(formatProblem(problem));
  io.err(`${command}: ${plural(problems.length, 'problem')}`);
  return 1;
}

/** The lock of a project, or an empty one when the file does not exist yet. */
function currentLock(root: string): { lock?: UpstreamLock; problems: Problem[]; text?: string } {
  let text: string;
  try {
    text = readFileSync(lockPath(root), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lock: { version: 1, resources: [], charts: [] }, problems: [] };
    return { problems: [lockProblem(`cannot be read: ${message(error)}`)] };
  }
  return { ...readLock(root), text };
}

async function newResource(
  store: UpstreamStore,
  url: string,
  download: Download,
): Promise<{ entry: LockedResource; from: string } | Problem> {
  let found: ReturnType<typeof findResource>;
  try {
    found = findResource(store, url);
  } catch (error) {
    return lockProblem(message(error));
  }
  if (found !== undefined) return { entry: { url, sha256: sha256Hex(readFileSync(found.path)) }, from: `the ${found.from}` };
  const downloaded = await downloadResource(store, url, download);
  if ('problem' in downloaded) return downloaded.problem;
  return { entry: { url, sha256: downloaded.sha256 }, from: 'a download' };
}

async function newChart(
  store: UpstreamStore,
  chart: ChartPin,
  download: Download,
): Promise<{ entry: LockedChart; from: string } | Problem> {
  const label = chartLabel(chart);
  if (chart.repo.startsWith('oci://')) {
    return lockProblem(
      `${label}: OCI chart repositories are not supported by "npm run upstream" yet; use the chart's https repository`,
      'upstream.oci',
    );
  }
  let found: ReturnType<typeof findChart>;
  try {
    found = findChart(store, chart);
  } catch (error) {
    return lockProblem(message(error));
  }
  if (found !== undefined) {
    try {
      const files = treeDigest(found.path);
      const digest = found.packagePath !== undefined ? sha256Hex(readFileSync(found.packagePath)) : null;
      return { entry: { ...pinOf(chart), digest, files }, from: `the ${found.from}` };
    } catch (error) {
      return lockProblem(`${label}: the ${found.from} copy cannot be recorded: ${message(error)}`, 'upstream.digest');
    }
  }
  const downloaded = await downloadChart(store, chart, download);
  if ('problem' in downloaded) return downloaded.problem;
  return { entry: { ...pinOf(chart), digest: downloaded.digest, files: downloaded.files }, from: 'a download' };
}

function pinOf({ repo, name, version }: ChartPin): ChartPin {
  return { repo, name, version };
}

/** Writes a file through a temporary name, so that it is never seen half-written. */
function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.partial-${process.pid}`;
  try {
    writeFileSync(temporary, text);
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}

async function runLock({ root, store, download, pins }: Setup, context: CommandContext): Promise<number> {
  const { io } = context;
  const current = currentLock(root);
  const { lock } = current;
  if (!lock) return failed(io, current.problems, 'upstream lock');
  const problems: Problem[] = [];
  const added: string[] = [];
  const resources: LockedResource[] = [];
  const charts: LockedChart[] = [];
  const matched = match(lock, pins);
  for (const { url, locked } of matched.resources) {
    if (locked) {
      // An entry is never changed: content that differs from it is an error to review.
      const found = resolveResource(store, locked);
      if ('problem' in found && found.problem.rule !== 'upstream.missing') problems.push(found.problem);
      resources.push(locked);
      continue;
    }
    const result = await newResource(store, url, download);
    if ('rule' in result) {
      problems.push(result);
      continue;
    }
    resources.push(result.entry);
    added.push(`added ${url} (sha256 ${result.entry.sha256}, from ${result.from})`);
  }
  for (const { chart, locked } of matched.charts) {
    if (locked) {
      const found = resolveChart(store, locked);
      if ('problem' in found && found.problem.rule !== 'upstream.missing') problems.push(found.problem);
      charts.push(locked);
      continue;
    }
    const result = await newChart(store, chart, download);
    if ('rule' in result) {
      problems.push(result);
      continue;
    }
    charts.push(result.entry);
    added.push(
      `added ${chartLabel(chart)} (package digest ${result.entry.digest ?? 'null: not known'}, files ${result.entry.files}, from ${result.from})`,
    );
  }
  const used = new Set([...pins.resources, ...pins.charts.map(chartKey)]);
  const removed = [
    ...lock.resources.filter((entry) => !used.has(entry.url)).map((entry) => `removed ${entry.url} (no app pins it)`),
    ...lock.charts.filter((entry) => !used.has(chartKey(entry))).map((entry) => `removed ${chartLabel(entry)} (no app pins it)`),
  ];
  if (problems.length > 0) {
    for (const problem of problems) io.err(formatProblem(problem));
    io.err(`upstream lock: ${plural(problems.length, 'problem')}; ${LOCK_FILE} left unchanged`);
    return 1;
  }
  const text = formatLock({ version: 1, resources, charts });
  const counts = `${plural(resources.length, 'resource')}, ${plural(charts.length, 'chart')}`;
  if (text === current.text) {
    io.out(`upstream lock: ${LOCK_FILE} is up to date (${counts})`);
    return 0;
  }
  try {
    writeAtomically(lockPath(root), text);
  } catch (error) {
    io.err(`upstream lock: cannot write ${LOCK_FILE}: ${message(error)}`);
    return 1;
  }
  for (const line of [...added, ...removed]) io.out(line);
  io.out(`upstream lock: ${LOCK_FILE} written (${counts}; ${added.length} added, ${removed.length} removed)`);
  return 0;
}

async function runStatus({ root, store, pins }: Setup, context: CommandContext): Promise<number> {
  const { io } = context;
  const { lock, problems } = readLock(root);
  if (!lock) return failed(io, problems, 'upstream status');
  const counts = { ok: 0, missing: 0, mismatch: 0, unlocked: 0 };
  const line = (status: string, text: string) => io.out(`${status.padEnd(16)} ${text}`);
  const show = (label: string, found: { from: string } | { problem: Problem }) => {
    if (!('problem' in found)) {
      counts.ok += 1;
      line(`ok (${found.from})`, label);
    } else if (found.problem.rule === 'upstream.missing') {
      counts.missing += 1;
      line('missing', `${label}: run "${FETCH_COMMAND}"${store.mirror === undefined ? ' (or set UPSTREAM_MIRROR)' : ''}`);
    } else {
      counts.mismatch += 1;
      line('digest mismatch', found.problem.message);
    }
  };
  const matched = match(lock, pins);
  for (const { url, locked } of matched.resources) {
    if (locked) show(url, resolveResource(store, locked));
    else {
      counts.unlocked += 1;
      line('not locked', `${url}: run "${LOCK_COMMAND}"`);
    }
  }
  for (const { chart, locked } of matched.charts) {
    if (locked) show(chartLabel(chart), resolveChart(store, locked));
    else {
      counts.unlocked += 1;
      line('not locked', `${chartLabel(chart)}: run "${LOCK_COMMAND}"`);
    }
  }
  const used = new Set([...pins.resources, ...pins.charts.map(chartKey)]);
  for (const entry of lock.resources)
    if (!used.has(entry.url)) line('unused', `${entry.url}: no app pins it ("${LOCK_COMMAND}" removes it)`);
  for (const entry of lock.charts) {
    if (!used.has(chartKey(entry))) line('unused', `${chartLabel(entry)}: no app pins it ("${LOCK_COMMAND}" removes it)`);
  }
  const total = pins.resources.length + pins.charts.length;
  if (counts.ok === total) {
    io.out(`upstream status: ${plural(total, 'pin')}, all ok`);
    return 0;
  }
  const parts = [
    `${counts.ok} ok`,
    ...(counts.missing > 0 ? [`${counts.missing} missing (run "${FETCH_COMMAND}")`] : []),
    ...(counts.mismatch > 0 ? [`${counts.mismatch} with a digest mismatch`] : []),
    ...(counts.unlocked > 0 ? [`${counts.unlocked} not locked (run "${LOCK_COMMAND}")`] : []),
  ];
  io.err(`upstream status: ${plural(total, 'pin')}: ${parts.join(', ')}`);
  return 1;
}

const COMMANDS = {
  fetch: runFetch,
  lock: runLock,
  status: runStatus,
} as const;

/** `npm run upstream -- fetch|lock|status`: exit 0 on success, 1 on problems, 2 on usage errors. */
export async function runUpstream(argv: readonly string[], context: CommandContext, options: UpstreamOptions = {}): Promise<number> {
  const { io } = context;
  let values: { root?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: { root: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    }));
  } catch (error) {
    io.err(`upstream: ${message(error)}`);
    io.err(USAGE);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [name, ...rest] = positionals;
  if (name === undefined || !Object.hasOwn(COMMANDS, name) || rest.length > 0) {
    io.err(
      name === undefined
        ? 'upstream: no command given'
        : rest.length > 0 && Object.hasOwn(COMMANDS, name)
          ? `upstream ${name}: unexpected argument "${rest[0]}"`
          : `upstream: unknown command "${name}"`,
    );
    io.err(USAGE);
    return 2;
  }
  const command = COMMANDS[name as keyof typeof COMMANDS];
  const root = values.root ? resolve(context.cwd ?? process.cwd(), values.root) : context.root;
  const collected = await collectPins(root);
  if (collected.problems.length > 0) {
    for (const problem of collected.problems) io.err(formatProblem(problem));
    io.err(`upstream ${name}: ${plural(collected.problems.length, 'problem')} rendering the apps; their pins cannot be listed`);
    return 1;
  }
  const setup: Setup = {
    root,
    store: openStore(root, context.env ?? process.env),
    download: options.download ?? httpDownload(),
    pins: collected.pins,
  };
  return command(setup, context);
}
