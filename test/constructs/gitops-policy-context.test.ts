import { describe, expect, it } from 'vitest';
import { gitOpsPolicy } from '../../constructs/gitops/policies.js';

describe('the gitops policy', () => {
  it('takes the cluster and its apps from synth when the composition does not list them', () => {
    const problems = gitOpsPolicy({}).check([], { cluster: 'lab', apps: ['web'], syncsAfter: () => false });
    expect(problems.map((p) => `${p.origin.constructPath}: ${p.message}`)).toEqual([
      'lab/web: app folder dist/lab/web has no Applications; it needs exactly one',
    ]);
  });
});
