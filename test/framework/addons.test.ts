import { ApiObject, App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct, type IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { type Addon, applyAddons } from '../../framework/addons.js';
import type { AppDefinition } from '../../framework/cluster.js';
import { KUSTOMIZE_CONTRIBUTION } from '../../framework/contributions.js';
import { objectRef } from '../../framework/model.js';
import { renderApp } from '../helpers/render.js';

/** Records every visit, by construct path. */
function recorder(name = 'recorder'): Addon & { readonly visits: string[] } {
  const visits: string[] = [];
  return { name, visits, visit: (construct) => visits.push(construct.node.path) };
}

/** Adds one ConfigMap under every ConfigMap it visits: it would never end if it visited its own. */
const mirror: Addon = {
  name: 'mirror',
  visit(construct: IConstruct) {
    if (!ApiObject.isApiObject(construct) || construct.kind !== 'ConfigMap') return;
    new k8s.KubeConfigMap(construct, 'Mirror', { metadata: { name: `${construct.name}-mirror` } });
  },
};

function tree() {
  const chart = new Chart(new App({ outdir: '.' }), 'lab');
  new k8s.KubeConfigMap(new Construct(chart, 'web'), 'settings', { metadata: { name: 'settings' } });
  return chart;
}

describe('applyAddons', () => {
  it('visits every construct once, parents first', () => {
    const chart = tree();
    const addon = recorder();
    expect(applyAddons(chart, [addon])).toEqual([]);
    expect(addon.visits).toEqual(['lab', 'lab/web', 'lab/web/settings']);
  });

  it('is idempotent: applying again, or listing an addon twice, visits nothing twice', () => {
    const chart = tree();
    const addon = recorder();
    const sameName = recorder();
    applyAddons(chart, [addon, addon, sameName]);
    applyAddons(chart, [addon, sameName]);
    expect(addon.visits).toEqual(['lab', 'lab/web', 'lab/web/settings']);
    expect(sameName.visits).toEqual([]);
    // Constructs added later, by anything but the addon, are visited on the next application.
    new Construct(chart, 'later');
    applyAddons(chart, [addon]);
    expect(addon.visits.at(-1)).toBe('lab/later');
  });

  it('does not visit what an addon adds with that addon, so it ends; later addons see it', () => {
    const chart = tree();
    const after = recorder('after');
    applyAddons(chart, [mirror, after]);
    applyAddons(chart, [mirror]);
    const names = (chart.toJson() as { metadata: { name: string } }[]).map((object) => object.metadata.name);
    expect(names).toEqual(['settings', 'settings-mirror']);
    expect(after.visits).toContain('lab/web/settings/Mirror');
  });

  it('reports a visit that throws at the construct visited and goes on with the others', () => {
    const chart = tree();
    const failing: Addon = {
      name: 'failing',
      visit(construct) {
        if (construct.node.id === 'web') throw new Error('cannot handle web');
      },
    };
    const after = recorder('after');
    const failures = applyAddons(chart, [failing, after]);
    expect(failures.map(({ addon, constructPath, error }) => [addon, constructPath, (error as Error).message])).toEqual([
      ['failing', 'lab/web', 'cannot handle web'],
    ]);
    expect(after.visits).toHaveLength(3);
  });
});

const app = (name: string, build: AppDefinition<unknown>['build']): AppDefinition<unknown> => ({ name, namespace: name, build });

describe('addons in a render', () => {
  const configMaps = app('web', (chart) => {
    new k8s.KubeConfigMap(chart, 'settings', { metadata: { name: 'settings' } });
  });

  it('apply to every app after all are built, and what they add is serialized', () => {
    const seen: string[] = [];
    const other = app('api', (chart) => {
      // Built after "web": the addon must not have run yet.
      seen.push(`build api (web has ${chart.node.scope?.node.findChild('web').node.findAll().length} constructs)`);
      new k8s.KubeConfigMap(chart, 'settings', { metadata: { name: 'api-settings' } });
    });
    const { problems, objects, result } = renderApp([configMaps, other], { addons: [mirror], name: 'web' });
    expect(problems).toEqual([]);
    expect(seen).toEqual(['build api (web has 2 constructs)']);
    expect(objects.map((o) => o.metadata.name)).toEqual(['settings', 'settings-mirror']);
    const api = result.apps.find((rendered) => rendered.name === 'api');
    expect(api?.objects.map((o) => objectRef(o.manifest).name)).toEqual(['api-settings', 'api-settings-mirror']);
  });

  it('render nothing of theirs without being listed', () => {
    expect(renderApp(configMaps).objects.map((o) => o.metadata.name)).toEqual(['settings']);
  });

  it('add constructs that are validated and whose contributions are collected', () => {
    const checked: Addon = {
      name: 'checked',
      visit(construct) {
        if (!Chart.isChart(construct)) return;
        const added = new Construct(construct, 'Added');
        added.node.addValidation({ validate: () => ['the added construct is wrong'] });
        Object.assign(added, { [KUSTOMIZE_CONTRIBUTION]: () => ({ resources: ['https://example.org/extra.yaml'] }) });
      },
    };
    const { result, app: web } = renderApp(configMaps, { addons: [checked] });
    expect(result.problems).toEqual([
      { origin: { constructPath: 'lab/web/Added' }, rule: 'construct', message: 'the added construct is wrong' },
    ]);
    expect(web.resources).toEqual(['https://example.org/extra.yaml']);
  });

  it('report a failing visit, a failing list and an item that is no addon', () => {
    const failing: Addon = {
      name: 'failing',
      visit(construct) {
        if (ApiObject.isApiObject(construct)) throw new Error('no');
      },
    };
    const render = (addons: () => readonly Addon[]) =>
      renderApp(configMaps, { addons }).result.problems.map((p) => `${p.origin.constructPath}: ${p.message} [${p.rule}]`);
    // A thrown error names the file and line it came from.
    expect(render(() => [failing])).toEqual([
      expect.stringMatching(/^lab\/web\/settings: addon "failing": no \(at .*addons\.test\.ts:\d+\) \[construct\]$/),
    ]);
    expect(
      render(() => {
        throw new Error('broken');
      }),
    ).toEqual([expect.stringMatching(/^lab: the composition's addons failed: broken .*\[addon\]$/)]);
    expect(render(() => [mirror, { name: 'half' } as unknown as Addon, null as unknown as Addon])).toEqual([
      'lab: addons() item 2 "half" has no visit(construct) function [addon]',
      'lab: addons() item 3 is null, not an addon [addon]',
    ]);
  });
});
