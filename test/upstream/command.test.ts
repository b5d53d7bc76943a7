import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUpstream } from '../../pipeline/upstream/command.js';
import { sha256Hex, treeDigest } from '../../pipeline/upstream/digest.js';
import type { Download } from '../../pipeline/upstream/fetch.js';
import { type ChartPin, formatLock, type UpstreamLock } from '../../pipeline/upstream/lock.js';
import { captureContext } from '../helpers/io.js';
import { makeProject, PROJECT } from '../helpers/project.js';
import {
  DEMOCRATIC_CSI,
  filesBelow,
  loopbackDownload,
  MIRROR,
  manifestSha256,
  startServer,
  type TestServer,
  TRAEFIK_CRDS,
  tarball,
  tempDir,
} from './helpers.js';

const TRAEFIK_PATH = TRAEFIK_CRDS.slice('https://'.length);
const CHART_FOLDER = join(MIRROR, 'charts/democratic-csi-0.15.1');
const EXTRA_URL = 'https://raw.example.test/org/repo/v1.0.0/extra.yaml';
const EXTRA = 'kind: ConfigMap\n';

/** A project whose one app pins the given remote resources and Helm charts. */
function project(resources: readonly string[] = [TRAEFIK_CRDS], charts: readonly ChartPin[] = [DEMOCRATIC_CSI]): string {
  return makeProject({
    'inventory/lab.json': '{}',
    'apps/lab.ts': `import { defineCluster } from '${PROJECT}framework/cluster.ts';
import { HelmChart } from '${PROJECT}constructs/core/helm-chart.ts';
import { RemoteResource } from '${PROJECT}constructs/core/remote-resource.ts';
const resources = ${JSON.stringify(resources)};
const charts = ${JSON.stringify(charts)};
export default defineCluster({
  parseInventory: (data) => data,
  apps: () => [{ name: 'tools', namespace: 'tools', build(chart) {
    resources.forEach((url, index) => new RemoteResource(chart, 'resource' + index, { url }));
    charts.forEach((pin, index) => new HelmChart(chart, 'chart' + index, { repo: pin.repo, chart: pin.name, version: pin.version, namespace: 'tools' }));
  } }],
});
`,
  });
}

/** What the lock of the default project holds when recorded from the mirror. */
function mirrorLock(): UpstreamLock {
  return {
    version: 1,
    resources: [{ url: TRAEFIK_CRDS, sha256: manifestSha256(TRAEFIK_PATH) }],
    charts: [{ ...DEMOCRATIC_CSI, digest: null, files: treeDigest(join(CHART_FOLDER, 'democratic-csi')) }],
  };
}

const noNetwork =
  (calls: string[] = []) =>
  (url: string) => {
    calls.push(url);
    return Promise.reject(new Error(`no network in this test (asked for ${url})`));
  };

async function run(argv: string[], root: string, env: NodeJS.ProcessEnv, download: Download = noNetwork()) {
  const context = captureContext({ root, cwd: root, env });
  const code = await runUpstream(argv, context, { download });
  return { code, out: context.out, err: context.err, all: [...context.out, ...context.err].join('\n') };
}

let server: TestServer;

beforeAll(async () => {
  server = await startServer({
    [`/${TRAEFIK_PATH}`]: readFileSync(join(MIRROR, TRAEFIK_PATH)),
    '/democratic-csi.github.io/charts/index.yaml': `apiVersion: v1\nentries:\n  democratic-csi:\n  - version: 0.15.1\n    urls: [democratic-csi-0.15.1.tgz]\n`,
    '/democratic-csi.github.io/charts/democratic-csi-0.15.1.tgz': tarball(CHART_FOLDER, 'democratic-csi'),
    '/raw.example.test/org/repo/v1.0.0/extra.yaml': EXTRA,
  });
});

afterAll(() => server.close());

describe('npm run upstream: usage', () => {
  it('exits 2 on usage errors and 0 with --help', async () => {
    const root = tempDir();
    for (const argv of [[], ['nope'], ['status', 'extra'], ['--bogus', 'status']]) {
      const result = await run(argv, root, {});
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.err.join('\n')).toContain('usage: npm run upstream -- COMMAND');
    }
    const help = await run(['--help'], root, {});
    expect(help.code).toBe(0);
    expect(help.out.join('\n')).toContain('fetch');
  });

  it('exits 1 when the apps cannot be rendered', async () => {
    const root = makeProject({ 'inventory/lab.json': '{}' });
    const result = await run(['status'], root, {});
    expect(result.code).toBe(1);
    expect(result.all).toContain('has no composition');
  });
});

describe('npm run upstream -- lock', () => {
  it('records every pin from the mirror, and is stable', async () => {
    const root = project();
    const calls: string[] = [];
    const first = await run(['lock'], root, { UPSTREAM_MIRROR: MIRROR }, noNetwork(calls));
    expect(first.err).toEqual([]);
    expect(first.code).toBe(0);
    expect(calls).toEqual([]);
    const text = readFileSync(join(root, 'upstream.lock.json'), 'utf8');
    expect(text).toBe(formatLock(mirrorLock()));
    expect(first.out).toContain('upstream lock: upstream.lock.json written (1 resource, 1 chart; 2 added, 0 removed)');
    const second = await run(['lock'], root, { UPSTREAM_MIRROR: MIRROR });
    expect(second.code).toBe(0);
    expect(second.out).toEqual(['upstream lock: upstream.lock.json is up to date (1 resource, 1 chart)']);
    expect(readFileSync(join(root, 'upstream.lock.json'), 'utf8')).toBe(text);
  });

  it('records a package digest when the store keeps the package beside the chart folder', async () => {
    const root = project([], [{ repo: 'https://helm.cilium.io/', name: 'cilium', version: '1.19.6' }]);
    expect((await run(['lock'], root, { UPSTREAM_MIRROR: MIRROR })).code).toBe(0);
    const lock = JSON.parse(readFileSync(join(root, 'upstream.lock.json'), 'utf8')) as UpstreamLock;
    const indexDigest = readFileSync(join(MIRROR, 'charts/cilium-1.19.6/INDEX-DIGEST.txt'), 'utf8').match(/[0-9a-f]{64}/)?.[0];
    expect(lock.charts[0]?.digest).toBe(indexDigest);
  });

  it('never changes an existing entry: content that differs from it is an error and the file stays as it was', async () => {
    const root = project();
    const moved = formatLock({ ...mirrorLock(), resources: [{ url: TRAEFIK_CRDS, sha256: '0'.repeat(64) }] });
    writeFileSync(join(root, 'upstream.lock.json'), moved);
    const result = await run(['lock'], root, { UPSTREAM_MIRROR: MIRROR });
    expect(result.code).toBe(1);
    expect(result.err.join('\n')).toContain(`${TRAEFIK_CRDS}: the mirror copy`);
    expect(result.err.join('\n')).toContain('0'.repeat(64));
    expect(result.err.at(-1)).toBe('upstream lock: 1 problem; upstream.lock.json left unchanged');
    expect(readFileSync(join(root, 'upstream.lock.json'), 'utf8')).toBe(moved);
  });

  it('keeps existing entries as they are, adds new pins (downloaded when no copy is stored) and drops unused ones', async () => {
    const root = project([TRAEFIK_CRDS, EXTRA_URL]);
    const kept = { url: TRAEFIK_CRDS, sha256: 'c'.repeat(64) };
    const unused = { url: 'https://raw.example.test/org/repo/v0.9.0/old.yaml', sha256: 'd'.repeat(64) };
    const chart = { ...DEMOCRATIC_CSI, digest: 'e'.repeat(64), files: 'f'.repeat(64) };
    writeFileSync(join(root, 'upstream.lock.json'), formatLock({ version: 1, resources: [kept, unused], charts: [chart] }));
    const calls: string[] = [];
    // No mirror: the locked entries have no stored copy to compare with, the new pin is downloaded.
    const result = await run(['lock'], root, {}, loopbackDownload(server, calls));
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    expect(calls).toEqual([EXTRA_URL]);
    const lock = JSON.parse(readFileSync(join(root, 'upstream.lock.json'), 'utf8')) as UpstreamLock;
    expect(lock).toEqual({ version: 1, resources: [{ url: EXTRA_URL, sha256: sha256Hex(EXTRA) }, kept], charts: [chart] });
    expect(result.out).toContain(`removed ${unused.url} (no app pins it)`);
    expect(filesBelow(join(root, '.upstream-cache'))).toEqual(['raw.example.test/org/repo/v1.0.0/extra.yaml']);
  });
});

describe('npm run upstream -- status', () => {
  it('is ok for every pin the mirror holds', async () => {
    const root = project();
    writeFileSync(join(root, 'upstream.lock.json'), formatLock(mirrorLock()));
    const result = await run(['status'], root, { UPSTREAM_MIRROR: MIRROR });
    expect(result.code).toBe(0);
    expect(result.out).toEqual([
      `ok (mirror)      ${TRAEFIK_CRDS}`,
      'ok (mirror)      Helm chart democratic-csi 0.15.1 of https://democratic-csi.github.io/charts/',
      'upstream status: 2 pins, all ok',
    ]);
  });

  it('exits 1 naming what is missing, moved or not locked, with the command for each', async () => {
    const root = project([TRAEFIK_CRDS, EXTRA_URL]);
    writeFileSync(
      join(root, 'upstream.lock.json'),
      formatLock({ ...mirrorLock(), charts: [{ ...DEMOCRATIC_CSI, digest: null, files: '1'.repeat(64) }] }),
    );
    const withMirror = await run(['status'], root, { UPSTREAM_MIRROR: MIRROR });
    expect(withMirror.code).toBe(1);
    // Pins are sorted: raw.example.test comes before raw.githubusercontent.com.
    expect(withMirror.out[0]).toBe(`not locked       ${EXTRA_URL}: run "npm run upstream -- lock"`);
    expect(withMirror.out[1]).toBe(`ok (mirror)      ${TRAEFIK_CRDS}`);
    expect(withMirror.out[2]).toMatch(/^digest mismatch {2}Helm chart democratic-csi 0\.15\.1 .*1{64}/);
    expect(withMirror.err).toEqual([
      'upstream status: 3 pins: 1 ok, 1 with a digest mismatch, 1 not locked (run "npm run upstream -- lock")',
    ]);
    const withoutMirror = await run(['status'], root, {});
    expect(withoutMirror.code).toBe(1);
    expect(withoutMirror.out[1]).toBe(`missing          ${TRAEFIK_CRDS}: run "npm run upstream -- fetch" (or set UPSTREAM_MIRROR)`);
    expect(withoutMirror.err.join('\n')).toContain('2 missing (run "npm run upstream -- fetch")');
  });

  it('exits 1 without a lock file, naming the lock command', async () => {
    const result = await run(['status'], project(), { UPSTREAM_MIRROR: MIRROR });
    expect(result.code).toBe(1);
    expect(result.err[0]).toContain('npm run upstream -- lock');
  });
});

describe('npm run upstream -- fetch', () => {
  it('refuses pins the lock lacks, naming the lock command, before downloading anything', async () => {
    const root = project([TRAEFIK_CRDS, EXTRA_URL]);
    writeFileSync(join(root, 'upstream.lock.json'), formatLock(mirrorLock()));
    const calls: string[] = [];
    const result = await run(['fetch'], root, {}, noNetwork(calls));
    expect(result.code).toBe(1);
    expect(result.err[0]).toBe(
      `upstream.lock.json: ${EXTRA_URL} is not in upstream.lock.json: run "npm run upstream -- lock" to record its digest [upstream.lock]`,
    );
    expect(calls).toEqual([]);
  });

  it('downloads nothing when the mirror holds every pin', async () => {
    const root = project();
    writeFileSync(join(root, 'upstream.lock.json'), formatLock(mirrorLock()));
    const calls: string[] = [];
    const result = await run(['fetch'], root, { UPSTREAM_MIRROR: MIRROR }, noNetwork(calls));
    expect(result.code).toBe(0);
    expect(calls).toEqual([]);
    expect(result.out).toEqual(['upstream fetch: 2 pins: 2 in the mirror, 0 in the cache, 0 fetched']);
  });

  it('downloads what is missing into the cache, after which status is ok from the cache', async () => {
    const root = project();
    const cache = tempDir();
    writeFileSync(join(root, 'upstream.lock.json'), formatLock(mirrorLock()));
    const calls: string[] = [];
    const result = await run(['fetch'], root, { UPSTREAM_CACHE: cache }, loopbackDownload(server, calls));
    expect(result.err).toEqual([]);
    expect(result.code).toBe(0);
    expect(result.out).toHaveLength(3);
    expect(result.out[0]).toMatch(new RegExp(`^fetched ${TRAEFIK_CRDS.replaceAll('.', '\\.')} \\(\\d+ bytes\\) into ${cache}/`));
    expect(result.out[2]).toBe('upstream fetch: 2 pins: 0 in the mirror, 0 in the cache, 2 fetched');
    const status = await run(['status'], root, { UPSTREAM_CACHE: cache });
    expect(status.code).toBe(0);
    expect(status.out.slice(0, 2).every((line) => line.startsWith('ok (cache)'))).toBe(true);
    const again = await run(['fetch'], root, { UPSTREAM_CACHE: cache }, noNetwork());
    expect(again.out).toEqual(['upstream fetch: 2 pins: 0 in the mirror, 2 in the cache, 0 fetched']);
  });

  it('refuses a moved tag: exit 1 naming the URL and both digests, nothing written', async () => {
    const root = project([TRAEFIK_CRDS], []);
    const cache = tempDir();
    const lock = mirrorLock();
    writeFileSync(join(root, 'upstream.lock.json'), formatLock({ ...lock, charts: [] }));
    const original = server.files.get(`/${TRAEFIK_PATH}`);
    const moved = Buffer.concat([Buffer.from(original ?? ''), Buffer.from('# moved\n')]);
    server.files.set(`/${TRAEFIK_PATH}`, moved);
    try {
      const result = await run(['fetch'], root, { UPSTREAM_CACHE: cache }, loopbackDownload(server));
      expect(result.code).toBe(1);
      const text = result.err.join('\n');
      expect(text).toContain(TRAEFIK_CRDS);
      expect(text).toContain(lock.resources[0]?.sha256 ?? 'locked digest');
      expect(text).toContain(sha256Hex(moved));
      expect(text).toContain('moved');
      expect(filesBelow(cache)).toEqual([]);
    } finally {
      if (original !== undefined) server.files.set(`/${TRAEFIK_PATH}`, original);
    }
  });
});
