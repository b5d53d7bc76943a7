import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { type ClusterPolicy, registeredPolicies, registerPolicies } from '../../framework/cluster.js';
import { renderScope } from '../helpers/render.js';

const policy = (name: string): ClusterPolicy => ({ name, check: () => [] });

describe('policies registered by constructs', () => {
  it('are found from any scope of the tree, once per name, in registration order', () => {
    const storage = policy('storage');
    const { built: chart, result } = renderScope((chart) => {
      const deep = new Construct(new Construct(chart, 'a'), 'b');
      registerPolicies(deep, storage);
      registerPolicies(chart, policy('ingress'), policy('storage'));
      registerPolicies(new Construct(chart, 'c'), storage);
      return chart;
    });
    expect(registeredPolicies(new Construct(chart, 'd')).map((p) => p.name)).toEqual(['storage', 'ingress']);
    expect(registeredPolicies(chart)[0]).toBe(storage);
    // The render hands the cluster the same registry.
    expect(result.policies.map((p) => p.name)).toEqual(['storage', 'ingress']);
    expect(result.policies[0]).toBe(storage);
  });

  it('are separate for separate trees', () => {
    renderScope((chart) => registerPolicies(chart, policy('x')), { cluster: 'one' });
    const two = renderScope((chart) => chart, { cluster: 'two' });
    expect(registeredPolicies(two.built)).toEqual([]);
    expect(two.result.policies).toEqual([]);
  });
});
