import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { type ClusterPolicy, registeredPolicies, registerPolicies } from '../../framework/cluster.js';

const policy = (name: string): ClusterPolicy => ({ name, check: () => [] });

describe('policies registered by constructs', () => {
  it('are found from any scope of the tree, once per name, in registration order', () => {
    const chart = new Chart(Testing.app(), 'lab');
    const deep = new Construct(new Construct(chart, 'a'), 'b');
    const storage = policy('storage');
    registerPolicies(deep, storage);
    registerPolicies(chart, policy('ingress'), policy('storage'));
    registerPolicies(new Construct(chart, 'c'), storage);
    expect(registeredPolicies(new Construct(chart, 'd')).map((p) => p.name)).toEqual(['storage', 'ingress']);
    expect(registeredPolicies(chart)[0]).toBe(storage);
  });

  it('are separate for separate trees', () => {
    registerPolicies(new Chart(Testing.app(), 'one'), policy('x'));
    expect(registeredPolicies(new Chart(Testing.app(), 'two'))).toEqual([]);
  });
});
