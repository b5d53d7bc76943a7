import { describe, expect, it } from 'vitest';
import { orderByDependencies } from '../../pipeline/order.js';

describe('ordering apps by their dependencies', () => {
  it('puts each app one wave after its latest dependency', () => {
    const { waves, errors } = orderByDependencies([
      { name: 'monitoring', dependsOn: ['traefik', 'storage'] },
      { name: 'traefik', dependsOn: ['cert-manager'] },
      { name: 'cert-manager' },
      { name: 'storage' },
      { name: 'nextcloud', dependsOn: ['storage', 'traefik'] },
    ]);
    expect(errors).toEqual([]);
    expect(Object.fromEntries(waves)).toEqual({ 'cert-manager': 0, storage: 0, traefik: 1, monitoring: 2, nextcloud: 2 });
  });

  it('names a cycle once, as the path that closes it', () => {
    const { waves, errors } = orderByDependencies([
      { name: 'a', dependsOn: ['b'] },
      { name: 'b', dependsOn: ['c'] },
      { name: 'c', dependsOn: ['a'] },
      { name: 'd' },
    ]);
    expect(errors).toEqual(['apps depend on each other in a cycle: a -> b -> c -> a']);
    expect(Object.fromEntries(waves)).toEqual({ d: 0 });
  });

  it('reports a self-dependency and unknown dependencies', () => {
    const { errors } = orderByDependencies([{ name: 'a', dependsOn: ['a', 'ghost'] }]);
    expect(errors).toEqual([
      'app "a" depends on "ghost", which is not an app of this cluster',
      'apps depend on each other in a cycle: a -> a',
    ]);
  });
});
