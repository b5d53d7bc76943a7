import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { isRecord } from '../../framework/model.js';

/** `.Values.a.b`, `$.Values.a.b`, and `index .Values "a" "b"` in a template. */
const DOTTED = /\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)/g;
const INDEXED = /index\s+\$?\.Values((?:\s+"[^"]+")+)/g;

function templateFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...templateFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Every key path of a values document (arrays and scalars are leaves). */
function keyPaths(value: unknown, prefix: string, out: Set<string>): void {
  if (!isRecord(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    out.add(path);
    keyPaths(child, path, out);
  }
}

/** The leaf paths a values override sets. */
function overridePaths(value: unknown, prefix: string, out: string[]): void {
  if (!isRecord(value) || (Object.keys(value).length === 0 && prefix)) {
    if (prefix) out.push(prefix);
    return;
  }
  for (const [key, child] of Object.entries(value)) overridePaths(child, prefix ? `${prefix}.${key}` : key, out);
}

export interface ChartReads {
  /** `.Values` paths the templates name. */
  readonly referenced: ReadonlySet<string>;
  /** Key paths of the chart's values.yaml. */
  readonly defaults: ReadonlySet<string>;
  /** Top-level keys handed to subcharts (dependency names or aliases) or shared (`global`). */
  readonly passedOn: ReadonlySet<string>;
}

/** What a chart folder reads of its values, from its templates, values.yaml and dependencies. */
export function chartReads(chartDir: string): ChartReads {
  const referenced = new Set<string>();
  const templates = join(chartDir, 'templates');
  let files: string[] = [];
  try {
    if (statSync(templates).isDirectory()) files = templateFiles(templates);
  } catch {
    files = [];
  }
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(DOTTED)) referenced.add((match[1] ?? '').slice(1));
    for (const match of text.matchAll(INDEXED)) {
      referenced.add([...(match[1] ?? '').matchAll(/"([^"]+)"/g)].map((m) => m[1]).join('.'));
    }
  }
  const defaults = new Set<string>();
  try {
    keyPaths(parseYaml(readFileSync(join(chartDir, 'values.yaml'), 'utf8'), { uniqueKeys: false }), '', defaults);
  } catch {
    // a chart without values.yaml has no defaults
  }
  const passedOn = new Set<string>(['global']);
  try {
    const chart: unknown = parseYaml(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8'), { uniqueKeys: false });
    const dependencies = isRecord(chart) && Array.isArray(chart.dependencies) ? chart.dependencies : [];
    for (const dependency of dependencies) {
      if (!isRecord(dependency)) continue;
      const name = typeof dependency.alias === 'string' ? dependency.alias : dependency.name;
      if (typeof name === 'string') passedOn.add(name);
    }
  } catch {
    // no Chart.yaml: nothing passed on
  }
  return { referenced, defaults, passedOn };
}

/**
 * The values an override sets that the chart never reads: no template names the path or a
 * path above it, values.yaml has no such key, and no subchart receives it. (A template that
 * hands a whole map on, like `toYaml .Values.podAnnotations`, reads everything below it.)
 */
export function unreadValues(reads: ChartReads, values: Record<string, unknown>): string[] {
  const paths: string[] = [];
  overridePaths(values, '', paths);
  return paths.filter((path) => {
    const segments = path.split('.');
    if (reads.passedOn.has(segments[0] ?? '')) return false;
    if (reads.defaults.has(path)) return false;
    for (let length = segments.length; length > 0; length -= 1) {
      if (reads.referenced.has(segments.slice(0, length).join('.'))) return false;
    }
    return true;
  });
}
