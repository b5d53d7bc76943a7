import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isRecord, type Problem } from '../../framework/model.js';
import { sha256Hex, treeDigest } from './digest.js';
import { type ChartPin, chartKey, LOCK_FILE, type UpstreamLock } from './lock.js';
import { chartLabel, chartLocation, chartPackageLocation, chartVersionFolder, resourceLocation, type UpstreamStore } from './store.js';

/** Downloads a URL's body; rejects with a one-line error (HTTP status, timeout, network). */
export type Download = (url: string) => Promise<Buffer>;

/** What the apps pin: remote resource URLs and Helm charts. */
export interface Pins {
  readonly resources: readonly string[];
  readonly charts: readonly ChartPin[];
}

/** A pin written into the cache. */
export interface FetchedPin {
  /** The URL, or the chart as `Helm chart <name> <version> of <repo>`. */
  readonly label: string;
  /** The file or chart folder in the cache. */
  readonly path: string;
  /** Bytes downloaded (the raw file, or the chart package). */
  readonly bytes: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

function message(error: unknown): string {
  return error instanceof Error ? error.message.replace(/\s*\n\s*/g, ' ') : String(error);
}

function failure(rule: string, text: string): { problem: Problem } {
  return { problem: { origin: { file: LOCK_FILE }, rule, message: text } };
}

/**
 * A download built on the global fetch: follows redirects, gives up after `timeoutMs`, and
 * turns every failure into one line naming the URL.
 */
export function httpDownload(timeoutMs = 60_000): Download {
  return async (url) => {
    try {
      const response = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
      return Buffer.from(await response.arrayBuffer());
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      const reason =
        error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')
          ? `no answer within ${timeoutMs >= 1000 ? `${timeoutMs / 1000} s` : `${timeoutMs} ms`}`
          : `${message(error)}${cause}`;
      throw new Error(`GET ${url} failed: ${reason}`);
    }
  };
}

/** A temporary folder inside the cache (same file system, so that a rename puts things in place atomically). */
function temporaryFolder(store: UpstreamStore): string {
  mkdirSync(store.cache, { recursive: true });
  return mkdtempSync(join(store.cache, '.partial-'));
}

/** Moves `from` to `to`, replacing a folder already there (which is removed afterwards). */
function replaceFolder(from: string, to: string, scratch: string): void {
  const existing = statSync(to, { throwIfNoEntry: false });
  if (existing !== undefined) renameSync(to, join(scratch, 'replaced'));
  try {
    renameSync(from, to);
  } catch (error) {
    if (existing !== undefined) renameSync(join(scratch, 'replaced'), to);
    throw error;
  }
}

/**
 * Downloads a resource into the cache. Its sha256 is checked against `expected` (when given)
 * before anything is written; the file is written to a temporary name and renamed into place.
 */
export async function downloadResource(
  store: UpstreamStore,
  url: string,
  download: Download,
  expected?: string,
): Promise<{ path: string; sha256: string; bytes: number } | { problem: Problem }> {
  let target: string;
  try {
    target = resourceLocation(store.cache, url);
  } catch (error) {
    return failure('upstream.lock', message(error));
  }
  let content: Buffer;
  try {
    content = await download(url);
  } catch (error) {
    const reason = message(error);
    return failure('upstream.download', reason.includes(url) ? reason : `${url}: cannot download: ${reason}`);
  }
  const sha256 = sha256Hex(content);
  if (expected !== undefined && sha256 !== expected) {
    return failure(
      'upstream.digest',
      `${url}: the download has sha256 ${sha256}, ${LOCK_FILE} records ${expected}: the tag was moved upstream (or the server sent other content); refused, nothing written`,
    );
  }
  let scratch: string | undefined;
  try {
    scratch = temporaryFolder(store);
    const temporary = join(scratch, 'file');
    writeFileSync(temporary, content);
    mkdirSync(dirname(target), { recursive: true });
    renameSync(temporary, target);
  } catch (error) {
    return failure('upstream.cache', `${url}: cannot write ${target}: ${message(error)}`);
  } finally {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  }
  return { path: target, sha256, bytes: content.length };
}

/** The URL of a chart repository's index: `<repo>/index.yaml`, with or without a trailing slash on the repo. */
export function indexUrl(repo: string): string {
  return `${repo.replace(/\/+$/, '')}/index.yaml`;
}

/** The package URL and digest a repository index lists for a chart version. */
function indexEntry(index: unknown, chart: ChartPin): { url: string; digest?: string } | string {
  const entries = isRecord(index) && isRecord(index.entries) ? index.entries : undefined;
  if (entries === undefined) return `${indexUrl(chart.repo)} is not a chart repository index (no entries)`;
  const versions = entries[chart.name];
  if (!Array.isArray(versions)) return `${indexUrl(chart.repo)} lists no chart named ${chart.name}`;
  const entry = versions.find((item) => isRecord(item) && item.version === chart.version);
  if (!isRecord(entry)) return `${indexUrl(chart.repo)} lists no version ${chart.version} of ${chart.name}`;
  const urls = entry.urls;
  const first = Array.isArray(urls) ? urls[0] : undefined;
  if (typeof first !== 'string' || first === '') return `${indexUrl(chart.repo)} lists no package URL for ${chart.name} ${chart.version}`;
  let url: URL;
  try {
    url = new URL(first, `${chart.repo.replace(/\/+$/, '')}/`);
  } catch {
    return `${indexUrl(chart.repo)} lists the package URL "${first}" for ${chart.name} ${chart.version}, which is not a URL`;
  }
  if (url.protocol !== 'https:') return `the package URL ${url.href} of ${chart.name} ${chart.version} is not https`;
  const digest = entry.digest;
  if (digest === undefined || digest === null || digest === '') return { url: url.href };
  if (typeof digest !== 'string' || !HEX64.test(digest.toLowerCase())) {
    return `${indexUrl(chart.repo)} lists a digest for ${chart.name} ${chart.version} that is not a sha256`;
  }
  return { url: url.href, digest: digest.toLowerCase() };
}

/** Member names of a gzipped tar archive; refuses absolute names, `..` and members outside `<top>/`. */
function checkArchive(archive: string, top: string): string | undefined {
  const listing = execFileSync('tar', ['-tzf', archive], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const member of listing.split('\n')) {
    if (member === '') continue;
    const segments = member.replace(/^\.\//, '').split('/');
    if (member.startsWith('/') || segments.includes('..')) return `the package holds "${member}", a path outside its folder`;
    if (segments[0] !== top) return `the package holds "${member}", outside the chart folder ${top}/`;
  }
  return undefined;
}

/**
 * Downloads a chart into the cache through its repository's index.yaml: the package is checked
 * against the index's digest and (when given and known) the lock's, extracted with `tar` inside
 * the cache, its folder checked to be `<name>/` and its treeDigest against `expected.files`,
 * then renamed into place with the package beside it. Nothing is left behind on a failure.
 */
export async function downloadChart(
  store: UpstreamStore,
  chart: ChartPin,
  download: Download,
  expected?: { readonly digest: string | null; readonly files: string },
): Promise<{ path: string; digest: string; files: string; bytes: number } | { problem: Problem }> {
  const label = chartLabel(chart);
  if (chart.repo.startsWith('oci://')) {
    return failure(
      'upstream.oci',
      `${label}: OCI chart repositories are not supported by "npm run upstream" yet; use the chart's https repository`,
    );
  }
  if (!chart.repo.startsWith('https://')) return failure('upstream.lock', `${label}: the repository is not an https:// URL`);
  let versionFolder: string;
  try {
    versionFolder = chartVersionFolder(store.cache, chart);
  } catch (error) {
    return failure('upstream.lock', message(error));
  }
  let index: unknown;
  try {
    index = parseYaml((await download(indexUrl(chart.repo))).toString('utf8'), { maxAliasCount: -1 });
  } catch (error) {
    return failure('upstream.download', `${label}: cannot read the repository index: ${message(error)}`);
  }
  const entry = indexEntry(index, chart);
  if (typeof entry === 'string') return failure('upstream.download', `${label}: ${entry}`);
  let content: Buffer;
  try {
    content = await download(entry.url);
  } catch (error) {
    return failure('upstream.download', `${label}: ${message(error)}`);
  }
  const digest = sha256Hex(content);
  if (entry.digest !== undefined && digest !== entry.digest) {
    return failure(
      'upstream.digest',
      `${label}: the package ${entry.url} has sha256 ${digest}, the repository index lists ${entry.digest}: refused, nothing written`,
    );
  }
  if (expected !== undefined && expected.digest !== null && digest !== expected.digest) {
    return failure(
      'upstream.digest',
      `${label}: the package ${entry.url} has sha256 ${digest}, ${LOCK_FILE} records ${expected.digest}: the chart version was republished upstream (a moved tag); refused, nothing written`,
    );
  }
  let scratch: string | undefined;
  let created = false;
  try {
    scratch = temporaryFolder(store);
    const archive = join(scratch, `${chart.name}-${chart.version}.tgz`);
    writeFileSync(archive, content);
    const archiveError = checkArchive(archive, chart.name);
    if (archiveError) return failure('upstream.package', `${label}: ${archiveError}; refused, nothing written`);
    const extracted = join(scratch, 'extracted');
    mkdirSync(extracted);
    execFileSync('tar', ['-xzf', archive, '-C', extracted, '--no-same-owner'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const top = readdirSync(extracted);
    if (top.length !== 1 || top[0] !== chart.name || !statSync(join(extracted, chart.name)).isDirectory()) {
      return failure(
        'upstream.package',
        `${label}: the package holds ${top.join(', ') || 'nothing'} instead of the one folder ${chart.name}/; refused, nothing written`,
      );
    }
    const files = treeDigest(join(extracted, chart.name));
    if (expected !== undefined && files !== expected.files) {
      return failure(
        'upstream.digest',
        `${label}: the package's files have digest ${files}, ${LOCK_FILE} records ${expected.files}: the package's files differ from what the lock recorded (a republished chart, or a lock recorded from other files); refused, nothing written`,
      );
    }
    created = statSync(versionFolder, { throwIfNoEntry: false }) === undefined;
    mkdirSync(versionFolder, { recursive: true });
    // The package goes in first: a package without its folder is never used, a folder is used at once.
    const packagePath = chartPackageLocation(store.cache, chart);
    const hadPackage = statSync(packagePath, { throwIfNoEntry: false }) !== undefined;
    renameSync(archive, packagePath);
    try {
      replaceFolder(join(extracted, chart.name), chartLocation(store.cache, chart), scratch);
    } catch (error) {
      if (!hadPackage) rmSync(packagePath, { force: true });
      throw error;
    }
    created = false;
    return { path: chartLocation(store.cache, chart), digest, files, bytes: content.length };
  } catch (error) {
    return failure('upstream.package', `${label}: cannot unpack the package into the cache: ${message(error)}`);
  } finally {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
    if (created) {
      try {
        rmdirSync(versionFolder);
      } catch {
        // Not empty: something else is there; leave it.
      }
    }
  }
}

/**
 * Downloads pins into the cache, each checked against its lock entry before it is written. A pin
 * the lock lacks is a problem naming the command that records it.
 */
export async function fetchPins(
  store: UpstreamStore,
  lock: UpstreamLock,
  pins: Pins,
  download: Download,
): Promise<{ fetched: FetchedPin[]; problems: Problem[] }> {
  const fetched: FetchedPin[] = [];
  const problems: Problem[] = [];
  const resources = new Map(lock.resources.map((entry) => [entry.url, entry]));
  const charts = new Map(lock.charts.map((entry) => [chartKey(entry), entry]));
  const unlocked = (label: string) =>
    problems.push({
      origin: { file: LOCK_FILE },
      rule: 'upstream.lock',
      message: `${label} is not in ${LOCK_FILE}: run "npm run upstream -- lock" to record its digest`,
    });
  for (const url of pins.resources) {
    const locked = resources.get(url);
    if (locked === undefined) {
      unlocked(url);
      continue;
    }
    const result = await downloadResource(store, url, download, locked.sha256);
    if ('problem' in result) problems.push(result.problem);
    else fetched.push({ label: url, path: result.path, bytes: result.bytes });
  }
  for (const chart of pins.charts) {
    const locked = charts.get(chartKey(chart));
    if (locked === undefined) {
      unlocked(chartLabel(chart));
      continue;
    }
    const result = await downloadChart(store, chart, download, locked);
    if ('problem' in result) problems.push(result.problem);
    else fetched.push({ label: chartLabel(chart), path: result.path, bytes: result.bytes });
  }
  return { fetched, problems };
}
