import { k8s } from 'cdk8s-plus-28';
import { describe, expect, it } from 'vitest';
import { AppChart } from '../../framework/app-chart.js';
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

  it('give the apps that depend on them what they provide, built first whatever the composition order', () => {
    const base: AppDefinition<unknown, { readonly config: k8s.KubeConfigMap }> = {
      name: 'base',
      namespace: 'base',
      build: (chart) => ({ config: new k8s.KubeConfigMap(chart, 'config', { metadata: { name: 'shared' } }) }),
    };
    let used: string | undefined;
    const web: AppDefinition<unknown> = {
      name: 'web',
      dependsOn: [base],
      build(chart) {
        used = chart.use(base).config.name;
      },
    };
    const result = renderCluster('lab', defineCluster({ parseInventory: () => ({}), apps: () => [web, base] }), {});
    expect(result.problems).toEqual([]);
    expect(used).toBe('shared');
    expect(result.apps.map((a) => a.name)).toEqual(['web', 'base']);
  });

  it('are the only apps whose objects an app may use', () => {
    const base: AppDefinition<unknown, string> = { name: 'base', build: () => 'provided' };
    const web: AppDefinition<unknown> = {
      name: 'web',
      build(chart) {
        chart.use(base);
      },
    };
    const result = renderCluster('lab', defineCluster({ parseInventory: () => ({}), apps: () => [base, web] }), {});
    // The problem names the line of the app that asked.
    expect(result.problems.map((p) => `${p.origin.constructPath}: ${p.message}`)).toEqual([
      expect.stringMatching(
        /^lab\/web: app "web" uses what app "base" provides: add base to its dependsOn, so that it syncs first \(at .*dependencies\.test\.ts:\d+\)$/,
      ),
    ]);
  });

  it('refuse an object of an app the user does not sync after, or of another cluster', () => {
    const made: { config?: k8s.KubeConfigMap } = {};
    const maker: AppDefinition<unknown> = {
      name: 'maker',
      build(chart) {
        made.config = new k8s.KubeConfigMap(chart, 'config', { metadata: { name: 'made' } });
      },
    };
    const errors: (string | undefined)[] = [];
    const user = (name: string, dependsOn: AppDefinition<unknown, unknown>[]): AppDefinition<unknown> => ({
      name,
      dependsOn,
      build(chart) {
        if (made.config) errors.push(AppChart.referenceError(chart, made.config, 'ConfigMap made'));
      },
    });
    const middle = user('middle', [maker]);
    renderCluster(
      'lab',
      defineCluster({ parseInventory: () => ({}), apps: () => [maker, middle, user('late', [middle]), user('web', [])] }),
      {},
    );
    expect(errors).toEqual([
      undefined,
      undefined,
      'ConfigMap made is made by app "maker": add that app to the dependsOn of "web", so that it syncs first',
    ]);
    errors.length = 0;
    renderCluster('other', defineCluster({ parseInventory: () => ({}), apps: () => [user('web', [])] }), {});
    expect(errors).toEqual(['ConfigMap made belongs to cluster lab, not to other']);
  });
});
