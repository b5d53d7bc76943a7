import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { PolicyContext, PolicyObject } from '../../framework/cluster.js';
import type { RenderToolchain } from '../../framework/contributions.js';
import {
  annotationsOf,
  compareStrings,
  isRecord,
  type Manifest,
  type Origin,
  objectRef,
  type Problem,
  type SourcedObject,
} from '../../framework/model.js';
import {
  namespaceEnforceLevel,
  POD_SECURITY_LEVELS,
  type PodSecurityLevel,
  podSecurityViolations,
  podSpecOf,
} from '../../framework/rules/pod-security.js';
import { checkCustomResources, dependencyClosure, SKIP_DRY_RUN, SYNC_OPTIONS_ANNOTATION } from '../custom-resources.js';
import { withNamespace } from '../kustomize-namespace.js';
import { KSOPS_API_VERSION, KSOPS_KIND, KUSTOMIZATION_FILE, SECRET_GENERATOR_FILE } from '../layout.js';
import { withoutHost } from '../sandbox.js';
import type { SchemaRegistry } from '../schemas.js';
import type { SynthApp, SynthCluster } from '../synth.js';
import { describeThrown } from '../thrown.js';
import { compareVersions, KUSTOMIZE_WITH_HELM_V4, parseVersion } from '../toolchain.js';
import type { LockedChart, LockedResource, UpstreamLock } from '../upstream/lock.js';
import { resolveChart, resolveResource, type UpstreamStore } from '../upstream/store.js';
import { validateObjects } from '../validate.js';
import { parseManifests, stringifyData } from '../yaml.js';
import { chartReads, unreadValues } from './chart-values.js';
import { readAgeIdentities, standInSecret } from './ksops-stand-in.js';
import { patchMissingIn, selects } from './patches.js';
import type { DeepTools } from './tools.js';

const ORIGIN_ANNOTATION = 'config.kubernetes.io/origin';
/** Folder of an app's build copy that holds its upstream files (`.upstream/<host>/<path>`). */
const UPSTREAM_FOLDER = '.upstream';
/** Flags of ArgoCD's `kustomize build` the stand-in (`kubectl kustomize`) takes as they are. */
const PASSED_FLAGS = new Set(['--enable-helm', '--enable-alpha-plugins', '--load-restrictor', '--enable-managedby-label']);

export interface DeepOptions {
  readonly root: string;
  /** The synth result's files (`<cluster>/<app>/<file>`) and clusters. */
  readonly files: ReadonlyMap<string, string>;
  readonly clusters: readonly SynthCluster[];
  readonly registry: SchemaRegistry;
  readonly lock: UpstreamLock;
  readonly store: UpstreamStore;
  readonly tools: DeepTools;
  /** An age keys file the KSOPS stand-in decrypts with; without it, Secrets are built without their values. */
  readonly ageKeyFile?: string;
  /** Apps built at once. @default 2 */
  readonly concurrency?: number;
  /**
   * Objects of app folders already built, by a digest of everything their build reads; a
   * caller deep-building variants of one cluster passes the same map to rebuild only what changed.
   */
  readonly cache?: Map<string, BuiltObject[]>;
}

export interface DeepResult {
  readonly problems: Problem[];
  /** How the stand-in toolchain differs from the renderer's, one line each. */
  readonly notes: string[];
  readonly stats: { readonly apps: number; readonly objects: number; readonly upstreamObjects: number };
}

/** An object of a built app folder, with where it came from. */
export interface BuiltObject extends SourcedObject {
  readonly app: string;
  /** It came from a pinned upstream file or chart (not from the project or a SOPS file). */
  readonly upstream: boolean;
}

interface Prepared {
  readonly app: SynthApp;
  readonly dir: string;
  readonly pluginHome: string;
  /** Build-copy path of each upstream file to the URL it stands for. */
  readonly upstreamPaths: Map<string, string>;
  readonly sopsFiles: Map<string, string>;
  /** Files the KSOPS stand-in prints (outside the folder). */
  readonly pluginOutputs: readonly string[];
}

function message(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n').find((line) => line.trim() !== '') ?? error.message) : String(error);
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** Runs a command, resolving with its exit code and output. */
function runCommand(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, [...args], { env, maxBuffer: 256 * 1024 * 1024, timeout: 300_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code as number) : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (error && !stderr ? error.message : '') });
    });
  });
}

/** Runs jobs with at most `limit` at once, keeping their order in the result. */
async function pooled<T, R>(items: readonly T[], limit: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await job(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** The object without the build-metadata annotations the deep build asked kustomize for. */
function withoutBuildMetadata(manifest: Manifest): Manifest {
  const metadata = isRecord(manifest.metadata) ? manifest.metadata : undefined;
  if (!metadata || !isRecord(metadata.annotations)) return manifest;
  const { [ORIGIN_ANNOTATION]: _origin, ...rest } = metadata.annotations;
  const { annotations: _annotations, ...others } = metadata;
  return { ...manifest, metadata: Object.keys(rest).length > 0 ? { ...others, annotations: rest } : others };
}

/** The lock entry of a URL or chart, or a problem naming the command that records it. */
function lockedResource(lock: UpstreamLock, url: string): LockedResource | undefined {
  return lock.resources.find((entry) => entry.url === url);
}

function lockedChart(lock: UpstreamLock, chart: { repo: string; name: string; version: string }): LockedChart | undefined {
  return lock.charts.find((entry) => entry.repo === chart.repo && entry.name === chart.name && entry.version === chart.version);
}

const LOCK_COMMAND = 'npm run upstream -- lock';

/** Copies an app folder for kustomize, with upstream files and charts local and the KSOPS stand-in in place. */
async function prepare(
  options: DeepOptions,
  cluster: SynthCluster,
  app: SynthApp,
  work: string,
  identities: readonly { secretKey: string; recipient: string }[],
  problems: Problem[],
  decryptedBy: Set<string>,
): Promise<Prepared | undefined> {
  const prefix = `${cluster.name}/${app.name}/`;
  const dir = join(work, cluster.name, app.name);
  const pluginHome = join(work, '.plugins', cluster.name, app.name);
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of options.files) {
    if (!path.startsWith(prefix)) continue;
    const target = join(dir, path.slice(prefix.length));
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content);
  }
  const report = (rule: string, text: string) => problems.push({ origin: { constructPath: app.constructPath }, rule, message: text });
  const kustomization = parseYaml(options.files.get(`${prefix}${KUSTOMIZATION_FILE}`) ?? '', { uniqueKeys: false }) as Record<
    string,
    unknown
  >;
  const upstreamPaths = new Map<string, string>();
  let ok = true;
  const resources = Array.isArray(kustomization.resources) ? (kustomization.resources as string[]) : [];
  kustomization.resources = resources.map((resource) => {
    if (!/^https:\/\//.test(resource)) return resource;
    const locked = lockedResource(options.lock, resource);
    if (!locked) {
      report('upstream.lock', `${resource} is not in upstream.lock.json: run "${LOCK_COMMAND}" to record its digest`);
      ok = false;
      return resource;
    }
    const found = resolveResource(options.store, locked);
    if ('problem' in found) {
      problems.push({ ...found.problem, origin: { ...found.problem.origin, constructPath: app.constructPath } });
      ok = false;
      return resource;
    }
    const local = `${UPSTREAM_FOLDER}/${resource.slice('https://'.length)}`;
    mkdirSync(dirname(join(dir, local)), { recursive: true });
    cpSync(found.path, join(dir, local));
    upstreamPaths.set(local, resource);
    return local;
  });
  for (const chart of app.helmCharts) {
    const locked = lockedChart(options.lock, chart);
    if (!locked) {
      report(
        'upstream.lock',
        `Helm chart ${chart.name} ${chart.version} of ${chart.repo} is not in upstream.lock.json: run "${LOCK_COMMAND}"`,
      );
      ok = false;
      continue;
    }
    const found = resolveChart(options.store, locked);
    if ('problem' in found) {
      problems.push({ ...found.problem, origin: { ...found.problem.origin, constructPath: app.constructPath } });
      ok = false;
      continue;
    }
    const target = join(dir, 'charts', `${chart.name}-${chart.version}`, chart.name);
    cpSync(found.path, target, { recursive: true });
    // Values the chart never reads are lost: a typo, or a key a chart release renamed.
    const unread = unreadValues(chartReads(target), chart.valuesInline ?? {});
    for (const path of unread) {
      report(
        'deep.chart-values',
        `Helm chart ${chart.name} ${chart.version} (release ${chart.releaseName}) does not read value "${path}": no template uses .Values.${path} or a map above it, and the chart's values.yaml has no such key; check the name against the chart's values.yaml`,
      );
    }
  }
  kustomization.buildMetadata = ['originAnnotations'];
  writeFileSync(join(dir, KUSTOMIZATION_FILE), stringifyData(kustomization));

  const generator = options.files.get(`${prefix}${SECRET_GENERATOR_FILE}`);
  const sopsFiles = new Map<string, string>();
  const pluginOutputs: string[] = [];
  if (generator !== undefined) {
    // kubectl kustomize cannot run KRM exec functions: the generator becomes a legacy exec plugin
    // (same apiVersion and kind) whose output is made here, from the same files.
    const config = parseYaml(generator, { uniqueKeys: false }) as { metadata?: { name?: string }; files?: string[] };
    const outputs: string[] = [];
    for (const file of config.files ?? []) {
      const name = file.replace(/^\.\//, '');
      const text = options.files.get(`${prefix}${name}`);
      if (text === undefined) {
        report('deep.sops', `the KSOPS generator lists ${file}, which the app folder does not hold`);
        ok = false;
        continue;
      }
      try {
        const secret = await standInSecret(text, identities);
        if (secret.decryptedFor) decryptedBy.add(secret.decryptedFor);
        outputs.push(stringifyData(secret.manifest));
        const ref = objectRef(secret.manifest);
        sopsFiles.set(`${ref.kind}/${ref.name}`, name);
      } catch (error) {
        // Named as the operator knows it: the project file the dist copy came from.
        const source = app.encryptedFiles.find(({ entry }) => name.endsWith(basename(entry.source)))?.entry.source;
        report('deep.sops', `${source ?? name} cannot be decrypted for the build: ${message(error)}`);
        ok = false;
      }
    }
    writeFileSync(
      join(dir, SECRET_GENERATOR_FILE),
      stringifyData({ apiVersion: KSOPS_API_VERSION, kind: KSOPS_KIND, metadata: { name: config.metadata?.name ?? 'secrets' } }),
    );
    const output = join(work, '.plugins-output', cluster.name, `${app.name}.yaml`);
    mkdirSync(dirname(output), { recursive: true });
    writeFileSync(output, outputs.map((text) => `---\n${text}`).join(''), { mode: 0o600 });
    pluginOutputs.push(output);
    const plugin = join(pluginHome, KSOPS_API_VERSION, KSOPS_KIND, KSOPS_KIND);
    mkdirSync(dirname(plugin), { recursive: true });
    writeFileSync(plugin, `#!/bin/sh\nexec cat ${shellQuote(output)}\n`);
    chmodSync(plugin, 0o755);
  }
  return ok ? { app, dir, pluginHome, upstreamPaths, sopsFiles, pluginOutputs } : undefined;
}

/** Where a built object came from, from kustomize's origin and transformer annotations. */
function sourceOf(manifest: Manifest, prepared: Prepared): { source: string; upstream: boolean; file?: string } {
  const annotations = annotationsOf(manifest);
  const raw = annotations[ORIGIN_ANNOTATION];
  const origin = typeof raw === 'string' ? (parseYaml(raw, { uniqueKeys: false }) as Record<string, unknown>) : {};
  // kustomize's transformer annotations list every patch it ran, not those that changed the object.
  const patched = prepared.app.patches.some(({ entry }) => selects(entry.target, withoutBuildMetadata(manifest))) ? ', patched' : '';
  const configuredBy = isRecord(origin.configuredBy) ? origin.configuredBy : {};
  if (typeof origin.path === 'string') {
    const url = prepared.upstreamPaths.get(origin.path);
    if (url) return { source: `upstream ${url}${patched}`, upstream: true };
    return { source: `project file ${origin.path}${patched}`, upstream: false, file: origin.path };
  }
  if (configuredBy.kind === 'HelmChartInflationGenerator') {
    const charts = prepared.app.helmCharts;
    const labels = isRecord(manifest.metadata) && isRecord(manifest.metadata.labels) ? manifest.metadata.labels : {};
    const instance = labels['app.kubernetes.io/instance'] ?? labels.release;
    const chart = charts.find((candidate) => candidate.releaseName === instance) ?? (charts.length === 1 ? charts[0] : undefined);
    const label = chart ? `Helm chart ${chart.name} ${chart.version} (release ${chart.releaseName})` : 'a Helm chart of the app';
    return { source: `${label}${patched}`, upstream: true };
  }
  if (configuredBy.kind === KSOPS_KIND) {
    const ref = objectRef(manifest);
    const file = prepared.sopsFiles.get(`${ref.kind}/${ref.name}`);
    return { source: `SOPS file ${file ?? '(unknown)'}${patched}`, upstream: false, file };
  }
  return { source: `kustomize${patched}`, upstream: false };
}

/** A digest of every file an app's build reads (its folder copy with upstream files, charts and KSOPS output) and the flags. */
function buildKey(prepared: Prepared, flags: readonly string[]): string {
  const hash = createHash('sha256').update(`${prepared.app.constructPath}\0${flags.join(' ')}\0${JSON.stringify(prepared.app)}\0`);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => compareStrings(a.name, b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(`${path.slice(prepared.dir.length)}\0`).update(readFileSync(path));
    }
  };
  walk(prepared.dir);
  for (const output of prepared.pluginOutputs) hash.update(readFileSync(output));
  return hash.digest('hex');
}

/** Builds one app folder with kustomize and reads back its objects. */
async function buildApp(
  options: DeepOptions,
  cluster: SynthCluster,
  prepared: Prepared,
  flags: readonly string[],
  helmCommand: string | undefined,
  problems: Problem[],
): Promise<BuiltObject[] | undefined> {
  const { app } = prepared;
  const args = ['kustomize', prepared.dir, ...flags, ...(helmCommand ? ['--helm-command', helmCommand] : [])];
  const env = { ...process.env, KUSTOMIZE_PLUGIN_HOME: prepared.pluginHome, HELM: undefined };
  const result = await runCommand(options.tools.kubectl, args, env);
  const folder = `dist/${cluster.name}/${app.name}`;
  if (result.code !== 0) {
    const reason = result.stderr
      .replaceAll(prepared.dir, folder)
      .replace(/\s*\n\s*/g, ' ')
      .trim();
    problems.push({
      origin: { constructPath: app.constructPath, file: folder },
      rule: 'deep.build',
      message: `kustomize build failed: ${reason}`,
    });
    return undefined;
  }
  const parsed = parseManifests(result.stdout, folder);
  problems.push(...parsed.problems);
  const namespace = app.kustomizeNamespace;
  const objects: BuiltObject[] = [];
  for (const object of parsed.objects) {
    const { source, upstream, file } = sourceOf(object.manifest, prepared);
    let manifest = withoutBuildMetadata(object.manifest);
    // ArgoCD puts namespaced objects that name none into the Application's destination namespace.
    const destination = namespace ?? cluster.apps.find((candidate) => candidate.name === app.name)?.kustomizeNamespace;
    if (destination) manifest = await withNamespace(manifest, destination, options.registry);
    const ref = objectRef(manifest);
    const sops = app.encryptedFiles.find(
      ({ entry }) => ref.kind === entry.kind && ref.name === entry.name && ref.namespace === (app.kustomizeNamespace ?? entry.namespace),
    );
    // A merge or replace SOPS file lands in an upstream object of the same name.
    const merged = sops && !source.startsWith('SOPS file') ? `, merged with SOPS file ${sops.entry.source}` : '';
    const origin: Origin = { constructPath: app.constructPath, file: file ? `${folder}/${file}` : folder, source: `${source}${merged}` };
    objects.push({ manifest, origin, app: app.name, upstream });
  }
  return objects;
}

/** Every patch of the app selects at least one built object, and shows in each one it selects. */
function checkPatches(app: SynthApp, objects: readonly BuiltObject[], problems: Problem[]): void {
  for (const { entry, constructPath } of app.patches) {
    const selected = objects.filter((object) => selects(entry.target, object.manifest));
    const target = Object.entries(entry.target)
      .map(([key, value]) => `${key}=${value}`)
      .join(', ');
    if (selected.length === 0) {
      problems.push({
        origin: { constructPath },
        rule: 'deep.patch',
        message: `the patch (target ${target}) matches no object of app "${app.name}" once built: it changes nothing; fix the target, or the upstream object it was written for has moved or been renamed`,
      });
      continue;
    }
    for (const object of selected) {
      const missing = patchMissingIn(entry, object.manifest);
      if (missing !== undefined) {
        problems.push({
          origin: { ...object.origin, constructPath },
          object: objectRef(object.manifest),
          rule: 'deep.patch',
          message: `the patch (target ${target}) does not show in the built object at ${missing}: kustomize merged it away or another patch overrode it`,
        });
      }
    }
  }
}

/** Every SOPS file of the app reaches the built output as its Secret, with the keys it declares. */
function checkSopsOutput(app: SynthApp, objects: readonly BuiltObject[], problems: Problem[]): void {
  for (const { entry, constructPath } of app.encryptedFiles) {
    const namespace = app.kustomizeNamespace ?? entry.namespace;
    const built = objects.find((object) => {
      const ref = objectRef(object.manifest);
      return ref.kind === entry.kind && ref.name === entry.name && ref.namespace === namespace;
    });
    if (!built) {
      problems.push({
        origin: { constructPath, file: entry.source },
        rule: 'deep.sops',
        message: `${entry.kind} ${namespace}/${entry.name} from ${entry.source} is not in app "${app.name}" once built: KSOPS's output never reaches the cluster`,
      });
      continue;
    }
    const data = {
      ...(isRecord(built.manifest.data) ? built.manifest.data : {}),
      ...(isRecord(built.manifest.stringData) ? built.manifest.stringData : {}),
    };
    const missing = (entry.keys ?? []).filter((key) => !(key in data));
    if (missing.length > 0) {
      problems.push({
        origin: built.origin,
        object: objectRef(built.manifest),
        rule: 'deep.sops',
        message: `the built Secret lacks ${missing.map((key) => `"${key}"`).join(', ')}, which ${entry.source} must provide`,
      });
    }
  }
}

/** Every pod template runs at its namespace's Pod Security level (unlabelled namespaces enforce nothing). */
function checkPodSecurity(objects: readonly BuiltObject[], problems: Problem[]): void {
  const levels = new Map<string, PodSecurityLevel>();
  for (const object of objects) {
    const ref = objectRef(object.manifest);
    if (object.manifest.apiVersion !== 'v1' || object.manifest.kind !== 'Namespace' || ref.name === undefined) continue;
    const level = namespaceEnforceLevel(object.manifest);
    if (level === undefined) continue;
    if (!(POD_SECURITY_LEVELS as readonly string[]).includes(level)) {
      problems.push({
        origin: object.origin,
        object: ref,
        rule: 'pod-security',
        message: `label pod-security.kubernetes.io/enforce is "${level}", not one of ${POD_SECURITY_LEVELS.join(', ')}`,
      });
      continue;
    }
    levels.set(ref.name, level as PodSecurityLevel);
  }
  for (const object of objects) {
    if (podSpecOf(object.manifest) === undefined) continue;
    const namespace = objectRef(object.manifest).namespace;
    const level = namespace !== undefined ? levels.get(namespace) : undefined;
    if (level === undefined || level === 'privileged') continue;
    for (const violation of podSecurityViolations(object.manifest, level)) {
      problems.push({
        origin: object.origin,
        object: objectRef(object.manifest),
        rule: `pod-security.${violation.rule}`,
        message: `namespace ${namespace} enforces ${level}: ${violation.path}: ${violation.message}`,
      });
    }
  }
}

/** CRD accounting over what the apps really install, and ArgoCD's dry-run option where it must be. */
function checkBuiltCustomResources(
  cluster: SynthCluster,
  objects: readonly BuiltObject[],
  builtApps: ReadonlySet<string>,
  problems: Problem[],
): void {
  const byApp = new Map<string, BuiltObject[]>();
  for (const object of objects) byApp.set(object.app, [...(byApp.get(object.app) ?? []), object]);
  const accounted = checkCustomResources(
    cluster.name,
    // An app that could not be built counts with the CRDs its constructs declare; a built one
    // with those its workloads register when they start, which no built object defines.
    cluster.apps.map((app) => ({
      name: app.name,
      dependsOn: app.dependsOn,
      objects: byApp.get(app.name) ?? [],
      declaredCrds: builtApps.has(app.name) ? app.crds.filter((entry) => entry.crds.registeredAtRuntime !== undefined) : app.crds,
    })),
    cluster.externalCustomResources,
  );
  problems.push(...accounted.problems);
  for (const app of cluster.apps) {
    const built = byApp.get(app.name) ?? [];
    const wanted = accounted.objects.get(app.name) ?? [];
    built.forEach((object, index) => {
      const expected = wanted[index];
      if (!expected || expected.manifest === object.manifest) return;
      const options = String(annotationsOf(expected.manifest)[SYNC_OPTIONS_ANNOTATION] ?? '');
      const has = String(annotationsOf(object.manifest)[SYNC_OPTIONS_ANNOTATION] ?? '');
      if (options.includes(SKIP_DRY_RUN) && !has.includes(SKIP_DRY_RUN)) {
        problems.push({
          origin: object.origin,
          object: objectRef(object.manifest),
          rule: 'deep.crd',
          message: `is a custom resource whose CRD does not come from an app "${app.name}" depends on, and it lacks ${SYNC_OPTIONS_ANNOTATION}: ${SKIP_DRY_RUN}: ArgoCD's dry run fails the whole app on a cluster without the CRD; add the option with a patch, or make the app depend on the one installing the CRD`,
        });
      }
    });
  }
}

/** How the stand-in differs from the renderer, and the flags and helm command it runs with. */
function standIn(
  toolchain: RenderToolchain | undefined,
  tools: DeepTools,
  work: string,
  usesCharts: boolean,
  usesKsops: boolean,
): { flags: string[]; helmCommand?: string; notes: string[] } {
  const notes: string[] = [];
  const wanted = toolchain?.buildOptions ?? ['--enable-helm', '--enable-alpha-plugins', '--enable-exec'];
  const flags = wanted.filter((flag) => PASSED_FLAGS.has(flag.split('=')[0] ?? flag));
  const dropped = wanted.filter((flag) => !flags.includes(flag));
  const renderer = toolchain
    ? `${toolchain.renderer}'s kustomize ${toolchain.kustomize.version}`
    : 'the renderer (the composition declares none)';
  notes.push(`kustomize: kubectl's kustomize ${tools.kustomizeVersion} (${tools.kubectl}) stands in for ${renderer}`);
  if (dropped.length > 0) notes.push(`build options: ${dropped.join(' ')} dropped (kubectl kustomize has no such flag)`);
  if (usesKsops) {
    if (!flags.includes('--enable-alpha-plugins')) flags.push('--enable-alpha-plugins');
    notes.push('KSOPS: its KRM exec function runs as a legacy exec plugin of the same kind, fed from the same SOPS files');
  }
  let helmCommand: string | undefined;
  if (usesCharts) {
    if (!flags.includes('--enable-helm')) flags.push('--enable-helm');
    const helmList = toolchain ? toolchain.helm.join(', ') : 'the renderer';
    const kustomize = parseVersion(tools.kustomizeVersion);
    const floor = parseVersion(KUSTOMIZE_WITH_HELM_V4) as [number, number, number];
    if (kustomize && compareVersions(kustomize, floor) < 0 && parseVersion(tools.helmVersion)?.[0] !== 3) {
      // This kustomize runs `helm version -c` and wants v3: a wrapper answers that one call.
      helmCommand = join(work, 'helm');
      writeFileSync(
        helmCommand,
        `#!/bin/sh\nif [ "$1" = version ]; then echo v3.99.0+helm-${tools.helmVersion}-stand-in; exit 0; fi\nexec ${shellQuote(tools.helm)} "$@"\n`,
      );
      chmodSync(helmCommand, 0o755);
      notes.push(
        `helm: ${tools.helmVersion} stands in for ${helmList}, behind a wrapper answering "helm version" as v3 (kustomize ${tools.kustomizeVersion} checks it; ${KUSTOMIZE_WITH_HELM_V4} no longer does)`,
      );
    } else {
      helmCommand = tools.helm;
      notes.push(`helm: ${tools.helmVersion} stands in for ${helmList}`);
    }
  }
  return { flags, helmCommand, notes };
}

/**
 * Builds every app folder the way the cluster's renderer does (kustomize with its options, the
 * pinned upstream files and charts from the lock's cache or mirror, KSOPS's Secrets), then puts
 * every object built, upstream ones included, through the project's checks.
 */
export async function deepBuild(options: DeepOptions): Promise<DeepResult> {
  const problems: Problem[] = [];
  const notes: string[] = [];
  let apps = 0;
  let objectCount = 0;
  let upstreamObjects = 0;
  const work = mkdtempSync(join(tmpdir(), 'deep-build-'));
  try {
    const identities = options.ageKeyFile ? await readAgeIdentities(options.ageKeyFile) : [];
    const decryptedBy = new Set<string>();
    for (const cluster of options.clusters) {
      const usesCharts = cluster.apps.some((app) => app.helmCharts.length > 0);
      const usesKsops = cluster.apps.some((app) => app.encryptedFiles.length > 0);
      const toolchain = standIn(cluster.toolchain, options.tools, work, usesCharts, usesKsops);
      for (const note of toolchain.notes) if (!notes.includes(note)) notes.push(note);
      const prepared: Prepared[] = [];
      // The renderer decrypts with its own key only; a cluster that does not say which may use any.
      const decryptsFor = cluster.toolchain?.decryptsFor;
      const usable = decryptsFor === undefined ? identities : identities.filter((identity) => identity.recipient === decryptsFor);
      if (decryptsFor !== undefined && identities.length > 0 && usable.length === 0) {
        notes.push(
          `SOPS files of ${cluster.name}: ${options.ageKeyFile} holds no identity of ${decryptsFor}, the renderer's key: built without their values`,
        );
      }
      for (const app of cluster.apps) {
        const ready = await prepare(options, cluster, app, work, usable, problems, decryptedBy);
        if (ready) prepared.push(ready);
      }
      const built = await pooled(prepared, options.concurrency ?? 2, async (ready) => {
        const key = options.cache ? buildKey(ready, toolchain.flags) : '';
        const cached = options.cache?.get(key);
        if (cached) return cached;
        const before = problems.length;
        const objects = await buildApp(options, cluster, ready, toolchain.flags, toolchain.helmCommand, problems);
        if (objects && options.cache && problems.length === before) options.cache.set(key, objects);
        return objects;
      });
      const objects = built.flatMap((appObjects) => appObjects ?? []);
      // Apps that could not be built (their problems are reported): checks across apps would
      // otherwise report what those apps provide as missing.
      const builtApps = new Set(prepared.filter((_, index) => built[index] !== undefined).map((ready) => ready.app.name));
      const unbuilt = cluster.apps.filter((app) => !builtApps.has(app.name)).map((app) => app.name);
      apps += prepared.length;
      objectCount += objects.length;
      upstreamObjects += objects.filter((object) => object.upstream).length;

      // Custom resources are held to the CRDs the build installs, as the API server holds them.
      options.registry.learnCustomResourceDefinitions(objects.map((object) => object.manifest));
      const validation = await validateObjects(objects, {
        registry: options.registry,
        // KSOPS's output is the decrypted Secret ArgoCD applies: plaintext is what it must be here.
        plaintextSecret: (object) => /^SOPS file |, merged with SOPS file /.test(object.origin.source ?? ''),
      });
      problems.push(...validation.problems);
      for (const ready of prepared) {
        const appObjects = objects.filter((object) => object.app === ready.app.name);
        checkPatches(ready.app, appObjects, problems);
        checkSopsOutput(ready.app, appObjects, problems);
      }
      checkPodSecurity(objects, problems);
      checkBuiltCustomResources(cluster, objects, builtApps, problems);
      if (unbuilt.length > 0) {
        notes.push(
          `policies of ${cluster.name} not run on the built objects: ${unbuilt.join(', ')} could not be built (see the problems above)`,
        );
        continue;
      }
      const closure = dependencyClosure(cluster.apps);
      const context: PolicyContext = {
        cluster: cluster.name,
        apps: cluster.apps.map((app) => app.name),
        syncsAfter: (app, other) => closure.get(app)?.has(other) ?? false,
        built: true,
      };
      const policyObjects: readonly PolicyObject[] = validation.objects;
      for (const policy of cluster.policies) {
        try {
          // Construct code, as in synth: no host while it runs.
          problems.push(...withoutHost(options.root, () => policy.check(policyObjects, context)));
        } catch (error) {
          problems.push({
            origin: { constructPath: cluster.name },
            rule: `policy.${policy.name}`,
            message: `the policy failed: ${describeThrown(error, options.root)}`,
          });
        }
      }
    }
    if (identities.length === 0 && options.clusters.some((cluster) => cluster.apps.some((app) => app.encryptedFiles.length > 0))) {
      notes.push('SOPS files: built without their values (no age key given: set SOPS_AGE_KEY_FILE to decrypt them as KSOPS does)');
    } else if (decryptedBy.size > 0) {
      notes.push(`SOPS files: decrypted with the age identity of ${[...decryptedBy].sort(compareStrings).join(', ')}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { problems, notes, stats: { apps, objects: objectCount, upstreamObjects } };
}
