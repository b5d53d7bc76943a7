import { appendFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex, treeDigest } from '../../pipeline/upstream/digest.js';
import { type LockedChart, readLock } from '../../pipeline/upstream/lock.js';
import { openStore, resolveChart, resolveResource } from '../../pipeline/upstream/store.js';
import { projectRoot } from '../helpers/io.js';
import { copyFromMirror, DEMOCRATIC_CSI, MIRROR, manifestSha256, TRAEFIK_CRDS, tempDir, writeFile } from './helpers.js';

const TRAEFIK_PATH = TRAEFIK_CRDS.slice('https://'.length);
const CILIUM = { repo: 'https://helm.cilium.io/', name: 'cilium', version: '1.19.6' };
const CILIUM_INDEX_DIGEST = /([0-9a-f]{64})/.exec(readFileSync(join(MIRROR, 'charts/cilium-1.19.6/INDEX-DIGEST.txt'), 'utf8'))?.[1] ?? '';

function committedChart(name: string): LockedChart {
  const chart = readLock(projectRoot).lock?.charts.find((entry) => entry.name === name);
  if (!chart) throw new Error(`upstream.lock.json locks no chart ${name}`);
  return chart;
}

describe('openStore', () => {
  it('resolves UPSTREAM_CACHE and UPSTREAM_MIRROR against the root', () => {
    expect(openStore('/p', {})).toEqual({ cache: '/p/.upstream-cache' });
    expect(openStore('/p', { UPSTREAM_MIRROR: '../shared/upstream', UPSTREAM_CACHE: 'c' })).toEqual({
      cache: '/p/c',
      mirror: '/shared/upstream',
    });
    expect(openStore('/p', { UPSTREAM_MIRROR: '/m', UPSTREAM_CACHE: '' })).toEqual({ cache: '/p/.upstream-cache', mirror: '/m' });
  });
});

describe('resolveResource', () => {
  it('finds a raw file in the real mirror, checked against the digest MANIFEST.tsv lists', () => {
    const sha256 = manifestSha256(TRAEFIK_PATH);
    const found = resolveResource({ cache: tempDir(), mirror: MIRROR }, { url: TRAEFIK_CRDS, sha256 });
    expect(found).toEqual({ path: join(MIRROR, TRAEFIK_PATH), from: 'mirror' });
    expect(sha256Hex(readFileSync(join(MIRROR, TRAEFIK_PATH)))).toBe(sha256);
  });

  it('refuses a copy whose digest moved, naming the URL, where it was found and both digests', () => {
    const mirror = tempDir();
    const copy = copyFromMirror(mirror, TRAEFIK_PATH);
    const bytes = readFileSync(copy);
    bytes[100] = (bytes[100] ?? 0) ^ 1;
    writeFileSync(copy, bytes);
    const locked = manifestSha256(TRAEFIK_PATH);
    const found = resolveResource({ cache: tempDir(), mirror }, { url: TRAEFIK_CRDS, sha256: locked });
    expect('problem' in found).toBe(true);
    if (!('problem' in found)) return;
    expect(found.problem.rule).toBe('upstream.digest');
    expect(found.problem.message).toContain(TRAEFIK_CRDS);
    expect(found.problem.message).toContain(copy);
    expect(found.problem.message).toContain(locked);
    expect(found.problem.message).toContain(sha256Hex(bytes));
    expect(found.problem.message).toMatch(/moved|tampered/);
  });

  it('does not fall back to the cache when the mirror copy is wrong', () => {
    const mirror = tempDir();
    const cache = tempDir();
    writeFile(join(mirror, 'h.example.org/v1.0.0/a.yaml'), 'moved');
    writeFile(join(cache, 'h.example.org/v1.0.0/a.yaml'), 'right');
    const found = resolveResource({ cache, mirror }, { url: 'https://h.example.org/v1.0.0/a.yaml', sha256: sha256Hex('right') });
    expect('problem' in found && found.problem.rule).toBe('upstream.digest');
    expect(resolveResource({ cache }, { url: 'https://h.example.org/v1.0.0/a.yaml', sha256: sha256Hex('right') })).toEqual({
      path: join(cache, 'h.example.org/v1.0.0/a.yaml'),
      from: 'cache',
    });
  });

  it('names the fetch command for a pin neither the mirror nor the cache holds', () => {
    const cache = tempDir();
    const url = 'https://h.example.org/v1.0.0/absent.yaml';
    for (const store of [{ cache }, { cache, mirror: MIRROR }]) {
      const found = resolveResource(store, { url, sha256: 'a'.repeat(64) });
      expect('problem' in found).toBe(true);
      if (!('problem' in found)) continue;
      expect(found.problem.rule).toBe('upstream.missing');
      expect(found.problem.message).toContain(url);
      expect(found.problem.message).toContain('npm run upstream -- fetch');
      expect(found.problem.message).toContain(join(cache, 'h.example.org/v1.0.0/absent.yaml'));
    }
    const withoutMirror = resolveResource({ cache }, { url, sha256: 'a'.repeat(64) });
    expect('problem' in withoutMirror && withoutMirror.problem.message).toContain('UPSTREAM_MIRROR');
  });

  it('never maps a URL outside the store', () => {
    const cache = tempDir();
    writeFile(join(cache, 'secret'), 'x');
    for (const url of [
      'https://h.example.org/../secret',
      'https://h.example.org/a/../../secret',
      'https://h.example.org//etc/passwd',
      'https://../secret',
      'https://h.example.org:8443/v1.0.0/a',
      'https://user@h.example.org/v1.0.0/a',
      'https://charts/v1.0.0/a',
      'https://H.example.org/v1.0.0/a',
      'https://h.example.org/a%2f..%2fb',
      'https://h.example.org/a?x=1',
      'https://h.example.org',
      'http://h.example.org/v1.0.0/a',
    ]) {
      const found = resolveResource({ cache }, { url, sha256: sha256Hex('x') });
      expect('problem' in found, url).toBe(true);
      if ('problem' in found) expect(found.problem.rule, url).toBe('upstream.lock');
    }
  });
});

describe('resolveChart', () => {
  it('finds a chart folder in the real mirror with the chartHome kustomize reads', () => {
    const locked = committedChart('democratic-csi');
    expect(locked).toMatchObject(DEMOCRATIC_CSI);
    const found = resolveChart({ cache: tempDir(), mirror: MIRROR }, locked);
    expect(found).toEqual({
      chartHome: join(MIRROR, 'charts'),
      path: join(MIRROR, 'charts/democratic-csi-0.15.1/democratic-csi'),
      from: 'mirror',
    });
  });

  it('checks a mirrored package against the digest the chart repository index lists', () => {
    expect(CILIUM_INDEX_DIGEST).toMatch(/^[0-9a-f]{64}$/);
    const files = treeDigest(join(MIRROR, 'charts/cilium-1.19.6/cilium'));
    const store = { cache: tempDir(), mirror: MIRROR };
    expect(resolveChart(store, { ...CILIUM, digest: CILIUM_INDEX_DIGEST, files })).toMatchObject({ from: 'mirror' });
    const wrong = resolveChart(store, { ...CILIUM, digest: 'f'.repeat(64), files });
    expect('problem' in wrong && wrong.problem.message).toContain(CILIUM_INDEX_DIGEST);
  });

  it('refuses a chart whose files changed, naming the chart and both digests', () => {
    const locked = committedChart('democratic-csi');
    const mirror = tempDir();
    const folder = copyFromMirror(mirror, 'charts/democratic-csi-0.15.1/democratic-csi');
    appendFileSync(join(folder, 'values.yaml'), '\n');
    const found = resolveChart({ cache: tempDir(), mirror }, locked);
    expect('problem' in found).toBe(true);
    if (!('problem' in found)) return;
    expect(found.problem.rule).toBe('upstream.digest');
    expect(found.problem.message).toContain('Helm chart democratic-csi 0.15.1 of https://democratic-csi.github.io/charts/');
    expect(found.problem.message).toContain(locked.files);
    expect(found.problem.message).toContain(treeDigest(folder));
  });

  it('refuses a chart folder holding a symbolic link', () => {
    const cache = tempDir();
    const folder = writeFile(join(cache, 'charts/c-1.0.0/c/Chart.yaml'), 'name: c\n');
    const files = treeDigest(join(folder, '..'));
    symlinkSync('/etc/passwd', join(folder, '..', 'values.yaml'));
    const found = resolveChart({ cache }, { repo: 'https://r.example.org', name: 'c', version: '1.0.0', digest: null, files });
    expect('problem' in found && found.problem.message).toContain('is a symbolic link');
  });

  it('names the fetch command for a chart that is not stored, and refuses names that leave the store', () => {
    const cache = tempDir();
    const chart = { repo: 'https://r.example.org', name: 'c', version: '1.0.0', digest: null, files: 'a'.repeat(64) };
    const found = resolveChart({ cache, mirror: MIRROR }, chart);
    expect('problem' in found && found.problem.rule).toBe('upstream.missing');
    expect('problem' in found && found.problem.message).toContain('npm run upstream -- fetch');
    expect('problem' in found && found.problem.message).toContain(join(cache, 'charts/c-1.0.0/c'));
    for (const bad of [{ name: '../c' }, { name: 'c', version: '1.0.0/../../x' }, { name: '.' }]) {
      const refused = resolveChart({ cache }, { ...chart, ...bad });
      expect('problem' in refused && refused.problem.rule).toBe('upstream.lock');
    }
  });
});
