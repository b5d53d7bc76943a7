import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { stringifyData, stringifyWithLibrary } from '../../pipeline/yaml.js';
import { emitMapping } from '../../pipeline/yaml-emit.js';
import { projectRoot } from '../helpers/io.js';

/** A small seeded generator (mulberry32), so a failure names a case that can be run again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Pieces of strings that YAML treats specially somewhere: indicators, implicit types, markers, escapes. */
const PIECES = [
  'a',
  'Z',
  'app',
  '0',
  '1',
  '42',
  '.',
  '-',
  '_',
  ' ',
  '  ',
  ':',
  ': ',
  '#',
  ' #',
  '/',
  '\n',
  '\n\n',
  '"',
  "'",
  '\\',
  'yes',
  'Yes',
  'on',
  'OFF',
  'y',
  'n',
  'null',
  'Null',
  '~',
  'true',
  '1e3',
  '0x1F',
  '0o17',
  '012',
  '1_000',
  '12:30',
  '2024-01-01',
  '.inf',
  '.NaN',
  '---',
  '...',
  '%',
  '&',
  '*',
  '!',
  '|',
  '>',
  '@',
  '`',
  ',',
  '[',
  ']',
  '{',
  '}',
  '?',
  '\u00e9',
  '\t',
  '\r',
  '\u0085',
  '\u2028',
  '<<',
  '=',
  '+',
  'http://x.example',
  '=>',
];

function generate(next: () => number, depth: number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const text = () => Array.from({ length: Math.floor(next() * 5) }, () => pick(PIECES)).join('');
  const roll = next();
  if (depth <= 0 || roll < 0.45) {
    const kind = next();
    if (kind < 0.6) return text();
    if (kind < 0.75) return Math.floor((next() - 0.5) * 100_000);
    if (kind < 0.8) return next() * 10;
    if (kind < 0.9) return next() < 0.5;
    return null;
  }
  if (roll < 0.7) return Array.from({ length: Math.floor(next() * 4) }, () => generate(next, depth - 1));
  const object: Record<string, unknown> = {};
  for (let index = Math.floor(next() * 4); index > 0; index -= 1) object[text()] = generate(next, depth - 1);
  return object;
}

describe('the direct YAML emitter', () => {
  it('writes every object of the committed dist/ exactly as the YAML library does', () => {
    const files = execFileSync('git', ['ls-files', 'dist'], { cwd: projectRoot, encoding: 'utf8' })
      .split('\n')
      .filter((file) => file.endsWith('.yaml'));
    let objects = 0;
    for (const file of files) {
      for (const document of parseAllDocuments(readFileSync(join(projectRoot, file), 'utf8'))) {
        const data = document.toJS({ maxAliasCount: -1 });
        objects += 1;
        // The point of it: nothing synth writes today goes the slow way.
        expect(emitMapping(data), file).toBe(stringifyWithLibrary(data));
      }
    }
    expect(objects).toBeGreaterThan(100);
  });

  it('either writes what the library writes or hands the data back, for 20,000 generated documents', () => {
    let written = 0;
    for (let seed = 1; seed <= 20_000; seed += 1) {
      const next = random(seed);
      const data: Record<string, unknown> = {};
      for (let index = 1 + Math.floor(next() * 4); index > 0; index -= 1) data[`k${index}`] = generate(next, 4);
      const direct = emitMapping(data);
      if (direct === undefined) continue;
      written += 1;
      if (direct !== stringifyWithLibrary(data)) {
        throw new Error(`seed ${seed}: ${JSON.stringify(data)}\n${direct}---\n${stringifyWithLibrary(data)}`);
      }
    }
    // Most generated documents hold a float, a tab or an escape somewhere; enough must be written directly to test anything.
    expect(written).toBeGreaterThan(5_000);
  });

  it('quotes strings that would read back as another type, and writes multi-line strings as literal blocks', () => {
    const data = {
      port: '8080',
      enabled: 'yes',
      sexagesimal: '12:30',
      empty: '',
      url: 'https://grafana.example.org/login',
      script: 'set -e\necho "done"\n',
      stripped: 'first\n\nthird',
      items: [{ name: 'a', value: 'on' }, 'plain', 3, {}, []],
      nothing: null,
    };
    const text = emitMapping(data);
    expect(text).toBe(
      [
        'port: "8080"',
        'enabled: "yes"',
        'sexagesimal: "12:30"',
        'empty: ""',
        'url: https://grafana.example.org/login',
        'script: |',
        '  set -e',
        '  echo "done"',
        'stripped: |-',
        '  first',
        '',
        '  third',
        'items:',
        '  - name: a',
        '    value: "on"',
        '  - plain',
        '  - 3',
        '  - {}',
        '  - []',
        'nothing: null',
        '',
      ].join('\n'),
    );
    expect(parse(text as string, { version: '1.1' })).toEqual(data);
    expect(text).toBe(stringifyWithLibrary(data));
  });

  it('hands back what it does not write itself, and stringifyData then asks the library', () => {
    for (const data of [{ ratio: 0.5 }, { nested: [[1]] }, { tab: 'a\tb' }, { quote: '"x": y' }, { '<<': 1 }, [1], 'text']) {
      expect(emitMapping(data), JSON.stringify(data)).toBeUndefined();
      expect(stringifyData(data)).toBe(stringifyWithLibrary(data));
    }
  });
});
