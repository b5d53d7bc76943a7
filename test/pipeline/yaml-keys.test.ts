import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { parseManifests, repeatedKey } from '../../pipeline/yaml.js';

const repeated = (text: string) => repeatedKey(parseDocument(text, { uniqueKeys: false, version: '1.1', merge: true }));

describe('repeated keys', () => {
  it('finds a key a nested mapping repeats, at its second use', () => {
    expect(repeated('a: 1\nb:\n  c: 1\n  d: 2\n  c: 3\n')).toEqual({ key: 'c', offset: 24 });
  });

  it('compares keys as the JSON Kubernetes sees', () => {
    expect(repeated('1: a\n"1": b\n')?.key).toBe('1');
  });

  it('does not count merge keys, nor keys of sibling mappings', () => {
    expect(repeated('base: &b { x: 1 }\none: { <<: *b, y: 1 }\ntwo: { <<: *b, y: 2 }\n')).toBeUndefined();
  });

  it('reads scalars as go-yaml v2 does: no base-60 numbers, timestamps stay strings, yes is true', () => {
    const { objects } = parseManifests('kind: ConfigMap\ndata:\n  a: 1:30\n  b: 2024-01-02\n  c: yes\n  d: 0644\n', 'x.yaml');
    expect(objects[0]?.manifest.data).toEqual({ a: '1:30', b: '2024-01-02', c: true, d: 420 });
  });
});
