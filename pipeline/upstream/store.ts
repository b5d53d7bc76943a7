import { readFileSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import type { Problem } from '../../framework/model.js';
import { isDnsName } from '../../framework/rules/network.js';
import { sha256Hex, treeDigest } from './digest.js';
import { type ChartPin, LOCK_FILE, type LockedChart, type LockedResource } from './lock.js';

/** The command that downloads what the lock pins into the cache. */
export const FETCH_COMMAND = 'npm run upstream -- fetch';

/**
 * Where upstream files are looked up: a mirror folder standing in for the network (read only),
 * then the project's download cache. Both have the same layout: a resource URL
 * `https://HOST/PATH` at `<base>/HOST/PATH`, a chart at `<base>/charts/<name>-<version>/<name>/`
 * (kustomize's helmGlobals.chartHome layout, with chartHome `<base>/charts`).
 */
export interface UpstreamStore {
  readonly cache: string;
  readonly mirror?: string;
}

export type StoreSource = 'mirror' | 'cache';

export const DEFAULT_CACHE = '.upstream-cache';

/** The store of a project: UPSTREAM_CACHE (default `<root>/.upstream-cache`) and UPSTREAM_MIRROR, relative to the root. */
export function openStore(root: string, env: NodeJS.ProcessEnv = process.env): UpstreamStore {
  const cache = resolve(root, env.UPSTREAM_CACHE ? env.UPSTREAM_CACHE : DEFAULT_CACHE);
  return env.UPSTREAM_MIRROR ? { cache, mirror: resolve(root, env.UPSTREAM_MIRROR) } : { cache };
}

const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CHART_VERSION = /^[A-Za-z0-9][A-Za-z0-9.+_-]*$/;

/** Why a URL has no place in the store, or undefined when it has one. */
function resourceUrlError(url: string): string | undefined {
  if (!url.startsWith('https://')) return 'is not an https:// URL';
  const rest = url.slice('https://'.length);
  const slash = rest.indexOf('/');
  const host = slash < 0 ? rest : rest.slice(0, slash);
  if (!isDnsName(host, { minLabels: 2 })) return `has an unsupported host "${host}" (a lowercase DNS name without port or user)`;
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  if (path === '') return 'names no file';
  if (/[?#%\\\0]/.test(path)) return 'has a query, fragment, escape or backslash, which no stored file can stand for';
  if (path.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    return 'has an empty, "." or ".." path segment';
  }
  return undefined;
}

/** Why a chart has no place in the store, or undefined when it has one. */
function chartError(chart: ChartPin): string | undefined {
  if (!CHART_NAME.test(chart.name)) return `chart name "${chart.name}" is not a plain name`;
  if (!CHART_VERSION.test(chart.version)) return `chart version "${chart.version}" is not a plain version`;
  return undefined;
}

/** `path` below `base`, refusing anything that would leave it. */
function inside(base: string, ...segments: string[]): string {
  const root = resolve(base);
  const path = resolve(root, ...segments);
  if (!path.startsWith(`${root}${sep}`)) throw new Error(`${segments.join('/')} would leave ${root}`);
  return path;
}

/** The file a resource URL is stored at below a base folder; throws for a URL that has no such place. */
export function resourceLocation(base: string, url: string): string {
  const error = resourceUrlError(url);
  if (error) throw new Error(`${url} ${error}`);
  return inside(base, url.slice('https://'.length));
}

/** kustomize's chartHome below a base folder. */
export function chartHomeOf(base: string): string {
  return join(resolve(base), 'charts');
}

/** The folder `<base>/charts/<name>-<version>/` of a chart; throws for a name or version that is no plain segment. */
export function chartVersionFolder(base: string, chart: ChartPin): string {
  const error = chartError(chart);
  if (error) throw new Error(`Helm chart ${chart.name} ${chart.version}: ${error}`);
  return inside(base, 'charts', `${chart.name}-${chart.version}`);
}

/** The chart folder `<base>/charts/<name>-<version>/<name>/`. */
export function chartLocation(base: string, chart: ChartPin): string {
  return join(chartVersionFolder(base, chart), chart.name);
}

/** The chart package `<base>/charts/<name>-<version>/<name>-<version>.tgz`, when a mirror or the cache keeps it. */
export function chartPackageLocation(base: string, chart: ChartPin): string {
  return join(chartVersionFolder(base, chart), `${chart.name}-${chart.version}.tgz`);
}

/** How a chart is named in messages. */
export function chartLabel(chart: ChartPin): string {
  return `Helm chart ${chart.name} ${chart.version} of ${chart.repo}`;
}

function bases(store: UpstreamStore): { base: string; from: StoreSource }[] {
  return [...(store.mirror !== undefined ? [{ base: store.mirror, from: 'mirror' as const }] : []), { base: store.cache, from: 'cache' }];
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function isFolder(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function storeProblem(rule: string, message: string): { problem: Problem } {
  return { problem: { origin: { file: LOCK_FILE }, rule, message } };
}

function missing(store: UpstreamStore, label: string, paths: { from: StoreSource; path: string }[]): { problem: Problem } {
  const where =
    paths.length > 1
      ? `is in neither ${paths.map(({ from, path }) => `the ${from} (${path})`).join(' nor ')}`
      : `is not in the ${paths[0]?.from ?? 'cache'} (${paths[0]?.path ?? store.cache}) and UPSTREAM_MIRROR is not set`;
  const mirror = store.mirror === undefined ? ', or set UPSTREAM_MIRROR to a mirror folder that holds it' : '';
  return storeProblem('upstream.missing', `${label} ${where}: run "${FETCH_COMMAND}" to download it${mirror}`);
}

/** The first stored copy of a resource, unverified (for recording a new pin). */
export function findResource(store: UpstreamStore, url: string): { path: string; from: StoreSource } | undefined {
  for (const { base, from } of bases(store)) {
    const path = resourceLocation(base, url);
    if (isFile(path)) return { path, from };
  }
  return undefined;
}

/** The first stored copy of a chart folder and, when that base keeps it, its package; unverified. */
export function findChart(store: UpstreamStore, chart: ChartPin): { path: string; packagePath?: string; from: StoreSource } | undefined {
  for (const { base, from } of bases(store)) {
    const path = chartLocation(base, chart);
    if (!isFolder(path)) continue;
    const packagePath = chartPackageLocation(base, chart);
    return isFile(packagePath) ? { path, packagePath, from } : { path, from };
  }
  return undefined;
}

/**
 * The stored file of a locked resource: the mirror's copy, else the cache's, its sha256 checked
 * against the lock on every call. A copy whose digest differs is a problem, never a fallback.
 */
export function resolveResource(store: UpstreamStore, locked: LockedResource): { path: string; from: StoreSource } | { problem: Problem } {
  let found: { path: string; from: StoreSource } | undefined;
  try {
    found = findResource(store, locked.url);
  } catch (error) {
    return storeProblem('upstream.lock', error instanceof Error ? error.message : String(error));
  }
  if (found === undefined) {
    return missing(
      store,
      locked.url,
      bases(store).map(({ base, from }) => ({ from, path: resourceLocation(base, locked.url) })),
    );
  }
  const actual = sha256Hex(readFileSync(found.path));
  if (actual !== locked.sha256) {
    return storeProblem(
      'upstream.digest',
      `${locked.url}: the ${found.from} copy (${found.path}) has sha256 ${actual}, ${LOCK_FILE} records ${locked.sha256}: the tag was moved upstream or the file was tampered with; review the change before recording it (remove the entry and run "npm run upstream -- lock")`,
    );
  }
  return found;
}

/**
 * The stored folder of a locked chart, with the chartHome kustomize reads it from: the mirror's
 * copy, else the cache's, its treeDigest (and its package's sha256, when the copy keeps the
 * package and the lock knows the digest) checked against the lock on every call.
 */
export function resolveChart(
  store: UpstreamStore,
  locked: LockedChart,
): { chartHome: string; path: string; from: StoreSource } | { problem: Problem } {
  const label = chartLabel(locked);
  let found: ReturnType<typeof findChart>;
  try {
    found = findChart(store, locked);
  } catch (error) {
    return storeProblem('upstream.lock', error instanceof Error ? error.message : String(error));
  }
  if (found === undefined) {
    return missing(
      store,
      label,
      bases(store).map(({ base, from }) => ({ from, path: `${chartLocation(base, locked)}/` })),
    );
  }
  const base = found.from === 'mirror' && store.mirror !== undefined ? store.mirror : store.cache;
  let files: string;
  try {
    files = treeDigest(found.path);
  } catch (error) {
    return storeProblem(
      'upstream.digest',
      `${label}: the ${found.from} copy cannot be checked: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (files !== locked.files) {
    return storeProblem(
      'upstream.digest',
      `${label}: the ${found.from} copy (${found.path}/) has files digest ${files}, ${LOCK_FILE} records ${locked.files}: the chart version was republished upstream (a moved tag) or its files were tampered with; review the change before recording it`,
    );
  }
  if (found.packagePath !== undefined && locked.digest !== null) {
    const digest = sha256Hex(readFileSync(found.packagePath));
    if (digest !== locked.digest) {
      return storeProblem(
        'upstream.digest',
        `${label}: the ${found.from} package (${found.packagePath}) has sha256 ${digest}, ${LOCK_FILE} records ${locked.digest}: the chart version was republished upstream (a moved tag) or the package was tampered with`,
      );
    }
  }
  return { chartHome: chartHomeOf(base), path: found.path, from: found.from };
}
