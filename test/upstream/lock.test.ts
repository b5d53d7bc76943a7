import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatLock, parseLock, readLock, type UpstreamLock } from '../../pipeline/upstream/lock.js';
import { tempDir } from './helpers.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

function messages(source: unknown): string[] {
  const { lock, problems } = parseLock(typeof source === 'string' ? source : JSON.stringify(source));
  expect(lock).toBeUndefined();
  for (const problem of problems) {
    expect(problem.origin.file).toBe('upstream.lock.json');
    expect(problem.rule).toBe('upstream.lock');
  }
  return problems.map((problem) => problem.message);
}

describe('readLock / parseLock', () => {
  it('reads a valid lock', () => {
    const root = tempDir();
    const lock: UpstreamLock = {
      version: 1,
      resources: [{ url: 'https://raw.githubusercontent.com/o/r/v1.0.0/a.yaml', sha256: A }],
      charts: [{ repo: 'https://charts.example.org', name: 'c', version: '1.0.0', digest: null, files: B }],
    };
    writeFileSync(join(root, 'upstream.lock.json'), formatLock(lock));
    expect(readLock(root)).toEqual({ lock, problems: [] });
  });

  it('names the lock command when the file does not exist', () => {
    const { lock, problems } = readLock(tempDir());
    expect(lock).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toContain('npm run upstream -- lock');
  });

  it('reports invalid JSON', () => {
    expect(messages('{ "version": 1, ')[0]).toMatch(/^\$: invalid JSON/);
  });

  it('reports unknown keys with their JSON path', () => {
    const found = messages({
      version: 1,
      extra: true,
      resources: [{ url: 'https://h.example.org/v1.0.0/a', sha256: A, size: 3 }],
      charts: [{ repo: 'https://c.example.org', name: 'c', version: '1.0.0', digest: null, files: B, url: 'x' }],
    });
    expect(found).toEqual([
      expect.stringMatching(/^\$\.extra: unknown key/),
      expect.stringMatching(/^\$\.resources\[0\]\.size: unknown key/),
      expect.stringMatching(/^\$\.charts\[0\]\.url: unknown key/),
    ]);
  });

  it('reports digests that are not 64 lowercase hex digits', () => {
    const found = messages({
      version: 1,
      resources: [{ url: 'https://h.example.org/v1.0.0/a', sha256: A.toUpperCase() }],
      charts: [{ repo: 'https://c.example.org', name: 'c', version: '1.0.0', digest: 'abc', files: `${B}0` }],
    });
    expect(found).toEqual([
      expect.stringMatching(/^\$\.resources\[0\]\.sha256: must be a sha256/),
      expect.stringMatching(/^\$\.charts\[0\]\.digest: must be a sha256/),
      expect.stringMatching(/^\$\.charts\[0\]\.files: must be a sha256/),
    ]);
  });

  it('reports duplicates naming the first entry', () => {
    const chart = { repo: 'https://c.example.org', name: 'c', version: '1.0.0', digest: null, files: B };
    const found = messages({
      version: 1,
      resources: [
        { url: 'https://h.example.org/v1.0.0/a', sha256: A },
        { url: 'https://h.example.org/v1.0.0/a', sha256: B },
      ],
      charts: [chart, { ...chart, digest: A }],
    });
    expect(found).toEqual([
      '$.resources[1].url: https://h.example.org/v1.0.0/a is locked twice (first at $.resources[0])',
      '$.charts[1]: Helm chart c 1.0.0 of https://c.example.org is locked twice (first at $.charts[0])',
    ]);
  });

  it('reports a wrong version, missing lists and missing fields', () => {
    expect(messages({ version: 2 })).toEqual([
      '$.version: 2 is not supported (1)',
      '$.resources: is missing (a list)',
      '$.charts: is missing (a list)',
    ]);
    expect(
      messages({ version: 1, resources: [{ url: 'http://h.example.org/a' }], charts: [{ repo: 'https://c', name: 'c', version: '1' }] }),
    ).toEqual([
      '$.resources[0].sha256: is missing (a sha256: 64 lowercase hex digits)',
      '$.resources[0].url: "http://h.example.org/a" is not an https:// URL',
      '$.charts[0].digest: is missing (the package sha256, or null when not known)',
      '$.charts[0].files: is missing (a sha256: 64 lowercase hex digits)',
    ]);
    expect(messages([])).toEqual(['$: must be an object { version: 1, resources, charts }']);
  });
});

describe('formatLock', () => {
  it('sorts entries, orders keys and ends with a newline, whatever the input order', () => {
    const lock: UpstreamLock = {
      version: 1,
      resources: [
        { sha256: B, url: 'https://z.example.org/v1.0.0/z' } as { url: string; sha256: string },
        { url: 'https://a.example.org/v1.0.0/a', sha256: A },
      ],
      charts: [
        { repo: 'https://r.example.org', name: 'b', version: '2.0.0', digest: A, files: B },
        { repo: 'https://r.example.org', name: 'b', version: '1.0.0', digest: null, files: B },
        { repo: 'https://a.example.org', name: 'z', version: '1.0.0', digest: null, files: A },
      ],
    };
    const text = formatLock(lock);
    expect(text.endsWith('}\n')).toBe(true);
    const parsed = JSON.parse(text) as UpstreamLock;
    expect(parsed.resources.map((entry) => entry.url)).toEqual(['https://a.example.org/v1.0.0/a', 'https://z.example.org/v1.0.0/z']);
    expect(Object.keys(parsed.resources[1] ?? {})).toEqual(['url', 'sha256']);
    expect(parsed.charts.map((entry) => `${entry.repo} ${entry.name} ${entry.version}`)).toEqual([
      'https://a.example.org z 1.0.0',
      'https://r.example.org b 1.0.0',
      'https://r.example.org b 2.0.0',
    ]);
    expect(Object.keys(parsed.charts[0] ?? {})).toEqual(['repo', 'name', 'version', 'digest', 'files']);
    expect(text).toContain('\n  "resources": [\n    {\n      "url"');
    const reversed = formatLock({ ...lock, resources: [...lock.resources].reverse(), charts: [...lock.charts].reverse() });
    expect(reversed).toBe(text);
    expect(parseLock(text).lock).toEqual(parsed);
  });
});
