// Strict field validation: the generated structures, the CRD reading, and the walk.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crdStructureSources } from '../../cli/strict-schemas.js';
import { nearestField, unknownFieldsOfObject } from '../../framework/structure.js';
import { SchemaRegistry } from '../../pipeline/schemas.js';
import { crdStructures } from '../../pipeline/strict/crd.js';
import { structureFiles } from '../../pipeline/strict/generate.js';
import { validateObjects } from '../../pipeline/validate.js';
import { projectRoot } from '../helpers/io.js';

const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    scope: 'Namespaced',
    names: { kind: 'Widget', plural: 'widgets' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              apiVersion: { type: 'string' },
              kind: { type: 'string' },
              metadata: { type: 'object' },
              spec: {
                type: 'object',
                properties: {
                  size: { 'x-kubernetes-int-or-string': true },
                  values: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  labels: { type: 'object', additionalProperties: { type: 'string' } },
                  template: {
                    type: 'object',
                    'x-kubernetes-embedded-resource': true,
                    'x-kubernetes-preserve-unknown-fields': true,
                  },
                  ports: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
                  tuned: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { level: { type: 'integer' } } },
                },
              },
              status: { type: 'object', properties: { ready: { type: 'boolean' } } },
            },
          },
        },
      },
      { name: 'v0', served: false, storage: false, schema: { openAPIV3Schema: { type: 'object' } } },
    ],
  },
};

describe('strict structures', () => {
  it('are what npm run strict-schemas generates from the installed model packages and the CRDs', () => {
    // Stale after a model package upgrade or a CRD change: run npm run strict-schemas and commit.
    for (const [file, text] of structureFiles(projectRoot, crdStructureSources(projectRoot))) {
      expect(readFileSync(join(projectRoot, file), 'utf8'), `${file} is stale: run npm run strict-schemas`).toBe(text);
    }
  });

  it('read a CRD as the API server prunes it: preserved, embedded, int-or-string, maps, lists and status', () => {
    const structures = crdStructures(WIDGET_CRD);
    expect(Object.keys(structures)).toEqual(['example.com/v1/Widget']);
    const root = structures['example.com/v1/Widget'] as never;
    const registry = new SchemaRegistry();
    const check = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      unknownFieldsOfObject(
        { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'a', labels: { x: 'y' } }, spec, ...extra },
        root,
        { ...registry.structures, types: { ObjectMeta: { f: { name: 0, labels: { m: 0 } } } } },
      ).map((violation) => `${violation.path}: ${violation.message}`);
    expect(
      check(
        {
          size: '50%',
          values: { any: { thing: [1] } },
          labels: { free: 'form' },
          template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { whatever: true } },
          ports: [{ name: 'http' }],
          tuned: { level: 2, custom: 'kept' },
        },
        { status: { ready: true } },
      ),
    ).toEqual([]);
    expect(
      check({ sise: 1, ports: [{ name: 'http', nmae: 'x' }] }, { status: { redy: true }, metadata: { name: 'a', label: {} } }),
    ).toEqual([
      'metadata.label: unknown field (did you mean labels?)',
      'spec.sise: unknown field (did you mean size?)',
      'spec.ports.0.nmae: unknown field (did you mean name?)',
      'status.redy: unknown field (did you mean ready?)',
    ]);
  });

  it('takes a schema nested past any real CRD as free-form, without overflowing the stack', () => {
    let schema: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 20_000; i += 1) schema = { type: 'object', properties: { next: schema } };
    const crd = {
      ...WIDGET_CRD,
      spec: { ...WIDGET_CRD.spec, versions: [{ name: 'v1', served: true, schema: { openAPIV3Schema: schema } }] },
    };
    const root = crdStructures(crd)['example.com/v1/Widget'];
    let depth = 0;
    for (let type = root as unknown; typeof type === 'object' && type !== null && 'f' in type; depth += 1) {
      type = (type as { f: Record<string, unknown> }).f.next;
    }
    expect(depth).toBe(65);
  });

  it('suggests a field only when it is near', () => {
    expect(nearestField('replika', ['replicas', 'selector'])).toBe('replicas');
    expect(nearestField('runAsNonroot', ['runAsNonRoot', 'runAsUser'])).toBe('runAsNonRoot');
    expect(nearestField('storageClass', ['storageClassName', 'volumeName'])).toBeUndefined();
    expect(nearestField('xyz', ['spec'])).toBeUndefined();
  });

  it('holds custom resources to the CRDs a build installs, in place of the model package', async () => {
    const registry = new SchemaRegistry();
    const widget = {
      manifest: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'a', namespace: 'lab' }, spec: { sise: 1 } },
      origin: { file: 'widget.yaml' },
    };
    const before = await validateObjects([widget], { registry });
    expect(before.problems.map((problem) => problem.rule)).toEqual(['schema.unknown-kind']);
    registry.learnCustomResourceDefinitions([WIDGET_CRD]);
    const after = await validateObjects([widget], { registry });
    expect(after.problems.map((problem) => `${problem.rule} ${problem.message}`)).toEqual([
      'schema.unknown-field spec.sise: unknown field (did you mean size?)',
    ]);
    expect((await validateObjects([widget], { registry, strict: false })).problems).toEqual([]);
  });
});
