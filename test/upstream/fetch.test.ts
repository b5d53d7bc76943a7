import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex, treeDigest } from '../../pipeline/upstream/digest.js';
import { fetchPins, httpDownload, indexUrl } from '../../pipeline/upstream/fetch.js';
import type { UpstreamLock } from '../../pipeline/upstream/lock.js';
import { resolveChart, resolveResource } from '../../pipeline/upstream/store.js';
import { filesBelow, loopbackDownload, startServer, type TestServer, tarball, tempDir, writeFile } from './helpers.js';

const RAW_URL = 'https://raw.example.test/org/repo/v1.2.3/deploy/crds.yaml';
const RAW = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: upstream\n';
const REPO = 'https://charts.example.test/stable';
const CHART = { repo: REPO, name: 'demo', version: '1.2.3' };

/** A chart folder `demo/` and its package, built here with the system tar. */
function buildChart(extra: Record<string, string> = {}): { source: string; tgz: Buffer; files: string } {
  const source = tempDir('upstream-chart-');
  writeFile(join(source, 'demo/Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 1.2.3\n');
  writeFile(join(source, 'demo/values.yaml'), 'replicas: 1\n');
  writeFile(join(source, 'demo/templates/deployment.yaml'), 'kind: Deployment\n');
  for (const [path, content] of Object.entries(extra)) writeFile(join(source, path), content);
  return { source, tgz: tarball(source, 'demo'), files: treeDigest(join(source, 'demo')) };
}

function index(entries: Record<string, unknown[]>): string {
  return `apiVersion: v1\nentries:\n${Object.entries(entries)
    .map(([name, versions]) => `  ${name}:\n${versions.map((entry) => `  - ${JSON.stringify(entry)}`).join('\n')}`)
    .join('\n')}\n`;
}

let server: TestServer;
let chart: ReturnType<typeof buildChart>;

beforeAll(async () => {
  chart = buildChart();
  server = await startServer({
    '/raw.example.test/org/repo/v1.2.3/deploy/crds.yaml': RAW,
    '/charts.example.test/stable/index.yaml': index({
      demo: [
        { version: '1.2.2', urls: ['demo-1.2.2.tgz'] },
        { version: '1.2.3', urls: ['packages/demo-1.2.3.tgz'], digest: sha256Hex(chart.tgz) },
      ],
    }),
    '/charts.example.test/stable/packages/demo-1.2.3.tgz': chart.tgz,
  });
});

afterAll(() => server.close());

function lockOf(overrides: { sha256?: string; digest?: string | null; files?: string; repo?: string } = {}): UpstreamLock {
  return {
    version: 1,
    resources: [{ url: RAW_URL, sha256: overrides.sha256 ?? sha256Hex(RAW) }],
    charts: [
      {
        ...CHART,
        repo: overrides.repo ?? REPO,
        digest: overrides.digest === undefined ? sha256Hex(chart.tgz) : overrides.digest,
        files: overrides.files ?? chart.files,
      },
    ],
  };
}

describe('indexUrl', () => {
  it('joins with or without a trailing slash', () => {
    expect(indexUrl('https://r.example.org/charts')).toBe('https://r.example.org/charts/index.yaml');
    expect(indexUrl('https://r.example.org/charts/')).toBe('https://r.example.org/charts/index.yaml');
  });
});

describe('fetchPins', () => {
  it('downloads a raw file and a chart into the cache, each checked against the lock', async () => {
    const cache = tempDir();
    const calls: string[] = [];
    const lock = lockOf();
    const result = await fetchPins({ cache }, lock, { resources: [RAW_URL], charts: [CHART] }, loopbackDownload(server, calls));
    expect(result.problems).toEqual([]);
    expect(calls).toEqual([RAW_URL, `${REPO}/index.yaml`, `${REPO}/packages/demo-1.2.3.tgz`]);
    expect(result.fetched.map((pin) => pin.label)).toEqual([RAW_URL, 'Helm chart demo 1.2.3 of https://charts.example.test/stable']);
    expect(readFileSync(join(cache, 'raw.example.test/org/repo/v1.2.3/deploy/crds.yaml'), 'utf8')).toBe(RAW);
    expect(filesBelow(join(cache, 'charts'))).toEqual([
      'demo-1.2.3/demo-1.2.3.tgz',
      'demo-1.2.3/demo/Chart.yaml',
      'demo-1.2.3/demo/templates/deployment.yaml',
      'demo-1.2.3/demo/values.yaml',
    ]);
    expect(readFileSync(join(cache, 'charts/demo-1.2.3/demo-1.2.3.tgz')).equals(chart.tgz)).toBe(true);
    // Nothing else is left in the cache (no temporary folders).
    expect(filesBelow(cache).filter((path) => path.startsWith('.'))).toEqual([]);
    const [resource] = lock.resources;
    const [locked] = lock.charts;
    if (!resource || !locked) throw new Error('lock without entries');
    expect(resolveResource({ cache }, resource)).toMatchObject({ from: 'cache' });
    expect(resolveChart({ cache }, locked)).toEqual({
      chartHome: join(cache, 'charts'),
      path: join(cache, 'charts/demo-1.2.3/demo'),
      from: 'cache',
    });
  });

  it('finds the index with a trailing slash on the repository and an absolute package URL', async () => {
    server.files.set(
      '/charts.example.test/abs/index.yaml',
      index({ demo: [{ version: '1.2.3', urls: ['https://charts.example.test/stable/packages/demo-1.2.3.tgz'] }] }),
    );
    const cache = tempDir();
    const repo = 'https://charts.example.test/abs/';
    const result = await fetchPins({ cache }, lockOf({ repo }), { resources: [], charts: [{ ...CHART, repo }] }, loopbackDownload(server));
    expect(result.problems).toEqual([]);
    expect(filesBelow(join(cache, 'charts/demo-1.2.3/demo'))).toEqual(['Chart.yaml', 'templates/deployment.yaml', 'values.yaml']);
  });

  it('refuses a raw file whose digest differs from the lock (a moved tag) and writes nothing', async () => {
    const cache = tempDir();
    const locked = sha256Hex(`${RAW}# the tag moved\n`);
    const result = await fetchPins({ cache }, lockOf({ sha256: locked }), { resources: [RAW_URL], charts: [] }, loopbackDownload(server));
    expect(result.fetched).toEqual([]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]?.rule).toBe('upstream.digest');
    expect(result.problems[0]?.message).toContain(RAW_URL);
    expect(result.problems[0]?.message).toContain(locked);
    expect(result.problems[0]?.message).toContain(sha256Hex(RAW));
    expect(filesBelow(cache)).toEqual([]);
  });

  it('refuses a chart package whose digest differs from the lock and writes nothing', async () => {
    const cache = tempDir();
    const result = await fetchPins(
      { cache },
      lockOf({ digest: 'e'.repeat(64) }),
      { resources: [], charts: [CHART] },
      loopbackDownload(server),
    );
    expect(result.problems.map((problem) => problem.rule)).toEqual(['upstream.digest']);
    expect(result.problems[0]?.message).toContain('e'.repeat(64));
    expect(result.problems[0]?.message).toContain(sha256Hex(chart.tgz));
    expect(filesBelow(cache)).toEqual([]);
  });

  it('refuses a package whose files differ from what the lock recorded (also with an unknown package digest)', async () => {
    const cache = tempDir();
    const recorded = buildChart({ 'demo/templates/extra.yaml': 'kind: Service\n' }).files;
    const result = await fetchPins(
      { cache },
      lockOf({ digest: null, files: recorded }),
      { resources: [], charts: [CHART] },
      loopbackDownload(server),
    );
    expect(result.problems.map((problem) => problem.rule)).toEqual(['upstream.digest']);
    expect(result.problems[0]?.message).toContain(recorded);
    expect(result.problems[0]?.message).toContain(chart.files);
    expect(result.problems[0]?.message).toContain("the package's files differ from what the lock recorded");
    expect(filesBelow(cache)).toEqual([]);
  });

  it('refuses a package that does not match the digest its repository index lists', async () => {
    const other = buildChart({ 'demo/README.md': 'other\n' });
    server.files.set(
      '/charts.example.test/lying/index.yaml',
      index({ demo: [{ version: '1.2.3', urls: ['demo.tgz'], digest: sha256Hex(chart.tgz) }] }),
    );
    server.files.set('/charts.example.test/lying/demo.tgz', other.tgz);
    const cache = tempDir();
    const repo = 'https://charts.example.test/lying';
    const result = await fetchPins(
      { cache },
      lockOf({ repo, digest: null, files: other.files }),
      { resources: [], charts: [{ ...CHART, repo }] },
      loopbackDownload(server),
    );
    expect(result.problems[0]?.message).toContain('the repository index lists');
    expect(filesBelow(cache)).toEqual([]);
  });

  it('refuses a package whose folder is not <name>/', async () => {
    const source = tempDir('upstream-chart-');
    writeFile(join(source, 'other/Chart.yaml'), 'name: other\n');
    const tgz = tarball(source, 'other');
    server.files.set('/charts.example.test/wrong/index.yaml', index({ demo: [{ version: '1.2.3', urls: ['demo.tgz'] }] }));
    server.files.set('/charts.example.test/wrong/demo.tgz', tgz);
    const cache = tempDir();
    const repo = 'https://charts.example.test/wrong';
    const result = await fetchPins(
      { cache },
      lockOf({ repo, digest: null }),
      { resources: [], charts: [{ ...CHART, repo }] },
      loopbackDownload(server),
    );
    expect(result.problems.map((problem) => problem.rule)).toEqual(['upstream.package']);
    expect(result.problems[0]?.message).toContain('outside the chart folder demo/');
    expect(filesBelow(cache)).toEqual([]);
  });

  it('reports a version the index does not list, a missing file, an OCI repository and an unlocked pin', async () => {
    const cache = tempDir();
    const oci = { repo: 'oci://registry.example.test/charts', name: 'demo', version: '1.2.3' };
    const lock: UpstreamLock = {
      version: 1,
      resources: [{ url: 'https://raw.example.test/org/repo/v1.2.3/absent.yaml', sha256: 'a'.repeat(64) }],
      charts: [
        { ...CHART, version: '9.9.9', digest: null, files: chart.files },
        { ...oci, digest: null, files: chart.files },
      ],
    };
    const result = await fetchPins(
      { cache },
      lock,
      {
        resources: ['https://raw.example.test/org/repo/v1.2.3/absent.yaml', 'https://raw.example.test/org/repo/v1.2.3/unlocked.yaml'],
        charts: [{ ...CHART, version: '9.9.9' }, oci],
      },
      loopbackDownload(server),
    );
    const found = result.problems.map((problem) => `${problem.rule}: ${problem.message}`);
    expect(found).toEqual([
      expect.stringMatching(
        /^upstream\.download: https:\/\/raw\.example\.test\/org\/repo\/v1\.2\.3\/absent\.yaml: cannot download: GET \S+ failed: HTTP 404 Not Found$/,
      ),
      expect.stringMatching(
        /^upstream\.lock: https:\/\/raw\.example\.test\/org\/repo\/v1\.2\.3\/unlocked\.yaml is not in upstream\.lock\.json: run "npm run upstream -- lock"/,
      ),
      expect.stringMatching(/^upstream\.download: Helm chart demo 9\.9\.9 .*lists no version 9\.9\.9 of demo$/),
      expect.stringMatching(/^upstream\.oci: .*not supported/),
    ]);
    expect(filesBelow(cache)).toEqual([]);
  });
});

describe('httpDownload', () => {
  it('returns the body, and fails in one line naming the URL and the HTTP status', async () => {
    const download = httpDownload(5_000);
    expect((await download(`${server.base}/raw.example.test/org/repo/v1.2.3/deploy/crds.yaml`)).toString()).toBe(RAW);
    await expect(download(`${server.base}/absent`)).rejects.toThrow(`GET ${server.base}/absent failed: HTTP 404 Not Found`);
  });

  it('fails in one line when nothing answers', async () => {
    const closed = await startServer();
    await closed.close();
    const error = await httpDownload(5_000)(`${closed.base}/x`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(new RegExp(`^GET ${closed.base}/x failed: .+`));
    expect((error as Error).message).not.toContain('\n');
  });

  it('gives up after the timeout', async () => {
    const { createServer } = await import('node:net');
    const silent = createServer(() => undefined);
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const { port } = silent.address() as { port: number };
    try {
      await expect(httpDownload(300)(`http://127.0.0.1:${port}/slow`)).rejects.toThrow('no answer within 300 ms');
    } finally {
      silent.close();
    }
  });
});
