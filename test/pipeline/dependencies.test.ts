import { describe, expect, it } from 'vitest';
import { type AppDefinition, defineCluster, dependencyNames } from '../../framework/cluster.js';
import { renderCluster } from '../../pipeline/render.js';

const app = (name: string, dependsOn: AppDefinition<unknown>[] = []): AppDefinition<unknown> => ({ name, dependsOn, build: () => {} });

describe('app dependencies', () => {
  it('are app objects, ordered into waves by their names', () => {
    const base = app('base');
    const web = app('web', [base]);
    expect(dependencyNames(web)).toEqual(['base']);
    const result = renderCluster('lab', defineCluster({ parseInventory: () => ({}), apps: () => [web, base] }), {});
    expect(result.problems).toEqual([]);
    expect(result.apps.map((a) => `${a.name}:${a.wave}:${a.dependsOn.join(',')}`)).toEqual(['web:1:base', 'base:0:']);
  });

  it('must be apps of the same cluster', () => {
    const web = app('web', [app('database')]);
    const result = renderCluster('lab', defineCluster({ parseInventory: () => ({}), apps: () => [web] }), {});
    expect(result.problems.map((p) => p.message)).toEqual(['app "web" depends on "database", which is not an app of this cluster']);
  });
});
