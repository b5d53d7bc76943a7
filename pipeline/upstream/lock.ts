import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareStrings, isRecord, type Problem } from '../../framework/model.js';

/** The lock file, at the project root. */
export const LOCK_FILE = 'upstream.lock.json';

/** A remote resource URL with the sha256 of the raw file it serves. */
export interface LockedResource {
  readonly url: string;
  readonly sha256: string;
}

/** A Helm chart as an app pins it. */
export interface ChartPin {
  readonly repo: string;
  readonly name: string;
  readonly version: string;
}

/** A Helm chart pin with the digests of its package and of its files. */
export interface LockedChart extends ChartPin {
  /** sha256 of the .tgz package as the chart repository's index.yaml lists it; null when not known. */
  readonly digest: string | null;
  /** treeDigest of the chart folder (`<name>/`). */
  readonly files: string;
}

/** Every upstream file and chart the apps pin, with its digest. */
export interface UpstreamLock {
  readonly version: 1;
  readonly resources: readonly LockedResource[];
  readonly charts: readonly LockedChart[];
}

/** The lock file of a project. */
export function lockPath(root: string): string {
  return join(root, LOCK_FILE);
}

/** The key a chart is identified by in the lock (and in pins). */
export function chartKey(chart: ChartPin): string {
  return `${chart.repo}\0${chart.name}\0${chart.version}`;
}

/** Orders charts by repository, name and version. */
export function compareCharts(a: ChartPin, b: ChartPin): number {
  return compareStrings(a.repo, b.repo) || compareStrings(a.name, b.name) || compareStrings(a.version, b.version);
}

const HEX64 = /^[0-9a-f]{64}$/;

function problem(path: string, message: string): Problem {
  return { origin: { file: LOCK_FILE }, rule: 'upstream.lock', message: `${path}: ${message}` };
}

/** Problems for keys other than the allowed ones. */
function unknownKeys(value: Record<string, unknown>, allowed: readonly string[], path: string, problems: Problem[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) problems.push(problem(`${path}.${key}`, `unknown key (allowed: ${allowed.join(', ')})`));
  }
}

function text(value: Record<string, unknown>, key: string, path: string, problems: Problem[]): string | undefined {
  const item = value[key];
  if (typeof item === 'string' && item !== '') return item;
  problems.push(problem(`${path}.${key}`, item === undefined ? 'is missing (a string)' : 'must be a non-empty string'));
  return undefined;
}

function hex(value: Record<string, unknown>, key: string, path: string, problems: Problem[]): string | undefined {
  const item = value[key];
  if (typeof item === 'string' && HEX64.test(item)) return item;
  problems.push(
    problem(
      `${path}.${key}`,
      item === undefined ? 'is missing (a sha256: 64 lowercase hex digits)' : 'must be a sha256: 64 lowercase hex digits',
    ),
  );
  return undefined;
}

function parseResources(value: unknown, problems: Problem[]): LockedResource[] {
  if (!Array.isArray(value)) {
    problems.push(problem('$.resources', value === undefined ? 'is missing (a list)' : 'must be a list'));
    return [];
  }
  const resources: LockedResource[] = [];
  const seen = new Map<string, number>();
  for (const [index, item] of value.entries()) {
    const path = `$.resources[${index}]`;
    if (!isRecord(item)) {
      problems.push(problem(path, 'must be an object { url, sha256 }'));
      continue;
    }
    const before = problems.length;
    unknownKeys(item, ['url', 'sha256'], path, problems);
    const url = text(item, 'url', path, problems);
    const sha256 = hex(item, 'sha256', path, problems);
    if (url !== undefined && !url.startsWith('https://')) problems.push(problem(`${path}.url`, `"${url}" is not an https:// URL`));
    if (url !== undefined) {
      const first = seen.get(url);
      if (first !== undefined) problems.push(problem(`${path}.url`, `${url} is locked twice (first at $.resources[${first}])`));
      else seen.set(url, index);
    }
    if (problems.length === before && url !== undefined && sha256 !== undefined) resources.push({ url, sha256 });
  }
  return resources;
}

function parseCharts(value: unknown, problems: Problem[]): LockedChart[] {
  if (!Array.isArray(value)) {
    problems.push(problem('$.charts', value === undefined ? 'is missing (a list)' : 'must be a list'));
    return [];
  }
  const charts: LockedChart[] = [];
  const seen = new Map<string, number>();
  for (const [index, item] of value.entries()) {
    const path = `$.charts[${index}]`;
    if (!isRecord(item)) {
      problems.push(problem(path, 'must be an object { repo, name, version, digest, files }'));
      continue;
    }
    const before = problems.length;
    unknownKeys(item, ['repo', 'name', 'version', 'digest', 'files'], path, problems);
    const repo = text(item, 'repo', path, problems);
    const name = text(item, 'name', path, problems);
    const version = text(item, 'version', path, problems);
    let digest: string | null | undefined = null;
    if (!('digest' in item)) {
      problems.push(problem(`${path}.digest`, 'is missing (the package sha256, or null when not known)'));
      digest = undefined;
    } else if (item.digest !== null) {
      digest = hex(item, 'digest', path, problems);
    }
    const files = hex(item, 'files', path, problems);
    if (repo !== undefined && name !== undefined && version !== undefined) {
      const key = chartKey({ repo, name, version });
      const first = seen.get(key);
      if (first !== undefined)
        problems.push(problem(path, `Helm chart ${name} ${version} of ${repo} is locked twice (first at $.charts[${first}])`));
      else seen.set(key, index);
    }
    if (
      problems.length === before &&
      repo !== undefined &&
      name !== undefined &&
      version !== undefined &&
      digest !== undefined &&
      files !== undefined
    ) {
      charts.push({ repo, name, version, digest, files });
    }
  }
  return charts;
}

/** Parses the text of a lock file strictly: every problem is reported with its JSON path. */
export function parseLock(source: string): { lock?: UpstreamLock; problems: Problem[] } {
  let data: unknown;
  try {
    data = JSON.parse(source);
  } catch (error) {
    return { problems: [problem('$', `invalid JSON: ${error instanceof Error ? error.message : String(error)}`)] };
  }
  if (!isRecord(data)) return { problems: [problem('$', 'must be an object { version: 1, resources, charts }')] };
  const problems: Problem[] = [];
  unknownKeys(data, ['version', 'resources', 'charts'], '$', problems);
  if (data.version !== 1) {
    problems.push(
      problem('$.version', data.version === undefined ? 'is missing (1)' : `${JSON.stringify(data.version)} is not supported (1)`),
    );
  }
  const resources = parseResources(data.resources, problems);
  const charts = parseCharts(data.charts, problems);
  return problems.length > 0 ? { problems } : { lock: { version: 1, resources, charts }, problems };
}

/** Reads `upstream.lock.json` of a project; a missing or invalid file is a problem. */
export function readLock(root: string): { lock?: UpstreamLock; problems: Problem[] } {
  let source: string;
  try {
    source = readFileSync(lockPath(root), 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      problems: [
        {
          origin: { file: LOCK_FILE },
          rule: 'upstream.lock',
          message: missing
            ? `does not exist: run "npm run upstream -- lock" to record the digest of every pin`
            : `cannot be read: ${error instanceof Error ? error.message : String(error)}`,
        },
      ],
    };
  }
  return parseLock(source);
}

/** The lock as its file holds it: sorted, keys in a fixed order, 2-space JSON with a trailing newline. */
export function formatLock(lock: UpstreamLock): string {
  const resources = [...lock.resources].sort((a, b) => compareStrings(a.url, b.url)).map(({ url, sha256 }) => ({ url, sha256 }));
  const charts = [...lock.charts]
    .sort(compareCharts)
    .map(({ repo, name, version, digest, files }) => ({ repo, name, version, digest, files }));
  return `${JSON.stringify({ version: 1, resources, charts }, null, 2)}\n`;
}
