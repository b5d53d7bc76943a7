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

describe('limits no schema states', () => {
  it('refuses a ConfigMap whose data exceeds 1 MiB and an object etcd cannot store', async () => {
    const { validateObjects } = await import('../../pipeline/validate.js');
    const { SchemaRegistry } = await import('../../pipeline/schemas.js');
    const { registeredKinds } = await import('../../constructs/kinds.js');
    const registry = new SchemaRegistry(registeredKinds);
    const configMap = (name: string, size: number) => ({
      manifest: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { blob: 'x'.repeat(size) } },
      origin: { file: `${name}.yaml` },
    });
    const rules = async (size: number) =>
      (await validateObjects([configMap('big', size)], { registry })).problems.map((p) => `${p.rule}: ${p.message.split(',')[0]}`);
    expect(await rules(1024 * 1024)).toEqual([]);
    expect(await rules(1024 * 1024 + 1)).toEqual(['size: holds 1048577 bytes of data']);
    expect(await rules(2 * 1024 * 1024)).toEqual(['size: is 2097257 bytes as JSON', 'size: holds 2097152 bytes of data']);
  });
});

describe("Kubernetes' YAML reader", () => {
  it('reads what go-yaml v2 reads as strings as strings: ".", "._" and ".e5" are no floats', () => {
    const { objects } = parseManifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: ., b: ._, c: .e5, d: .5, e: 1_0.5, f: 1.}\n',
      'x.yaml',
    );
    expect(objects[0]?.manifest.data).toEqual({ a: '.', b: '._', c: '.e5', d: 0.5, e: 10.5, f: 1 });
  });
});
